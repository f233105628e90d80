// Overview: jobs by status and queue, throughput over the last hour, nodes with their
// telemetry, the latest failures and the streams on air.

import * as api from '../api.js';
import * as events from '../events.js';
import { h, fill, badge } from '../dom.js';
import * as fmt from '../fmt.js';
import { LiveChart } from '../charts.js';
import { nodeCharts } from '../telemetry.js';
import { queues } from '../jobview.js';

// Counts come from GET /v1/jobs/summary (exact, from the master's memory), fetched again
// when a job changes status (at most every refreshGap ms) and every refreshEvery ms (the
// minutes roll on).
const active = ['queued', 'assigned', 'running', 'retrying'];
const finished = ['completed', 'failed', 'canceled'];
const refreshGap = 2000;
const refreshEvery = 15000;

export async function render(ctx) {
  const countsBody = h('tbody');
  const countsHead = h('thead');
  const counts = h('table', { class: 'counts', id: 'counts' },
    h('caption', { class: 'note' }, 'Jobs in each status; by queue for the jobs not finished. Finished jobs count until the retention purges them.'),
    countsHead, countsBody);
  const lastHour = h('p', { class: 'note', id: 'finished-hour' });
  const doneChart = new LiveChart('Jobs finished per minute', ['completed', 'failed'], { window: 3600 });
  const fpsChart = new LiveChart('Frames per second across the farm', ['fps'], { window: 3600 });
  const nodesEl = h('div', { class: 'grid' });
  const failures = h('ul', { id: 'failures' });
  const streamsEl = h('ul', { id: 'on-air' });
  ctx.main.append(h('h1', null, 'Overview'),
    h('section', { 'aria-labelledby': 'jobs-h' }, h('h2', { id: 'jobs-h' }, 'Jobs by status and queue'), h('div', { class: 'scroll' }, counts)),
    h('section', { 'aria-labelledby': 'tp-h' }, h('h2', { id: 'tp-h' }, 'Throughput, last hour'), lastHour,
      h('div', { class: 'grid' }, h('div', { class: 'card' }, doneChart.el), h('div', { class: 'card' }, fpsChart.el))),
    h('div', { class: 'grid' },
      h('section', { class: 'card', 'aria-labelledby': 'fail-h' }, h('h2', { id: 'fail-h' }, 'Latest failures'), failures),
      h('section', { class: 'card', 'aria-labelledby': 'air-h' }, h('h2', { id: 'air-h' }, 'Streams on air'), streamsEl)),
    h('section', { 'aria-labelledby': 'nodes-h' }, h('h2', { id: 'nodes-h' }, 'Nodes'), nodesEl));
  doneChart.mount();
  fpsChart.mount();
  ctx.onCleanup(() => { doneChart.destroy(); fpsChart.destroy(); });

  function drawSummary(sum) {
    const qs = [...queues, ...Object.keys(sum.by_queue || {}).filter((q) => !queues.includes(q)).sort()];
    fill(countsHead, h('tr', null, h('th', { scope: 'col' }, 'Status'), qs.map((q) => h('th', { scope: 'col', class: 'num' }, q)), h('th', { scope: 'col', class: 'num' }, 'all')));
    fill(countsBody, [...active, ...finished].map((s) => {
      const total = (sum.by_status || {})[s] || 0;
      return h('tr', null, h('th', { scope: 'row' }, badge(s)),
        qs.map((q) => {
          if (finished.includes(s)) return h('td', { class: 'num note' }, '');
          const n = ((sum.by_queue || {})[q] || {})[s] || 0;
          return h('td', { class: 'num' }, n ? fmt.num(n, 0) : '·');
        }),
        h('td', { class: 'num' }, h('a', { href: `#/jobs?status=${s}`, 'aria-label': `${total} ${s} jobs` }, fmt.num(total, 0))));
    }));
    const f = sum.finished_last_hour || {};
    const since = new Date(sum.counting_since);
    const partial = Date.now() - since.getTime() < 3600e3 ? ` (counted since ${fmt.time(sum.counting_since)}: the master counts them in memory from its start)` : '';
    lastHour.textContent = `Finished in the last hour: ${f.completed || 0} completed, ${f.failed || 0} failed, ${f.canceled || 0} canceled${partial}.`;
    const per = sum.finished_per_minute || [];
    doneChart.set(per.map((m) => Math.floor(new Date(m.minute).getTime() / 1000)), per.map((m) => m.completed), per.map((m) => m.failed));
  }

  // One request for every count; again on status changes (throttled) and every refreshEvery.
  let pending = null;
  let last = 0;
  async function refresh() {
    pending = null;
    last = Date.now();
    try {
      const sum = await api.get('/v1/jobs/summary');
      if (ctx.current()) drawSummary(sum);
    } catch (err) { // the next change or tick tries again
      if (ctx.current() && !countsBody.firstChild) lastHour.textContent = `Job counts unavailable: ${err.message}`;
    }
  }
  function soon() {
    if (!pending) pending = setTimeout(refresh, Math.max(0, last + refreshGap - Date.now()));
  }
  await refresh();
  if (!ctx.current()) return;
  const ticker = setInterval(soon, refreshEvery);
  ctx.onCleanup(() => { clearInterval(ticker); clearTimeout(pending); });

  // The farm's fps: the running jobs' progress as events bring it, sampled every 5 s.
  const running = new Map();
  const sampleFPS = () => fpsChart.push([[...running.values()].reduce((a, j) => a + ((j.progress && j.progress.fps) || 0), 0)]);
  sampleFPS();
  const timer = setInterval(sampleFPS, 5000);
  ctx.onCleanup(() => clearInterval(timer));

  // Latest failures.
  const failed = await api.get('/v1/jobs?status=failed&limit=10').catch(() => ({ jobs: [] }));
  function drawFailures(list) {
    fill(failures, list.length ? list.map((j) => h('li', null, h('a', { href: `#/jobs/${encodeURIComponent(j.id)}`, class: 'mono' }, j.id), ' ',
      fmt.time(j.finished_at || j.updated_at), ': ', j.error ? `${j.error.code}: ${j.error.message}` : 'no error recorded')) : h('li', { class: 'note' }, 'None.'));
  }
  let latestFailed = failed.jobs || [];
  drawFailures(latestFailed);

  // Streams on air.
  const streams = new Map();
  const drawStreams = () => {
    const on = [...streams.values()].filter((s) => s.state === 'live' || s.state === 'stale');
    fill(streamsEl, on.length ? on.map((s) => h('li', null, h('a', { href: '#/streams' }, s.name), ' ', badge(s.state),
      s.input ? ` ${s.input.video_codec || ''} ${s.input.width || ''}×${s.input.height || ''} ${fmt.num(s.input.fps, 0)} fps, ${fmt.bitrate(s.input.bitrate)}` : '',
      s.uptime_seconds ? `, up ${fmt.seconds(s.uptime_seconds)}` : '')) : h('li', { class: 'note' }, 'No stream is live.'));
  };
  try {
    for (const s of (await api.get('/v1/streams')).streams || []) streams.set(s.id, s);
  } catch { /* streams may be off on this master (503): none on air */ }
  drawStreams();

  // Nodes with their telemetry.
  const nodeViews = new Map();
  function nodeCard(n) {
    const charts = nodeCharts(n, { height: 130 });
    const head = h('h3', null);
    const line = h('p', { class: 'note' });
    const el = h('div', { class: 'card' }, head, line, charts.el);
    const v = { el, head, line, charts };
    drawNode(v, n);
    return v;
  }
  function drawNode(v, n) {
    fill(v.head, h('a', { href: '#/nodes' }, n.name || n.id), ' ', badge(n.status));
    const gpus = (n.capabilities.gpus || []).map((g) => g.name).join(', ');
    v.line.textContent = `${(n.running_jobs || []).length} running of ${n.capabilities.slots || 1} · ${gpus || 'no GPU'}`;
    v.charts.push(n);
  }
  for (const n of (await api.get('/v1/nodes')).nodes || []) {
    const v = nodeCard(n);
    nodeViews.set(n.id, v);
    nodesEl.append(v.el);
    v.charts.mount();
  }
  if (!nodeViews.size) nodesEl.append(h('p', { class: 'note' }, 'No nodes have registered.'));
  ctx.onCleanup(() => { for (const v of nodeViews.values()) v.charts.destroy(); });

  // Job events: a status change moves the counts (fetched again, throttled); progress
  // moves the fps. seen holds the status each unfinished job last showed.
  const seen = new Map();
  ctx.onCleanup(events.on('job', (j) => {
    if (seen.get(j.id) !== j.status) soon();
    if (finished.includes(j.status)) seen.delete(j.id); else seen.set(j.id, j.status);
    if (j.status === 'failed') {
      latestFailed = [j, ...latestFailed.filter((x) => x.id !== j.id)].slice(0, 10);
      drawFailures(latestFailed);
    }
    if (j.status === 'running') running.set(j.id, j); else running.delete(j.id);
  }));
  soon(); // what changed while the page loaded
  ctx.onCleanup(events.on('node', (n) => {
    const v = nodeViews.get(n.id);
    if (v) drawNode(v, n);
  }));
  ctx.onCleanup(events.on('stream', (s) => { streams.set(s.id, s); drawStreams(); }));
}
