// The dashboard's index: draws the rows in #index-data, then fetches /api/targets every 30 s
// and draws them again. Every value comes from the history (names, reasons and kinds from log
// lines): it goes into the page only as text, never as markup.
(function () {
  'use strict';
  const root = document.documentElement;
  const errors = [];
  const record = (text) => {
    errors.push(String(text).slice(0, 500));
    root.setAttribute('data-errors', JSON.stringify(errors));
  };
  window.addEventListener('error', (e) => record(`${e.message} (line ${e.lineno})`));
  document.addEventListener('securitypolicyviolation', (e) => record(`blocked by the page's policy: ${e.violatedDirective} ${e.blockedURI}`));

  const REFRESH_MS = 30 * 1000;
  const two = (n) => String(n).padStart(2, '0');
  const when = (ms) => {
    if (typeof ms !== 'number' || !Number.isFinite(ms)) return '';
    const d = new Date(ms);
    const today = new Date();
    const time = `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}`;
    return d.toISOString().slice(0, 10) === today.toISOString().slice(0, 10)
      ? `${time} UTC` : `${d.toISOString().slice(0, 10)} ${time} UTC`;
  };
  const ago = (ms, now) => {
    if (typeof ms !== 'number') return '';
    const s = Math.max(0, Math.round((now - ms) / 1000));
    if (s < 90) return `${s} s ago`;
    if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
    return `${Math.round(s / 3600)} h ago`;
  };
  const text = (v) => (v === null || v === undefined ? '—' : String(v));

  function cell(tr, value, cls) {
    const td = document.createElement('td');
    if (cls) td.className = cls;
    if (value instanceof Node) td.append(value); else td.textContent = text(value);
    tr.append(td);
    return td;
  }

  function draw(json) {
    const now = typeof json.generated_at === 'number' ? json.generated_at : Date.now();
    const rows = Array.isArray(json.targets) ? json.targets : [];
    const body = document.querySelector('#targets tbody');
    body.replaceChildren();
    for (const r of rows) {
      const level = ['trouble', 'notice', 'calm'].includes(r.level) ? r.level : 'calm';
      const tr = document.createElement('tr');
      tr.className = level;
      tr.dataset.target = `${r.app}/${r.process}`;
      const link = document.createElement('a');
      link.href = `/t/${encodeURIComponent(r.app)}/${encodeURIComponent(r.process)}`;
      link.textContent = `${r.app}/${r.process}`;
      const name = document.createElement('span');
      const badge = document.createElement('span');
      badge.className = `level ${level}`;
      badge.textContent = level;
      name.append(link, badge);
      cell(tr, name);
      cell(tr, r.quantity, 'num quantity');
      cell(tr, r.floor, 'num floor');
      const h = r.hold;
      cell(tr, h ? `${h.reason}${h.quantity !== null && h.quantity !== undefined ? ` at ${h.quantity}` : ''}, until ${h.until ? when(h.until) : 'further notice'}` : null, 'hold');
      const s = r.last_scale;
      cell(tr, s ? `${when(s.at)}: ${text(s.from)} → ${text(s.to)} (${s.reason}${s.result === 'ok' ? '' : `, ${s.result}`})` : null, 'scale');
      cell(tr, r.stream === 'none' ? 'no minutes' : `${r.stream}, last minute ${ago(r.last_minute, now)}`, 'stream');
      const q = r.queue;
      const seconds = (ms) => `${Math.round(ms / 1000)} s`;
      cell(tr, q ? `${text(q.depth)} waiting, the oldest ${seconds(q.latency_ms)}${typeof q.target_ms === 'number' ? ` (target ${seconds(q.target_ms)})` : ''}; ${q.busy === null ? '?' : q.busy} of ${text(q.capacity)} running; ${ago(q.at, now)}` : null, 'queue');
      cell(tr, Array.isArray(r.check) ? `${r.check[0]} ${ago(r.check[1], now)}` : null, 'check');
      cell(tr, r.alerts_day ? `${r.alerts_day} (last: ${r.last_alert ? `${r.last_alert[0]} ${ago(r.last_alert[1], now)}` : ''})` : '0', 'alerts');
      cell(tr, Array.isArray(r.why) && r.why.length ? r.why.join('; ') : '', 'why');
      body.append(tr);
    }
    document.getElementById('empty').hidden = rows.length > 0;
    document.getElementById('live-state').textContent = `Updated ${when(now)}; refreshed every 30 s.`;
  }

  function problem(message) {
    const p = document.getElementById('problem');
    p.hidden = !message;
    p.textContent = message || '';
  }

  function refresh() {
    fetch('/api/targets', { credentials: 'same-origin', cache: 'no-store' })
      .then((r) => r.json().then((json) => ({ ok: r.ok, status: r.status, json })))
      .then(({ ok, status, json }) => {
        if (!ok) throw new Error(json && json.error ? json.error : `HTTP ${status}`);
        draw(json);
        problem(null);
      })
      .catch((e) => problem(`Not updated: ${String(e.message || e).slice(0, 300)}. Trying again in 30 s.`));
  }

  const initial = JSON.parse(document.getElementById('index-data').textContent);
  if (initial && initial.error) problem(initial.error); else draw(initial || {});
  window.setInterval(refresh, REFRESH_MS);
  root.setAttribute('data-rendered', 'ok');
}());
