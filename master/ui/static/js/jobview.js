// A job's status and progress as the job list and job page show them, updated in place.

import { h, fill, badge } from './dom.js';
import * as fmt from './fmt.js';

export const terminal = ['completed', 'failed', 'canceled'];
export const statuses = ['queued', 'assigned', 'running', 'retrying', 'completed', 'failed', 'canceled'];
export const queues = ['live', 'high', 'medium', 'low', 'batch'];

// progressCell shows a job's progress: a labelled <progress> bar and its numbers.
export function progressCell(j) {
  const el = h('div', { class: 'progress-line', 'data-progress': j.id });
  updateProgress(el, j);
  return el;
}

export function updateProgress(el, j) {
  const p = j.progress;
  if (j.status === 'completed') {
    fill(el, h('progress', { max: 100, value: 100, 'aria-label': `Job ${j.id} progress` }), h('span', null, 'done'));
  } else if (p && (j.status === 'running' || j.status === 'assigned')) {
    fill(el, h('progress', { max: 100, value: Math.min(100, p.percent || 0), 'aria-label': `Job ${j.id} progress` }),
      h('span', { class: 'mono' }, fmt.progressText(p)));
  } else {
    fill(el, j.status === 'running' ? h('span', { class: 'note' }, 'starting…') : '');
  }
}

// statusCell shows the status, with the error's code for a failed job.
export function statusCell(j) {
  return h('span', { 'data-status': j.id }, badge(j.status), j.status === 'retrying' && j.retry_at ? h('span', { class: 'note' }, ` at ${fmt.time(j.retry_at)}`) : null);
}
