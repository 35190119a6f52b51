// The only script: confirmations for destructive forms, and "back" links that return to the results.
// No inline handlers anywhere (the Content-Security-Policy forbids them).
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) event.preventDefault();
});
document.addEventListener("click", function (event) {
  var link = event.target.closest && event.target.closest("a[data-back]");
  if (link && document.referrer && new URL(document.referrer).origin === location.origin) {
    event.preventDefault();
    history.back();
  }
});
