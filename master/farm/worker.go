package farm

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/api/redact"
	"github.com/ffrtmp/ffrtmp/master/fault"
	"github.com/ffrtmp/ffrtmp/master/store"
)

// Heartbeat records a node's telemetry and answers with the jobs it must stop and whether to
// drain. Jobs leased to the node that it does not report within LeaseAckTimeout are lost.
func (s *Service) Heartbeat(ctx context.Context, id string, hb api.Heartbeat) (api.HeartbeatReply, error) {
	if err := checkHeartbeat(hb); err != nil {
		return api.HeartbeatReply{}, err
	}
	b, err := s.beat(id, hb, s.now())
	if err != nil {
		return api.HeartbeatReply{}, err
	}
	reply := b.reply
	if reply.Cancel, err = s.notItsOwn(ctx, id, b.unknown); err != nil {
		return api.HeartbeatReply{}, err
	}
	s.requeueLost(ctx, id, b.lost)
	s.nodeChanged(b.view)
	if b.save {
		if err := s.st.PutNode(ctx, b.snapshot); err != nil {
			s.log.Warn("store node snapshot", "node_id", id, "err", err)
		}
	}
	return reply, nil
}

// checkHeartbeat bounds what a heartbeat may carry.
func checkHeartbeat(hb api.Heartbeat) error {
	if len(hb.RunningJobs) > 4096 {
		return badRequest("running_jobs", "at most 4096")
	}
	for i, jid := range hb.RunningJobs {
		if len(jid) > 64 {
			return badRequest(fmt.Sprintf("running_jobs[%d]", i), "longer than 64 bytes: want a job ID")
		}
	}
	if len(hb.Telemetry.GPUs) > 64 {
		return badRequest("telemetry.gpus", "at most 64 GPUs")
	}
	return nil
}

// heartbeat is what a node's heartbeat found in the farm's memory: the reply so far, the jobs
// the node runs that are not leased to it (unknown), its leases it did not report in time
// (lost), and the node's snapshot when it is due to be stored (save).
type heartbeat struct {
	reply    api.HeartbeatReply
	unknown  []string
	lost     []string
	save     bool
	snapshot store.NodeRecord
	view     api.Node // the node as Node shows it, for Hooks.Node
}

// beat records node id's heartbeat hb at now in memory: the node is seen, online (or
// draining) with its telemetry, and its reported jobs are held against its leases.
func (s *Service) beat(id string, hb api.Heartbeat, now time.Time) (heartbeat, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ns := s.nodes[id]
	if ns == nil {
		return heartbeat{}, unknownNode(id)
	}
	if ns.node.Status == api.NodeOffline {
		s.log.Info("node back online", "node_id", id)
	}
	ns.lastSeen = now
	tel := hb.Telemetry
	ns.node.Telemetry = &tel
	ns.node.Status = api.NodeOnline
	if hb.Draining {
		ns.node.Status = api.NodeDraining
	}
	b := heartbeat{reply: api.HeartbeatReply{Drain: ns.drainOrdered, Interval: api.Duration(s.cfg.HeartbeatInterval)}}
	reported := map[string]bool{}
	for _, jid := range hb.RunningJobs {
		reported[jid] = true
		// A job the node reports is alive, but only progress reports keep it from going
		// stale: a hung executor is still "running".
		if a, ok := s.active[jid]; ok && a.node == id {
			continue
		}
		b.unknown = append(b.unknown, jid)
	}
	for jid, a := range s.active {
		if a.node == id && !reported[jid] && now.Sub(a.assignedAt) > s.cfg.LeaseAckTimeout {
			b.lost = append(b.lost, jid)
		}
	}
	if b.save = now.Sub(ns.lastSaved) > time.Minute; b.save {
		ns.lastSaved = now
		b.snapshot = s.nodeRecord(ns)
	}
	if s.cfg.Hooks.Node != nil {
		b.view = s.nodeView(ns)
	}
	return b, nil
}

