package worker

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/api/redact"
	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/engine"
	"github.com/ffrtmp/ffrtmp/worker/access"
	"github.com/ffrtmp/ffrtmp/worker/executor"
)

// Error codes the worker reports besides the engine's error kinds.
const (
	JobErrRefused = "refused" // the job asks for a path or protocol this worker does not allow
	JobErrStalled = "stalled" // the executor stopped making progress and was killed
	JobErrStart   = "executor_start"
)

// runJob runs one leased job to its end and reports how it ended. Reports that fail
// because the master is unreachable are retried a few times; the master's own failure
// handling covers the rest.
func (a *Agent) runJob(ctx context.Context, lease api.Lease) {
	job := lease.Job
	log := a.log.With("job_id", job.ID)
	start := time.Now()
	a.cfg.Metrics.JobStarted(job.ID)
	end := "refused"
	defer func() { a.cfg.Metrics.JobEnded(job.ID, end, time.Since(start)) }()
	s, err := a.cfg.Policy.Spec(job.Spec)
	if err != nil {
		log.Warn("job refused", "err", redact.Text(err.Error()))
		a.fail(job.ID, refusal(err))
		return
	}
	if lease.GPU != nil && s.Hardware.Device == "cuda" && s.Hardware.DeviceName == "" {
		s.Hardware.DeviceName = strconv.Itoa(*lease.GPU)
	}
	if d := time.Duration(job.MaxRunTime); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	o, err := a.execute(ctx, log, job, s)
	if err != nil {
		end = executor.EndCrashed
		a.fail(job.ID, api.JobError{Code: JobErrStart, Message: err.Error(), Transient: true})
		return
	}
	end = o.End
	a.reportEnd(ctx, log, job.ID, o)
}

// refusal is the job error of a spec the access policy did not accept.
func refusal(err error) api.JobError {
	var r *access.Refused
	code := JobErrRefused
	if k := engine.KindOf(err); k != "" {
		code = string(k) // an input that is no media file: terminal, as the engine says
	} else if !errors.As(err, &r) {
		code = "internal"
	}
	return api.JobError{Code: code, Message: err.Error()}
}

// execute runs the job's spec s in an executor, passing its events on to the master and the
// metrics as they come, until the executor ends. The error is the executor's failure to start.
func (a *Agent) execute(ctx context.Context, log *slog.Logger, job api.Job, s spec.Spec) (executor.Outcome, error) {
	var liveM liveMetrics
	if job.Queue == api.QueueLive || job.Labels["stream_id"] != "" {
		liveM, _ = a.cfg.Metrics.(liveMetrics)
	}
	rep := &progressReporter{a: a, jobID: job.ID, every: a.cfg.ProgressInterval, restreams: restreamNames(s.Outputs), phase: api.PhaseProbing}
	rep.send(ctx, api.ProgressReport{Phase: api.PhaseProbing})
	rep.touch()
	stopKeepAlive := rep.keepAlive(ctx)
	defer stopKeepAlive() // the executor is gone: nothing to hear of until the end is reported
	log.Info("job started", "spec_outputs", len(s.Outputs))
	return executor.Run(ctx, a.cfg.Executor, executor.Request{JobID: job.ID, Spec: s, Live: liveM != nil},
		executor.Options{StallTimeout: a.cfg.StallTimeout, OnEvent: a.onEvent(ctx, job.ID, s, rep, liveM)})
}

// onEvent is what becomes of an executor's events: warnings and progress go to the master
// (through rep), progress and encode timings to the metrics, and, for a live job (liveM not
// nil), its live numbers too.
func (a *Agent) onEvent(ctx context.Context, jobID string, s spec.Spec, rep *progressReporter, liveM liveMetrics) func(executor.Event) {
	encoders := map[string]string{}
	for _, o := range s.Outputs {
		if o.Video != nil {
			encoders[o.Name] = o.Video.Codec
		}
	}
	encoderOf := func(output string) string { return encoders[output] }
	return func(ev executor.Event) {
		if ev.Warning != "" {
			rep.warning(ctx, ev.Warning)
		}
		if len(ev.Latency) > 0 {
			rep.latency(ev.Latency)
		}
		if ev.Progress != nil {
			rep.progress(ctx, *ev.Progress)
			a.cfg.Metrics.JobProgress(jobID, *ev.Progress)
			if liveM != nil {
				liveM.LiveProgress(jobID, *ev.Progress, rep.restreams)
			}
		}
		if len(ev.Encode) > 0 {
			a.cfg.Metrics.JobEncode(ev.Encode, encoderOf)
		}
		if len(ev.Latency) > 0 && liveM != nil {
			liveM.LiveLatency(jobID, ev.Latency)
		}
	}
}

