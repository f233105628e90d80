package farm

import (
	"context"
	"fmt"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
)

// Run does the farm's timed work every Interval until ctx ends: retrying jobs whose backoff
// is over go back to the queue; silent nodes go offline and their jobs are requeued; stale
// jobs are requeued; jobs past their max run time fail; old finished jobs are purged.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	lastPurge := time.Time{}
	for {
		s.Tick(ctx)
		if s.cfg.Retention > 0 && s.now().Sub(lastPurge) > min(s.cfg.Retention/10, 10*time.Minute) {
			lastPurge = s.now()
			s.Purge(ctx)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Tick runs one round of failure handling.
func (s *Service) Tick(ctx context.Context) {
	now := s.now()
	s.requeueDue(ctx, now)
	s.checkNodes(ctx, now)
	s.checkActive(ctx, now)
}

func (s *Service) requeueDue(ctx context.Context, now time.Time) {
	s.mu.Lock()
	var due []string
	for id, at := range s.retrying {
		if !at.After(now) {
			due = append(due, id)
		}
	}
	s.mu.Unlock()
	for _, id := range due {
		_, err := s.change(ctx, id, func(j *api.Job, now time.Time) ([]api.Event, error) {
			if j.Status != api.StatusRetrying {
				return nil, nil
			}
			j.RetryAt = nil
			ev, err := move(j, api.StatusQueued, now, "back in the queue after backoff")
			return []api.Event{ev}, err
		})
		if err != nil {
			s.log.Warn("requeue after backoff", "job_id", id, "err", err)
		}
	}
}

func (s *Service) checkNodes(ctx context.Context, now time.Time) {
	s.mu.Lock()
	var lost []string
	for id, ns := range s.nodes {
		if ns.node.Status != api.NodeOffline && now.Sub(ns.lastSeen) > s.cfg.HeartbeatTimeout {
			ns.node.Status = api.NodeOffline
			lost = append(lost, id)
		}
	}
	s.mu.Unlock()
	for _, id := range lost {
		s.log.Warn("node offline: no heartbeat", "node_id", id, "timeout", s.cfg.HeartbeatTimeout)
		s.requeueNodeJobs(ctx, id, api.JobError{Code: api.JobErrNodeLost, Transient: true,
			Message: fmt.Sprintf("node %s sent no heartbeat for %s", id, s.cfg.HeartbeatTimeout)}, false)
		s.publishNode(ctx, id)
	}
}

func (s *Service) checkActive(ctx context.Context, now time.Time) {
	type verdict struct {
		id   string
		node string
		jerr api.JobError
	}
	var out []verdict
	s.mu.Lock()
	for id, a := range s.active {
		stale := s.cfg.BatchStale
		if a.queue == api.QueueLive {
			stale = s.cfg.LiveStale
		}
		switch {
		case a.maxRun > 0 && now.Sub(a.runSince) > a.maxRun:
			out = append(out, verdict{id, a.node, api.JobError{Code: api.JobErrMaxRunTime,
				Message: fmt.Sprintf("ran longer than its max_run_time of %s", a.maxRun)}})
		case now.Sub(a.lastSign) > stale:
			out = append(out, verdict{id, a.node, api.JobError{Code: api.JobErrStale, Transient: true,
				Message: fmt.Sprintf("no progress from node %s for %s", a.node, stale)}})
		}
	}
	s.mu.Unlock()
	for _, v := range out {
		_, err := s.change(ctx, v.id, func(j *api.Job, now time.Time) ([]api.Event, error) {
			if !j.Status.Active() || j.Node != v.node {
				return nil, nil
			}
			return s.failJob(j, v.jerr, now, false)
		})
		if err != nil {
			s.log.Warn("fail job", "job_id", v.id, "code", v.jerr.Code, "err", err)
		} else {
			s.log.Warn("job failed by the master", "job_id", v.id, "node_id", v.node, "code", v.jerr.Code)
		}
	}
}

// Purge deletes the finished jobs older than Retention (Run does every tenth of it, at most
// every 10 minutes).
func (s *Service) Purge(ctx context.Context) {
	cutoff := s.now().Add(-s.cfg.Retention)
	total := 0
	for ctx.Err() == nil {
		by, err := s.st.PurgeByTenant(ctx, cutoff, 1000)
		if err != nil {
			s.log.Warn("purge old jobs", "err", err)
			return
		}
		s.purged(by)
		n := 0
		for _, c := range by {
			n += c
		}
		total += n
		if n < 1000 {
			break
		}
	}
	if total > 0 {
		s.log.Info("purged finished jobs", "jobs", total, "older_than", s.cfg.Retention)
	}
}
