// prefetch.js - a classic async script, not a module: it runs as soon as it
// arrives, while the module graph is still loading, and starts the event
// page's two API reads (the event, its compact seat view), which are most
// of that page's wait. pages/event.js picks the responses up.
(function () {
  var m = location.pathname.match(/^\/events\/([^/]+)\/?$/);
  if (!m) return;
  var opts = { credentials: 'same-origin', headers: { Accept: 'application/json', 'X-Requested-With': 'tixin-web' } };
  var base = '/api/v1/events/' + m[1];
  window.tixinPrefetch = {
    id: decodeURIComponent(m[1]),
    event: fetch(base, opts),
    seats: fetch(base + '/seats?view=compact', opts),
  };
}());
