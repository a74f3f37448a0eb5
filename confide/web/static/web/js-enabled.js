// Runs before the page is painted (a classic, blocking script at the top of <body>), so the
// GOV.UK Frontend styles for JavaScript-enhanced components apply without a flash of the
// unenhanced page. This is the snippet the GOV.UK page template inlines; it lives in a file
// because Confide's Content-Security-Policy allows no inline scripts.
document.body.className +=
  " js-enabled" + ("noModule" in HTMLScriptElement.prototype ? " govuk-frontend-supported" : "");
