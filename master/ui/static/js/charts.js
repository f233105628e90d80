// Small live line charts (uPlot) that keep a time window of samples.

import uPlot from '../vendor/uplot-1.6.32/uPlot.esm.js';
import { h } from './dom.js';

const palette = ['#0a5bc4', '#b42318', '#1a7f37', '#8a5a00', '#6b3fa0', '#00707a'];

// LiveChart plots series over time; push adds a sample, trimmed to the window (seconds).
export class LiveChart {
  constructor(title, series, { window = 3600, height = 140, yMax = null, unit = '' } = {}) {
    this.window = window;
    this.title = title;
    this.unit = unit;
    this.names = series;
    this.data = [[], ...series.map(() => [])];
    // A canvas says nothing to a screen reader: the figure's label carries the latest values.
    this.plotEl = h('div', { class: 'chart', role: 'img', 'aria-label': `${title}: no samples yet` });
    this.el = h('figure', { class: 'chart-figure' }, h('figcaption', { class: 'chart-title' }, title), this.plotEl);
    this.opts = {
      width: 300, height,
      legend: { show: series.length > 1 },
      cursor: { show: true, drag: { x: false, y: false } },
      scales: { x: { time: true }, y: yMax == null ? { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } : { range: [0, yMax] } },
      axes: [{ stroke: '#4f5963', grid: { stroke: '#e3e7eb' } }, { stroke: '#4f5963', grid: { stroke: '#e3e7eb' }, size: 48 }],
      series: [{}, ...series.map((label, i) => ({ label, stroke: palette[i % palette.length], width: 1.5, points: { show: true, size: 4 } }))],
    };
    this.plot = null;
    this.resize = new ResizeObserver(() => this.fit());
  }

  // mount draws the chart once it is in the document (uPlot needs a width).
  mount() {
    if (this.plot) return;
    this.plot = new uPlot({ ...this.opts, width: Math.max(200, this.plotEl.clientWidth || 300) }, this.padded(), this.plotEl);
    this.resize.observe(this.plotEl);
  }

  fit() {
    if (!this.plot) return;
    const w = Math.max(200, this.plotEl.clientWidth);
    if (Math.abs(w - this.plot.width) > 4) this.plot.setSize({ width: w, height: this.opts.height });
  }

  // push adds values (one per series) at time t (ms; default now), or replaces the last
  // sample when it has the same time.
  push(values, t = Date.now()) {
    const x = Math.floor(t / 1000);
    const xs = this.data[0];
    if (xs.length && xs[xs.length - 1] === x) {
      values.forEach((v, i) => { this.data[i + 1][xs.length - 1] = v; });
    } else {
      xs.push(x);
      values.forEach((v, i) => this.data[i + 1].push(v));
    }
    while (xs.length && xs[0] < x - this.window) this.data.forEach((a) => a.shift());
    if (this.plot) this.plot.setData(this.padded());
    this.label(values);
  }

  // label tells a screen reader the latest values (the canvas says nothing).
  label(values) {
    const last = values.map((v, i) => `${this.names[i]} ${v == null ? '–' : Math.round(v * 10) / 10}${this.unit}`).join(', ');
    this.plotEl.setAttribute('aria-label', `${this.title}, latest: ${last}`);
  }

  // padded is the data with an empty sample a window before the newest, so the x axis
  // always spans the whole window (one sample alone would make a zero-width axis).
  padded() {
    const xs = this.data[0];
    const end = xs.length ? xs[xs.length - 1] : Math.floor(Date.now() / 1000);
    if (xs.length && xs[0] <= end - this.window) return this.data;
    return [[end - this.window, ...xs], ...this.data.slice(1).map((a) => [null, ...a])];
  }

  // set replaces every sample (xs in seconds).
  set(xs, ...ys) {
    this.data = [xs, ...ys];
    if (this.plot) this.plot.setData(this.padded());
    if (xs.length) this.label(ys.map((a) => a[a.length - 1]));
  }

  destroy() {
    this.resize.disconnect();
    if (this.plot) this.plot.destroy();
    this.plot = null;
  }
}
