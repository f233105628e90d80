// Numbers and times as people read them.

export function num(v, digits = 0) {
  if (v == null || Number.isNaN(v)) return '–';
  return Number(v).toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function bytes(v) {
  if (!v) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${num(v, i ? 1 : 0)} ${units[i]}`;
}

export function bitrate(bps) {
  if (!bps) return '–';
  if (bps >= 1e6) return `${num(bps / 1e6, 1)} Mb/s`;
  return `${num(bps / 1e3, 0)} kb/s`;
}

export function seconds(s) {
  if (s == null || !Number.isFinite(s)) return '–';
  s = Math.max(0, Math.round(s));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  if (h) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m) return `${m}m${String(sec).padStart(2, '0')}s`;
  return `${sec}s`;
}

export function time(t) {
  if (!t) return '–';
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return '–';
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString('en-GB') : d.toLocaleString('en-GB');
}

export function ago(t) {
  if (!t) return '–';
  return `${seconds((Date.now() - new Date(t).getTime()) / 1000)} ago`;
}

// progressText is a running job's numbers: percent, fps, speed and ETA.
export function progressText(p) {
  if (!p) return '';
  const parts = [`${num(p.percent, 1)}%`, `${num(p.fps, 0)} fps`, `${num(p.speed, 2)}×`];
  if (p.eta_seconds != null) parts.push(`ETA ${seconds(p.eta_seconds)}`);
  return parts.join(' · ');
}

// work names what a job does: its preset, scenario or spec.
export function work(j) {
  if (j.scenario) return `scenario ${j.scenario}`;
  if (j.preset) return `preset ${j.preset}`;
  return 'spec';
}