// reportEnd tells the master how the executor's run o of a job ended: completed with its
// result, or failed with the job error its ending maps to. ctx is the job's: its cause says
// why a canceled run was stopped.
func (a *Agent) reportEnd(ctx context.Context, log *slog.Logger, jobID string, o executor.Outcome) {
	switch o.End {
	case executor.EndCompleted:
		a.complete(log, jobID, o)
	case executor.EndCanceled:
		if errors.Is(context.Cause(ctx), errCanceledByMaster) {
			log.Info("job stopped: canceled by the master")
			return
		}
		a.fail(jobID, jobError(ctx, o))
	case executor.EndCrashed:
		log.Error("executor crashed", "signal", o.Signal, "code", o.Code)
		a.fail(jobID, jobError(ctx, o))
	case executor.EndFailed, executor.EndStalled:
		a.fail(jobID, jobError(ctx, o))
	}
}

// complete reports a completed run's result.
func (a *Agent) complete(log *slog.Logger, jobID string, o executor.Outcome) {
	res := result(o.Event.Result)
	if res != nil {
		res.EncodeLatency = o.Event.EncodeSummary
	}
	if res != nil && len(res.Unreached) > 0 {
		log.Warn("restream destinations never reached", "outputs", res.Unreached)
	}
	if _, err := a.report(func(c context.Context) (*api.Job, error) {
		return a.cfg.Master.Complete(c, jobID, api.CompleteReport{Node: a.NodeID(), Result: res})
	}); err != nil {
		log.Warn("report completion", "err", err)
	}
	log.Info("job completed", "seconds", o.Elapsed.Seconds(), "fps", res.FPS)
}

// jobError is the job error the master is told of a run that did not complete. ctx is the
// job's: a canceled run (not by the master) ran past its max run time or was stopped by
// the worker's shutdown.
func jobError(ctx context.Context, o executor.Outcome) api.JobError {
	switch o.End {
	case executor.EndFailed:
		f := o.Event.Error
		return api.JobError{Code: f.Kind, Message: f.Message, Transient: f.Transient}
	case executor.EndCrashed:
		return api.JobError{Code: api.JobErrExecutorCrashed, Message: o.Error(), Transient: true}
	case executor.EndStalled:
		return api.JobError{Code: JobErrStalled, Message: o.Error(), Transient: true}
	}
	if errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
		return api.JobError{Code: api.JobErrMaxRunTime, Message: "ran longer than its max_run_time; stopped by the worker"}
	}
	// Draining.
	return api.JobError{Code: api.JobErrNodeDrained, Message: "the worker shut down before the job finished", Transient: true}
}

// fail reports that a job failed. Every failure goes through it, so it is where the message
// loses the secrets it may quote (the input's URL, a destination's key).
func (a *Agent) fail(jobID string, e api.JobError) {
	e.Message = redact.Text(e.Message)
	if _, err := a.report(func(c context.Context) (*api.Job, error) {
		return a.cfg.Master.Fail(c, jobID, api.FailReport{Node: a.NodeID(), Error: e})
	}); err != nil {
		a.log.Warn("report failure", "job_id", jobID, "err", err)
	}
}

// report sends a job's end, retrying while the master is unreachable (not when it answers:
// a 409 means the job is no longer ours).
func (a *Agent) report(send func(context.Context) (*api.Job, error)) (*api.Job, error) {
	var err error
	for attempt := range 5 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		var j *api.Job
		j, err = send(ctx)
		cancel()
		var ae *api.Error
		if err == nil || errors.As(err, &ae) && ae.Status < 500 {
			return j, err
		}
		time.Sleep(masterBackoff(attempt))
	}
	return nil, err
}

// result is the engine's result as the master keeps it.
func result(r *engine.Result) *api.Result {
	if r == nil {
		return nil
	}
	out := &api.Result{Encoders: map[string]string{}, Decoder: r.Decoder.Video, Fallback: r.Fallback,
		Frames: r.Frames, Seconds: r.Elapsed.Seconds(), FPS: r.FPS, Speed: r.Speed}
	for _, o := range r.Outputs {
		out.Encoders[o.Name] = o.VideoEncoder
		if o.Connections > 0 || o.Reconnects > 0 || o.Unreached || o.LastError != "" {
			// A restream: its target is a destination (with its key), not something written.
			out.Restreams = append(out.Restreams, api.OutputProgress{Name: o.Name, Frames: o.Frames, Dropped: o.Dropped,
				Bitrate: o.Bitrate, Restream: true, Connections: o.Connections, Reconnects: o.Reconnects,
				DroppedPackets: o.DroppedPackets, LastError: redact.Text(o.LastError), Unreached: o.Unreached})
			if o.Unreached {
				out.Unreached = append(out.Unreached, o.Name)
			}
			continue
		}
		if o.Target != "" {
			out.Outputs = append(out.Outputs, o.Target)
		}
	}
	out.Outputs = append(out.Outputs, r.MasterPlaylists...)
	out.Outputs = append(out.Outputs, r.DASHManifests...)
	for _, t := range r.DroppedTracks {
		t.Reason = redact.Text(t.Reason)
		out.DroppedTracks = append(out.DroppedTracks, t)
	}
	if b, err := json.Marshal(r.Outputs); err == nil {
		out.Details = b
	}
	return out
}

// progressReporter sends a job's progress at most every `every`, and cancels the job when
// the master answers that it is no longer this worker's.
type progressReporter struct {
	a         *Agent
	jobID     string
	every     time.Duration
	restreams map[string]bool // names of the outputs with Reconnect set

	mu    sync.Mutex
	last  time.Time
	phase api.Phase
	lat   map[string]latencySum // live pipeline latency by output, since the last report
}

