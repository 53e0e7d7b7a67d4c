// Draws the staff dashboard's suppliers-by-country chart from the counts on its canvas
// (a data- attribute: the Content-Security-Policy allows no script in the page itself).
(function () {
  const canvas = document.getElementById("suppliers-by-country");
  const data = JSON.parse(canvas.dataset.counts);
  new Chart(canvas, {
    type: "bar",
    data: { labels: Object.keys(data), datasets: [{ data: Object.values(data), backgroundColor: "#0172ad" }] },
    options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
})();