// notItsOwn returns those of jobs, reported running by node id, that are not its own any
// more (canceled, failed by the master, re-leased elsewhere, unknown): the worker must stop
// them.
func (s *Service) notItsOwn(ctx context.Context, id string, jobs []string) ([]string, error) {
	if len(jobs) == 0 {
		return nil, nil
	}
	stored, err := s.st.GetJobs(ctx, jobs)
	if err != nil {
		return nil, err
	}
	var stop []string
	for _, jid := range jobs {
		if j, ok := stored[jid]; !ok || !j.Status.Active() || j.Node != id {
			stop = append(stop, jid)
		}
	}
	return stop, nil
}

// requeueLost fails the leases node id lost (transiently: they retry elsewhere).
func (s *Service) requeueLost(ctx context.Context, id string, lost []string) {
	for _, jid := range lost {
		_, err := s.change(ctx, jid, func(j *api.Job, now time.Time) ([]api.Event, error) {
			if !j.Status.Active() || j.Node != id {
				return nil, nil
			}
			return s.failJob(j, api.JobError{Code: api.JobErrLeaseLost, Transient: true,
				Message: fmt.Sprintf("node %s does not run the job it leased", id)}, now, false)
		})
		if err != nil {
			s.log.Warn("requeue lost lease", "job_id", jid, "node_id", id, "err", err)
		}
	}
}