// latencySum adds up packets' latencies.
type latencySum struct {
	packets int64
	seconds float64
}

// latency adds a live job's pipeline latencies, which the next progress report averages.
func (p *progressReporter) latency(l []executor.EncodeLatency) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lat == nil {
		p.lat = map[string]latencySum{}
	}
	for _, o := range l {
		s := p.lat[o.Output]
		s.packets += o.Frames
		s.seconds += o.Seconds
		p.lat[o.Output] = s
	}
}

// touch notes that a report was just sent.
func (p *progressReporter) touch() {
	p.mu.Lock()
	p.last = time.Now()
	p.mu.Unlock()
}

// keepAlive sends the current phase whenever the executor has been silent for a progress
// interval (opening or probing an input, which may block in libav), until stop is called:
// the reply is how the worker hears of a cancel within about an interval, not only at the
// next heartbeat. The master writes nothing for a report that changes nothing.
func (p *progressReporter) keepAlive(ctx context.Context) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(p.every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				p.mu.Lock()
				silent, phase := time.Since(p.last) >= p.every, p.phase
				if silent {
					p.last = time.Now()
				}
				p.mu.Unlock()
				if silent {
					p.send(ctx, api.ProgressReport{Phase: phase})
				}
			}
		}
	}()
	return func() { close(done) }
}

func (p *progressReporter) progress(ctx context.Context, pr engine.Progress) {
	p.mu.Lock()
	if time.Since(p.last) < p.every && !pr.Final {
		p.mu.Unlock()
		return
	}
	phase := api.PhaseTranscoding
	if pr.Final {
		phase = api.PhaseFinalizing
	}
	p.last, p.phase = time.Now(), phase
	lat := p.lat
	p.lat = nil
	p.mu.Unlock()
	ap := &api.Progress{Percent: pr.Percent, FPS: pr.FPS, Speed: pr.Speed, Frames: pr.Frames, OutTime: pr.Position.Seconds()}
	if ap.Percent < 0 {
		ap.Percent = 0
	}
	if pr.ETA >= 0 && pr.Percent >= 0 {
		eta := pr.ETA.Seconds()
		ap.ETA = &eta
	}
	ap.Outputs = outputProgress(pr, p.restreams)
	for i, o := range ap.Outputs {
		if l := lat[o.Name]; l.packets > 0 {
			ap.Outputs[i].LatencyMs = 1000 * l.seconds / float64(l.packets)
		}
	}
	go p.send(ctx, api.ProgressReport{Phase: phase, Progress: ap})
}

// warning sends a warning of the engine's (damage in the input it repaired) to become a
// job event. It is sent before the executor's next event is read, so the warnings of a run
// reach the master before its completion does (the master drops reports for ended jobs).
func (p *progressReporter) warning(ctx context.Context, msg string) {
	p.send(ctx, api.ProgressReport{Warnings: []string{redact.Text(msg)}})
}

func (p *progressReporter) send(ctx context.Context, rep api.ProgressReport) {
	rep.Node = p.a.NodeID()
	c, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	reply, err := p.a.cfg.Master.ReportProgress(c, p.jobID, rep)
	if err != nil {
		if ctx.Err() == nil {
			p.a.log.Debug("progress report failed", "job_id", p.jobID, "err", err)
		}
		return
	}
	if reply.Cancel {
		p.a.mu.Lock()
		cancel, ok := p.a.running[p.jobID]
		p.a.mu.Unlock()
		if ok {
			cancel(errCanceledByMaster)
		}
	}
}

// liveMetrics is what Metrics implementations that export live jobs' numbers add
// (metrics.Metrics does).
type liveMetrics interface {
	LiveProgress(jobID string, p engine.Progress, restreams map[string]bool)
	LiveLatency(jobID string, lat []executor.EncodeLatency)
}

// restreamNames names the outputs that push to a destination with reconnection.
func restreamNames(outs []spec.Output) map[string]bool {
	m := map[string]bool{}
	for _, o := range outs {
		if o.Reconnect != nil {
			m[o.Name] = true
		}
	}
	return m
}

// outputProgress is the engine's per-output progress as the master shows it: restream
// errors have the destination's key redacted.
func outputProgress(pr engine.Progress, restreams map[string]bool) []api.OutputProgress {
	if len(pr.Outputs) == 0 {
		return nil
	}
	out := make([]api.OutputProgress, 0, len(pr.Outputs))
	secs := pr.Elapsed.Seconds()
	for _, o := range pr.Outputs {
		op := api.OutputProgress{Name: o.Name, Frames: o.FramesOut, Dropped: o.Dropped, Bitrate: o.Bitrate}
		if secs > 0 {
			op.FPS = float64(o.FramesOut) / secs
		}
		if restreams[o.Name] {
			op.Restream, op.Connected = true, o.Connected
			op.Connections, op.Reconnects = o.Connections, o.Reconnects
			op.LastError = redact.Text(o.LastError)
		}
		out = append(out, op)
	}
	return out
}
