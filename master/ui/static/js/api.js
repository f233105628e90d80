// The console's way to the API: the session cookie (HttpOnly, set by POST /v1/session)
// authenticates every call, and the CSRF token, kept in memory only, goes with every
// change. The API key itself is sent once, to log in, and never kept.

let csrf = '';
let current = null;
const sessionListeners = new Set();

// ApiError is an error answer: status, the API's code, message and the field at fault.
export class ApiError extends Error {
  constructor(status, body) {
    const e = body && body.error ? body.error : {};
    super(e.message || `the master answered ${status}`);
    this.status = status;
    this.code = e.code || '';
    this.field = e.field || '';
  }
}

// call sends one API request and returns the decoded JSON answer (null for 204).
export async function call(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrf) headers['X-CSRF-Token'] = csrf;
  let resp;
  try {
    resp = await fetch(path, {
      method, headers, credentials: 'same-origin', cache: 'no-store', redirect: 'error',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, { error: { message: `the master could not be reached (${err.message})` } });
  }
  if (resp.status === 204) return null;
  let data = null;
  try { data = await resp.json(); } catch { /* not JSON: the error below says the status */ }
  if (!resp.ok) {
    const err = new ApiError(resp.status, data);
    // The session ended (expired, logged out elsewhere, its key removed or rotated).
    if (resp.status === 401 && current && path !== '/v1/session') setSession(null);
    throw err;
  }
  return data;
}

export const get = (path) => call('GET', path);
export const post = (path, body) => call('POST', path, body);
export const put = (path, body) => call('PUT', path, body);
export const del = (path) => call('DELETE', path);

// query builds a query string from an object, leaving out empty values.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v != null && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

function setSession(s) {
  current = s;
  csrf = s ? s.csrf_token || '' : '';
  for (const f of sessionListeners) f(current);
}

// session is who is logged in: {key_name, role, tenant, expires_at}, or null.
export function session() { return current; }
export function onSession(f) { sessionListeners.add(f); }

// login trades an API key for a session.
export async function login(apiKey) {
  setSession(await call('POST', '/v1/session', { api_key: apiKey }));
}

// restore picks up the session of an earlier visit (the cookie), if it is still valid.
export async function restore() {
  try {
    setSession(await call('GET', '/v1/session'));
  } catch (err) {
    if (err.status === 401) return setSession(null);
    throw err;
  }
}

export async function logout() {
  try { await call('DELETE', '/v1/session'); } finally { setSession(null); }
}

// The roles of the API's route table, as the console needs them: what a role may see and do.
const submitters = ['admin', 'submitter'];
export function can(what) {
  const role = current ? current.role : '';
  switch (what) {
    case 'jobs': case 'nodes': case 'streams': case 'submit': return submitters.includes(role);
    case 'presets': return !!role;
    case 'admin': return role === 'admin';
    default: return false;
  }
}
