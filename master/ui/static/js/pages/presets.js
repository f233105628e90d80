// Presets: the list, one preset, and create or edit (admins) with the API's validation.

import * as api from '../api.js';
import { h, field, errorBox, showFieldError, clearFieldErrors, twoStep } from '../dom.js';

const example = {
  description: 'three-rung H.264 ladder',
  container: 'hls',
  video: { codec: 'libx264', preset: 'veryfast', gop: 2 },
  audio: { codec: 'aac' },
  renditions: [{ name: '720p', width: 1280, height: 720, bitrate: '3M' }, { name: '480p', width: 854, height: 480, bitrate: '1.2M' }],
};

export async function render(ctx) {
  const name = ctx.params[0];
  if (name) return one(ctx, name);
  const list = await api.get('/v1/presets');
  if (!ctx.current()) return;
  const rows = (list.presets || []).map((p) => h('tr', null,
    h('td', null, h('a', { href: `#/presets/${encodeURIComponent(p.name)}` }, p.name)),
    h('td', null, p.description || ''), h('td', null, p.container || 'hls'),
    h('td', null, (p.renditions || []).map((r) => r.name || `${r.height}p`).join(', ')),
    h('td', null, p.built_in ? 'built-in' : p.tenant ? `tenant ${p.tenant}` : 'stored')));
  ctx.main.append(h('h1', null, 'Presets'),
    ctx.can('admin') ? h('p', null, h('a', { class: 'button', href: '#/presets/new' }, 'New preset')) : null,
    h('div', { class: 'scroll' }, h('table', { id: 'presets-table' },
      h('thead', null, h('tr', null, ['Name', 'Description', 'Container', 'Renditions', 'Kind'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, rows))));
}

async function one(ctx, name) {
  const isNew = name === 'new';
  let p = null;
  if (!isNew) {
    p = await api.get(`/v1/presets/${encodeURIComponent(name)}`);
    if (!ctx.current()) return;
  }
  ctx.title(isNew ? 'New preset' : `Preset ${name}`);
  const editable = ctx.can('admin') && (isNew || !p.built_in);
  ctx.main.append(h('h1', null, isNew ? 'New preset' : `Preset ${name}`), h('p', null, h('a', { href: '#/presets' }, 'All presets')));
  if (!editable) {
    ctx.main.append(p.built_in ? h('p', { class: 'note' }, 'Built in: read-only.') : null, h('pre', { id: 'preset-json' }, JSON.stringify(p, null, 2)));
    return;
  }
  const body = { ...(p || example) };
  for (const k of ['name', 'built_in']) delete body[k];
  const nameIn = h('input', { type: 'text', name: 'name', value: isNew ? '' : name, readonly: !isNew, required: true, spellcheck: 'false' });
  const json = h('textarea', { name: 'preset', spellcheck: 'false' });
  json.value = JSON.stringify(body, null, 2);
  const msg = h('div', { 'aria-live': 'assertive' });
  const save = h('button', { type: 'submit' }, isNew ? 'Create preset' : 'Save preset');
  const form = h('form', { class: 'stack', id: 'preset-form', novalidate: true },
    field('Name', nameIn, { name: 'name' }),
    field('Preset (JSON)', json, { name: 'preset', hint: 'container, video, audio, renditions, segment_seconds, segment_type' }),
    msg, h('div', { class: 'actions' }, save,
      isNew ? null : twoStep('Delete preset', 'Really delete this preset?', async () => {
        try { await api.del(`/v1/presets/${encodeURIComponent(name)}`); ctx.go('#/presets'); } catch (err) { msg.append(errorBox(err)); }
      })));
  ctx.main.append(form);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    msg.replaceChildren();
    let preset;
    try {
      preset = JSON.parse(json.value);
    } catch (err) {
      showFieldError(json, `not JSON: ${err.message}`);
      json.focus();
      return;
    }
    const n = nameIn.value.trim();
    if (!n) { showFieldError(nameIn, 'a preset needs a name'); nameIn.focus(); return; }
    preset.name = n;
    save.disabled = true;
    try {
      await api.put(`/v1/presets/${encodeURIComponent(n)}`, preset);
      ctx.go(`#/presets/${encodeURIComponent(n)}`);
      msg.append(h('p', { class: 'note' }, 'Saved.'));
    } catch (err) {
      const target = err.field === 'name' ? nameIn : err.field ? json : null;
      if (target) { showFieldError(target, err.field === 'name' ? err.message : `${err.field}: ${err.message}`); target.focus(); } else msg.append(errorBox(err));
    } finally {
      save.disabled = false;
    }
  });
}