// Lease hands node id the best job it can run, waiting up to wait for one. It returns nil
// when none came. The assignment is on disk before the lease is returned.
func (s *Service) Lease(ctx context.Context, id string, wait time.Duration) (*api.Lease, error) {
	wait = min(max(wait, 0), s.cfg.MaxLeaseWait)
	start := time.Now()
	var timer <-chan time.Time
	for {
		n, ok, err := s.schedNode(id)
		if err != nil {
			return nil, err
		}
		changed := s.sched.Changed()
		if ok {
			t0 := time.Now()
			p, picked := s.sched.Pick(n)
			if picked {
				job, err := s.assign(ctx, id, p.Entry.ID, p.GPU)
				if err != nil {
					s.sched.Requeue(p)
					return nil, err
				}
				if job == nil {
					continue // canceled meanwhile; look again
				}
				if h := s.cfg.Hooks.Schedule; h != nil {
					h(time.Since(t0))
				}
				if h := s.cfg.Hooks.LeaseWait; h != nil {
					h(time.Since(start), true)
				}
				return &api.Lease{Job: *job, GPU: p.GPU}, nil
			}
		}
		if timer == nil {
			if wait <= 0 {
				break
			}
			t := time.NewTimer(wait)
			defer t.Stop()
			timer = t.C
		}
		select {
		case <-changed:
		case <-timer:
			if h := s.cfg.Hooks.LeaseWait; h != nil {
				h(time.Since(start), false)
			}
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if h := s.cfg.Hooks.LeaseWait; h != nil {
		h(time.Since(start), false)
	}
	return nil, nil
}

// assign writes queued → assigned. It returns nil, nil when the job is no longer queued.
func (s *Service) assign(ctx context.Context, node, id string, gpu *int) (*api.Job, error) {
	gone := false
	j, err := s.change(ctx, id, func(j *api.Job, now time.Time) ([]api.Event, error) {
		gone = j.Status != api.StatusQueued
		if gone {
			return nil, nil
		}
		j.Node, j.GPU, j.AssignedAt, j.RetryAt = node, gpu, &now, nil
		j.Attempts++
		j.Progress, j.Phase = nil, ""
		msg := fmt.Sprintf("leased to %s (attempt %d)", node, j.Attempts)
		if gpu != nil {
			msg += fmt.Sprintf(" on GPU %d", *gpu)
		}
		ev, err := move(j, api.StatusAssigned, now, msg)
		return []api.Event{ev}, err
	})
	if err != nil {
		return nil, err
	}
	if gone {
		s.sched.Release(id)
		return nil, nil
	}
	return &j, nil
}

// Limits on what a worker's reports may carry into the job, its events and every view of
// them.
const (
	maxLinesPerReport = 20
	maxLineLen        = 1024
	maxReportOutputs  = 64       // per-output numbers in a progress report or a result
	maxResultBytes    = 64 << 10 // a result, as JSON
	maxErrorCodeLen   = 64
)

// checkOutputs bounds a report's per-output numbers.
func checkOutputs(field string, outs []api.OutputProgress) error {
	if len(outs) > maxReportOutputs {
		return badRequest(field, "at most %d outputs", maxReportOutputs)
	}
	for i, o := range outs {
		if len(o.Name) > 256 || len(o.LastError) > maxLineLen {
			return badRequest(fmt.Sprintf("%s[%d]", field, i), "name or last_error too long (256 and %d bytes at most)", maxLineLen)
		}
	}
	return nil
}

// checkResult bounds a completed job's result: it is stored with the job and served in every
// list page.
func checkResult(r *api.Result) error {
	if r == nil {
		return nil
	}
	if aerr := checkOutputs("result.restreams", r.Restreams); aerr != nil {
		return aerr
	}
	b, err := json.Marshal(r)
	if err != nil {
		return badRequest("result", "cannot be encoded: %v", err)
	}
	if len(b) > maxResultBytes {
		return &fault.TooLargeError{Field: "result",
			Msg: fmt.Sprintf("result is %d bytes of JSON, at most %d: send less detail", len(b), maxResultBytes)}
	}
	return nil
}

// Progress records a running job's progress; the first report moves it to running. The reply
// says cancel when the job is no longer the node's to run.
func (s *Service) Progress(ctx context.Context, id string, rep api.ProgressReport) (api.ProgressReply, error) {
	if err := checkProgress(rep); err != nil {
		return api.ProgressReply{}, err
	}
	rep.Progress = rep.Progress.Redact() // restream errors quote their destination
	mine, sample := s.progressed(id, rep, s.now())
	if !mine {
		return api.ProgressReply{Cancel: true}, nil
	}
	lines := len(rep.Warnings) + len(rep.Log)
	if !sample && lines == 0 {
		s.publishProgress(id, rep.Node)
		return api.ProgressReply{}, nil
	}
	_, err := s.change(ctx, id, func(j *api.Job, now time.Time) ([]api.Event, error) {
		if !j.Status.Active() || j.Node != rep.Node {
			return nil, nil
		}
		return applyProgress(j, rep, sample, now), nil
	})
	if err != nil {
		return api.ProgressReply{}, err
	}
	return api.ProgressReply{}, nil
}

// checkProgress bounds a progress report and checks its outputs and phase.
func checkProgress(rep api.ProgressReport) error {
	if len(rep.Warnings)+len(rep.Log) > maxLinesPerReport {
		return badRequest("log", "at most %d warning and log lines per report", maxLinesPerReport)
	}
	if rep.Progress != nil {
		if err := checkOutputs("progress.outputs", rep.Progress.Outputs); err != nil {
			return err
		}
	}
	if rep.Phase != "" && rep.Phase != api.PhaseProbing && rep.Phase != api.PhaseTranscoding && rep.Phase != api.PhaseFinalizing {
		return badRequest("phase", "phase %q: want probing, transcoding or finalizing", rep.Phase)
	}
	return nil
}

// progressed records rep in the memory of job id's lease at now when the job is leased to
// rep's node (mine), and says whether its progress is due to be sampled into the job's
// events: the first report, then one per ProgressSample.
func (s *Service) progressed(id string, rep api.ProgressReport, now time.Time) (mine, sample bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.active[id]
	if !ok || a.node != rep.Node {
		return false, false
	}
	a.lastSign = now
	if rep.Phase != "" {
		a.phase = rep.Phase
	}
	if rep.Progress != nil {
		p := *rep.Progress
		p.At = now
		a.progress = &p
	}
	first := a.progress == nil || a.lastSample.Equal(a.assignedAt)
	if now.Sub(a.lastSample) >= s.cfg.ProgressSample || first {
		a.lastSample = now
		sample = true
	}
	return true, sample
}

// applyProgress writes report rep into job j at now (the first report starts it) and returns
// the events to store: the start, the progress when sampled, the warning and log lines. With
// none, only the job's update time moves.
func applyProgress(j *api.Job, rep api.ProgressReport, sample bool, now time.Time) []api.Event {
	var evs []api.Event
	if j.Status == api.StatusAssigned {
		j.StartedAt = &now
		ev, _ := move(j, api.StatusRunning, now, "started on "+rep.Node)
		evs = append(evs, ev)
	}
	if rep.Phase != "" {
		j.Phase = rep.Phase
	}
	if rep.Progress != nil {
		p := *rep.Progress
		p.At = now
		j.Progress = &p
		if sample {
			evs = append(evs, api.Event{Time: now, Type: api.EventProgress, Node: rep.Node, Progress: &p})
		}
	}
	for _, w := range rep.Warnings {
		evs = append(evs, api.Event{Time: now, Type: api.EventWarning, Node: rep.Node, Message: clip(w)})
	}
	for _, l := range rep.Log {
		evs = append(evs, api.Event{Time: now, Type: api.EventLog, Node: rep.Node, Message: clip(l)})
	}
	if len(evs) == 0 {
		j.UpdatedAt = now
		evs = nil
	}
	return evs
}

// clip makes a worker's line fit for the job's events: secrets hidden (before it is cut, so
// that a cut cannot leave half a secret unrecognised), valid UTF-8, at most maxLineLen bytes.
func clip(s string) string {
	s = strings.ToValidUTF8(redact.Text(s), "�")
	if len(s) > maxLineLen {
		return s[:maxLineLen] + "…"
	}
	return s
}

// Complete records that node finished job id.
func (s *Service) Complete(ctx context.Context, id string, rep api.CompleteReport) (api.Job, error) {
	if err := checkResult(rep.Result); err != nil {
		return api.Job{}, err
	}
	return s.change(ctx, id, func(j *api.Job, now time.Time) ([]api.Event, error) {
		if err := ownedBy(j, rep.Node); err != nil {
			return nil, err
		}
		var evs []api.Event
		if j.Status == api.StatusAssigned {
			j.StartedAt = &now
			ev, _ := move(j, api.StatusRunning, now, "started on "+rep.Node)
			evs = append(evs, ev)
		}
		// What the worker reports is stored with its secrets hidden (as every view shows it).
		j.Result, j.Phase, j.Error, j.FinishedAt = rep.Result.Redact(), "", nil, &now
		if j.Progress != nil {
			p := *j.Progress
			p.Percent, p.ETA, p.At = 100, nil, now
			j.Progress = &p
		}
		ev, err := move(j, api.StatusCompleted, now, "completed on "+rep.Node)
		return append(evs, ev), err
	})
}

// Fail records that node could not finish job id: transient errors are retried while the
// job has retries left.
func (s *Service) Fail(ctx context.Context, id string, rep api.FailReport) (api.Job, error) {
	if rep.Error.Code == "" || rep.Error.Message == "" {
		return api.Job{}, badRequest("error", "a failure needs error.code and error.message")
	}
	if len(rep.Error.Code) > maxErrorCodeLen {
		return api.Job{}, badRequest("error.code", "longer than %d bytes", maxErrorCodeLen)
	}
	rep.Error.Message = clip(rep.Error.Message)
	return s.change(ctx, id, func(j *api.Job, now time.Time) ([]api.Event, error) {
		if err := ownedBy(j, rep.Node); err != nil {
			return nil, err
		}
		return s.failJob(j, rep.Error, now, rep.Error.Code == api.JobErrNodeDrained)
	})
}

func ownedBy(j *api.Job, node string) error {
	if !j.Status.Active() {
		return conflict(api.CodeIllegalTransition, "job %s is %s, not running: drop it", j.ID, j.Status)
	}
	if j.Node != node {
		return conflict(api.CodeConflict, "job %s belongs to node %s, not %s: drop it", j.ID, j.Node, node)
	}
	return nil
}
