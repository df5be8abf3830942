// The installable app's service worker (served at /sw.js, scope "/").
// Keeps the client's Today, practice and log pages, "I need a moment", the crisis help
// page, the audio guides of their current plans and the static files for offline use. A page or recording is kept only under
// the caches of the person it was served to (the server's {{ key_header }} header),
// caches of anyone else are deleted, and nothing outside /portal/, /static/ and the
// audio of the client's own plans is ever kept: no clinician page, no API answer.
//
// Caches are versioned ({{ version }} changes with this file and the static files):
// a new worker deletes the caches of older versions when it activates. The pages
// cache holds at most {{ max_pages }} pages, oldest first out (Today stays).
const KEY_HEADER = "{{ key_header }}";
const VERSION = "{{ version }}";
const MAX_PAGES = {{ max_pages }};
{% load static %}
// Push notifications (content-free reminders) are handled by the same worker.
importScripts("{% static 'js/push-sw.js' %}");
{% verbatim %}
"use strict";

const PREFIX = "kindwork-";
const STATIC_CACHE = PREFIX + "static-" + VERSION;
const USER_PREFIX = PREFIX + "user-";
const PAGES = "/portal/";
const NEVER = ["/api/", "/clinician/", "/admin/", "/accounts/"];
const AUDIO = /^\/exercises\/\d+\/audio\/$/;

// One person's caches: pages (versioned, rendered with this version's static files)
// and audio guides (not versioned: a recording does not change with the code; a new
// recording has a new URL).
function pagesCache(key) { return USER_PREFIX + key + "-pages-" + VERSION; }
function audioCache(key) { return USER_PREFIX + key + "-audio"; }

self.addEventListener("install", function () {
  self.skipWaiting();
});

function isCurrent(name) {
  if (name === STATIC_CACHE) return true;
  const person = /^kindwork-user-[0-9a-f]+-(pages-(.+)|audio)$/.exec(name);
  return person !== null && (person[1] === "audio" || person[2] === VERSION);
}

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf(PREFIX) === 0 && !isCurrent(name);
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () {
    return self.clients.claim();
  }).then(function () {
    // The open pages fill this version's caches again (they know which pages to keep).
    return self.clients.matchAll({ type: "window" });
  }).then(function (windows) {
    windows.forEach(function (client) { client.postMessage({ type: "rewarm" }); });
  }));
});

function isPage(path) {
  return path.indexOf(PAGES) === 0 && !NEVER.some(function (prefix) { return path.indexOf(prefix) === 0; });
}

// Deletes every person's caches but those of `except` (a key, or null for everyone's).
function clearUserCaches(except) {
  return caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf(USER_PREFIX) === 0 && !(except && name.indexOf(USER_PREFIX + except + "-") === 0);
    }).map(function (name) { return caches.delete(name); }));
  });
}

// The person whose pages and recordings are kept (there is at most one: keeping
// anything for one person deletes everyone else's first), or null.
function currentKey() {
  return caches.keys().then(function (names) {
    for (const name of names) {
      const match = /^kindwork-user-([0-9a-f]+)-/.exec(name);
      if (match) return match[1];
    }
    return null;
  });
}

// Oldest pages out first (a page put again moves to the end); Today always stays.
function trim(cache) {
  return cache.keys().then(function (requests) {
    const today = self.location.origin + PAGES;
    const candidates = requests.filter(function (request) { return request.url !== today; });
    const extra = requests.length - MAX_PAGES;
    if (extra <= 0) return null;
    return Promise.all(candidates.slice(0, extra).map(function (request) { return cache.delete(request); }));
  });
}

// Counts logouts: a page or recording asked for before a logout and answered after it
// is not kept (it would bring the person's cache back after the logout deleted it).
let logouts = 0;

// Store a page under its person's cache, dropping anyone else's first. `asked`: the
// logout count when it was asked for.
function keep(request, response, asked) {
  const key = response.headers.get(KEY_HEADER);
  if (!key || !response.ok || response.redirected || response.type !== "basic") return Promise.resolve();
  if (asked !== logouts) return Promise.resolve();
  return clearUserCaches(key).then(function () {
    return caches.open(pagesCache(key));
  }).then(function (cache) {
    if (asked !== logouts) return null;
    return cache.put(request.url, response).then(function () { return trim(cache); });
  });
}

