// The portal's live view: a snapshot then every change, over server-sent events; EventSource
// reconnects by itself and the server sends a fresh snapshot on each connection.
(() => {
  const assets = new Map();
  let gateways = [];
  const $ = (s) => document.querySelector(s);
  const esc = (s) => String(s ?? '').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]));
  const time = (t) => (t ? new Date(t).toLocaleTimeString() : '—');

  function renderAssets(changed) {
    const filter = $('#filter').value.trim().toUpperCase();
    const rows = [...assets.values()]
      .filter((a) => !filter || a.epc.includes(filter) || (a.zone || '').toUpperCase().includes(filter))
      .sort((a, b) => a.epc.localeCompare(b.epc))
      .map((a) => `<tr data-epc="${esc(a.epc)}"${a.epc === changed ? ' class="flash"' : ''}>
        <td class="epc">${esc(a.epc)}</td><td class="zone">${esc(a.zone || '—')}</td><td>${esc(a.gatewayId)}</td>
        <td>${esc(a.readerId || '—')}${a.antenna ? ' / ' + a.antenna : ''}</td>
        <td>${a.rssi == null ? '—' : a.rssi.toFixed(1) + ' dBm'}</td><td>${time(a.lastSeen)}</td></tr>`);
    $('#assets tbody').innerHTML = rows.join('');
    $('#asset-count').textContent = `(${assets.size})`;
  }

  function renderGateways() {
    $('#gateways tbody').innerHTML = gateways.map((g) => `<tr data-gateway="${esc(g.gatewayId)}">
      <td>${esc(g.gatewayId)}</td><td><span class="status ${g.online ? 'on' : 'off'}">${g.online ? 'online' : 'offline'}</span></td>
      <td>${time(g.lastSeen)}</td><td>${g.bufferReads}</td><td>${esc(g.configVersion || '—')}</td><td>${g.batches}</td></tr>`).join('');
    $('#gateway-count').textContent = `(${gateways.length})`;
  }

  function connect() {
    const es = new EventSource('/api/assets/stream');
    es.addEventListener('open', () => { $('#live').textContent = 'live'; $('#live').className = 'badge on'; assets.clear(); });
    es.addEventListener('error', () => { $('#live').textContent = 'reconnecting…'; $('#live').className = 'badge off'; });
    es.addEventListener('asset', (e) => { const a = JSON.parse(e.data); assets.set(a.epc, a); renderAssets(a.epc); });
    es.addEventListener('gateways', (e) => { gateways = JSON.parse(e.data); renderGateways(); });
  }

  $('#filter').addEventListener('input', () => renderAssets(null));
  connect();
})();
