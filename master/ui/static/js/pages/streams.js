// Streams: create one (its key shown once, with a copy button and the publish line),
// state and input, the live job's outputs and destinations, a live HLS preview, rotate
// key and delete.

import * as api from '../api.js';
import * as events from '../events.js';
import { h, fill, field, errorBox, badge, twoStep, showFieldError, clearFieldErrors } from '../dom.js';
import * as fmt from '../fmt.js';

export async function render(ctx) {
  const [list, presets] = await Promise.all([api.get('/v1/streams'), api.get('/v1/presets')]);
  if (!ctx.current()) return;
  const msg = h('div', { 'aria-live': 'polite' });
  const keyPanel = h('div', { 'aria-live': 'polite' });
  const wrap = h('div', { class: 'stack' });

  const name = h('input', { type: 'text', name: 'name', required: true, pattern: '[A-Za-z0-9._-]{1,64}', spellcheck: 'false' });
  const preset = h('select', { name: 'preset' }, (presets.presets || []).map((p) => h('option', { value: p.name }, p.name)));
  const segType = h('select', { name: 'segment_type' }, h('option', { value: '' }, 'the preset’s'), h('option', { value: 'ts' }, 'MPEG-TS'), h('option', { value: 'fmp4' }, 'fMP4 (CMAF)'));
  const dests = h('textarea', { name: 'destinations', rows: 3, spellcheck: 'false', placeholder: 'rtmp://a.rtmp.youtube.com/live2/KEY' });
  dests.classList.add('short');
  const createBtn = h('button', { type: 'submit' }, 'Create stream');
  const form = h('form', { class: 'stack card', id: 'stream-form' },
    h('h2', null, 'New stream'),
    field('Name', name, { name: 'name', hint: '1–64 of A–Z a–z 0–9 . _ - ; it names the HLS folder' }),
    field('Preset', preset, { name: 'preset' }),
    field('Segments', segType, { name: 'segment_type' }),
    field('Restream destinations (optional)', dests, { name: 'destinations', hint: 'one rtmp:// or rtmps:// URL a line' }),
    h('div', { class: 'actions' }, createBtn));
  ctx.main.append(h('h1', null, 'Streams'), msg, keyPanel, wrap, form);

  // showKey shows a stream key this once: the answer of create or rotate-key.
  function showKey(st) {
    const key = h('input', { type: 'text', readonly: true, value: st.stream_key, id: 'stream-key', 'aria-label': `Stream key of ${st.name}`, spellcheck: 'false' });
    const copied = h('span', { 'aria-live': 'polite', class: 'note' });
    const copy = h('button', { type: 'button', id: 'copy-key' }, 'Copy key');
    copy.addEventListener('click', async () => {
      try { await navigator.clipboard.writeText(st.stream_key); copied.textContent = 'Copied.'; } catch { key.select(); copied.textContent = 'Selected: press Ctrl+C.'; }
    });
    const ingest = st.ingest_url || 'rtmp://<this master>:1935/live/';
    fill(keyPanel, h('section', { class: 'ok-box', 'aria-labelledby': 'key-h' },
      h('h2', { id: 'key-h' }, `Stream key of ${st.name}`),
      h('p', null, 'Shown only now: the master keeps a hash. Rotate the key if it is lost.'),
      h('div', { class: 'secret' }, key, copy, copied),
      h('h3', null, 'OBS'),
      h('dl', { class: 'facts' }, h('dt', null, 'Server'), h('dd', { class: 'mono' }, ingest), h('dt', null, 'Stream key'), h('dd', null, 'the key above')),
      h('h3', null, 'ffmpeg'),
      h('pre', null, `ffmpeg -re -i input.mp4 -c:v libx264 -preset veryfast -g 60 -c:a aac -f flv '${ingest}${st.stream_key}'`),
      h('button', { type: 'button', class: 'secondary', onclick: () => keyPanel.replaceChildren() }, 'I have kept it: hide the key')));
    key.focus();
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    msg.replaceChildren();
    createBtn.disabled = true;
    const req = { name: name.value.trim(), preset: preset.value };
    if (segType.value) req.segment_type = segType.value;
    const d = dests.value.split('\n').map((s) => s.trim()).filter(Boolean);
    if (d.length) req.destinations = d;
    try {
      const st = await api.post('/v1/streams', req);
      showKey(st);
      add(st);
      form.reset();
    } catch (err) {
      const c = form.querySelector(`[data-field="${CSS.escape((err.field || '').replace(/\[\d+\]$/, ''))}"]`);
      if (c && err.field) { showFieldError(c, err.message); c.focus(); } else msg.append(errorBox(err));
    } finally {
      createBtn.disabled = false;
    }
  });

  const views = new Map();
  function add(st) {
    // The event of a new stream may come before the answer that created it: one card each.
    if (views.has(st.id)) { draw(views.get(st.id), st); return; }
    const v = view(st);
    views.set(st.id, v);
    const none = wrap.querySelector('.none');
    if (none) none.remove();
    wrap.append(v.el);
  }

  function view(st) {
    const head = h('h2', { id: `st-h-${st.id}` });
    const facts = h('dl', { class: 'facts' });
    const outputs = h('div');
    const player = h('div');
    const actions = h('div', { class: 'actions' });
    const el = h('section', { class: 'card', 'data-stream': st.id, 'aria-labelledby': `st-h-${st.id}` }, head, actions,
      h('div', { class: 'grid' }, h('div', null, facts, outputs), player));
    const v = { el, head, facts, outputs, player, actions, st, hls: null, job: null };
    actions.append(
      h('button', { type: 'button', class: 'secondary', onclick: () => rotate(v) }, `Rotate key of ${st.name}`),
      twoStep(`Delete ${st.name}`, `Really delete ${st.name}?`, () => remove(v)));
    draw(v, st);
    return v;
  }

  function draw(v, st) {
    // The preview is there once the stream is live and its job on a node that serves HLS
    // (often a moment after it went live).
    const playable = (x) => x.state === 'live' && !!x.preview_url;
    const could = playable(v.st);
    v.st = st;
    fill(v.head, st.name, ' ', badge(st.state));
    const i = st.input || {};
    const rows = [
      ['Preset', st.preset], ['Queue', st.queue], ['Segments', st.segment_type || 'the preset’s'],
      ['Ingest', st.ingest_url ? `${st.ingest_url}<stream key>` : ''],
      ['Input video', st.input ? `${i.video_codec || '?'} ${i.width || '?'}×${i.height || '?'} @ ${fmt.num(i.fps, 2)} fps` : ''],
      ['Input audio', i.audio_codec ? `${i.audio_codec} ${i.sample_rate || ''} Hz ${i.channels || ''} ch` : ''],
      ['Input bitrate', i.bitrate ? fmt.bitrate(i.bitrate) : ''], ['Publisher', i.remote],
      ['Live since', st.live_since ? `${fmt.time(st.live_since)} (up ${fmt.seconds(st.uptime_seconds)})` : ''],
      ['Live job', st.job_id ? h('a', { href: `#/jobs/${encodeURIComponent(st.job_id)}`, class: 'mono' }, st.job_id) : ''],
      ['Destinations', (st.destinations || []).join(', ')],
    ].filter(([, val]) => val);
    fill(v.facts, rows.map(([k, val]) => [h('dt', null, k), h('dd', null, val)]));
    if (st.job_id && (!v.job || v.job.id !== st.job_id)) api.get(`/v1/jobs/${encodeURIComponent(st.job_id)}`).then((j) => { v.job = j; drawJob(v); }).catch(() => {});
    if (!st.job_id) { v.job = null; drawJob(v); }
    if (playable(st) !== could || !v.player.firstChild) drawPlayer(v);
  }

  // drawJob shows the live job's outputs: fps, frames dropped, bitrate, pipeline latency
  // and, for restreams, the destination's state.
  function drawJob(v) {
    const p = v.job && v.job.progress;
    if (!p || !(p.outputs || []).length) { fill(v.outputs); return; }
    fill(v.outputs, h('h3', null, 'Outputs'), h('div', { class: 'scroll' }, h('table', null,
      h('thead', null, h('tr', null, ['Output', 'FPS', 'Dropped', 'Bitrate', 'Latency', 'Destination'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, p.outputs.map((o) => h('tr', null, h('td', null, o.name), h('td', { class: 'num' }, fmt.num(o.fps, 1)),
        h('td', { class: 'num' }, fmt.num(o.dropped || 0)), h('td', { class: 'num' }, fmt.bitrate(o.bitrate)),
        h('td', { class: 'num', 'data-latency-ms': o.latency_ms || '', title: 'pipeline latency: source packet read to encoded packet' },
          o.latency_ms ? `${fmt.num(o.latency_ms)} ms` : '–'),
        h('td', null, o.restream ? `${o.connected ? 'connected' : 'not connected'}${o.reconnects ? `, ${o.reconnects} reconnects` : ''}${o.last_error ? ` — ${o.last_error}` : ''}` : '–')))))));
  }

  // drawPlayer offers the preview of a live stream: a button starts it, so that a page of
  // streams does not pull every stream's video. The HLS comes through the master
  // (preview_url, on this origin with the session cookie), not from the node's hls_url,
  // which the CSP's connect-src 'self' would refuse.
  function drawPlayer(v) {
    stopPreview(v);
    const st = v.st;
    if (st.state !== 'live' || !st.preview_url) {
      const why = !st.hls ? 'This stream writes no HLS.' : st.state === 'live' ? 'The preview comes once the live job runs on a node that serves HLS.' : 'The preview plays while the stream is live.';
      fill(v.player, h('p', { class: 'note' }, why));
      return;
    }
    fill(v.player, h('h3', null, 'Preview'),
      h('button', { type: 'button', class: 'secondary', 'data-preview-start': st.id, onclick: () => play(v) }, `Play preview of ${st.name}`));
  }

  async function play(v) {
    const st = v.st;
    const video = h('video', { controls: true, muted: true, playsinline: true, 'aria-label': `Live preview of ${st.name}`, 'data-preview': st.id });
    const status = h('p', { class: 'note', 'aria-live': 'polite' });
    const stop = h('button', { type: 'button', class: 'secondary', 'data-preview-stop': st.id, onclick: () => { drawPlayer(v); v.player.querySelector('button').focus(); } }, `Stop preview of ${st.name}`);
    fill(v.player, h('h3', null, 'Preview'), video, h('div', { class: 'actions' }, stop), status);
    stop.focus();
    const failed = (what) => { status.className = 'error'; status.textContent = `Preview stopped: ${what}`; };
    const { default: Hls } = await import('../../vendor/hls.js-1.7.4/hls.light.min.mjs');
    if (!video.isConnected) return; // stopped (or the page left) while hls.js loaded
    // hls.js wherever Media Source Extensions are (Chromium now says "maybe" to HLS itself,
    // then fails on live TS); the browser's own HLS only without them (iOS Safari).
    if (!Hls.isSupported()) {
      if (!video.canPlayType('application/vnd.apple.mpegurl')) { failed('this browser cannot play HLS (no Media Source Extensions).'); return; }
      video.addEventListener('error', () => failed((video.error && video.error.message) || 'the browser could not play it'));
      video.src = st.preview_url;
      video.play().catch(() => {});
      return;
    }
    const hls = new Hls({ liveSyncDurationCount: 2 });
    v.hls = hls;
    hls.on(Hls.Events.ERROR, (_, data) => { if (data.fatal) failed(data.details); });
    hls.on(Hls.Events.MANIFEST_PARSED, () => { video.play().catch(() => {}); });
    hls.loadSource(st.preview_url);
    hls.attachMedia(video);
  }

  // stopPreview ends a preview: hls.js stops loading, and the video lets go of its media.
  function stopPreview(v) {
    if (v.hls) { v.hls.destroy(); v.hls = null; }
    const video = v.player.querySelector('video');
    if (video) { video.pause(); video.removeAttribute('src'); video.load(); }
  }

  async function rotate(v) {
    msg.replaceChildren();
    try { const st = await api.post(`/v1/streams/${encodeURIComponent(v.st.id)}/rotate-key`); draw(v, st); showKey(st); } catch (err) { msg.append(errorBox(err)); }
  }
  async function remove(v) {
    msg.replaceChildren();
    try {
      await api.del(`/v1/streams/${encodeURIComponent(v.st.id)}`);
      stopPreview(v);
      v.el.remove();
      views.delete(v.st.id);
      msg.append(h('p', { class: 'note' }, `${v.st.name} deleted.`));
    } catch (err) { msg.append(errorBox(err)); }
  }

  for (const st of list.streams || []) add(st);
  if (!views.size) wrap.append(h('p', { class: 'note none' }, 'No streams yet.'));
  ctx.onCleanup(() => { for (const v of views.values()) stopPreview(v); });
  ctx.onCleanup(events.on('stream', (st) => { const v = views.get(st.id); if (v) draw(v, st); else add(st); }));
  ctx.onCleanup(events.on('job', (j) => { for (const v of views.values()) if (v.st.job_id === j.id) { v.job = j; drawJob(v); } }));
}
