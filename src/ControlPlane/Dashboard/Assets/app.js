// EventMlOps dashboard: live updates from the server-sent events of /live, and the lineage's time travel. Everything
// else works without script. No inline script anywhere (the Content-Security-Policy allows this file only).
'use strict';
(() => {
  const main = document.getElementById('main');
  const status = document.getElementById('live-status');
  if (!main) return;

  // Replaces the element with this id by the same element of the page at url (fetched with the session cookie).
  async function swap(url, id) {
    const response = await fetch(url, { headers: { Accept: 'text/html' }, credentials: 'same-origin' });
    if (response.redirected && new URL(response.url).pathname === '/signin') { location.assign(response.url); return false; }
    if (!response.ok) return false;
    const next = new DOMParser().parseFromString(await response.text(), 'text/html').getElementById(id);
    const current = document.getElementById(id);
    if (!next || !current) return false;
    current.replaceWith(document.importNode(next, true));
    return true;
  }

  // Live: a page names the streams it shows (data-live, '*' for all); an event on one of them refreshes its content,
  // unless the person is busy with it (typing in a form, a confirmation open) — then once they are done.
  const live = main.dataset.live;
  if (live && typeof EventSource === 'function') {
    const streams = live.split(' ').filter(s => s.length > 0);
    const wanted = stream => live === '*' || streams.some(s => stream === s || (s.endsWith('@') && stream.startsWith(s)));
    const busy = () => main.querySelector('details.confirm[open]') !== null
      || (document.activeElement && main.contains(document.activeElement) && document.activeElement.matches('input, select, textarea'));
    // At most one refresh a second, however fast events come (a busy store appends many).
    let timer = null, running = false, last = 0;
    const refresh = async () => {
      timer = null;
      if (running || busy()) { timer = setTimeout(refresh, 1000); return; }
      running = true;
      last = Date.now();
      try {
        if (await swap(location.href, 'content') && status) status.textContent = 'Updated at ' + new Date().toLocaleTimeString();
      } finally { running = false; }
    };
    const source = new EventSource('/live?after=' + encodeURIComponent(main.dataset.seq || '0'));
    source.addEventListener('append', e => {
      const event = JSON.parse(e.data);
      if (wanted(event.stream) && timer === null) timer = setTimeout(refresh, Math.max(200, 1000 - (Date.now() - last)));
    });
  }

  // Time travel: moving the slider or picking a moment redraws the graph as of then, and the address says which.
  const travel = document.querySelector('form[data-travel]');
  if (travel) {
    const range = travel.querySelector('input[type=range]');
    const moment = travel.querySelector('select');
    const shown = travel.querySelector('output');
    const go = async value => {
      const url = new URL(location.href);
      url.search = '';
      if (value) url.searchParams.set('asOf', value);
      if (await swap(url, 'graph')) history.replaceState(null, '', url);
    };
    range.addEventListener('input', () => { shown.textContent = '#' + range.value; });
    range.addEventListener('change', () => { moment.value = ''; go(range.value); });
    moment.addEventListener('change', () => {
      if (moment.value) range.value = moment.value;
      shown.textContent = moment.value ? '#' + moment.value : 'now';
      go(moment.value);
    });
    travel.addEventListener('submit', e => { e.preventDefault(); go(moment.value || range.value); });
  }
})();
