// The installable app, as progressive enhancement of the portal (everything works
// without it): registers the service worker for a client, tells it which pages to keep
// for offline use, clears kept pages on logout, and queues practice logs written
// offline in IndexedDB, sending each exactly once (its client_uuid) when back online.
(function () {
  "use strict";
  var USER_PREFIX = "kindwork-user-";
  var meta = document.querySelector('meta[name="kindwork-offline-key"]');
  var key = meta ? meta.getAttribute("content") : "";
  var hasWorker = "serviceWorker" in navigator;

  // A person's caches are named kindwork-user-<key>-… (pages, audio): see sw.js.
  function clearKeptPages() {
    if (!window.caches) return Promise.resolve();
    return caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf(USER_PREFIX) === 0 && !(key && name.indexOf(USER_PREFIX + key + "-") === 0);
      }).map(function (name) { return caches.delete(name); }));
    });
  }

  // Not a client (logged out, or staff): no one's pages stay kept on this device.
  clearKeptPages();
  if (!key || !hasWorker || !window.indexedDB) return;

  // --- Queue of logs written offline ---

  function openQueue() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open("kindwork-offline", 1);
      request.onupgradeneeded = function () {
        request.result.createObjectStore("logs", { keyPath: "client_uuid" });
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function withStore(mode, work) {
    return openQueue().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction("logs", mode);
        var result = work(tx.objectStore("logs"));
        tx.oncomplete = function () { resolve(result && "result" in result ? result.result : undefined); };
        tx.onerror = function () { reject(tx.error); };
      });
    });
  }

  function allMine() {
    return withStore("readonly", function (store) { return store.getAll(); }).then(function (rows) {
      return (rows || []).filter(function (row) { return row.user === key; });
    });
  }

  function put(entry) { return withStore("readwrite", function (store) { return store.put(entry); }); }
  function remove(id) { return withStore("readwrite", function (store) { return store.delete(id); }); }

  function localToday() {
    var now = new Date();
    var month = String(now.getMonth() + 1).padStart(2, "0");
    var day = String(now.getDate()).padStart(2, "0");
    return now.getFullYear() + "-" + month + "-" + day;
  }

  // --- What the client sees about queued and refused logs ---

  var panel = document.createElement("section");
  panel.className = "card offline-queue";
  panel.setAttribute("aria-live", "polite");
  panel.setAttribute("data-offline-queue", "");
  panel.hidden = true;
  var main = document.getElementById("main");
  if (main) main.insertBefore(panel, main.firstChild);

  function show() {
    return allMine().then(function (rows) {
      panel.textContent = "";
      var waiting = rows.filter(function (row) { return row.state === "queued"; });
      var refused = rows.filter(function (row) { return row.state === "refused"; });
      var login = rows.some(function (row) { return row.needs_login; });
      if (waiting.length) {
        var p = document.createElement("p");
        p.textContent = (waiting.length === 1 ? "1 practice log is" : waiting.length + " practice logs are") +
          " saved on this phone and will be sent when you're back online." +
          (login ? " Please log in again so it can be sent." : "");
        panel.appendChild(p);
      }
      refused.forEach(function (row) {
        var box = document.createElement("div");
        box.className = "offline-refused";
        var p = document.createElement("p");
        p.textContent = "Your log of " + row.title + " for " + row.practised_on +
          " could not be added: " + row.reason;
        var dismiss = document.createElement("button");
        dismiss.type = "button";
        dismiss.className = "button-secondary";
        dismiss.textContent = "Dismiss";
        dismiss.addEventListener("click", function () { remove(row.client_uuid).then(show); });
        box.appendChild(p);
        box.appendChild(dismiss);
        panel.appendChild(box);
      });
      panel.hidden = !(waiting.length || refused.length);
    });
  }

  // --- Sending, exactly once: the server keeps one log per client_uuid ---

  function textOf(doc, selector) {
    return Array.prototype.map.call(doc.querySelectorAll(selector), function (node) {
      return node.textContent.trim();
    }).filter(Boolean).join(" ");
  }

  // Where a log page says why it took no log: form errors, or a closed plan's reason.
  var REASONS = ".form-errors p, .errorlist li, main .card[role=status] p";

  function refuse(entry, reason) {
    entry.state = "refused";
    entry.reason = reason || "it can no longer be accepted.";
    return put(entry);
  }

  // Where the server sends a log that arrived: Today, or some care after a hard practice.
  function arrived(entry, response) {
    var path = new URL(response.url).pathname;
    return response.ok && response.redirected &&
      (path === (entry.done || "/portal/") || /^\/portal\/history\/\d+\/grounding\/$/.test(path));
  }

  function send(entry) {
    // A fresh form first: its CSRF token belongs to the session of now, not of when
    // the log was written, and a closed plan shows its reason instead of a form. Asked
    // with the log's id: if an earlier send arrived (its answer lost), the server says so.
    var asked = new URL(entry.url, location.href);
    asked.searchParams.set("client_uuid", entry.client_uuid);
    return fetch(asked.href, { credentials: "same-origin", cache: "no-store" }).then(function (response) {
      if (arrived(entry, response)) return remove(entry.client_uuid);
      return response.text().then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var form = doc.querySelector("form[data-offline-log]");
        if (!form) {
          if (new URL(response.url).pathname !== new URL(entry.url, location.href).pathname || response.status === 403) {
            entry.needs_login = true;  // logged out meanwhile: keep it for after login
            return put(entry);
          }
          return refuse(entry, textOf(doc, REASONS) || "this practice no longer takes logs.");
        }
        entry.done = form.getAttribute("data-done");
        var body = new URLSearchParams(entry.fields);
        body.set("csrfmiddlewaretoken", form.querySelector("input[name=csrfmiddlewaretoken]").value);
        return fetch(entry.url, { method: "POST", body: body, credentials: "same-origin" }).then(function (answer) {
          if (arrived(entry, answer)) return remove(entry.client_uuid);
          if (answer.status === 400) {
            return answer.text().then(function (page) {
              var errors = new DOMParser().parseFromString(page, "text/html");
              return refuse(entry, textOf(errors, REASONS));
            });
          }
          entry.needs_login = answer.status === 403;
          return put(entry);  // try again later
        });
      });
    });
  }

  var flushing = false;
  function flush() {
    if (flushing) return Promise.resolve();
    flushing = true;
    return allMine().then(function (rows) {
      return rows.filter(function (row) { return row.state === "queued"; }).reduce(function (done, row) {
        return done.then(function () { return send(row); });
      }, Promise.resolve());
    }).catch(function () { return null; }).then(function () {
      flushing = false;
      return show();
    });
  }

  function queue(form) {
    var fields = [];
    new FormData(form).forEach(function (value, name) {
      if (name !== "csrfmiddlewaretoken") fields.push([name, String(value)]);
    });
    var chosen = form.querySelector("[name=practised_on]");
    var practisedOn = chosen && chosen.value ? chosen.value : localToday();
    // A page kept from an earlier day lists "today" as that day: the first choice means today.
    if (chosen && chosen.tagName === "SELECT" && chosen.selectedIndex === 0) practisedOn = localToday();
    // Each queued log gets its own id: a kept page repeats the id it was rendered with.
    var id = self.crypto.randomUUID();
    fields = fields.filter(function (pair) { return pair[0] !== "practised_on" && pair[0] !== "client_uuid"; });
    fields.push(["practised_on", practisedOn], ["client_uuid", id]);
    var title = (document.querySelector("[data-exercise-title]") || {}).textContent || "your practice";
    return put({
      client_uuid: id,
      user: key,
      url: form.getAttribute("action") || location.pathname,
      fields: fields,
      practised_on: practisedOn,
      title: title.trim(),
      done: form.getAttribute("data-done"),
      state: "queued",
      saved_at: new Date().toISOString()
    }).then(function () {
      return navigator.serviceWorker.ready.then(function (registration) {
        return registration.sync ? registration.sync.register("kindwork-logs").catch(function () { return null; }) : null;
      });
    });
  }

  // navigator.onLine says only whether there is a network interface, not whether the
  // server can be reached; a small request that the worker never answers from its
  // kept pages tells. Reachable: the ordinary form post, exactly as without JavaScript.
  function reachable() {
    var manifest = document.querySelector("link[rel=manifest]");
    return fetch(manifest ? manifest.href : "/manifest.webmanifest", {
      method: "HEAD", cache: "no-store", credentials: "same-origin"
    }).then(function () { return true; }, function () { return false; });
  }

  var form = document.querySelector("form[data-offline-log]");
  if (form) {
    form.addEventListener("submit", function (event) {
      if (form.hasAttribute("data-checked")) return;
      event.preventDefault();
      var button = form.querySelector("button[type=submit]");
      if (button) button.disabled = true;
      reachable().then(function (online) {
        if (online) {
          form.setAttribute("data-checked", "");
          HTMLFormElement.prototype.submit.call(form);
          return null;
        }
        return queue(form).then(function () {
          var note = document.createElement("p");
          note.className = "card";
          note.setAttribute("role", "status");
          note.setAttribute("data-offline-saved", "");
          note.textContent = "You're offline, so your log is saved on this phone. " +
            "It will be sent when you're back online.";
          form.replaceWith(note);
          return show();
        });
      });
    });
  }

  // --- The worker ---

  // Which pages, static files and recordings to keep for offline use: this page, the
  // practices it links to and their log pages, "I need a moment", and the audio guides.
  // Today lists the recordings of every current plan (complete: others are dropped).
  function warm(registration) {
    var urls = [location.pathname];
    document.querySelectorAll("a[href^='/portal/practice/'], a[data-offline-keep], link[rel=stylesheet], script[src]").forEach(function (node) {
      urls.push(node.getAttribute("href") || node.getAttribute("src"));
    });
    document.querySelectorAll("a[href^='/portal/practice/']").forEach(function (link) {
      var href = link.getAttribute("href");
      if (/^\/portal\/practice\/\d+\/$/.test(href)) urls.push(href + "log/");
    });
    var listed = document.querySelector('meta[name="kindwork-offline-audio"]');
    var audio = listed ? listed.getAttribute("content").split(/\s+/).filter(Boolean) : [];
    document.querySelectorAll("audio[src]").forEach(function (node) { audio.push(node.getAttribute("src")); });
    (registration.active || navigator.serviceWorker.controller).postMessage({
      type: "warm", key: key, urls: urls.concat(["/portal/"]), audio: audio, complete: listed !== null
    });
  }

  navigator.serviceWorker.register("/sw.js", { scope: "/" }).then(function () {
    return navigator.serviceWorker.ready;
  }).then(warm).catch(function () { return null; });

  navigator.serviceWorker.addEventListener("message", function (event) {
    if (event.data && event.data.type === "flush") flush();
    // A new version of the worker deleted the older caches: keep this version's.
    if (event.data && event.data.type === "rewarm") navigator.serviceWorker.ready.then(warm);
  });
  window.addEventListener("online", flush);
  // Some browsers never say they are back online: try again now and then while logs wait.
  window.setInterval(function () {
    allMine().then(function (rows) {
      if (rows.some(function (row) { return row.state === "queued"; })) flush();
    });
  }, 30000);

  document.querySelectorAll("form[data-logout]").forEach(function (logout) {
    logout.addEventListener("submit", function () {
      if (navigator.serviceWorker.controller) navigator.serviceWorker.controller.postMessage({ type: "logout" });
    });
  });

  flush();
})();
