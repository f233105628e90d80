// One job: its work, what really ran, per-output results, the event timeline, where its
// outputs are, and cancel and retry.

import * as api from '../api.js';
import * as events from '../events.js';
import { h, fill, errorBox, badge } from '../dom.js';
import * as fmt from '../fmt.js';
import { progressCell, updateProgress, terminal } from '../jobview.js';

export async function render(ctx) {
  const id = ctx.params[0];
  let j = await api.get(`/v1/jobs/${encodeURIComponent(id)}`);
  if (!ctx.current()) return;
  ctx.title(`Job ${id}`);

  const head = h('h1', null);
  const actions = h('div', { class: 'actions' });
  const msg = h('div', { 'aria-live': 'polite' });
  const prog = progressCell(j);
  const facts = h('dl', { class: 'facts' });
  const result = h('div');
  const timeline = h('tbody');
  const showProgress = h('input', { type: 'checkbox', id: 'show-progress' });
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Load more events');
  ctx.main.append(head, actions, msg,
    h('section', { class: 'card', 'aria-labelledby': 'prog-h', id: 'progress-card' }, h('h2', { id: 'prog-h' }, 'Progress'), prog),
    h('div', { class: 'grid' },
      h('section', { class: 'card', 'aria-labelledby': 'work-h' }, h('h2', { id: 'work-h' }, 'Work'), facts),
      h('section', { class: 'card', 'aria-labelledby': 'res-h' }, h('h2', { id: 'res-h' }, 'Result'), result)),
    h('section', { 'aria-labelledby': 'spec-h' }, h('h2', { id: 'spec-h' }, 'Spec'),
      h('details', null, h('summary', null, 'The spec the worker runs (JSON)'), h('pre', { id: 'spec' }, JSON.stringify(j.spec, null, 2)))),
    h('section', { 'aria-labelledby': 'tl-h' }, h('h2', { id: 'tl-h' }, 'Timeline'),
      h('p', { class: 'choices' }, h('label', null, showProgress, 'Show progress samples')),
      h('div', { class: 'scroll' }, h('table', { id: 'timeline' },
        h('thead', null, h('tr', null, ['#', 'Time', 'Event', 'Details'].map((c) => h('th', { scope: 'col' }, c)))), timeline)),
      more));

  function draw() {
    fill(head, 'Job ', h('span', { class: 'mono' }, j.id), ' ', badge(j.status));
    updateProgress(prog, j);
    fill(actions);
    if (ctx.can('submit')) {
      if (!terminal.includes(j.status)) actions.append(h('button', { type: 'button', class: 'danger', id: 'cancel-job', onclick: () => act('cancel') }, 'Cancel job'));
      if (j.status === 'failed' || j.status === 'canceled') actions.append(h('button', { type: 'button', id: 'retry-job', onclick: () => act('retry') }, 'Retry job'));
    }
    const rows = [
      ['Work', fmt.work(j)], ['Input', j.input], ['Output', j.output], ['Queue', j.queue], ['Priority', j.priority],
      ['Tenant', j.tenant], ['Node', j.node ? j.node + (j.gpu != null ? `, GPU ${j.gpu}` : '') : ''],
      ['Attempts', `${j.attempts} of ${j.max_retries + 1}`],
      ['Parameters', j.parameters ? JSON.stringify(j.parameters) : ''],
      ['Labels', Object.entries(j.labels || {}).map(([k, v]) => `${k}=${v}`).join(', ')],
      ['Created', fmt.time(j.created_at)], ['Started', fmt.time(j.started_at)], ['Finished', fmt.time(j.finished_at)],
    ].filter(([, v]) => v !== '' && v != null && v !== '–');
    fill(facts, rows.map(([k, v]) => [h('dt', null, k), h('dd', null, String(v))]));
    drawResult();
  }

  function drawResult() {
    const r = j.result;
    const parts = [];
    if (j.error) parts.push(h('p', { class: 'error' }, `${j.error.code}: ${j.error.message}${j.error.transient ? ' (transient)' : ''}`));
    if (!r) {
      parts.push(h('p', { class: 'note' }, terminal.includes(j.status) ? 'No result.' : 'Not finished yet.'));
      fill(result, parts);
      return;
    }
    parts.push(h('dl', { class: 'facts' },
      [['Decoder', r.decoder], ['Fallback', r.fallback], ['Frames', fmt.num(r.frames)], ['FPS', fmt.num(r.fps, 1)],
        ['Speed', r.speed ? `${fmt.num(r.speed, 2)}×` : ''], ['Wall time', r.seconds ? fmt.seconds(r.seconds) : ''], ['Bytes', r.bytes ? fmt.bytes(r.bytes) : ''],
        ['Encode latency', r.encode_latency ? `p50 ${fmt.num(r.encode_latency.p50_ms, 1)} ms, p95 ${fmt.num(r.encode_latency.p95_ms, 1)} ms` : '']]
        .filter(([, v]) => v && v !== '–').map(([k, v]) => [h('dt', null, k), h('dd', null, v)])));
    const enc = Object.entries(r.encoders || {});
    if (enc.length) {
      parts.push(h('h3', null, 'Encoders that ran'), h('table', null,
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Output'), h('th', { scope: 'col' }, 'Encoder'))),
        h('tbody', null, enc.map(([o, e]) => h('tr', null, h('td', null, o), h('td', { class: 'mono' }, e))))));
    }
    if ((r.outputs || []).length) {
      parts.push(h('h3', null, 'Output locations'), h('ul', { id: 'outputs' }, [...new Set(r.outputs)].map((o) => h('li', { class: 'mono' }, o))));
    }
    if ((r.restreams || []).length) {
      parts.push(h('h3', null, 'Restreams'), h('ul', null, r.restreams.map((o) =>
        h('li', null, `${o.name}: ${o.unreached ? 'never reached' : `${o.connections} connection(s), ${o.reconnects} reconnect(s), ${o.dropped_packets || 0} packets dropped`}${o.last_error ? ` — ${o.last_error}` : ''}`))));
    }
    if (r.details) {
      parts.push(h('details', null, h('summary', null, 'Per-output details (JSON)'), h('pre', null, JSON.stringify(r.details, null, 2))));
    }
    fill(result, parts);
  }

  async function act(what) {
    msg.replaceChildren();
    try {
      j = await api.post(`/v1/jobs/${encodeURIComponent(j.id)}/${what}`);
      draw();
      msg.append(h('p', { class: 'note' }, what === 'cancel' ? 'Cancel requested.' : 'Queued again.'));
      loadEvents();
    } catch (err) {
      msg.append(errorBox(err));
    }
  }

  let after = 0;
  const kept = [];
  function eventRow(e) {
    let what = e.type, detail = e.message || '';
    if (e.type === 'state') what = `${e.from || '∅'} → ${e.to}`;
    if (e.type === 'progress' && e.progress) detail = fmt.progressText(e.progress);
    if (e.error) detail = `${e.error.code}: ${e.error.message}`;
    if (e.node && !detail.includes(e.node)) detail = `${detail}${detail ? ' ' : ''}(node ${e.node})`;
    return h('tr', { class: `ev-${e.type}` }, h('td', { class: 'num' }, e.seq), h('td', null, fmt.time(e.time)),
      h('td', null, what), h('td', null, detail));
  }
  function drawEvents() {
    const list = kept.filter((e) => showProgress.checked || e.type !== 'progress');
    fill(timeline, list.length ? list.map(eventRow) : h('tr', null, h('td', { colspan: 4, class: 'note' }, 'No events yet.')));
  }
  let loading = false;
  async function loadEvents() {
    if (loading) return;
    loading = true;
    try {
      const l = await api.get(`/v1/jobs/${encodeURIComponent(j.id)}/events${api.query({ after, limit: 1000 })}`);
      kept.push(...(l.events || []));
      if (kept.length) after = kept[kept.length - 1].seq;
      more.hidden = !l.next;
      drawEvents();
    } catch (err) {
      msg.append(errorBox(err));
    } finally {
      loading = false;
    }
  }
  showProgress.addEventListener('change', drawEvents);
  more.addEventListener('click', loadEvents);

  let lastStatus = j.status;
  ctx.onCleanup(events.on('job', (nj) => {
    if (nj.id !== j.id) return;
    j = nj;
    if (j.status !== lastStatus) {
      lastStatus = j.status;
      draw();
      loadEvents();
    } else {
      updateProgress(prog, j);
    }
  }));
  draw();
  await loadEvents();
}
