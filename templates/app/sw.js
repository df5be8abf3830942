// The installed app's service worker (served at /sw.js, scope "/").
// Keeps the client's Today, practice and log pages and the static files for offline
// use. A page is kept only under the cache of the person it was rendered for (the
// server's {{ key_header }} header), caches of anyone else are deleted, and nothing
// outside /portal/ and /static/ is ever kept: no clinician page, no API answer.
const KEY_HEADER = "{{ key_header }}";
{% load static %}
// Push notifications (content-free reminders) are handled by the same worker.
importScripts("{% static 'js/push-sw.js' %}");
{% verbatim %}
"use strict";

const STATIC_CACHE = "kindwork-static-v1";
const USER_PREFIX = "kindwork-user-";
const PAGES = "/portal/";
const NEVER = ["/api/", "/clinician/", "/admin/", "/accounts/"];

self.addEventListener("install", function () {
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(self.clients.claim());
});

function isPage(path) {
  return path.indexOf(PAGES) === 0 && !NEVER.some(function (prefix) { return path.indexOf(prefix) === 0; });
}

function clearUserCaches(except) {
  return caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf(USER_PREFIX) === 0 && name !== except;
    }).map(function (name) { return caches.delete(name); }));
  });
}

function currentUserCache() {
  return caches.keys().then(function (names) {
    return names.find(function (name) { return name.indexOf(USER_PREFIX) === 0; }) || null;
  });
}

// Store a page under its person's cache, dropping anyone else's first.
function keep(request, response) {
  const key = response.headers.get(KEY_HEADER);
  if (!key || !response.ok || response.redirected || response.type !== "basic") return Promise.resolve();
  const name = USER_PREFIX + key;
  return clearUserCaches(name).then(function () {
    return caches.open(name);
  }).then(function (cache) {
    return cache.put(request.url, response);
  });
}

function warm(urls) {
  return Promise.all(urls.map(function (url) {
    const path = new URL(url, self.location.origin).pathname;
    if (!isPage(path) && path.indexOf("/static/") !== 0) return null;
    return fetch(url, { credentials: "same-origin" }).then(function (response) {
      if (path.indexOf("/static/") === 0) {
        return response.ok ? caches.open(STATIC_CACHE).then(function (c) { return c.put(url, response); }) : null;
      }
      return keep(new Request(new URL(url, self.location.origin).href), response);
    }).catch(function () { return null; });
  }));
}

self.addEventListener("message", function (event) {
  const data = event.data || {};
  if (data.type === "warm" && Array.isArray(data.urls)) {
    event.waitUntil(clearUserCaches(USER_PREFIX + data.key).then(function () { return warm(data.urls); }));
  } else if (data.type === "logout") {
    event.waitUntil(clearUserCaches(null));
  }
});

function offlinePage() {
  return new Response(
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" " +
    "content=\"width=device-width, initial-scale=1\"><title>Offline</title></head><body><main>" +
    "<h1>You're offline</h1><p>This page isn't saved on this phone. Today and your practices " +
    "are: <a href=\"/portal/\">go to Today</a>.</p></main></body></html>",
    { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } }
  );
}

function page(event) {
  const request = event.request;
  return fetch(request).then(function (response) {
    event.waitUntil(keep(request, response.clone()));
    return response;
  }).catch(function () {
    return currentUserCache().then(function (name) {
      if (!name) return offlinePage();
      return caches.open(name).then(function (cache) {
        return cache.match(request.url, { ignoreSearch: true }).then(function (hit) {
          if (hit) return hit;
          return request.mode === "navigate" ? cache.match(self.location.origin + PAGES).then(function (today) {
            return today || offlinePage();
          }) : offlinePage();
        });
      });
    });
  });
}

function staticFile(request) {
  return caches.open(STATIC_CACHE).then(function (cache) {
    return cache.match(request).then(function (hit) {
      if (hit) return hit;
      return fetch(request).then(function (response) {
        if (response.ok) cache.put(request, response.clone());
        return response;
      });
    });
  });
}

self.addEventListener("fetch", function (event) {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(staticFile(request));
  } else if (isPage(url.pathname)) {
    event.respondWith(page(event));
  }
});

// Background Sync, where the browser has it: ask an open page to send queued logs
// (the page holds the logic, since it must read a fresh CSRF token from a form).
self.addEventListener("sync", function (event) {
  if (event.tag !== "kindwork-logs") return;
  event.waitUntil(self.clients.matchAll({ type: "window" }).then(function (windows) {
    windows.forEach(function (client) { client.postMessage({ type: "flush" }); });
  }));
});
{% endverbatim %}
