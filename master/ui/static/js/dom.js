// DOM building without markup: API data only ever becomes text nodes and attribute values,
// never parsed HTML (the CSP forbids inline code; this keeps data from becoming code too).

// h makes an element: attrs are attributes (on<event> keys add listeners, class sets the
// class, non-string values of known properties set the property), children are nodes or
// text (null, undefined and false are skipped; arrays are flattened).
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (typeof v !== 'string' && k in el) el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  // A <pre> scrolls when its text is long: keyboard users must be able to reach it.
  if (tag === 'pre' && !el.hasAttribute('tabindex')) el.tabIndex = 0;
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
}

// fill replaces el's children.
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let ids = 0;
// uid is a fresh element id (labels and descriptions need them).
export function uid(prefix) { return `${prefix}-${++ids}`; }

// field is a labelled control: the label, the control, a hint and a slot for the API's
// validation error (linked with aria-describedby). name is the API's field name.
export function field(labelText, control, { hint, name } = {}) {
  const id = control.id || (control.id = uid('f'));
  const errId = `${id}-err`;
  const hintId = hint ? `${id}-hint` : null;
  if (name) control.dataset.field = name;
  control.setAttribute('aria-describedby', [hintId, errId].filter(Boolean).join(' '));
  return h('div', { class: 'field' },
    h('label', { for: id }, labelText),
    hint ? h('span', { class: 'note', id: hintId }, hint) : null,
    control,
    h('p', { class: 'field-error', id: errId, hidden: true }));
}

// showFieldError puts msg under control (clearing it when msg is empty).
export function showFieldError(control, msg) {
  const err = document.getElementById(`${control.id}-err`);
  if (!err) return false;
  err.textContent = msg || '';
  err.hidden = !msg;
  if (msg) control.setAttribute('aria-invalid', 'true');
  else control.removeAttribute('aria-invalid');
  return true;
}

// clearFieldErrors clears every field error inside root.
export function clearFieldErrors(root) {
  for (const c of root.querySelectorAll('[aria-invalid="true"]')) showFieldError(c, '');
}

// badge shows a status with its colour class and its word (colour is never the only sign).
export function badge(status) {
  return h('span', { class: `badge s-${status}` }, status);
}

// errorBox says what went wrong, for the screen and for screen readers.
export function errorBox(err) {
  return h('p', { class: 'error', role: 'alert' }, err instanceof Error ? err.message : String(err));
}

// twoStep is a button that asks to be pressed again before it acts (no modal dialogs).
export function twoStep(label, confirmLabel, act, cls = 'danger') {
  const b = h('button', { type: 'button', class: 'secondary' }, label);
  let armed = false, timer = 0;
  b.addEventListener('click', async () => {
    if (!armed) {
      armed = true;
      b.textContent = confirmLabel;
      b.className = cls;
      timer = setTimeout(() => { armed = false; b.textContent = label; b.className = 'secondary'; }, 5000);
      return;
    }
    clearTimeout(timer);
    b.disabled = true;
    try { await act(); } finally { b.disabled = false; armed = false; b.textContent = label; b.className = 'secondary'; }
  });
  return b;
}
