// Live updates: one EventSource on /v1/events (the session cookie goes with it). The
// browser reconnects by itself, sending Last-Event-ID, and the master replays what was
// missed; a "reset" event (the gap was too long) asks the page to reload its data.

const listeners = { job: new Set(), node: new Set(), stream: new Set(), reset: new Set(), state: new Set() };
let source = null;
let retry = 0;
let state = 'off';

function setState(s) {
  if (s === state) return;
  state = s;
  for (const f of listeners.state) f(s);
}

// connect opens the stream (once).
export function connect() {
  if (source) return;
  clearTimeout(retry);
  source = new EventSource('/v1/events');
  for (const type of ['job', 'node', 'stream', 'reset']) {
    source.addEventListener(type, (ev) => {
      let data = null;
      try { data = ev.data ? JSON.parse(ev.data) : null; } catch { return; }
      for (const f of listeners[type]) f(data);
    });
  }
  source.onopen = () => setState('live');
  source.onerror = () => {
    if (source && source.readyState === EventSource.CLOSED) {
      // Refused (no session, or no such endpoint): the browser gives up; try again later.
      source = null;
      setState('off');
      retry = setTimeout(connect, 10000);
    } else {
      setState('reconnecting');
    }
  };
}

export function disconnect() {
  clearTimeout(retry);
  if (source) source.close();
  source = null;
  setState('off');
}

// on calls f with each event of type (job, node, stream, reset, state) until the returned
// function is called.
export function on(type, f) {
  listeners[type].add(f);
  return () => listeners[type].delete(f);
}

export function liveState() { return state; }
