// The portal's live view: the asset list from GET /api/assets (a page at a time), then every change
// over server-sent events. EventSource reconnects by itself; each (re)connection reloads the list.
(() => {
  const assets = new Map();
  let gateways = [];
  const $ = (s) => document.querySelector(s);
  const esc = (s) => String(s ?? '').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]));
  const time = (t) => (t ? new Date(t).toLocaleTimeString() : '—');
  const newer = (a, b) => !b || (a.since || '') >= (b.since || '') || (a.lastSeen || '') > (b.lastSeen || '');

  function put(a) {
    if (newer(a, assets.get(a.id))) assets.set(a.id, a);
  }

  function renderAssets(changed) {
    const filter = $('#filter').value.trim().toUpperCase();
    const rows = [...assets.values()]
      .filter((a) => !filter || [a.id, a.epc, a.name, a.type, a.zone].some((v) => (v || '').toUpperCase().includes(filter)))
      .sort((a, b) => a.id.localeCompare(b.id))
      .map((a) => `<tr data-epc="${esc(a.epc)}" data-asset="${esc(a.id)}"${a.id === changed ? ' class="flash"' : ''}>
        <td>${esc(a.name || a.id)}${a.registered ? '' : ' <span class="badge off">unregistered</span>'}</td>
        <td class="epc">${esc(a.epc)}</td><td>${esc(a.type || '—')}</td><td class="zone">${esc(a.zone || '—')}</td>
        <td>${time(a.since)}</td><td>${esc(a.gateway || '—')}</td><td>${time(a.lastSeen)}</td></tr>`);
    $('#assets tbody').innerHTML = rows.join('');
    $('#asset-count').textContent = `(${assets.size})`;
  }

  function renderGateways() {
    $('#gateways tbody').innerHTML = gateways.map((g) => `<tr data-gateway="${esc(g.gatewayId)}">
      <td>${esc(g.gatewayId)}</td><td><span class="status ${g.online ? 'on' : 'off'}">${g.online ? 'online' : 'offline'}</span></td>
      <td>${time(g.lastSeen)}</td><td>${g.bufferReads}</td><td>${esc(g.configVersion || '—')}</td><td>${g.batches}</td></tr>`).join('');
    $('#gateway-count').textContent = `(${gateways.length})`;
  }

  async function load() {
    let cursor = null;
    for (let page = 0; page < 100; page++) {
      const r = await fetch('/api/assets?limit=1000' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''));
      if (!r.ok) return;
      const body = await r.json();
      body.items.forEach(put);
      renderAssets(null);
      cursor = body.next;
      if (!cursor) return;
    }
  }

  function connect() {
    const es = new EventSource('/api/assets/stream');
    es.addEventListener('open', () => { $('#live').textContent = 'live'; $('#live').className = 'badge on'; load(); });
    es.addEventListener('error', () => { $('#live').textContent = 'reconnecting…'; $('#live').className = 'badge off'; });
    es.addEventListener('asset', (e) => { const a = JSON.parse(e.data); assets.set(a.id, a); renderAssets(a.id); });
    es.addEventListener('gateways', (e) => { gateways = JSON.parse(e.data); renderGateways(); });
  }

  $('#filter').addEventListener('input', () => renderAssets(null));
  connect();
})();
