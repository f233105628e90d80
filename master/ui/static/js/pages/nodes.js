// Nodes: capabilities, running jobs, telemetry charts; drain, undrain and remove for admins.

import * as api from '../api.js';
import * as events from '../events.js';
import { h, fill, errorBox, badge, twoStep } from '../dom.js';
import * as fmt from '../fmt.js';
import { nodeCharts } from '../telemetry.js';

export async function render(ctx) {
  const list = await api.get('/v1/nodes');
  if (!ctx.current()) return;
  const msg = h('div', { 'aria-live': 'polite' });
  const wrap = h('div', { class: 'stack' });
  ctx.main.append(h('h1', null, 'Nodes'), msg, wrap);
  const cards = new Map();

  function card(n) {
    const head = h('h2', { id: `node-h-${n.id}` });
    const facts = h('dl', { class: 'facts' });
    const actions = h('div', { class: 'actions' });
    const charts = nodeCharts(n);
    const el = h('section', { class: 'card', 'data-node': n.id, 'aria-labelledby': `node-h-${n.id}` }, head, actions,
      h('div', { class: 'grid' }, h('div', null, facts), h('div', null, charts.el)));
    const c = { el, head, facts, actions, charts, node: n };
    draw(c, n);
    return c;
  }

  function draw(c, n) {
    c.node = n;
    fill(c.head, n.name || n.id, ' ', badge(n.status));
    const caps = n.capabilities || {};
    const gpus = (caps.gpus || []).map((g) => `#${g.index} ${g.name} (${fmt.num(g.memory_total_mb / 1024, 0)} GiB${g.encoder_sessions ? `, ${g.encoder_sessions} NVENC sessions` : ', no NVENC'})`);
    const running = n.running_jobs || [];
    const rows = [
      ['ID', h('span', { class: 'mono' }, n.id)], ['Version', n.version], ['Address', n.address],
      ['CPUs', caps.cpus], ['Memory', caps.memory_bytes ? fmt.bytes(caps.memory_bytes) : ''], ['Slots', caps.slots || 1],
      ['Encoders', (caps.encoders || []).join(', ')], ['Decoders', (caps.decoders || []).join(', ')],
      ['Hardware', (caps.hardware || []).join(', ') || 'none'], ['GPUs', gpus.join('; ') || 'none'],
      ['Labels', Object.entries(n.labels || {}).map(([k, v]) => `${k}=${v}`).join(', ')],
      ['Running jobs', running.length ? running.map((id, i) => [i ? ', ' : '', h('a', { href: `#/jobs/${encodeURIComponent(id)}`, class: 'mono' }, id)]) : 'none'],
      ['Last heartbeat', fmt.ago(n.last_heartbeat)],
    ].filter(([, v]) => v !== '' && v != null);
    fill(c.facts, rows.map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
    fill(c.actions);
    if (ctx.can('admin')) {
      const label = n.name || n.id;
      if (n.status === 'draining') c.actions.append(h('button', { type: 'button', class: 'secondary', 'data-action': 'undrain', onclick: () => act(n, 'undrain') }, `Undrain ${label}`));
      else c.actions.append(h('button', { type: 'button', class: 'secondary', 'data-action': 'drain', onclick: () => act(n, 'drain') }, `Drain ${label}`));
      const rm = twoStep(`Remove ${label}`, `Really remove ${label}? Its jobs are requeued`, () => remove(n));
      rm.dataset.action = 'remove';
      c.actions.append(rm);
    }
    c.charts.push(n);
  }

  async function act(n, what) {
    msg.replaceChildren();
    try {
      const updated = await api.post(`/v1/nodes/${encodeURIComponent(n.id)}/${what}`);
      const c = cards.get(n.id);
      if (c) draw(c, updated);
      msg.append(h('p', { class: 'note' }, `${n.name || n.id}: ${what === 'drain' ? 'draining — it takes no new jobs' : 'takes jobs again'}.`));
    } catch (err) {
      msg.append(errorBox(err));
    }
  }

  async function remove(n) {
    msg.replaceChildren();
    try {
      await api.del(`/v1/nodes/${encodeURIComponent(n.id)}`);
      const c = cards.get(n.id);
      if (c) { c.charts.destroy(); c.el.remove(); cards.delete(n.id); }
      msg.append(h('p', { class: 'note' }, `${n.name || n.id} removed.`));
    } catch (err) {
      msg.append(errorBox(err));
    }
  }

  for (const n of list.nodes || []) {
    const c = card(n);
    cards.set(n.id, c);
    wrap.append(c.el);
    c.charts.mount();
  }
  if (!cards.size) wrap.append(h('p', { class: 'note' }, 'No nodes have registered.'));
  ctx.onCleanup(() => { for (const c of cards.values()) c.charts.destroy(); });
  ctx.onCleanup(events.on('node', (n) => {
    const c = cards.get(n.id);
    if (c) draw(c, n);
    else if (n.status !== 'removed') {
      const nc = card(n);
      cards.set(n.id, nc);
      wrap.append(nc.el);
      nc.charts.mount();
    }
  }));
}
