// A node's telemetry as small live charts: each GPU's load (utilisation, encoder, decoder,
// memory) and temperature and power; the CPU for nodes without GPUs.

import { h } from './dom.js';
import { LiveChart } from './charts.js';

export function nodeCharts(n, { window = 900, height = 150 } = {}) {
  const charts = [];
  const gpuCharts = new Map();
  const cpu = new LiveChart(`${n.name || n.id} CPU %`, ['CPU %'], { window, height, yMax: 100, unit: '%' });
  charts.push(cpu);
  const el = h('div', { class: 'charts' }, cpu.el);
  function gpu(idx) {
    if (!gpuCharts.has(idx)) {
      const load = new LiveChart(`GPU ${idx} load %`, ['util', 'enc', 'dec', 'mem'], { window, height, yMax: 100, unit: '%' });
      const heat = new LiveChart(`GPU ${idx} temperature °C and power W`, ['°C', 'W'], { window, height });
      gpuCharts.set(idx, { load, heat });
      charts.push(load, heat);
      el.append(load.el, heat.el);
      if (mounted) { load.mount(); heat.mount(); }
    }
    return gpuCharts.get(idx);
  }
  let mounted = false;
  return {
    el,
    mount() { mounted = true; for (const c of charts) c.mount(); },
    push(node) {
      const t = node.telemetry;
      if (!t) return;
      const at = node.last_heartbeat ? new Date(node.last_heartbeat).getTime() : Date.now();
      cpu.push([t.cpu_percent], at);
      for (const g of t.gpus || []) {
        const c = gpu(g.index);
        c.load.push([g.utilization_percent, g.encoder_utilization_percent, g.decoder_utilization_percent, g.memory_utilization_percent], at);
        c.heat.push([g.temperature_c, g.power_watts], at);
      }
    },
    destroy() { for (const c of charts) c.destroy(); },
  };
}
