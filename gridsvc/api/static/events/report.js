// The grid worker's report page. Its reports wait in the shared phone outbox
// (/static/phone/outbox.js: localStorage, an idempotency key made once per report, retries
// with backoff), so a report made with no signal, a closed tab or a reload is filed exactly
// once; this file makes the reports, sends one (the event, then its photo) and draws the page.
(function () {
  'use strict';
  var cfg = window.gridsvcReport;
  var place = null;
  var photo = null;

  function $(id) { return document.getElementById(id); }

  function render(items) {
    $('outbox-count').textContent = items.length;
    var ul = $('outbox');
    ul.textContent = '';
    items.forEach(function (it) {
      var li = document.createElement('li');
      li.dataset.key = it.key;
      li.textContent = (it.body ? it.body.description.slice(0, 60)
                                : '照片 photo → ' + it.event_id) + ' · ' +
        ((it.user || '') !== cfg.user ? '待 ' + it.user + ' 登录后发送 · sent when ' +
         it.user + ' signs in' : it.error ? '未能上报 ' + it.error :
         '等待网络 waiting (' + it.tries + ')');
      if (it.error) {
        var drop = document.createElement('button');
        drop.type = 'button';
        drop.textContent = '删除 drop';
        drop.addEventListener('click', function () {
          box.remove(it.key);
        });
        li.appendChild(drop);
      }
      ul.appendChild(li);
    });
    $('net').textContent = navigator.onLine ? '' : '离线：上报会在有信号时自动发送 · offline: ' +
      'reports are sent when the signal returns';
  }

  function dataUrlBlob(url) {
    var parts = url.split(',');
    var bytes = atob(parts[1]);
    var out = new Uint8Array(bytes.length);
    for (var i = 0; i < bytes.length; i++) { out[i] = bytes.charCodeAt(i); }
    return new Blob([out], {type: 'image/jpeg'});
  }

  // One step of a report: file the event (with its key), then its photo if it has one.
  // Returns 'sent' (nothing left), 'step' (the event is filed, the photo is next), 'retry',
  // or an error text the server gave.
  async function step(it) {
    var r;
    if (!it.event_id) {
      r = await fetch(cfg.post, {
        method: 'POST', credentials: 'same-origin',
        headers: {'Content-Type': 'application/json', 'Idempotency-Key': it.key},
        body: JSON.stringify(it.body)});
    } else {
      r = await fetch(cfg.photos.replace('{id}', it.event_id), {
        method: 'POST', credentials: 'same-origin',
        headers: {'Content-Type': 'image/jpeg'}, body: dataUrlBlob(it.photo)});
    }
    if (r.ok) {
      if (it.event_id || !it.photo) { return 'sent'; }
      it.event_id = (await r.json()).id;
      return 'step';
    }
    if (r.status >= 500 || r.status === 408 || r.status === 429) { return 'retry'; }
    var detail = '';
    try { detail = (await r.json()).detail || ''; } catch (e) { detail = ''; }
    return 'HTTP ' + r.status + ' ' + detail;
  }

  // One report to the outbox: the event, then at once its photo if it has one. A network
  // failure or a server error (5xx, 408, 429) is retried by the outbox with backoff (an event
  // already filed keeps its id, so only the photo goes again); any other 4xx is a report the
  // server will never take: it stays, marked, until the person drops it.
  async function send(it) {
    var outcome = await step(it);
    if (outcome === 'step') { refreshMine(); outcome = await step(it); }
    if (outcome === 'sent') { refreshMine(); return 'done'; }
    if (outcome === 'retry' || outcome === 'step') { return 'retry'; }
    return {error: outcome};
  }
  // Another person's report (a shared phone) waits until they sign in again.
  var box = window.gridsvc.outbox({
    name: 'gridsvc.outbox.v1', send: send, onchange: render,
    eligible: function (it) { return (it.user || '') === cfg.user; }});

  async function refreshMine() {
    try {
      var r = await fetch(cfg.mine, {credentials: 'same-origin',
                                     headers: {'Accept': 'application/json'}});
      if (!r.ok) { return; }
      var data = await r.json();
      var ul = $('mine');
      ul.textContent = '';
      data.items.forEach(function (e) {
        var li = document.createElement('li');
        li.dataset.id = e.id;
        var b = document.createElement('b');
        b.textContent = e.business_id || e.id;
        var s = document.createElement('span');
        s.className = 'state state-' + e.state;
        s.textContent = cfg.states[e.state] || e.state;
        li.append(b, ' ', cfg.names[e.category] || e.category, ' ', s);
        if (e.overdue) { var o = document.createElement('b'); o.className = 'overdue';
                         o.textContent = ' 超期'; li.append(o); }
        var more = document.createElement('button');
        more.type = 'button';
        more.className = 'add-photo';
        more.dataset.id = e.id;
        more.textContent = '补充照片 · add a photo';
        li.append(more);
        ul.appendChild(li);
      });
    } catch (e) { /* offline: the list stays as it was */ }
  }

  function locate() {
    if (!navigator.geolocation) { $('where').textContent = '此设备不能定位 · no GPS'; return; }
    $('where').textContent = '定位中… locating';
    navigator.geolocation.getCurrentPosition(function (p) {
      place = {lon: p.coords.longitude, lat: p.coords.latitude, accuracy: p.coords.accuracy};
      $('where').textContent = place.lat.toFixed(6) + ', ' + place.lon.toFixed(6) +
        ' (±' + Math.round(place.accuracy) + ' m)';
    }, function (err) {
      $('where').textContent = '定位失败 · ' + err.message + ' · 请填门牌 type the house';
    }, {enableHighAccuracy: true, timeout: 15000, maximumAge: 60000});
  }

  // A phone photo is several MB: shrink it to at most 1280 px as JPEG so it fits the outbox.
  function readPhoto(file) {
    return new Promise(function (resolve) {
      var img = new Image();
      img.onload = function () {
        var k = Math.min(1, 1280 / Math.max(img.width, img.height));
        var c = document.createElement('canvas');
        c.width = Math.round(img.width * k);
        c.height = Math.round(img.height * k);
        c.getContext('2d').drawImage(img, 0, 0, c.width, c.height);
        URL.revokeObjectURL(img.src);
        resolve(c.toDataURL('image/jpeg', 0.7));
      };
      img.onerror = function () { resolve(null); };
      img.src = URL.createObjectURL(file);
    });
  }

  function submit(ev) {
    ev.preventDefault();
    var house = $('house').value.trim();
    if (!place && !house) {
      $('where').textContent = '请定位或填门牌 · locate or type a house';
      return;
    }
    var body = {category: $('category').value, grade: $('grade').value,
                description: $('description').value.trim(), parties: $('parties').value.trim()};
    if (place) { body.lon = place.lon; body.lat = place.lat; body.crs = '4326'; }
    else { body.house = house; }
    box.add({body: body, photo: photo, user: cfg.user, made: new Date().toISOString()});
    $('report').reset();
    $('preview').hidden = true;
    place = null;
    photo = null;
    $('where').textContent = '未定位 · no position yet';
  }

  // A later photo of one of my events: queued like a report (its own key), sent when it can.
  var photoFor = null;
  $('mine').addEventListener('click', function (ev) {
    var button = ev.target.closest('button.add-photo');
    if (!button) { return; }
    photoFor = Number(button.dataset.id);
    $('more-photo').value = '';
    $('more-photo').click();
  });
  $('more-photo').addEventListener('change', async function () {
    var f = this.files && this.files[0];
    var data = f ? await readPhoto(f) : null;
    if (!data || !photoFor) { return; }
    box.add({body: null, event_id: photoFor, photo: data, user: cfg.user,
             made: new Date().toISOString()});
    photoFor = null;
  });

  $('locate').addEventListener('click', locate);
  $('report').addEventListener('submit', submit);
  $('photo').addEventListener('change', async function () {
    var f = this.files && this.files[0];
    photo = f ? await readPhoto(f) : null;
    $('preview').hidden = !photo;
    if (photo) { $('preview').src = photo; }
  });
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/m/sw.js', {scope: '/m/'}).catch(function () {});
  }
  render(box.items());
  box.flush();
  Object.assign(window.gridsvc, {ready: performance.now(), flush: box.flush, items: box.items,
                                 layers: {}});
})();
