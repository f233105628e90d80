// The console: a single page with hash routes (#/jobs, #/jobs/<id>, ...). Each page is a
// module whose render(ctx) fills <main> and registers what to undo when the page changes.
// Pages load when first shown (the jobs page needs neither the charts nor the other pages),
// and the first page's module loads while the session is being checked.

import * as api from './api.js';
import * as events from './events.js';
import { h, fill, errorBox } from './dom.js';

const login = () => import('./pages/login.js');
const overview = () => import('./pages/overview.js');
const jobs = () => import('./pages/jobs.js');
const job = () => import('./pages/job.js');
const submit = () => import('./pages/submit.js');
const nodes = () => import('./pages/nodes.js');
const streams = () => import('./pages/streams.js');
const presets = () => import('./pages/presets.js');

// routes: the hash pattern, the page, its title and what the role must be able to do.
const routes = [
  { re: /^#\/$/, page: overview, title: 'Overview', nav: '#/', need: 'jobs' },
  { re: /^#\/jobs$/, page: jobs, title: 'Jobs', nav: '#/jobs', need: 'jobs' },
  { re: /^#\/jobs\/([\w.-]+)$/, page: job, title: 'Job', need: 'jobs' },
  { re: /^#\/submit$/, page: submit, title: 'Submit a job', nav: '#/submit', need: 'submit' },
  { re: /^#\/nodes$/, page: nodes, title: 'Nodes', nav: '#/nodes', need: 'nodes' },
  { re: /^#\/streams$/, page: streams, title: 'Streams', nav: '#/streams', need: 'streams' },
  { re: /^#\/presets$/, page: presets, title: 'Presets', nav: '#/presets', need: 'presets' },
  { re: /^#\/presets\/([\w.-]+)$/, page: presets, title: 'Preset', need: 'presets' },
];

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const who = document.getElementById('who');
const live = document.getElementById('live');
let cleanups = [];
let rendering = 0;

function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function drawChrome() {
  const s = api.session();
  nav.hidden = !s;
  fill(nav, s ? routes.filter((r) => r.nav && api.can(r.need)).map((r) => h('a', { href: r.nav }, r.title)) : []);
  fill(who, s ? [
    h('span', null, `${s.key_name} (${s.role}${s.tenant && s.tenant !== 'default' ? `, tenant ${s.tenant}` : ''})`),
    h('button', { type: 'button', class: 'secondary', onclick: async () => { await api.logout().catch(() => {}); go('#/login'); } }, 'Log out'),
  ] : []);
  for (const a of nav.querySelectorAll('a')) {
    const href = a.getAttribute('href'), at = location.hash.split('?')[0] || '#/';
    const here = at === href || (href !== '#/' && at.startsWith(`${href}/`));
    if (here) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
}

async function route() {
  let hash = location.hash || '#/';
  if (!hash.startsWith('#/')) return; // an in-page anchor (the skip link)
  for (const f of cleanups.splice(0)) { try { f(); } catch { /* the page is gone anyway */ } }
  const n = ++rendering;
  const s = api.session();
  if (!s && hash !== '#/login') { location.replace('#/login'); return; }
  if (s && hash === '#/login') hash = '#/';
  let r = null, params = [];
  const [path, search = ''] = hash.split('?');
  for (const cand of routes) {
    const m = path.match(cand.re);
    if (m) { r = cand; params = m.slice(1).map(decodeURIComponent); break; }
  }
  drawChrome();
  if (!s) r = { page: login, title: 'Log in' };
  if (!r) { show('Not found', [h('h1', null, 'Not found'), h('p', null, 'No such page. ', h('a', { href: '#/' }, 'Go to the overview.'))]); return; }
  if (r.need && !api.can(r.need)) {
    const first = routes.find((x) => x.nav && api.can(x.need));
    if (first && first !== r) { location.replace(first.nav); return; }
    show('Not allowed', [h('h1', null, 'Nothing to show'), h('p', null, `A key with the ${s.role} role can't use this page.`)]);
    return;
  }
  document.title = `${r.title} · ffrtmp`;
  let page;
  try {
    page = await r.page();
  } catch (err) {
    if (n === rendering) show('Not loaded', [h('h1', null, 'The page did not load'), errorBox(err)]);
    return;
  }
  if (n !== rendering) return;
  fill(main);
  const ctx = {
    main, params, query: new URLSearchParams(search), go, can: api.can, session: s,
    onCleanup: (f) => cleanups.push(f),
    current: () => n === rendering,
    title: (t) => { document.title = `${t} · ffrtmp`; },
  };
  try {
    await page.render(ctx);
  } catch (err) {
    if (n !== rendering) return;
    if (err.status === 401) { go('#/login'); return; }
    main.append(errorBox(err));
  }
  if (n === rendering && document.activeElement && !main.contains(document.activeElement)) {
    // Tell keyboard and screen reader users the page changed: focus its heading.
    const h1 = main.querySelector('h1');
    if (h1) { h1.tabIndex = -1; h1.focus({ preventScroll: true }); }
  }
}

function show(title, nodes) {
  document.title = `${title} · ffrtmp`;
  fill(main, nodes);
}

api.onSession((s) => {
  drawChrome();
  if (s) events.connect(); else events.disconnect();
  if (!s && location.hash !== '#/login') location.replace('#/login');
});

events.on('state', (st) => {
  const words = { live: 'Live updates on', reconnecting: 'Live updates: reconnecting…', off: 'Live updates off' };
  live.textContent = api.session() ? words[st] : '';
  live.dataset.state = st;
});
// A gap too long to replay: the page reloads its data.
events.on('reset', () => route());

window.addEventListener('hashchange', route);
document.getElementById('skip').addEventListener('click', (ev) => { ev.preventDefault(); main.focus(); });

(async () => {
  // The first page's module loads while the session is checked.
  const first = routes.find((r) => (location.hash || '#/').split('?')[0].match(r.re));
  if (first) first.page().catch(() => {});
  try {
    await api.restore();
  } catch (err) {
    fill(main, h('h1', null, 'ffrtmp console'), errorBox(err));
    return;
  }
  route();
})();
