// Jobs: filters, cursor pages as the API gives them, rows updated live from job events.

import * as api from '../api.js';
import * as events from '../events.js';
import { h, fill, field, errorBox } from '../dom.js';
import * as fmt from '../fmt.js';
import { progressCell, updateProgress, statusCell, statuses, queues } from '../jobview.js';

const pageSize = 50;

export async function render(ctx) {
  const status = h('select', { name: 'status' }, h('option', { value: '' }, 'any'), statuses.map((s) => h('option', { value: s }, s)));
  const queue = h('select', { name: 'queue' }, h('option', { value: '' }, 'any'), queues.map((q) => h('option', { value: q }, q)));
  const node = h('select', { name: 'node' }, h('option', { value: '' }, 'any'));
  const text = h('input', { type: 'search', name: 'text', maxlength: 256, placeholder: 'ID, input, output, preset, error…' });
  const filters = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter jobs' },
    field('Status', status), field('Queue', queue), field('Node', node),
    field('Text', text, { hint: 'ID, file, preset, node, error or label (key=value); any case' }),
    h('div', null, h('button', { type: 'submit' }, 'Apply')));
  const body = h('tbody');
  const table = h('table', { id: 'jobs-table' },
    h('caption', { class: 'note' }, 'Newest first'),
    h('thead', null, h('tr', null, ['Job', 'Status', 'Queue', 'Work', 'Node', 'Progress', 'Created'].map((c) => h('th', { scope: 'col' }, c)))),
    body);
  const msg = h('div', { 'aria-live': 'polite' });
  const prev = h('button', { type: 'button', class: 'secondary', disabled: true }, 'Newer');
  const next = h('button', { type: 'button', class: 'secondary', disabled: true }, 'Older');
  const pageInfo = h('span', { class: 'note' });
  ctx.main.append(h('h1', null, 'Jobs'), filters, msg, h('div', { class: 'scroll' }, table),
    h('nav', { class: 'pager', 'aria-label': 'Pages' }, prev, next, pageInfo));

  api.get('/v1/nodes').then((l) => {
    for (const n of l.nodes || []) node.append(h('option', { value: n.id }, n.name || n.id));
  }).catch(() => {});

  if (statuses.includes(ctx.query.get('status'))) status.value = ctx.query.get('status');
  if (queues.includes(ctx.query.get('queue'))) queue.value = ctx.query.get('queue');
  let cursors = ['']; // the cursor of each page seen; the last is this page's
  let nextCursor = '';
  let shown = new Map(); // job id → its row's cells
  let rendered = false;

  // matches tells whether a job an event brings belongs on this page: the filters as the
  // API applies them (the text in the fields its search looks in, store's searchFields).
  function matches(j) {
    if (status.value && j.status !== status.value) return false;
    if (queue.value && j.queue !== queue.value) return false;
    if (node.value && j.node !== node.value) return false;
    const q = text.value.trim().toLowerCase();
    if (!q) return true;
    const spec = j.spec || {};
    const fields = [j.id, j.input, j.output, spec.input && spec.input.url, j.preset, j.scenario, j.node,
      ...(spec.outputs || []).map((o) => o.target),
      j.error && j.error.code, j.error && j.error.message,
      ...Object.entries(j.labels || {}).map(([k, v]) => `${k}=${v}`)];
    return fields.some((f) => f && f.toLowerCase().includes(q));
  }

  function row(j) {
    const st = h('td', null, statusCell(j));
    const pr = h('td', null, progressCell(j));
    const nd = h('td', null, j.node || '–');
    shown.set(j.id, { st, pr, nd, job: j });
    return h('tr', { 'data-job': j.id },
      h('td', null, h('a', { href: `#/jobs/${encodeURIComponent(j.id)}`, class: 'mono' }, j.id)),
      st, h('td', null, j.queue), h('td', null, fmt.work(j)), nd, pr,
      h('td', null, fmt.time(j.created_at)));
  }

  async function load() {
    const cursor = cursors[cursors.length - 1];
    msg.replaceChildren();
    let list;
    try {
      list = await api.get(`/v1/jobs${api.query({ status: status.value, queue: queue.value, node: node.value, text: text.value.trim(), cursor, limit: pageSize })}`);
    } catch (err) {
      msg.append(errorBox(err));
      return;
    }
    if (!ctx.current()) return;
    shown = new Map();
    const jobs = list.jobs || [];
    nextCursor = list.next_cursor || '';
    // A sparse search stops after examining as many jobs as a page may: Older goes on.
    const none = nextCursor ? 'No jobs match on this page; Older searches further back.' : 'No jobs match.';
    fill(body, jobs.length ? jobs.map(row) : h('tr', null, h('td', { colspan: 7, class: 'note' }, none)));
    next.disabled = !nextCursor;
    prev.disabled = cursors.length < 2;
    pageInfo.textContent = `page ${cursors.length}, ${jobs.length} shown`;
    if (!rendered) {
      // make bench-console times the first render by this mark (Performance API).
      rendered = true;
      performance.mark('ffrtmp:jobs-rendered');
    }
  }

  filters.addEventListener('submit', (ev) => { ev.preventDefault(); cursors = ['']; load(); });
  for (const s of [status, queue, node]) s.addEventListener('change', () => { cursors = ['']; load(); });
  next.addEventListener('click', () => { if (nextCursor) { cursors.push(nextCursor); load(); } });
  prev.addEventListener('click', () => { if (cursors.length > 1) { cursors.pop(); load(); } });

  ctx.onCleanup(events.on('job', (j) => {
    const r = shown.get(j.id);
    if (r) {
      fill(r.st, statusCell(j));
      updateProgress(r.pr.firstChild, j);
      r.nd.textContent = j.node || '–';
      r.job = j;
      return;
    }
    // A job this page has not shown: on the first page, when it matches, it goes on top.
    const top = body.querySelector('tr[data-job]');
    const newest = top && shown.get(top.dataset.job) ? shown.get(top.dataset.job).job.created_at : '';
    if (cursors.length === 1 && matches(j) && (!newest || new Date(j.created_at) > new Date(newest))) {
      const empty = body.querySelector('td[colspan]');
      if (empty) empty.parentElement.remove();
      body.prepend(row(j));
      while (body.children.length > pageSize) {
        const last = body.lastElementChild;
        shown.delete(last.dataset.job);
        last.remove();
      }
    }
  }));
  await load();
}
