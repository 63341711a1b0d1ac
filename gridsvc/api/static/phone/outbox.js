// The grid worker's phone outbox, shared by the check-in, house-visit and report pages.
// A phone loses its signal, closes the tab and reloads: whatever the person made must survive
// all three and reach the server exactly once. So every item waits in localStorage until the
// server has answered for it, and gets its idempotency key once, when it is made: every send
// of it (the first, a retry after a timeout, a resend after a lost answer) carries that key.
// Plain ES2017 and no build step, because the pages must run on old phone browsers as served.
(function () {
  'use strict';
  // A network failure or a server error backs off 1 s, 2 s, 4 s ... at most a minute, with
  // jitter, so a crowd of phones coming back together does not hit the server in step.
  var MAX_WAIT_MS = 60000;

  // A random key from the platform's CSPRNG: predictable keys could collide across phones and
  // make the server take one person's item as another's duplicate.
  function newKey() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.from(b, function (x) { return ('0' + x.toString(16)).slice(-2); }).join('');
  }

  // outbox({name, key, send, onchange, eligible}):
  //   name      the localStorage key of the queue (a page's existing key, so a phone keeps
  //             the items it queued before this script existed);
  //   key       the item field holding the idempotency key (default 'key');
  //   send(it)  resolves to 'done' (the server has it, first time or as a duplicate: remove
  //             it), 'drop' (the server will never take it: remove it), 'retry' (network or
  //             server trouble: keep it and back off), or {error: text} (refused for good but
  //             kept, marked, until the person drops it); a throw counts as 'retry'. Changes
  //             send makes to the item (a step's id) are kept with it;
  //   onchange(items)  draws the queue and the online/offline indicator;
  //   eligible(it)     false for an item that must wait (another person's, on a shared phone).
  function outbox(opts) {
    var name = opts.name;
    var field = opts.key || 'key';
    var eligible = opts.eligible || function () { return true; };
    var onchange = opts.onchange || function () {};
    var sending = false;
    var again = false;
    var timer = null;

    // A corrupt value (an old page's bug, a full disk mid-write) must not break the page.
    function items() {
      try {
        var v = JSON.parse(localStorage.getItem(name) || '[]');
        return Array.isArray(v) ? v : [];
      } catch (e) { return []; }
    }
    function save(list) { localStorage.setItem(name, JSON.stringify(list)); onchange(list); }
    function waiting(it) { return !it.error && eligible(it); }

    function add(item) {
      if (!item[field]) { item[field] = newKey(); }
      item.tries = item.tries || 0;
      item.next = item.next || 0;
      var list = items();
      list.push(item);
      save(list);
      flush();
      return item;
    }
    function remove(key) {
      save(items().filter(function (x) { return x[field] !== key; }));
      schedule();
    }

    function schedule() {
      clearTimeout(timer);
      var list = items().filter(waiting);
      if (!list.length) { return; }
      var next = Math.min.apply(null, list.map(function (it) { return it.next || 0; }));
      timer = setTimeout(flush, Math.max(0, next - Date.now()));
    }

    // Send every waiting item, oldest first, one at a time (the server sees them in the order
    // they were made). The queue is read again after each answer: the page may have added or
    // dropped items meanwhile, and only this item's entry is changed.
    async function flush() {
      if (sending) { again = true; return; }
      sending = true;
      onchange(items());
      try {
        do {
          again = false;
          for (var it of items()) {
            if (!waiting(it) || (it.next || 0) > Date.now()) { continue; }
            var outcome;
            try { outcome = await opts.send(it); } catch (e) { outcome = 'retry'; }
            var list = items();
            var mine = list.find(function (x) { return x[field] === it[field]; });
            if (!mine) { continue; }
            if (outcome === 'done' || outcome === 'drop') {
              list = list.filter(function (x) { return x !== mine; });
            } else {
              Object.assign(mine, it);
              if (outcome && outcome.error) {
                mine.error = outcome.error;
              } else {
                mine.tries = (mine.tries || 0) + 1;
                var wait = Math.min(MAX_WAIT_MS, 1000 * Math.pow(2, mine.tries - 1));
                mine.next = Date.now() + wait * (0.75 + Math.random() / 2);
              }
            }
            save(list);
          }
        } while (again);
      } finally {
        sending = false;
        schedule();
      }
    }

    window.addEventListener('online', function () {
      // The network is back: every waiting item may go now, whatever its backoff said.
      save(items().map(function (it) { it.next = 0; return it; }));
      flush();
    });
    window.addEventListener('offline', function () { onchange(items()); });
    // A phone wakes a backgrounded tab late or never: try again when it is looked at.
    document.addEventListener('visibilitychange', function () {
      if (document.visibilityState === 'visible') { flush(); }
    });
    return {items: items, add: add, remove: remove, flush: flush, key: newKey};
  }

  // Reads a JSON response whose body may be empty or not JSON (a proxy's error page).
  function answer(r) {
    return r.json().catch(function () { return {}; })
      .then(function (body) { return {status: r.status, body: body}; });
  }

  // The check-in and house-visit pages' common parts: the online/offline line with the queue's
  // length, the status line, the "recent" list and the distance that orders the nearest first.
  var page = {
    net: function (items) {
      var n = items.length;
      document.getElementById('net').textContent =
        (navigator.onLine ? '在线 online' : '离线 offline') + (n ? ' · 待发送 queued ' + n : '');
    },
    say: function (text, cls) {
      var s = document.getElementById('status');
      s.textContent = text; s.className = cls || '';
    },
    note: function (text, cls) {
      var li = document.createElement('li');
      li.textContent = text; li.className = cls || '';
      var ul = document.getElementById('results');
      ul.insertBefore(li, ul.firstChild);
    },
    // Sends a queued item as JSON (without the page's label `name` and the outbox's
    // bookkeeping) and reads the answer for the outbox: 200/201 is the server's (200: it had
    // the key already, and answers with the first), handed to accepted(item, res); no sign-in
    // or a server in trouble is tried again; anything else the server will never take, so it
    // is noted in `window.gridsvc.errors` (a test hook) and the recent list, and dropped.
    post: function (url, item, accepted) {
      var body = Object.assign({}, item);
      delete body.name; delete body.tries; delete body.next;
      return fetch(url, {method: 'POST', credentials: 'same-origin',
                         headers: {'Content-Type': 'application/json'},
                         body: JSON.stringify(body)})
        .then(answer)
        .then(function (res) {
          if (res.status === 401) { page.say('请先登录 sign in first', 'bad'); return 'retry'; }
          if (res.status >= 500 || res.status === 408 || res.status === 429) { return 'retry'; }
          if (res.status === 200 || res.status === 201) { accepted(item, res); return 'done'; }
          window.gridsvc.errors.push({key: item.idempotency_key, http: res.status,
                                      detail: res.body.detail});
          page.note(item.name + ' · 被拒绝 refused: ' + (res.body.detail || res.status), 'bad');
          return 'drop';
        });
    },
    // Great-circle metres (haversine): enough to sort points a few hundred metres apart.
    metres: function (a, b) {
      var r = 6371008.8, p = Math.PI / 180;
      var dlat = (b.lat - a.lat) * p, dlon = (b.lon - a.lon) * p;
      var h = Math.sin(dlat / 2) * Math.sin(dlat / 2) + Math.cos(a.lat * p) *
              Math.cos(b.lat * p) * Math.sin(dlon / 2) * Math.sin(dlon / 2);
      return 2 * r * Math.asin(Math.sqrt(h));
    }
  };

  window.gridsvc = window.gridsvc || {};
  window.gridsvc.outbox = outbox;
  window.gridsvc.answer = answer;
  window.gridsvc.page = page;
})();
