// The command centre's live events map: markers from the page, then every change from the
// server-sent events feed. EventSource reconnects by itself and sends the last id it saw
// (Last-Event-ID), so a dropped connection loses no change.
(function () {
  'use strict';
  var cfg = window.gridsvcLive;
  var map = L.map('map', {attributionControl: false});
  var grids = L.geoJSON(cfg.grids, {interactive: true,
    style: {color: '#607d8b', weight: 1, fillOpacity: 0.03},
    onEachFeature: function (f, l) { l.bindPopup(f.properties.name || f.id || ''); }
  }).addTo(map);
  var layer = L.featureGroup().addTo(map);
  var markers = {};
  var received = 0;

  function style(e) {
    return {radius: e.overdue ? 10 : 8, color: e.overdue ? cfg.overdue : '#ffffff',
            weight: e.overdue ? 4 : 2, fillColor: e.colour || '#999', fillOpacity: 0.9};
  }
  function label(e) {
    return (e.business_id || e.id) + ' · ' + e.category + ' · ' + e.grade + ' · ' + e.state +
      (e.overdue ? ' · 超期' : '') + (e.grid_id ? ' · ' + e.grid_id : '');
  }
  function put(e) {
    var old = markers[e.id];
    if (!e.open || e.lon === null || e.lon === undefined) {
      if (old) { layer.removeLayer(old); delete markers[e.id]; }
    } else if (old) {
      old.setStyle(style(e));
      old.setLatLng([e.lat, e.lon]);
      old.setPopupContent(label(e));
      old.options.gridsvc = e;
    } else {
      var m = L.circleMarker([e.lat, e.lon], style(e)).bindPopup(label(e));
      m.options.gridsvc = e;
      markers[e.id] = m.addTo(layer);
    }
    document.getElementById('count').textContent = Object.keys(markers).length;
  }

  cfg.events.forEach(put);
  var b = grids.getBounds().isValid() ? grids.getBounds() : layer.getBounds();
  if (b.isValid()) { map.fitBounds(b, {padding: [20, 20], maxZoom: 15}); }
  else { map.setView([28.19, 118.99], 12); }

  var status = document.getElementById('status');
  var source = new EventSource(cfg.stream + '?after=' + cfg.after);
  source.addEventListener('open', function () { status.textContent = '实时 live'; });
  source.addEventListener('error', function () { status.textContent = '重连中 reconnecting'; });
  source.addEventListener('signed-out', function () {
    source.close();
    status.textContent = '已退出，请刷新登录 signed out: reload to sign in';
  });
  // The day's summary follows the changes, fetched again at most every few seconds.
  var summaryTimer = null;
  function refreshSummary() {
    summaryTimer = null;
    fetch(cfg.summary, {credentials: 'same-origin'}).then(function (r) {
      return r.ok ? r.text() : null;
    }).then(function (html) {
      if (html) { document.getElementById('day-summary').innerHTML = html; }
    }).catch(function () { /* the next change tries again */ });
  }
  source.addEventListener('change', function (msg) {
    received += 1;
    var e = JSON.parse(msg.data);
    put(e);
    if (!summaryTimer) { summaryTimer = setTimeout(refreshSummary, 3000); }
    window.gridsvc.changes = received;
  });
  window.gridsvc = {ready: performance.now(), changes: 0, layers: {events: cfg.events.length,
                                                       grids: cfg.grids.features.length},
                    markers: function () { return Object.keys(markers).map(Number); },
                    marker: function (id) { return markers[id] ? markers[id].options.gridsvc : null; }};
})();
