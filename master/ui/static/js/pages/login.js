// Log in: the API key is pasted once and traded for a session cookie; it is not kept.

import * as api from '../api.js';
import { h, field, errorBox } from '../dom.js';

export async function render(ctx) {
  const key = h('input', { type: 'password', name: 'api_key', autocomplete: 'current-password', required: true, spellcheck: 'false' });
  const msg = h('div', { 'aria-live': 'assertive' });
  const button = h('button', { type: 'submit' }, 'Log in');
  const form = h('form', { class: 'stack card', id: 'login-form' },
    field('API key', key, { hint: 'The key ffrtmp run printed, or one from your keys file. It is sent once and not stored; the browser keeps a session cookie.' }),
    msg,
    h('div', { class: 'actions' }, button));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    msg.replaceChildren();
    button.disabled = true;
    try {
      await api.login(key.value.trim());
      key.value = '';
      ctx.go('#/');
    } catch (err) {
      const text = err.status === 401 ? 'That key is not valid on this master.' : err.message;
      msg.append(errorBox(text));
      key.setAttribute('aria-invalid', 'true');
      key.focus();
    } finally {
      button.disabled = false;
    }
  });
  ctx.main.append(h('div', { class: 'login' }, h('h1', null, 'Log in to the farm console'), form));
  key.focus();
}
