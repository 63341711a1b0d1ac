// The report page's service worker: the page and its files open from the phone's cache when
// there is no signal (network first, so an online phone always gets the current page), and
// the outbox (/static/phone/outbox.js) does the rest. Only GETs of the page and its own files
// are touched.
'use strict';
// v2: the outbox moved to /static/phone/outbox.js, which the page cannot work without.
var CACHE = 'gridsvc-m-v2';
var SHELL = ['/m/report', '/static/phone/outbox.js', '/static/events/report.js',
             '/static/events/report.css'];

self.addEventListener('install', function (e) {
  e.waitUntil(caches.open(CACHE).then(function (c) { return c.addAll(SHELL); }));
  self.skipWaiting();
});

self.addEventListener('activate', function (e) {
  e.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== CACHE; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener('fetch', function (e) {
  var url = new URL(e.request.url);
  if (e.request.method !== 'GET' || url.origin !== self.location.origin ||
      SHELL.indexOf(url.pathname) < 0) {
    return;
  }
  e.respondWith(fetch(e.request).then(function (r) {
    // A redirect is the sign-in page (the session ended): never keep it as the page.
    if (r.ok && !r.redirected) {
      var copy = r.clone();
      caches.open(CACHE).then(function (c) { c.put(url.pathname, copy); });
    }
    return r;
  }).catch(function () {
    return caches.match(url.pathname).then(function (hit) { return hit || Response.error(); });
  }));
});
