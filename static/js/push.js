// Progressive enhancement of a "notifications on this device" form: the client's "How we
// remind you" on the Reminders page, the clinician's "Notifications on this device".
// Subscribe this browser to notifications and put the subscription in the form's hidden
// fields, so the plain form post saves it. Without this script (or without push support)
// the page says that email still comes, and the server refuses "notification" with a
// message. The section may word the status lines for its reader (data-text-* attributes).
(function () {
  "use strict";
  var section = document.querySelector("[data-push-channels]");
  var form = section && section.querySelector("form[data-push-form]");
  var status = section && section.querySelector("[data-push-status]");
  if (!section || !form || !status) return;

  function text(name, fallback) {
    return section.getAttribute("data-text-" + name) || fallback;
  }

  var publicKey = section.getAttribute("data-vapid-public-key");
  var supported =
    "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
  if (!supported || !publicKey) {
    status.textContent = text("unsupported",
      "This browser cannot show notifications from Kindwork, so your reminders come by email.");
    return;
  }

  function field(name) {
    return form.querySelector('input[name="' + name + '"]');
  }

  function keyBytes(base64url) {
    var padded = (base64url + "===".slice((base64url.length + 3) % 4))
      .replace(/-/g, "+")
      .replace(/_/g, "/");
    var raw = window.atob(padded);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function deviceLabel() {
    var agent = navigator.userAgent;
    var browser = /Edg\//.test(agent) ? "Edge" : /Firefox\//.test(agent) ? "Firefox"
      : /Chrome\//.test(agent) ? "Chrome" : /Safari\//.test(agent) ? "Safari" : "A browser";
    var system = /Android/.test(agent) ? "Android" : /iPhone|iPad/.test(agent) ? "iPhone or iPad"
      : /Windows/.test(agent) ? "Windows" : /Mac OS/.test(agent) ? "a Mac"
      : /Linux/.test(agent) ? "Linux" : "";
    return system ? browser + " on " + system : browser;
  }

  // The site's own service worker (at the root) when there is one; otherwise the push
  // handler alone, which needs no particular scope to receive pushes.
  function registration() {
    return navigator.serviceWorker.getRegistration("/").then(function (found) {
      if (found) return found;
      var script = section.getAttribute("data-service-worker");
      return navigator.serviceWorker.register(script).then(function () {
        return navigator.serviceWorker.getRegistration(script);
      });
    }).then(function (found) {
      if (found.active) return found;
      return new Promise(function (resolve) {
        var worker = found.installing || found.waiting;
        worker.addEventListener("statechange", function () {
          if (worker.state === "activated") resolve(found);
        });
      });
    });
  }

  function fill(subscription) {
    var data = subscription.toJSON();
    field("endpoint").value = data.endpoint;
    field("p256dh").value = data.keys.p256dh;
    field("auth").value = data.keys.auth;
    field("label").value = deviceLabel();
  }

  var current = null;
  registration().then(function (found) {
    return found.pushManager.getSubscription();
  }).then(function (subscription) {
    current = subscription;
    if (subscription) fill(subscription);
    status.textContent = subscription
      ? text("on", "Notifications are on for this device.")
      : Notification.permission === "denied"
        ? text("blocked", "Notifications are blocked for this site in this browser's settings, so reminders come by email here.")
        : text("available", "This browser can show notifications. Choose how you would like to be reminded.");
  }).catch(function () {
    status.textContent = text("failed", "Notifications could not be set up in this browser; reminders come by email.");
  });

  form.addEventListener("submit", function (event) {
    var chosen = form.querySelector('input[name="channel"]:checked');
    if (!chosen) return;
    event.preventDefault();
    if (chosen.value === "email") {
      // The server forgets this device by its endpoint; the browser forgets it too.
      var done = current ? current.unsubscribe() : Promise.resolve();
      done.catch(function () {}).then(function () { form.submit(); });
      return;
    }
    Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") {
        throw new Error("permission");
      }
      return registration();
    }).then(function (found) {
      return found.pushManager.getSubscription().then(function (existing) {
        return existing || found.pushManager.subscribe({
          userVisibleOnly: true,
          applicationServerKey: keyBytes(publicKey),
        });
      });
    }).then(function (subscription) {
      fill(subscription);
      form.submit();
    }).catch(function (error) {
      status.textContent = error && error.message === "permission"
        ? text("denied", "Notifications were not allowed. You can allow them in this browser's settings and try again, or choose email.")
        : text("refused", "This browser could not turn notifications on. Email still works.");
    });
  });
})();
