// warden's live pages: follows the page's event stream and applies the fragments it sends.
// Every fragment is HTML that the server rendered with every value escaped; this script only
// puts it in place. It reads the link token from the page's own address, so the token is never
// written into the page, and it runs under a CSP that forbids inline script.
(function () {
  'use strict';
  var body = document.body;
  var path = body.getAttribute('data-stream');
  var state = document.getElementById('live-state');

  function show(text, cls) {
    if (state) {
      state.textContent = text;
      state.className = 'live ' + cls;
    }
  }

  function ago(at) {
    var secs = Math.round((Date.now() - Date.parse(at)) / 1000);
    var ahead = secs < 0;
    secs = Math.abs(secs);
    var amount;
    if (secs < 5) return 'just now';
    if (secs < 60) amount = secs + ' s';
    else if (secs < 3600) amount = Math.floor(secs / 60) + ' min';
    else if (secs < 86400) amount = Math.floor(secs / 3600) + ' h';
    else amount = Math.floor(secs / 86400) + ' d';
    return ahead ? 'in ' + amount : amount + ' ago';
  }

  function refreshTimes() {
    var spans = document.querySelectorAll('span.rel[data-at]');
    for (var i = 0; i < spans.length; i++) {
      spans[i].textContent = '(' + ago(spans[i].getAttribute('data-at')) + ')';
    }
  }
  refreshTimes();
  window.setInterval(refreshTimes, 10000);

  if (!path || !window.EventSource) return;
  var token = new URLSearchParams(window.location.search).get('t') || '';
  var url = new URL(path, window.location.href);
  url.search = '';
  url.searchParams.set('t', token);
  var cursor = body.getAttribute('data-cursor');
  if (cursor) url.searchParams.set('from', cursor);

  function apply(event) {
    var patch = JSON.parse(event.data);
    var target = document.getElementById(patch.target);
    if (!target) return;
    if (patch.op === 'append') {
      target.insertAdjacentHTML('beforeend', patch.html);
    } else {
      var holder = document.createElement('template');
      holder.innerHTML = patch.html;
      target.replaceWith(holder.content);
    }
    refreshTimes();
  }

  var source = new EventSource(url.toString());
  source.onopen = function () { show('live', 'on'); };
  source.onerror = function () {
    if (source.readyState !== EventSource.CLOSED) show('reconnecting…', 'off');
  };
  source.addEventListener('patch', apply);
  source.addEventListener('end', function (event) {
    // The server closes the stream when the job ended or the link expired; without this the
    // browser would reconnect for ever.
    source.close();
    var end = JSON.parse(event.data);
    show(end.state, 'ended');
    (end.patches || []).forEach(function (patch) {
      apply({ data: JSON.stringify(patch) });
    });
  });
})();
