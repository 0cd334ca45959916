// The autoscale report page: draws the JSON in #report-data with D3 v7 (inlined before this
// script). Plain ES2017, no build step, no network.
//
// Per target (one process type of one app): a summary, four time panels that share ONE time axis
// with every other target's (drag across any of them to zoom all; double-click or "Reset zoom"
// to go back), and a week heatmap. Legend buttons hide and show series; hovering shows exact
// values.
//
// The data is untrusted (names and messages come from log lines): every string goes into the DOM
// as text, never as markup, and every number goes through num(), so a null, NaN or missing value
// skips a point instead of breaking a panel. Opened as report.html#selftest, the page also
// exercises itself with real mouse events and writes what happened into #selftest-result (see
// selfTest at the end) for the headless browser test.
(function () {
  'use strict';

  const MINUTE = 60e3;
  const HOUR = 60 * MINUTE;
  const DAY = 24 * HOUR;
  const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
  const WEEKDAY_NAMES = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
  const COLOURS = {
    s2xx: '#59a14f', s3xx: '#4e79a7', s4xx: '#f28e2b', s5xx: '#e15759',
    h10: '#7b1fa2', h12: '#b71c1c', h13: '#6d4c41',
    p50: '#6baed6', p95: '#08519c', slow: '#d62728',
    busy: '#4e79a7', capacity: '#2ca02c',
    quantity: '#1f77b4', floor: '#6e7781', max: '#d62728', serving: '#17becf',
    alert: '#e377c2', waiting: '#f28e2b', latency: '#b07aa1',
  };
  const OUTCOME_COLOURS = { fast: '#2ca02c', ok: '#1f77b4', slow: '#ff7f0e', down: '#d62728' };
  const REASON_COLOURS = {
    startup: '#8c564b', schedule: '#9467bd', down: '#d62728', slow: '#ff7f0e', floor: '#6e7781',
    scale_in: '#2ca02c', load: '#17becf', queue: '#ff9da7',
  };
  const OTHER_COLOUR = '#bcbd22';

  // ---- Reading the data defensively ----------------------------------------------------------

  /** A finite, non-negative number, or null. */
  const num = (v) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null);
  const arr = (v) => (Array.isArray(v) ? v : []);
  const str = (v) => (typeof v === 'string' ? v : v == null ? '' : String(v));
  const byTime = (a, b) => a.t - b.t;

  function readMinutes(columns) {
    const c = columns && typeof columns === 'object' ? columns : {};
    const col = (k) => arr(c[k]);
    // Times: t0 (epoch ms) then each point's distance in minutes from the one before.
    const t = [];
    let minute = num(c.t0);
    for (const dt of col('dt')) {
      minute = minute !== null && Number.isInteger(dt) ? minute + dt * MINUTE : null;
      t.push(minute);
    }
    const fields = ['requests', 's2xx', 's3xx', 's4xx', 's5xx', 'h10', 'h12', 'h13', 'errors',
      'p50_ms', 'p95_ms', 'busy', 'dynos'];
    const cols = fields.map(col);
    const rows = [];
    for (let i = 0; i < t.length; i++) {
      const time = num(t[i]);
      if (time === null) continue;
      const row = { t: time };
      fields.forEach((f, j) => { row[f] = num(cols[j][i]); });
      rows.push(row);
    }
    return rows.sort(byTime);
  }

  const readSteps = (list) => arr(list)
    .filter((p) => Array.isArray(p) && num(p[0]) !== null && num(p[1]) !== null)
    .map((p) => ({ t: p[0], v: p[1] }))
    .sort(byTime);

  function readTarget(raw, index) {
    const t = raw && typeof raw === 'object' ? raw : {};
    const heat = t.heatmap && typeof t.heatmap === 'object' ? t.heatmap : null;
    return {
      index,
      app: str(t.app),
      process: str(t.process),
      concurrency: num(t.concurrency),
      slowMs: num(t.slow_ms),
      max: num(t.max),
      queueLatencyMs: num(t.queue_latency_ms),
      // A worker's queue minutes: [t, depth, latency_ms, busy, capacity].
      queue: arr(t.queue).filter((q) => Array.isArray(q) && num(q[0]) !== null).map((q) => ({
        t: q[0], depth: num(q[1]), latency: num(q[2]), busy: num(q[3]), capacity: num(q[4]),
      })).sort(byTime),
      rows: readMinutes(t.minutes),
      quantity: readSteps(t.quantity),
      floor: readSteps(t.floor),
      scales: arr(t.scales).filter((s) => s && num(s.t) !== null).map((s) => ({
        t: s.t, from: num(s.from), to: num(s.to), reason: str(s.reason), result: str(s.result),
      })).sort(byTime),
      alerts: arr(t.alerts).filter((a) => a && num(a.t) !== null).map((a) => ({
        t: a.t, kind: str(a.kind), message: str(a.message),
      })).sort(byTime),
      probes: arr(t.probes).filter((p) => Array.isArray(p) && num(p[0]) !== null).map((p) => ({
        t: p[0], latency: num(p[1]), outcome: str(p[2]),
      })).sort(byTime),
      dropped: t.dropped && typeof t.dropped === 'object' ? t.dropped : {},
      heatmap: heat && {
        requests: WEEKDAYS.map((_, d) => Array.from({ length: 24 }, (_, h) => num(arr(arr(heat.requests)[d])[h]))),
        minutes: WEEKDAYS.map((_, d) => Array.from({ length: 24 }, (_, h) => num(arr(arr(heat.minutes)[d])[h]))),
      },
      summary: t.summary && typeof t.summary === 'object' ? t.summary : {},
    };
  }

  // ---- Time in the report's zone --------------------------------------------------------------

  /**
   * The zone from the offsets the data carries ([[from ms, seconds east of UTC], ...]), so the
   * page shows the schedule's wall-clock time whatever the viewer's own zone is. "Wall" times
   * are that wall clock written as if it were UTC, which d3's UTC formats and ticks then read.
   */
  function makeZone(raw) {
    const z = raw && typeof raw === 'object' ? raw : {};
    const offsets = arr(z.offsets)
      .filter((o) => Array.isArray(o) && Number.isFinite(o[0]) && Number.isFinite(o[1]) && Math.abs(o[1]) < 86400)
      .map((o) => [o[0], o[1] * 1000])
      .sort((a, b) => a[0] - b[0]);
    if (!offsets.length) offsets.push([0, 0]);
    const offsetAt = (t) => {
      let lo = 0;
      let hi = offsets.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (offsets[mid][0] <= t) lo = mid; else hi = mid - 1;
      }
      return offsets[lo][1];
    };
    const toWall = (t) => t + offsetAt(t);
    // The instant a wall time names (the first, when the clock went back).
    const fromWall = (w) => w - offsetAt(w - offsetAt(w));
    const offsetLabel = (ms) => {
      const m = Math.round(Math.abs(ms) / MINUTE);
      return `UTC${ms < 0 ? '−' : '+'}${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
    };
    return {
      name: str(z.name) || 'UTC',
      toWall,
      fromWall,
      format: (spec) => { const f = d3.utcFormat(spec); return (t) => f(new Date(toWall(t))); },
      offsetLabels: [...new Set(offsets.map((o) => offsetLabel(o[1])))],
    };
  }

  // ---- Formatting -----------------------------------------------------------------------------

  const fmtInt = d3.format(',');
  const fmtCount = (v) => (v == null ? '–' : fmtInt(Math.round(v)));
  const fmtReal = (v) => (v == null ? '–' : d3.format(',.2~f')(v));
  const fmtMs = (v) => (v == null ? '–' : `${v >= 100 ? fmtInt(Math.round(v)) : d3.format(',.1~f')(v)} ms`);
  const fmtHours = (v) => (v == null ? '–' : `${d3.format(',.1f')(v)} h`);
  const fmtPercent = d3.format('.1~%');

  /** A job's wait: seconds below an hour (`45 s`, `2.5 s`), else as fmtDuration. */
  const fmtWait = (ms) => (ms == null ? '–' : ms < HOUR ? `${d3.format(',.1~f')(ms / 1000)} s` : fmtDuration(ms));

  function fmtDuration(ms) {
    const d = Math.floor(ms / DAY);
    const h = Math.floor((ms % DAY) / HOUR);
    const m = Math.round((ms % HOUR) / MINUTE);
    return [d && `${d} d`, h && `${h} h`, (m || (!d && !h)) && `${m} min`].filter(Boolean).join(' ');
  }

  // ---- The tooltip ----------------------------------------------------------------------------

  const tooltip = document.getElementById('tooltip');

  /**
   * Shows {title, rows: [[label, value, colour?]], notes: [text]} next to the pointer. Built with
   * DOM nodes and textContent only.
   */
  function showTooltip(event, content) {
    tooltip.replaceChildren();
    const title = document.createElement('div');
    title.className = 'tt-title';
    title.textContent = content.title;
    tooltip.append(title);
    if (content.rows && content.rows.length) {
      const table = document.createElement('table');
      for (const [label, value, colour] of content.rows) {
        const tr = table.insertRow();
        const name = tr.insertCell();
        if (colour) {
          const swatch = document.createElement('span');
          swatch.className = 'swatch';
          swatch.style.background = colour;
          name.append(swatch);
        }
        name.append(label);
        const cell = tr.insertCell();
        cell.className = 'v';
        cell.textContent = value;
      }
      tooltip.append(table);
    }
    for (const note of content.notes || []) {
      const div = document.createElement('div');
      div.className = 'msg';
      div.textContent = note;
      tooltip.append(div);
    }
    tooltip.hidden = false;
    const pad = 14;
    const box = tooltip.getBoundingClientRect();
    let left = event.clientX + pad;
    let top = event.clientY + pad;
    if (left + box.width > window.innerWidth - 4) left = Math.max(4, event.clientX - pad - box.width);
    if (top + box.height > window.innerHeight - 4) top = Math.max(4, event.clientY - pad - box.height);
    tooltip.style.left = `${left}px`;
    tooltip.style.top = `${top}px`;
  }

  const hideTooltip = () => { tooltip.hidden = true; };

  // ---- Axes -----------------------------------------------------------------------------------

  /** Hides tick labels that would touch the previous shown one (after rotation, fonts, ...). */
  function thinLabels(axisG) {
    let last = null;
    axisG.selectAll('.tick text').each(function () {
      this.removeAttribute('display');
      if (!this.textContent) return;
      const r = this.getBoundingClientRect();
      const gap = 4;
      if (last && r.left < last.right + gap && last.left < r.right + gap
        && r.top < last.bottom + 1 && last.top < r.bottom + 1) {
        this.setAttribute('display', 'none');
      } else {
        last = r;
      }
    });
  }

  /** A time axis in the zone's wall clock: ticks at whole wall-clock hours, days, .... */
  function drawTimeAxis(axisG, x, zone, height) {
    const [a, b] = x.domain().map(Number);
    const wall = d3.scaleUtc().domain([zone.toWall(a), zone.toWall(b)]);
    const ticks = wall.ticks(Math.max(2, Math.floor(x.range()[1] / 100)));
    const step = ticks.length > 1 ? ticks[1] - ticks[0] : DAY;
    const day = d3.utcFormat('%a %d %b');
    const time = d3.utcFormat('%H:%M');
    const label = (w) => (step >= DAY || (w.getUTCHours() === 0 && w.getUTCMinutes() === 0) ? day(w) : time(w));
    axisG.attr('transform', `translate(0,${height})`)
      .call(d3.axisBottom(x)
        .tickValues(ticks.map((w) => new Date(zone.fromWall(+w))))
        .tickFormat((t) => label(new Date(zone.toWall(+t)))));
    thinLabels(axisG);
  }

  // ---- Shared state ---------------------------------------------------------------------------

  let data;
  let zone;
  let targets = [];
  const view = { full: [0, 1], domain: [0, 1] };
  let panels = [];
  /** Hidden series by panel ("0/requests") — kept across a redraw for a new window width. */
  const hidden = new Map();

  function timeExtent() {
    const times = [];
    const add = (t) => { if (num(t) !== null) times.push(t); };
    for (const t of targets) {
      if (t.rows.length) { add(t.rows[0].t); add(t.rows[t.rows.length - 1].t + MINUTE); }
      for (const list of [t.quantity, t.floor, t.scales, t.alerts, t.probes]) {
        if (list.length) { add(list[0].t); add(list[list.length - 1].t); }
      }
      add(t.summary.from);
      add(t.summary.to);
    }
    let lo = d3.min(times);
    let hi = d3.max(times);
    if (lo == null) {
      hi = num(data.generated_at) !== null ? data.generated_at : 0;
      lo = hi - HOUR;
    }
    if (hi - lo < 10 * MINUTE) { lo -= 5 * MINUTE; hi += 5 * MINUTE; }
    return [lo, hi];
  }

  function setDomain(domain) {
    const [lo, hi] = view.full;
    let [a, b] = domain;
    a = Math.max(lo, a);
    b = Math.min(hi, b);
    if (!(b - a >= 5 * MINUTE)) return; // a click, or a sliver: keep the current view
    view.domain = [a, b];
    panels.forEach((p) => p.draw());
    showRange();
  }

  function showRange() {
    const f = zone.format('%a %d %b %Y %H:%M');
    const [a, b] = view.domain;
    const zoomed = a > view.full[0] || b < view.full[1];
    document.getElementById('range').textContent =
      `${zoomed ? 'Zoomed to' : 'Showing'} ${f(a)} – ${f(b)} (${fmtDuration(b - a)})`;
  }

  // ---- Series helpers -------------------------------------------------------------------------

  /** Minutes per drawn point: the smallest of these that leaves about 2 px per point. */
  const BUCKETS = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440];

  /**
   * The visible minutes, averaged into buckets when there are more than about one per 2 px.
   * Counts of router errors are summed (a mark must not vanish into a mean); other fields are
   * means over the minutes with a value. A gap longer than two buckets becomes a {gap} row, so
   * lines and areas break there instead of bridging it.
   */
  function bucketRows(rows, domain, width) {
    const [a, b] = domain;
    const bisect = d3.bisector((r) => r.t);
    const i0 = Math.max(0, bisect.left(rows, a) - 1);
    const i1 = Math.min(rows.length, bisect.right(rows, b) + 1);
    const span = (b - a) / MINUTE;
    const size = BUCKETS.find((m) => span / m <= width / 2) || BUCKETS[BUCKETS.length - 1];
    const ms = size * MINUTE;
    const out = [];
    let current = null;
    const sumFields = ['h10', 'h12', 'h13'];
    const meanFields = ['requests', 's2xx', 's3xx', 's4xx', 's5xx', 'errors', 'p50_ms', 'p95_ms', 'busy', 'dynos'];
    const close = () => {
      if (!current) return;
      const row = { t: current.t };
      for (const f of sumFields) row[f] = current.sum[f];
      for (const f of meanFields) row[f] = current.n[f] ? current.sum[f] / current.n[f] : null;
      out.push(row);
    };
    for (let i = i0; i < i1; i++) {
      const r = rows[i];
      const start = Math.floor(r.t / ms) * ms;
      if (!current || current.t !== start) {
        close();
        if (current && start - current.t > 2 * ms) out.push({ t: current.t + ms, gap: true });
        current = { t: start, sum: {}, n: {} };
        for (const f of sumFields.concat(meanFields)) { current.sum[f] = 0; current.n[f] = 0; }
      }
      for (const f of sumFields.concat(meanFields)) {
        if (r[f] !== null) { current.sum[f] += r[f]; current.n[f] += 1; }
      }
    }
    close();
    return { rows: out, size };
  }

  /** The step value in force at t, or null before the first step. */
  function stepAt(steps, t) {
    const i = d3.bisector((s) => s.t).right(steps, t) - 1;
    return i >= 0 ? steps[i].v : null;
  }

  /** A step series drawn to the end of the report (each value holds until the next). */
  const stepPoints = (steps) => (steps.length ? steps.concat([{ t: view.full[1], v: steps[steps.length - 1].v }]) : []);

  /** The minute row at t, if there is one. */
  function rowAt(rows, t) {
    const i = d3.bisector((r) => r.t).right(rows, t) - 1;
    return i >= 0 && t - rows[i].t < MINUTE ? rows[i] : null;
  }

  /** The mark nearest to t within `px` pixels, or null. */
  function nearest(marks, t, x, px) {
    let best = null;
    let bestD = Infinity;
    const i = d3.bisector((m) => m.t).left(marks, t);
    for (let j = Math.max(0, i - 3); j < Math.min(marks.length, i + 3); j++) {
      const d = Math.abs(x(marks[j].t) - x(t));
      if (d < bestD) { best = marks[j]; bestD = d; }
    }
    return bestD <= px ? best : null;
  }

  const inView = (list) => {
    const [a, b] = view.domain;
    const bisect = d3.bisector((m) => m.t);
    return list.slice(bisect.left(list, a), bisect.right(list, b));
  };

  const maxOf = (values) => {
    let m = null;
    for (const v of values) if (v !== null && v !== undefined && (m === null || v > m)) m = v;
    return m;
  };

  // ---- A time panel ---------------------------------------------------------------------------

  /**
   * One panel on the shared time axis. `spec`:
   *   key, title, yLabel, height, marginTop
   *   series: [{ id, label, colour, dash? }] — legend buttons that hide/show
   *   keys: [{ label, colour }] — legend entries that are not toggles
   *   hasData(): false draws "no data"
   *   scale(): 'linear' | 'log'
   *   yMax(ctx), yMin(ctx) (log only): the y extent of what is visible
   *   draw(ctx): draws into ctx.plot (clipped) and ctx.top (above the plot)
   *   tooltip(ctx, t): the tooltip content at time t
   */
  function timePanel(section, target, spec, width) {
    const id = `${target.index}/${spec.key}`;
    if (!hidden.has(id)) hidden.set(id, new Set());
    const off = hidden.get(id);
    // Room on the right for half a day label centred on the last tick.
    const margin = { top: spec.marginTop || 8, right: 36, bottom: 26, left: 64 };
    const w = width - margin.left - margin.right;
    const h = spec.height;

    const wrap = section.append('div').attr('class', 'panel').attr('data-panel', spec.key).attr('data-kind', 'time');
    const head = wrap.append('div').attr('class', 'panel-head');
    head.append('h3').text(spec.title);
    const legend = head.append('div').attr('class', 'legend');
    const note = head.append('span').attr('class', 'note');

    const svg = wrap.append('svg')
      .attr('width', width).attr('height', h + margin.top + margin.bottom)
      .attr('role', 'img').attr('aria-label', `${spec.title}, ${target.app}/${target.process}`);
    svg.append('title').text(`${spec.title} (${target.app}/${target.process})`);
    const clipId = `clip-${target.index}-${spec.key}`;
    svg.append('clipPath').attr('id', clipId).append('rect').attr('width', w).attr('height', h);
    const g = svg.append('g').attr('transform', `translate(${margin.left},${margin.top})`);
    const grid = g.append('g').attr('class', 'grid');
    const plot = g.append('g').attr('class', 'plot').attr('clip-path', `url(#${clipId})`);
    const top = g.append('g').attr('class', 'top');
    const yAxis = g.append('g').attr('class', 'axis y-axis');
    const xAxis = g.append('g').attr('class', 'axis x-axis');
    g.append('text').attr('class', 'axis-label')
      .attr('transform', 'rotate(-90)').attr('x', -h / 2).attr('y', -margin.left + 12)
      .attr('text-anchor', 'middle').text(spec.yLabel);
    const empty = g.append('text').attr('class', 'nodata').attr('x', w / 2).attr('y', h / 2)
      .attr('text-anchor', 'middle').attr('dominant-baseline', 'middle');
    const hover = g.append('line').attr('class', 'hover-line').attr('y1', 0).attr('y2', h).attr('display', 'none');
    const brushG = g.append('g').attr('class', 'brush');

    const x = d3.scaleUtc().range([0, w]);
    const ctx = { target, w, h, x, y: null, plot, top, off, margin, bucket: null };

    for (const s of spec.series) {
      const button = legend.append('button').attr('type', 'button').attr('data-series', s.id)
        .attr('aria-pressed', String(!off.has(s.id)))
        .attr('title', `Show or hide ${s.label}`)
        .on('click', () => {
          if (off.has(s.id)) off.delete(s.id); else off.add(s.id);
          button.attr('aria-pressed', String(!off.has(s.id)));
          draw();
        });
      button.append('span').attr('class', 'swatch').style('background', s.colour);
      button.append('span').text(s.label);
    }
    for (const k of spec.keys ? spec.keys() : []) {
      const item = legend.append('span').attr('class', 'static');
      item.append('span').attr('class', 'swatch').style('background', k.colour);
      item.append('span').text(k.label);
    }

    function draw() {
      x.domain(view.domain);
      plot.selectAll('*').remove();
      top.selectAll('*').remove();
      drawTimeAxis(xAxis, x, zone, h);
      ctx.bucket = spec.bucketed ? bucketRows(target.rows, view.domain, w) : null;
      note.text(spec.note ? spec.note(ctx) : '');
      if (!spec.hasData()) {
        return nothing('no data');
      }
      const hi = spec.yMax(ctx);
      if (hi === null) {
        return nothing(spec.series.every((s) => off.has(s.id)) ? 'every series hidden' : 'no data in this range');
      }
      empty.text('');
      if (spec.scale === 'log') {
        const lo = Math.max(0.1, Math.min(spec.yMin(ctx) || 1, hi) * 0.8);
        ctx.y = d3.scaleLog().domain([lo, Math.max(hi * 1.25, lo * 10)]).range([h, 0]).clamp(true);
      } else {
        ctx.y = d3.scaleLinear().domain([0, hi > 0 ? hi * 1.08 : 1]).range([h, 0]).nice();
      }
      const count = Math.max(2, Math.floor(h / 40));
      const axis = d3.axisLeft(ctx.y);
      let lines; // values of the grid lines: the labelled ticks
      if (spec.integer) {
        lines = ctx.y.ticks(Math.min(count, ctx.y.domain()[1])).filter(Number.isInteger);
        axis.tickValues(lines).tickFormat(d3.format('d'));
      } else if (spec.scale === 'log') {
        // A log scale ticks 1, 2, ... 9, 10, 20, ...: label (and grid) the powers of ten, and
        // 2 and 5 times them when that makes fewer than three labels.
        const at = (steps) => ctx.y.ticks(count).filter((v) => steps.some((k) => {
          const power = Math.log10(v / k);
          return Math.abs(power - Math.round(power)) < 1e-9;
        }));
        lines = at([1]);
        if (lines.length < 3) lines = at([1, 2, 5]);
        if (lines.length < 2) lines = ctx.y.ticks(count);
        axis.tickValues(lines).tickFormat(d3.format('~s'));
      } else {
        lines = ctx.y.ticks(count);
        axis.tickValues(lines).tickFormat(d3.format('~s'));
      }
      yAxis.call(axis);
      thinLabels(yAxis);
      grid.call(d3.axisLeft(ctx.y).tickValues(lines).tickSize(-w).tickFormat(''));
      spec.draw(ctx);
      return null;
    }

    function nothing(text) {
      ctx.y = null;
      yAxis.selectAll('*').remove();
      grid.selectAll('*').remove();
      empty.text(text);
    }

    const brush = d3.brushX().extent([[0, 0], [w, h]])
      .on('end', (event) => {
        if (!event.sourceEvent || !event.selection) return;
        const [a, b] = event.selection.map((px) => +x.invert(px));
        brushG.call(brush.move, null);
        setDomain([a, b]);
      });
    brushG.call(brush)
      .on('dblclick', () => setDomain(view.full))
      .on('mousemove', (event) => {
        const [mx] = d3.pointer(event, g.node());
        const t = +x.invert(mx);
        hover.attr('x1', mx).attr('x2', mx).attr('display', null);
        showTooltip(event, spec.tooltip(ctx, t));
      })
      .on('mouseleave', () => { hover.attr('display', 'none'); hideTooltip(); });

    const panel = { id, draw };
    panels.push(panel);
    draw();
    return panel;
  }

  /** Draws a line of `rows[field]`, broken where a value is missing. */
  function line(ctx, rows, field, colour, cls, dash) {
    ctx.plot.append('path').datum(rows)
      .attr('class', `series ${cls}`)
      .attr('fill', 'none').attr('stroke', colour).attr('stroke-width', 1.5)
      .attr('stroke-dasharray', dash || null)
      .attr('d', d3.line()
        .defined((r) => !r.gap && r[field] !== null && (ctx.y.domain()[0] > 0 ? r[field] > 0 : true))
        .x((r) => ctx.x(r.t)).y((r) => ctx.y(r[field])));
  }

  /** Draws a step series (each value until the next). */
  function steps(ctx, points, colour, cls, dash, scale) {
    const k = scale || 1;
    ctx.plot.append('path').datum(stepPoints(points))
      .attr('class', `series ${cls}`)
      .attr('fill', 'none').attr('stroke', colour).attr('stroke-width', 2)
      .attr('stroke-dasharray', dash || null)
      .attr('d', d3.line().curve(d3.curveStepAfter).x((s) => ctx.x(s.t)).y((s) => ctx.y(s.v * k)));
  }

  /** A horizontal line across the plot at value v. */
  function level(ctx, v, colour, cls, dash) {
    ctx.plot.append('path').attr('class', `series ${cls}`)
      .attr('fill', 'none').attr('stroke', colour).attr('stroke-width', 1.5).attr('stroke-dasharray', dash)
      .attr('d', `M0,${ctx.y(v)}H${ctx.w}`);
  }

  const bucketNote = (ctx) => (ctx.bucket && ctx.bucket.size > 1 ? `drawn as ${fmtDuration(ctx.bucket.size * MINUTE)} means` : '');
  const timeTitle = (t) => `${zone.format('%a %d %b %Y %H:%M')(t)} ${zone.name}`;

  // ---- The four time panels -------------------------------------------------------------------

  const STATUS = [
    { id: 's2xx', label: '2xx' }, { id: 's3xx', label: '3xx' },
    { id: 's4xx', label: '4xx' }, { id: 's5xx', label: '5xx' },
  ];
  const ROUTER = [
    { id: 'h10', label: 'H10 app crashed' }, { id: 'h12', label: 'H12 timeout' },
    { id: 'h13', label: 'H13 connection closed' },
  ];

  function requestsPanel(section, t, width) {
    const strip = 12; // one row of router-error marks per code, above the plot
    return timePanel(section, t, {
      key: 'requests',
      title: 'Requests per minute by status class',
      yLabel: 'requests / min',
      height: 190,
      marginTop: 8 + ROUTER.length * strip,
      bucketed: true,
      series: STATUS.map((s) => ({ ...s, colour: COLOURS[s.id] }))
        .concat(ROUTER.map((s) => ({ ...s, colour: COLOURS[s.id] }))),
      note: bucketNote,
      hasData: () => t.rows.length > 0,
      yMax: (ctx) => {
        const keys = STATUS.map((s) => s.id).filter((k) => !ctx.off.has(k));
        if (!keys.length) return null;
        return maxOf(ctx.bucket.rows.filter((r) => !r.gap).map((r) => d3.sum(keys, (k) => r[k] || 0)));
      },
      draw: (ctx) => {
        const keys = STATUS.map((s) => s.id).filter((k) => !ctx.off.has(k));
        const rows = ctx.bucket.rows;
        const stacked = d3.stack().keys(keys).value((r, k) => r[k] || 0)(rows);
        ctx.plot.selectAll('path.area').data(stacked).join('path')
          .attr('class', (s) => `series area ${s.key}`)
          .attr('fill', (s) => COLOURS[s.key]).attr('fill-opacity', 0.85)
          // A minute whose every count is missing breaks the area instead of dropping to 0.
          .attr('d', d3.area().defined((p) => !p.data.gap && STATUS.some((c) => p.data[c.id] !== null))
            .x((p) => ctx.x(p.data.t)).y0((p) => ctx.y(p[0])).y1((p) => ctx.y(p[1])));
        // Router errors: a mark per bucket with any, one row per code above the plot.
        const bw = Math.max(2, ctx.x(ctx.bucket.size * MINUTE) - ctx.x(0));
        ROUTER.forEach((code, i) => {
          const y = -ctx.margin.top + 4 + i * strip;
          ctx.top.append('text').attr('class', 'axis-label').attr('x', -6).attr('y', y + 5)
            .attr('text-anchor', 'end').attr('dominant-baseline', 'middle').text(code.id.toUpperCase());
          if (ctx.off.has(code.id)) return;
          ctx.top.append('g').attr('class', `series marks ${code.id}`).selectAll('rect')
            .data(rows.filter((r) => !r.gap && r[code.id] > 0 && r.t >= view.domain[0] && r.t < view.domain[1]))
            .join('rect')
            .attr('x', (r) => ctx.x(r.t)).attr('y', y).attr('width', bw).attr('height', strip - 3)
            .attr('fill', COLOURS[code.id]);
        });
      },
      tooltip: (ctx, time) => {
        const r = rowAt(t.rows, time);
        if (!r) return { title: timeTitle(time), notes: ['no traffic recorded in this minute'] };
        const rows = [['requests', fmtCount(r.requests)]]
          .concat(STATUS.map((s) => [s.label, fmtCount(r[s.id]), COLOURS[s.id]]))
          .concat([['errors', fmtCount(r.errors)]])
          .concat(ROUTER.map((s) => [s.id.toUpperCase(), fmtCount(r[s.id]), COLOURS[s.id]]));
        return { title: timeTitle(r.t), rows };
      },
    }, width);
  }

  function latencyPanel(section, t, width) {
    const outcomes = [...new Set(t.probes.map((p) => p.outcome))];
    const series = [
      { id: 'p50', label: 'p50', colour: COLOURS.p50 },
      { id: 'p95', label: 'p95', colour: COLOURS.p95 },
    ];
    if (t.slowMs !== null) series.push({ id: 'slow', label: `slow threshold ${fmtMs(t.slowMs)}`, colour: COLOURS.slow });
    if (t.probes.length) series.push({ id: 'probes', label: 'health checks', colour: '#57606a' });
    const values = (ctx) => {
      const v = [];
      const rows = ctx.bucket.rows.filter((r) => !r.gap);
      if (!ctx.off.has('p50')) v.push(...rows.map((r) => r.p50_ms));
      if (!ctx.off.has('p95')) v.push(...rows.map((r) => r.p95_ms));
      if (!ctx.off.has('probes')) v.push(...inView(t.probes).map((p) => p.latency));
      return v.filter((x) => x !== null && x > 0);
    };
    return timePanel(section, t, {
      key: 'latency',
      title: 'Service time p50 and p95 (router), and health checks',
      yLabel: 'milliseconds (log scale)',
      height: 170,
      bucketed: true,
      scale: 'log',
      series,
      keys: () => (t.probes.length ? outcomes.map((o) => ({ label: `check ${o}`, colour: OUTCOME_COLOURS[o] || OTHER_COLOUR })) : []),
      note: bucketNote,
      hasData: () => t.rows.some((r) => r.p50_ms !== null || r.p95_ms !== null) || t.probes.some((p) => p.latency !== null),
      yMax: (ctx) => {
        const v = values(ctx);
        if (!v.length) return null;
        const hi = d3.max(v);
        return t.slowMs !== null && !ctx.off.has('slow') ? Math.max(hi, t.slowMs) : hi;
      },
      yMin: (ctx) => d3.min(values(ctx)),
      draw: (ctx) => {
        const rows = ctx.bucket.rows;
        // Health checks first, small and translucent, so the router's lines stay on top.
        if (!ctx.off.has('probes')) {
          const shown = inView(t.probes).filter((p) => p.latency !== null);
          ctx.plot.append('g').attr('class', 'series probes').selectAll('circle')
            .data(shown).join('circle')
            .attr('cx', (p) => ctx.x(p.t)).attr('cy', (p) => ctx.y(Math.max(p.latency, ctx.y.domain()[0])))
            .attr('r', shown.length > ctx.w ? 1.5 : 2.5).attr('fill-opacity', shown.length > ctx.w ? 0.35 : 0.9)
            .attr('fill', (p) => OUTCOME_COLOURS[p.outcome] || OTHER_COLOUR);
        }
        if (!ctx.off.has('p50')) line(ctx, rows, 'p50_ms', COLOURS.p50, 'p50');
        if (!ctx.off.has('p95')) line(ctx, rows, 'p95_ms', COLOURS.p95, 'p95');
        if (t.slowMs !== null && !ctx.off.has('slow')) level(ctx, t.slowMs, COLOURS.slow, 'slow', '6 4');
      },
      tooltip: (ctx, time) => {
        const r = rowAt(t.rows, time);
        const rows = [];
        if (r) rows.push(['p50', fmtMs(r.p50_ms), COLOURS.p50], ['p95', fmtMs(r.p95_ms), COLOURS.p95]);
        if (t.slowMs !== null) rows.push(['slow threshold', fmtMs(t.slowMs), COLOURS.slow]);
        const p = nearest(t.probes, time, ctx.x, 8);
        if (p) rows.push([`health check at ${zone.format('%H:%M:%S')(p.t)}`, `${fmtMs(p.latency)} ${p.outcome}`, OUTCOME_COLOURS[p.outcome] || OTHER_COLOUR]);
        return { title: timeTitle(r ? r.t : time), rows, notes: r ? [] : ['no traffic recorded in this minute'] };
      },
    }, width);
  }

  function busyPanel(section, t, width) {
    const c = t.concurrency;
    const series = [{ id: 'busy', label: 'busy (requests in service)', colour: COLOURS.busy }];
    if (c !== null && t.quantity.length) series.push({ id: 'capacity', label: `capacity (quantity × ${fmtCount(c)})`, colour: COLOURS.capacity });
    return timePanel(section, t, {
      key: 'busy',
      title: 'Busy vs capacity',
      yLabel: 'requests in service',
      height: 150,
      bucketed: true,
      series,
      note: (ctx) => [c === null ? 'capacity unknown: set concurrency' : '', bucketNote(ctx)].filter(Boolean).join(' · '),
      hasData: () => t.rows.some((r) => r.busy !== null) || (c !== null && t.quantity.length > 0),
      yMax: (ctx) => {
        const v = [];
        if (!ctx.off.has('busy')) v.push(...ctx.bucket.rows.filter((r) => !r.gap).map((r) => r.busy));
        if (c !== null && !ctx.off.has('capacity') && t.quantity.length) {
          v.push(...stepPoints(t.quantity).map((s) => s.v * c));
        }
        return maxOf(v);
      },
      draw: (ctx) => {
        if (!ctx.off.has('busy')) {
          ctx.plot.append('path').datum(ctx.bucket.rows)
            .attr('class', 'series busy').attr('fill', COLOURS.busy).attr('fill-opacity', 0.25)
            .attr('stroke', COLOURS.busy).attr('stroke-width', 1.2)
            .attr('d', d3.area().defined((r) => !r.gap && r.busy !== null)
              .x((r) => ctx.x(r.t)).y0(ctx.h).y1((r) => ctx.y(r.busy)));
        }
        if (c !== null && !ctx.off.has('capacity')) steps(ctx, t.quantity, COLOURS.capacity, 'capacity', '6 3', c);
      },
      tooltip: (ctx, time) => {
        const r = rowAt(t.rows, time);
        const q = stepAt(t.quantity, time);
        const rows = [['busy', r ? fmtReal(r.busy) : '–', COLOURS.busy]];
        if (q !== null) rows.push(['dynos (formation)', fmtCount(q)]);
        if (c !== null && q !== null) rows.push(['capacity', fmtCount(q * c), COLOURS.capacity]);
        if (r && q !== null && c !== null && q * c > 0 && r.busy !== null) rows.push(['utilisation', fmtPercent(r.busy / (q * c))]);
        return { title: timeTitle(r ? r.t : time), rows };
      },
    }, width);
  }

  /** A worker's oldest waiting job against the latency it is held under. */
  function queueLatencyPanel(section, t, width) {
    const target = t.queueLatencyMs;
    const series = [{ id: 'latency', label: 'oldest waiting job', colour: COLOURS.latency }];
    if (target !== null) series.push({ id: 'target', label: `target ${fmtWait(target)}`, colour: COLOURS.slow });
    return timePanel(section, t, {
      key: 'queue_latency',
      title: 'Queue latency vs target',
      yLabel: 'seconds',
      height: 150,
      series,
      hasData: () => t.queue.length > 0,
      yMax: (ctx) => {
        const v = [];
        if (!ctx.off.has('latency')) v.push(...t.queue.map((q) => q.latency === null ? null : q.latency / 1000));
        if (target !== null && !ctx.off.has('target')) v.push(target / 1000);
        return maxOf(v);
      },
      draw: (ctx) => {
        if (!ctx.off.has('latency')) {
          ctx.plot.append('path').datum(t.queue)
            .attr('class', 'series latency').attr('fill', 'none')
            .attr('stroke', COLOURS.latency).attr('stroke-width', 1.8)
            .attr('d', d3.line().defined((q) => q.latency !== null)
              .x((q) => ctx.x(q.t)).y((q) => ctx.y(q.latency / 1000)));
        }
        if (target !== null && !ctx.off.has('target')) level(ctx, target / 1000, COLOURS.slow, 'target', '6 4');
      },
      tooltip: (ctx, time) => {
        const q = rowAt(t.queue, time);
        const rows = [['oldest waiting job', q ? fmtWait(q.latency) : '–', COLOURS.latency]];
        if (target !== null) rows.push(['target', fmtWait(target), COLOURS.slow]);
        return { title: timeTitle(q ? q.t : time), rows, notes: q ? [] : ['no queue read in this minute'] };
      },
    }, width);
  }

  /** A worker's jobs: waiting, running, and what its running dynos can run at once. */
  function queueJobsPanel(section, t, width) {
    return timePanel(section, t, {
      key: 'queue_jobs',
      title: 'Jobs: waiting, running vs capacity',
      yLabel: 'jobs',
      height: 150,
      integer: true,
      series: [
        { id: 'waiting', label: 'waiting', colour: COLOURS.waiting },
        { id: 'running', label: 'running', colour: COLOURS.busy },
        { id: 'capacity', label: 'capacity (dynos × concurrency)', colour: COLOURS.capacity },
      ],
      hasData: () => t.queue.length > 0,
      yMax: (ctx) => {
        const v = [];
        for (const [id, f] of [['waiting', 'depth'], ['running', 'busy'], ['capacity', 'capacity']]) {
          if (!ctx.off.has(id)) v.push(...t.queue.map((q) => q[f]));
        }
        return maxOf(v);
      },
      draw: (ctx) => {
        if (!ctx.off.has('waiting')) {
          ctx.plot.append('path').datum(t.queue)
            .attr('class', 'series waiting').attr('fill', COLOURS.waiting).attr('fill-opacity', 0.3)
            .attr('stroke', COLOURS.waiting).attr('stroke-width', 1.2)
            .attr('d', d3.area().defined((q) => q.depth !== null)
              .x((q) => ctx.x(q.t)).y0(ctx.h).y1((q) => ctx.y(q.depth)));
        }
        if (!ctx.off.has('running')) line(ctx, t.queue, 'busy', COLOURS.busy, 'running');
        if (!ctx.off.has('capacity')) line(ctx, t.queue, 'capacity', COLOURS.capacity, 'capacity', '6 3');
      },
      tooltip: (ctx, time) => {
        const q = rowAt(t.queue, time);
        const rows = [
          ['waiting', q ? fmtCount(q.depth) : '–', COLOURS.waiting],
          ['running', q && q.busy !== null ? fmtCount(q.busy) : '–', COLOURS.busy],
          ['capacity', q ? fmtCount(q.capacity) : '–', COLOURS.capacity],
        ];
        return { title: timeTitle(q ? q.t : time), rows, notes: q ? [] : ['no queue read in this minute'] };
      },
    }, width);
  }

  function dynosPanel(section, t, width) {
    const reasons = [...new Set(t.scales.map((s) => s.reason))];
    const series = [
      { id: 'quantity', label: 'quantity', colour: COLOURS.quantity },
      { id: 'floor', label: 'schedule floor', colour: COLOURS.floor },
    ];
    if (t.max !== null) series.push({ id: 'max', label: `max ${fmtCount(t.max)}`, colour: COLOURS.max });
    if (t.rows.some((r) => r.dynos !== null)) series.push({ id: 'serving', label: 'dynos serving (router)', colour: COLOURS.serving });
    if (t.scales.length) series.push({ id: 'scales', label: 'scale events', colour: '#444c56' });
    if (t.alerts.length) series.push({ id: 'alerts', label: 'alerts sent', colour: COLOURS.alert });
    const reasonColour = (r) => REASON_COLOURS[r] || OTHER_COLOUR;
    return timePanel(section, t, {
      key: 'dynos',
      title: 'Dynos: quantity vs the schedule, scale events and alerts',
      yLabel: 'dynos',
      height: 170,
      marginTop: 18,
      bucketed: true,
      integer: true,
      series,
      keys: () => reasons.map((r) => ({ label: `scale: ${r || 'unknown'}`, colour: reasonColour(r) })),
      note: () => '',
      hasData: () => t.quantity.length > 0 || t.floor.length > 0 || t.scales.length > 0 || t.max !== null,
      yMax: (ctx) => {
        const v = [];
        if (!ctx.off.has('quantity')) v.push(...t.quantity.map((s) => s.v));
        if (!ctx.off.has('floor')) v.push(...t.floor.map((s) => s.v));
        if (t.max !== null && !ctx.off.has('max')) v.push(t.max);
        if (!ctx.off.has('serving')) v.push(...ctx.bucket.rows.map((r) => r.dynos));
        if (!ctx.off.has('scales')) v.push(...t.scales.map((s) => s.to));
        const hi = maxOf(v);
        return hi === null ? null : Math.max(1, hi);
      },
      draw: (ctx) => {
        if (!ctx.off.has('serving')) line(ctx, ctx.bucket.rows, 'dynos', COLOURS.serving, 'serving');
        if (!ctx.off.has('floor')) steps(ctx, t.floor, COLOURS.floor, 'floor', '5 4');
        if (!ctx.off.has('quantity')) steps(ctx, t.quantity, COLOURS.quantity, 'quantity');
        if (t.max !== null && !ctx.off.has('max')) level(ctx, t.max, COLOURS.max, 'max', '2 3');
        if (!ctx.off.has('scales')) {
          ctx.plot.append('g').attr('class', 'series scales').selectAll('path')
            .data(inView(t.scales)).join('path')
            .attr('transform', (s) => `translate(${ctx.x(s.t)},${ctx.y(s.to !== null ? s.to : 0)})`)
            .attr('d', d3.symbol(d3.symbolDiamond, 60))
            .attr('fill', (s) => reasonColour(s.reason)).attr('stroke', '#fff');
        }
        if (!ctx.off.has('alerts')) {
          ctx.top.append('g').attr('class', 'series alerts').selectAll('path')
            .data(inView(t.alerts)).join('path')
            .attr('transform', (a) => `translate(${ctx.x(a.t)},${-8}) rotate(180)`)
            .attr('d', d3.symbol(d3.symbolTriangle, 45))
            .attr('fill', COLOURS.alert);
        }
      },
      tooltip: (ctx, time) => {
        const rows = [];
        const q = stepAt(t.quantity, time);
        const f = stepAt(t.floor, time);
        const r = rowAt(t.rows, time);
        rows.push(['quantity', fmtCount(q), COLOURS.quantity], ['schedule floor', fmtCount(f), COLOURS.floor]);
        if (t.max !== null) rows.push(['max', fmtCount(t.max), COLOURS.max]);
        if (r && r.dynos !== null) rows.push(['dynos serving', fmtCount(r.dynos), COLOURS.serving]);
        const notes = [];
        const s = nearest(t.scales, time, ctx.x, 8);
        if (s) {
          rows.push([`scale at ${zone.format('%H:%M:%S')(s.t)}`, `${fmtCount(s.from)} → ${fmtCount(s.to)}`, reasonColour(s.reason)]);
          notes.push(`reason ${s.reason || 'unknown'}${s.result ? `, result ${s.result}` : ''}`);
        }
        const a = nearest(t.alerts, time, ctx.x, 8);
        if (a) notes.push(`alert ${a.kind || ''} at ${zone.format('%H:%M:%S')(a.t)}: ${a.message}`);
        return { title: timeTitle(time), rows, notes };
      },
    }, width);
  }

  // ---- Heatmap --------------------------------------------------------------------------------

  function heatmapPanel(section, t, width) {
    const wrap = section.append('div').attr('class', 'panel heatmap').attr('data-panel', 'heatmap');
    const head = wrap.append('div').attr('class', 'panel-head');
    head.append('h3').text(`Requests by hour of the week (${zone.name})`);
    const note = head.append('span').attr('class', 'note');
    const margin = { top: 22, right: 16, bottom: 46, left: 64 };
    const w = width - margin.left - margin.right;
    const cellH = 22;
    const h = cellH * 7;
    const svg = wrap.append('svg').attr('width', width).attr('height', h + margin.top + margin.bottom)
      .attr('role', 'img').attr('aria-label', `Requests by weekday and hour, ${t.app}/${t.process}`);
    svg.append('title').text(`Requests by weekday and hour (${t.app}/${t.process})`);
    const g = svg.append('g').attr('transform', `translate(${margin.left},${margin.top})`);
    const hm = t.heatmap;
    const cells = [];
    if (hm) {
      for (let d = 0; d < 7; d++) {
        for (let hour = 0; hour < 24; hour++) {
          const requests = hm.requests[d][hour];
          const minutes = hm.minutes[d][hour];
          cells.push({ d, hour, requests, minutes, rate: requests !== null && minutes ? requests / minutes : null });
        }
      }
    }
    if (!cells.some((c) => c.minutes)) {
      g.append('text').attr('class', 'nodata').attr('x', w / 2).attr('y', h / 2)
        .attr('text-anchor', 'middle').text('no data');
      return;
    }
    note.text('colour: mean requests per minute of the hours with data');
    const cw = w / 24;
    const x = d3.scaleBand().domain(d3.range(24)).range([0, w]);
    const y = d3.scaleBand().domain(d3.range(7)).range([0, h]);
    const hi = d3.max(cells, (c) => c.rate) || 1;
    const colour = d3.scaleSequential(d3.interpolateYlOrRd).domain([0, hi]);
    g.selectAll('rect.cell').data(cells).join('rect')
      .attr('class', 'cell')
      .attr('x', (c) => x(c.hour)).attr('y', (c) => y(c.d))
      .attr('width', x.bandwidth()).attr('height', y.bandwidth())
      .attr('fill', (c) => (c.rate === null ? '#eaeef2' : colour(c.rate)))
      .on('mousemove', (event, c) => showTooltip(event, {
        title: `${WEEKDAY_NAMES[c.d]} ${String(c.hour).padStart(2, '0')}:00–${String(c.hour + 1).padStart(2, '0')}:00`,
        rows: c.minutes
          ? [['requests', fmtCount(c.requests)], ['minutes with data', fmtCount(c.minutes)],
            ['mean per minute', fmtReal(c.rate)]]
          : [],
        notes: c.minutes ? [] : ['no data for this hour'],
      }))
      .on('mouseleave', hideTooltip);
    // Hour labels: every hour when there is room, else every 2nd, 3rd or 6th.
    const every = [1, 2, 3, 6].find((k) => cw * k >= 26) || 6;
    const hourAxis = g.append('g').attr('class', 'axis x-axis')
      .call(d3.axisTop(x).tickValues(d3.range(0, 24, every)).tickFormat((hr) => String(hr).padStart(2, '0')).tickSize(3));
    thinLabels(hourAxis);
    const dayAxis = g.append('g').attr('class', 'axis y-axis')
      .call(d3.axisLeft(y).tickFormat((d) => WEEKDAYS[d]).tickSize(3));
    thinLabels(dayAxis);
    // Colour legend: a gradient with its own axis.
    const lw = Math.min(260, w);
    const legend = g.append('g').attr('class', 'colour-legend').attr('transform', `translate(0,${h + 14})`);
    const gradientId = `heat-gradient-${t.index}`;
    const gradient = svg.append('defs').append('linearGradient').attr('id', gradientId);
    d3.range(0, 1.0001, 0.1).forEach((s) => gradient.append('stop')
      .attr('offset', `${s * 100}%`).attr('stop-color', colour(s * hi)));
    legend.append('rect').attr('width', lw).attr('height', 10).attr('fill', `url(#${gradientId})`);
    const legendAxis = legend.append('g').attr('class', 'axis').attr('transform', 'translate(0,10)')
      .call(d3.axisBottom(d3.scaleLinear().domain([0, hi]).range([0, lw])).ticks(Math.max(2, Math.floor(lw / 60))).tickFormat(d3.format('~s')).tickSize(3));
    thinLabels(legendAxis);
    legend.append('text').attr('class', 'axis-label').attr('x', lw + 10).attr('y', 9)
      .text('requests per minute (mean)');
  }

  // ---- Summary --------------------------------------------------------------------------------

  function summaryBlock(section, t) {
    const s = t.summary;
    const wrap = section.append('div').attr('class', 'panel summary-panel').attr('data-panel', 'summary');
    const items = [];
    const from = num(s.from);
    const to = num(s.to);
    if (from !== null && to !== null) {
      const f = zone.format('%a %d %b %Y %H:%M');
      items.push(['Time range', `${f(from)} – ${f(to)} (${fmtDuration(Math.max(0, to - from))})`]);
    }
    const requests = num(s.requests);
    const errors = num(s.errors);
    if (requests !== null) items.push(['Requests', fmtCount(requests)]);
    if (errors !== null) items.push(['Errors', `${fmtCount(errors)}${requests ? ` (${fmtPercent(errors / requests)})` : ''}`]);
    if (num(s.p95_ms) !== null) items.push(['Service time p95', fmtMs(s.p95_ms)]);
    const used = num(s.dyno_hours);
    const sched = num(s.dyno_hours_schedule);
    const max = num(s.dyno_hours_max);
    if (used !== null) items.push(['Dyno-hours used', fmtHours(used)]);
    if (sched !== null) items.push(['Dyno-hours by the schedule', fmtHours(sched)]);
    if (max !== null) {
      const saving = used !== null && max > 0 ? ` (used ${fmtPercent(used / max)} of it)` : '';
      items.push(['Dyno-hours at max, always', `${fmtHours(max)}${saving}`]);
    }
    if (num(s.scale_events) !== null) items.push(['Scale events', fmtCount(s.scale_events)]);
    if (num(s.alerts) !== null) items.push(['Alerts sent', fmtCount(s.alerts)]);
    const notes = arr(s.notes).map(str).filter(Boolean);
    const dropped = t.dropped;
    for (const k of ['scales', 'alerts', 'probes']) {
      if (num(dropped[k])) notes.push(`${fmtCount(dropped[k])} older ${k === 'scales' ? 'scale events' : k === 'probes' ? 'health checks' : 'alerts'} not drawn`);
    }
    if (!items.length && !notes.length) {
      wrap.append('p').attr('class', 'muted nodata-text').text('no data for a summary');
      return;
    }
    const dl = wrap.append('dl').attr('class', 'summary');
    for (const [label, value] of items) {
      const item = dl.append('div');
      item.append('dt').text(label);
      item.append('dd').text(value);
    }
    if (notes.length) {
      wrap.append('ul').attr('class', 'notes').selectAll('li').data(notes).join('li').text((n) => n);
    }
  }

  // ---- The page -------------------------------------------------------------------------------

  function render() {
    const main = d3.select('#report');
    main.selectAll('*').remove();
    panels = [];
    const width = Math.max(480, Math.min(1366, main.node().clientWidth - 34));
    if (!targets.length) {
      main.append('p').attr('class', 'nodata-text').text('no data: this report has no targets');
    }
    for (const t of targets) {
      const section = main.append('section').attr('class', 'target')
        .attr('id', `target-${t.index}`).attr('data-target', `${t.app}/${t.process}`);
      section.append('h2').text(`${t.app}/${t.process}`);
      summaryBlock(section, t);
      // A worker on its queue: its queue's panels; router traffic only when it has some.
      const worker = t.queue.length > 0;
      if (!worker || t.rows.length) {
        requestsPanel(section, t, width);
        latencyPanel(section, t, width);
        busyPanel(section, t, width);
      }
      if (worker) {
        queueLatencyPanel(section, t, width);
        queueJobsPanel(section, t, width);
      }
      dynosPanel(section, t, width);
      if (!worker || t.rows.length) heatmapPanel(section, t, width);
    }
    showRange();
  }

  /** Takes (new) data: the zone, the targets, the header; keeps a zoom the reader made. */
  function load(json) {
    data = json || {};
    zone = makeZone(data.zone);
    targets = arr(data.targets).map(readTarget);
    const title = str(data.title) || 'autoscale report';
    document.title = title;
    document.getElementById('title').textContent = title;
    const generated = num(data.generated_at);
    document.getElementById('subtitle').textContent = [
      generated !== null ? `Generated ${zone.format('%a %d %b %Y %H:%M')(generated)}` : '',
      `times in ${zone.name} (${zone.offsetLabels.join(', ')})`,
    ].filter(Boolean).join(' · ');
    const nav = d3.select('#targets-nav');
    nav.selectAll('*').remove();
    for (const t of targets) {
      nav.append('a').attr('href', `#target-${t.index}`).text(`${t.app}/${t.process}`);
    }
    const zoomed = view.domain[0] !== view.full[0] || view.domain[1] !== view.full[1];
    view.full = timeExtent();
    if (!zoomed) view.domain = view.full.slice();
  }

  /**
   * A page served by `autoscale serve` names its data's URL in <html data-live>: it is fetched
   * again each minute (same origin, so the browser sends the login it already has) and the
   * panels are drawn again; a failed fetch is said in #live-state and tried again next minute.
   */
  function live(url) {
    const state = document.getElementById('live-state');
    const say = (text) => { if (state) state.textContent = text; };
    const refresh = () => fetch(url, { credentials: 'same-origin', cache: 'no-store' })
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`HTTP ${r.status}`))))
      .then((json) => {
        load(json);
        render();
        say(`updated ${d3.utcFormat('%H:%M:%S UTC')(new Date())}`);
      })
      .catch((e) => say(`not updated (${String(e.message || e).slice(0, 80)}); trying again in a minute`));
    window.setInterval(refresh, 60 * 1000);
  }

  function start() {
    load(JSON.parse(document.getElementById('report-data').textContent));
    document.getElementById('reset-zoom').addEventListener('click', () => setDomain(view.full));
    render();
    let resizing = null;
    window.addEventListener('resize', () => {
      clearTimeout(resizing);
      resizing = setTimeout(render, 150);
    });
    const url = document.documentElement.dataset.live;
    if (url) live(url);
  }

  // ---- Self-test (report.html#selftest) -------------------------------------------------------

  /**
   * Drives the page with real mouse events and records what happened, for the browser test to
   * judge: tooltips per panel, a heatmap cell's tooltip, a legend toggle, a brush zoom and the
   * double-click reset, and the boxes of every shown axis label (before and after the zoom).
   */
  function selfTest() {
    const result = { tooltips: [], heatmap: [], toggle: null, zoom: null, labels: {} };
    const fire = (el, type, x, y) => el.dispatchEvent(new MouseEvent(type, {
      bubbles: true, cancelable: true, view: window, clientX: x, clientY: y, button: 0, detail: type === 'dblclick' ? 2 : 1,
    }));
    const tipText = () => (tooltip.hidden ? null : tooltip.textContent);
    const labelBoxes = () => {
      const axes = [];
      document.querySelectorAll('section.target').forEach((section) => {
        section.querySelectorAll('[data-panel]').forEach((panel) => {
          panel.querySelectorAll('g.axis').forEach((axis, i) => {
            const boxes = [];
            axis.querySelectorAll('.tick text').forEach((text) => {
              if (!text.textContent || text.getAttribute('display') === 'none') return;
              const r = text.getBoundingClientRect();
              boxes.push({ text: text.textContent, left: r.left, top: r.top, right: r.right, bottom: r.bottom });
            });
            axes.push({ target: section.dataset.target, panel: panel.dataset.panel, axis: i, boxes });
          });
        });
      });
      return axes;
    };
    const ticks = (panel) => [...panel.querySelectorAll('.x-axis .tick text')].map((e) => e.textContent).join('|');

    result.labels.initial = labelBoxes();
    document.querySelectorAll('section.target').forEach((section) => {
      section.querySelectorAll('.panel[data-kind="time"]').forEach((panel) => {
        const brush = panel.querySelector('g.brush');
        const r = panel.querySelector('g.brush .overlay').getBoundingClientRect();
        fire(brush.querySelector('.overlay'), 'mousemove', r.left + r.width * 0.62, r.top + r.height / 2);
        result.tooltips.push({ target: section.dataset.target, panel: panel.dataset.panel, text: tipText() });
        brush.dispatchEvent(new MouseEvent('mouseleave', { bubbles: false, view: window }));
        if (tipText() !== null) result.tooltips.push({ target: section.dataset.target, panel: panel.dataset.panel, stuck: true });
      });
      const cell = section.querySelectorAll('.heatmap rect.cell')[2 * 24 + 14]; // Wednesday 14:00
      if (cell) {
        const r = cell.getBoundingClientRect();
        fire(cell, 'mousemove', r.left + r.width / 2, r.top + r.height / 2);
        result.heatmap.push({ target: section.dataset.target, text: tipText() });
        cell.dispatchEvent(new MouseEvent('mouseleave', { bubbles: false, view: window }));
      }
    });

    // Toggle: hide 2xx in the first requests panel, then show it again.
    const requests = document.querySelector('.panel[data-panel="requests"]');
    if (requests) {
      const button = requests.querySelector('button[data-series="s2xx"]');
      const count = () => requests.querySelectorAll('path.series.s2xx').length;
      const before = count();
      button.click();
      const hiddenCount = count();
      const pressed = button.getAttribute('aria-pressed');
      button.click();
      result.toggle = { before, hidden: hiddenCount, pressedWhenHidden: pressed, after: count() };

      // Zoom: brush from 40% to 55% of the first requests panel, then double-click.
      const overlay = requests.querySelector('g.brush .overlay');
      const r = overlay.getBoundingClientRect();
      const y = r.top + r.height / 2;
      const ticksBefore = ticks(requests);
      const otherPanel = document.querySelector('.panel[data-panel="dynos"]');
      const otherBefore = otherPanel ? ticks(otherPanel) : '';
      fire(overlay, 'mousedown', r.left + r.width * 0.40, y);
      fire(overlay, 'mousemove', r.left + r.width * 0.48, y);
      fire(overlay, 'mousemove', r.left + r.width * 0.55, y);
      fire(overlay, 'mouseup', r.left + r.width * 0.55, y);
      const zoomed = view.domain.slice();
      const ticksZoomed = ticks(requests);
      const otherZoomed = otherPanel ? ticks(otherPanel) : '';
      result.labels.zoomed = labelBoxes();
      fire(overlay, 'dblclick', r.left + r.width * 0.5, y);
      result.zoom = {
        full: view.full,
        zoomed,
        reset: view.domain.slice(),
        ticksBefore,
        ticksZoomed,
        otherPanelFollowed: otherBefore !== otherZoomed,
        ticksAfterReset: ticks(requests),
        range: document.getElementById('range').textContent,
      };
    }
    const out = document.createElement('script');
    out.type = 'application/json';
    out.id = 'selftest-result';
    // "<" escaped so the result cannot end its own element.
    out.textContent = JSON.stringify(result).replace(/</g, '\\u003c');
    document.body.append(out);
  }

  start();
  if (window.location.hash === '#selftest') selfTest();
  document.documentElement.setAttribute('data-rendered', 'ok');
}());
