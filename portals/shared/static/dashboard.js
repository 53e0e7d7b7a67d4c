// Draws the staff dashboard's suppliers-by-country chart from the JSON the page embeds.
(function () {
  const data = JSON.parse(document.getElementById("suppliers-by-country-data").textContent);
  new Chart(document.getElementById("suppliers-by-country"), {
    type: "bar",
    data: { labels: Object.keys(data), datasets: [{ data: Object.values(data), backgroundColor: "#0172ad" }] },
    options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
})();
