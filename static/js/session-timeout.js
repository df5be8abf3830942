// Progressive enhancement of the session notice: warn a minute before the server
// logs the person out, and show the "logged out" page when the time has passed.
// The server enforces the timeout either way; "Stay logged in" is a plain form.
(function () {
  "use strict";
  var box = document.getElementById("session-timeout");
  if (!box) return;
  var endsAt = parseInt(box.getAttribute("data-ends-at"), 10) * 1000;
  var endedUrl = box.getAttribute("data-ended-url");
  var warning = document.getElementById("session-warning");
  if (!endsAt || !endedUrl) return;
  var warnIn = endsAt - Date.now() - 60 * 1000;
  window.setTimeout(function () {
    if (warning) warning.hidden = false;
  }, Math.max(warnIn, 0));
  window.setTimeout(function () {
    window.location.assign(endedUrl);
  }, Math.max(endsAt - Date.now() + 2000, 0));
})();
