// Added to every page and frame the browser tests open (tests/browser/conftest.py): each
// Content-Security-Policy violation is handed to the test, which fails on any.
document.addEventListener("securitypolicyviolation", (event) => {
  const where = event.sourceFile ? ` (${event.sourceFile}:${event.lineNumber})` : "";
  window.reportCspViolation(
    `${event.effectiveDirective} refused ${event.blockedURI || "an inline resource"}${where} on ${document.location.href}`,
  );
});
