// Submit a job from a preset, a scenario or a pasted spec; the API's validation error is
// shown next to the field it names.

import * as api from '../api.js';
import { h, field, showFieldError, clearFieldErrors, errorBox } from '../dom.js';
import { queues } from '../jobview.js';

export async function render(ctx) {
  const [presets, scenarios] = await Promise.all([api.get('/v1/presets'), api.get('/v1/scenarios')]);
  if (!ctx.current()) return;

  const mode = (v, label, checked) => h('label', null, h('input', { type: 'radio', name: 'mode', value: v, checked }), label);
  const modes = h('fieldset', null, h('legend', null, 'Start from'),
    h('div', { class: 'choices' }, mode('scenario', 'a scenario (synthetic source)', true), mode('preset', 'a preset (your input)'), mode('spec', 'a pasted spec')));

  const scenario = h('select', { name: 'scenario' }, (scenarios.scenarios || []).map((s) =>
    h('option', { value: s.name }, `${s.name} — ${s.width}×${s.height}, ${s.encoder}`)));
  const duration = h('input', { type: 'number', name: 'duration', min: '0', step: 'any', placeholder: 'the scenario’s own' });
  const preset = h('select', { name: 'preset' }, (presets.presets || []).map((p) =>
    h('option', { value: p.name }, `${p.name}${p.description ? ` — ${p.description}` : ''}`)));
  const input = h('input', { type: 'text', name: 'input', placeholder: 'file:///srv/in/movie.mp4 or /srv/in/movie.mp4', spellcheck: 'false' });
  const output = h('input', { type: 'text', name: 'output', spellcheck: 'false', placeholder: 'a folder ending in / (presets) or a file (scenarios)' });
  const encoder = h('input', { type: 'text', name: 'encoder', placeholder: 'libx264, h264_nvenc, …', spellcheck: 'false' });
  const specText = h('textarea', { name: 'spec', spellcheck: 'false', placeholder: '{"inputs": [...], "outputs": [...]}' });
  const queue = h('select', { name: 'queue' }, queues.map((q) => h('option', { value: q, selected: q === 'medium' }, q)));
  const priority = h('input', { type: 'number', name: 'priority', value: '0', step: '1' });

  const scenarioPart = h('div', { class: 'stack' },
    field('Scenario', scenario, { name: 'scenario' }),
    field('Source length (seconds)', duration, { name: 'parameters.duration' }));
  const presetPart = h('div', { class: 'stack' },
    field('Preset', preset, { name: 'preset' }),
    field('Input', input, { name: 'input', hint: 'a file or URL the worker may read' }));
  const specPart = h('div', { class: 'stack' },
    field('Spec (JSON)', specText, { name: 'spec', hint: 'the job spec, as `ffrtmp transcode --spec` takes it' }));
  const common = h('div', { class: 'stack' },
    field('Output', output, { name: 'output' }),
    field('Encoder (optional)', encoder, { name: 'parameters.encoder', hint: 'overrides the video encoder of a preset or scenario' }),
    h('div', { class: 'filters' }, field('Queue', queue, { name: 'queue' }), field('Priority', priority, { name: 'priority', hint: '-100 … 100, higher first within the queue' })));
  const msg = h('div', { 'aria-live': 'assertive' });
  const send = h('button', { type: 'submit' }, 'Submit job');
  const form = h('form', { class: 'stack', id: 'submit-form', novalidate: true }, modes, scenarioPart, presetPart, specPart, common, msg, h('div', { class: 'actions' }, send));
  ctx.main.append(h('h1', null, 'Submit a job'), form);

  const current = () => form.querySelector('input[name="mode"]:checked').value;
  function showMode() {
    const m = current();
    scenarioPart.hidden = m !== 'scenario';
    presetPart.hidden = m !== 'preset';
    specPart.hidden = m !== 'spec';
    output.closest('.field').hidden = m === 'spec';
    encoder.closest('.field').hidden = m === 'spec';
  }
  form.addEventListener('change', (ev) => { if (ev.target.name === 'mode') showMode(); });
  showMode();

  function request() {
    const m = current();
    const req = { queue: queue.value, priority: Number(priority.value || 0) };
    const params = {};
    if (m === 'spec') {
      try {
        req.spec = JSON.parse(specText.value);
      } catch (err) {
        throw Object.assign(new Error(`not JSON: ${err.message}`), { field: 'spec' });
      }
      return req;
    }
    if (m === 'scenario') {
      req.scenario = scenario.value;
      if (duration.value !== '') params.duration = Number(duration.value);
    } else {
      req.preset = preset.value;
      req.input = input.value.trim();
    }
    req.output = output.value.trim();
    if (encoder.value.trim()) params.encoder = encoder.value.trim();
    if (Object.keys(params).length) req.parameters = params;
    return req;
  }

  // controlFor finds the control of an API field: its own, the closest parent path's
  // (outputs[0].video.codec of a pasted spec is shown at the spec), or none.
  function controlFor(name) {
    if (!name) return null;
    const m = current();
    const visible = [...form.querySelectorAll('[data-field]')].filter((c) => !c.closest('[hidden]'));
    for (let f = name; f;) {
      const c = visible.find((x) => x.dataset.field === f);
      if (c) return c;
      const parent = f.replace(/(\.[^.[]*|\[\d+\])$/, '');
      f = parent === f ? '' : parent;
    }
    // A spec's own fields (inputs[0].url, outputs[1].video…) belong to the pasted spec, or
    // to what the preset or scenario made of the input and output.
    if (m === 'spec') return specText;
    if (/^inputs/.test(name)) return m === 'preset' ? input : null;
    if (/^outputs/.test(name)) return output;
    return null;
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    msg.replaceChildren();
    send.disabled = true;
    try {
      const job = await api.post('/v1/jobs', request());
      ctx.go(`#/jobs/${encodeURIComponent(job.id)}`);
    } catch (err) {
      const c = controlFor(err.field);
      if (c) {
        showFieldError(c, err.field && c.dataset.field !== err.field ? `${err.field}: ${err.message}` : err.message);
        c.focus();
        msg.append(h('p', { class: 'error' }, 'The master refused the job: see the field marked above.'));
      } else {
        msg.append(errorBox(err.field ? `${err.field}: ${err.message}` : err));
      }
    } finally {
      send.disabled = false;
    }
  });
}