function warm(urls) {
  const asked = logouts;
  return Promise.all(urls.map(function (url) {
    const path = new URL(url, self.location.origin).pathname;
    if (!isPage(path) && path.indexOf("/static/") !== 0) return null;
    return fetch(url, { credentials: "same-origin" }).then(function (response) {
      if (path.indexOf("/static/") === 0) {
        return response.ok ? caches.open(STATIC_CACHE).then(function (c) { return c.put(url, response); }) : null;
      }
      return keep(new Request(new URL(url, self.location.origin).href), response, asked);
    }).catch(function () { return null; });
  }));
}

// The audio guides of the client's current plans. `complete` (from Today, which lists
// every current plan): recordings not listed any more (a plan ended, a recording was
// replaced) are dropped. A recording already kept is not fetched again.
function warmAudio(key, urls, complete) {
  const asked = logouts;
  const wanted = urls.filter(function (url) {
    return AUDIO.test(new URL(url, self.location.origin).pathname);
  }).map(function (url) { return new URL(url, self.location.origin).href; });
  return caches.open(audioCache(key)).then(function (cache) {
    return cache.keys().then(function (kept) {
      const have = kept.map(function (request) { return request.url; });
      const drop = complete ? have.filter(function (url) { return wanted.indexOf(url) < 0; }) : [];
      return Promise.all(drop.map(function (url) { return cache.delete(url); })).then(function () {
        return Promise.all(wanted.filter(function (url) { return have.indexOf(url) < 0; }).map(function (url) {
          // The whole file (no Range header): a 206 cannot be kept, and seeking offline
          // is answered from the whole body (rangeOf below).
          return fetch(url, { credentials: "same-origin" }).then(function (response) {
            if (response.status !== 200 || response.headers.get(KEY_HEADER) !== key) return null;
            if (asked !== logouts) return null;
            return cache.put(url, response);
          }).catch(function () { return null; });
        }));
      });
    });
  });
}

self.addEventListener("message", function (event) {
  const data = event.data || {};
  if (data.type === "warm" && Array.isArray(data.urls) && typeof data.key === "string" && data.key) {
    event.waitUntil(clearUserCaches(data.key).then(function () {
      return Promise.all([
        warm(data.urls),
        warmAudio(data.key, Array.isArray(data.audio) ? data.audio : [], data.complete === true)
      ]);
    }));
  } else if (data.type === "logout") {
    logouts += 1;
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
  const asked = logouts;
  return fetch(request).then(function (response) {
    event.waitUntil(keep(request, response.clone(), asked));
    return response;
  }).catch(function () {
    return currentKey().then(function (key) {
      if (!key) return offlinePage();
      return caches.open(pagesCache(key)).then(function (cache) {
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

// A kept recording answers a Range request (how phones seek) with the 206 the server
// would give, built from the whole body kept; a range it cannot satisfy is a 416.
function rangeOf(request, whole) {
  const header = request.headers.get("Range");
  if (!header) return whole;
  return whole.blob().then(function (body) {
    const size = body.size;
    const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
    let start = null;
    let end = size - 1;
    if (match && match[1] !== "") {
      start = Number(match[1]);
      if (match[2] !== "") end = Math.min(Number(match[2]), size - 1);
    } else if (match && match[2] !== "") {
      start = Math.max(0, size - Number(match[2]));  // the last N bytes
    }
    if (start === null || start > end || start >= size) {
      return new Response(null, {
        status: 416,
        statusText: "Range Not Satisfiable",
        headers: { "Content-Range": "bytes */" + size, "Accept-Ranges": "bytes" }
      });
    }
    return new Response(body.slice(start, end + 1), {
      status: 206,
      statusText: "Partial Content",
      headers: {
        "Content-Type": whole.headers.get("Content-Type") || "application/octet-stream",
        "Content-Length": String(end - start + 1),
        "Content-Range": "bytes " + start + "-" + end + "/" + size,
        "Accept-Ranges": "bytes"
      }
    });
  });
}

// Kept (current plans, this person): from the phone, online or not, which saves the
// client's data; otherwise from the server, which checks who may hear it.
function audioFile(request) {
  return currentKey().then(function (key) {
    if (!key) return null;
    return caches.open(audioCache(key)).then(function (cache) { return cache.match(request.url); });
  }).then(function (hit) {
    return hit ? rangeOf(request, hit) : fetch(request);
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
  } else if (AUDIO.test(url.pathname)) {
    event.respondWith(audioFile(request));
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
