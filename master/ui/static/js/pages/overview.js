// Overview: jobs by status and queue, throughput over the last hour, nodes with their
// telemetry, the latest failures and the streams on air.

import * as api from '../api.js';
import * as events from '../events.js';
import { h, fill, badge } from '../dom.js';
import * as fmt from '../fmt.js';
import { LiveChart } from '../charts.js';
import { nodeCharts } from '../telemetry.js';
import { queues } from '../jobview.js';

// The API has no count endpoint: the overview counts pages of GET /v1/jobs (up to cap per
// status), saying "cap+" beyond.
const cap = 1000;
const active = ['queued', 'assigned', 'running', 'retrying'];
const finished = ['completed', 'failed', 'canceled'];

export async function render(ctx) {
  const hourAgo = new Date(Date.now() - 3600e3).toISOString();
  const countsBody = h('tbody');
  const counts = h('table', { class: 'counts', id: 'counts' },
    h('caption', { class: 'note' }, `Active jobs, and jobs submitted in the last hour that finished (counted up to ${cap})`),
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Status'), queues.map((q) => h('th', { scope: 'col', class: 'num' }, q)), h('th', { scope: 'col', class: 'num' }, 'all'))),
    countsBody);
  const doneChart = new LiveChart('Jobs finished per minute', ['finished'], { window: 3600 });
  const fpsChart = new LiveChart('Frames per second across the farm', ['fps'], { window: 3600 });
  const nodesEl = h('div', { class: 'grid' });
  const failures = h('ul', { id: 'failures' });
  const streamsEl = h('ul', { id: 'on-air' });
  ctx.main.append(h('h1', null, 'Overview'),
    h('section', { 'aria-labelledby': 'jobs-h' }, h('h2', { id: 'jobs-h' }, 'Jobs by status and queue'), h('div', { class: 'scroll' }, counts)),
    h('section', { 'aria-labelledby': 'tp-h' }, h('h2', { id: 'tp-h' }, 'Throughput, last hour'),
      h('div', { class: 'grid' }, h('div', { class: 'card' }, doneChart.el), h('div', { class: 'card' }, fpsChart.el))),
    h('div', { class: 'grid' },
      h('section', { class: 'card', 'aria-labelledby': 'fail-h' }, h('h2', { id: 'fail-h' }, 'Latest failures'), failures),
      h('section', { class: 'card', 'aria-labelledby': 'air-h' }, h('h2', { id: 'air-h' }, 'Streams on air'), streamsEl)),
    h('section', { 'aria-labelledby': 'nodes-h' }, h('h2', { id: 'nodes-h' }, 'Nodes'), nodesEl));
  doneChart.mount();
  fpsChart.mount();
  ctx.onCleanup(() => { doneChart.destroy(); fpsChart.destroy(); });

  // Counts: one listing per status; the finished ones over the last hour's submissions.
  const lists = await Promise.all([...active, ...finished].map((s) =>
    api.get(`/v1/jobs${api.query({ status: s, limit: cap, created_after: finished.includes(s) ? hourAgo : '' })}`).catch(() => ({ jobs: [] }))));
  if (!ctx.current()) return;
  const known = new Map(); // job id → status, queue (to move counts on events)
  const table = {};
  [...active, ...finished].forEach((s, i) => {
    table[s] = { more: !!lists[i].next_cursor };
    for (const j of lists[i].jobs || []) known.set(j.id, j);
  });
  function drawCounts() {
    const by = {};
    for (const j of known.values()) {
      const row = (by[j.status] ||= {});
      row[j.queue] = (row[j.queue] || 0) + 1;
    }
    fill(countsBody, [...active, ...finished].map((s) => {
      const row = by[s] || {};
      const total = Object.values(row).reduce((a, b) => a + b, 0);
      const more = table[s] && table[s].more ? '+' : '';
      return h('tr', null, h('th', { scope: 'row' }, badge(s)),
        queues.map((q) => h('td', { class: 'num' }, row[q] ? String(row[q]) : '·')),
        h('td', { class: 'num' }, h('a', { href: `#/jobs?status=${s}`, 'aria-label': `${total}${more} ${s} jobs` }, `${total}${more}`)));
    }));
  }
  drawCounts();

  // Throughput: finished jobs per minute from their finish times; the farm's fps from the
  // running jobs' progress, sampled every 5 s.
  const perMinute = new Map();
  const minute = (t) => Math.floor(new Date(t).getTime() / 60000) * 60;
  for (const j of known.values()) {
    if (j.status === 'completed' && j.finished_at) perMinute.set(minute(j.finished_at), (perMinute.get(minute(j.finished_at)) || 0) + 1);
  }
  function drawDone() {
    const now = Math.floor(Date.now() / 60000) * 60;
    const xs = [], ys = [];
    for (let t = now - 3600; t <= now; t += 60) { xs.push(t); ys.push(perMinute.get(t) || 0); }
    doneChart.set(xs, ys);
  }
  drawDone();
  const running = new Map();
  for (const j of known.values()) if (j.status === 'running') running.set(j.id, j);
  const sampleFPS = () => fpsChart.push([[...running.values()].reduce((a, j) => a + ((j.progress && j.progress.fps) || 0), 0)]);
  sampleFPS();
  const timer = setInterval(() => { sampleFPS(); drawDone(); }, 5000);
  ctx.onCleanup(() => clearInterval(timer));

  // Latest failures.
  const failed = await api.get('/v1/jobs?status=failed&limit=5').catch(() => ({ jobs: [] }));
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

  ctx.onCleanup(events.on('job', (j) => {
    const before = known.get(j.id);
    if (j.status === 'completed' && (!before || before.status !== 'completed')) {
      perMinute.set(minute(j.finished_at || Date.now()), (perMinute.get(minute(j.finished_at || Date.now())) || 0) + 1);
      drawDone();
    }
    if (j.status === 'failed' && (!before || before.status !== 'failed')) {
      latestFailed = [j, ...latestFailed.filter((x) => x.id !== j.id)].slice(0, 5);
      drawFailures(latestFailed);
    }
    if (j.status === 'running') running.set(j.id, j); else running.delete(j.id);
    known.set(j.id, j);
    drawCounts();
  }));
  ctx.onCleanup(events.on('node', (n) => {
    const v = nodeViews.get(n.id);
    if (v) drawNode(v, n);
  }));
  ctx.onCleanup(events.on('stream', (s) => { streams.set(s.id, s); drawStreams(); }));
}
