// Push handling for the service worker: the site's worker (sw.js) loads it with
// importScripts("/static/js/push-sw.js"), and the Reminders page registers it on its
// own where there is no site worker. A push carries only a title, a line and a URL of
// this site (never an exercise name, a rating or text); clicking it opens that page.
/* global self, clients */
(function () {
  "use strict";

  self.addEventListener("push", function (event) {
    var data = {};
    try {
      data = event.data ? event.data.json() : {};
    } catch (error) {
      data = {};
    }
    var title = typeof data.title === "string" && data.title ? data.title : "Kindwork";
    event.waitUntil(
      self.registration.showNotification(title, {
        body: typeof data.body === "string" ? data.body : "",
        data: { url: typeof data.url === "string" ? data.url : "/" },
        tag: "kindwork",
      })
    );
  });

  self.addEventListener("notificationclick", function (event) {
    event.notification.close();
    var url = new URL((event.notification.data && event.notification.data.url) || "/", self.location.origin);
    // Only pages of this site, whatever a payload says.
    if (url.origin !== self.location.origin) url = new URL("/", self.location.origin);
    event.waitUntil(
      clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (open) {
        for (var i = 0; i < open.length; i++) {
          if (open[i].url === url.href && "focus" in open[i]) return open[i].focus();
        }
        return clients.openWindow(url.href);
      })
    );
  });
})();
