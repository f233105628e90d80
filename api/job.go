package api

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/ffrtmp/ffrtmp/api/spec"
)

// Status is where a job stands in its life:
//
//	queued → assigned → running → completed | failed | canceled
//	assigned|running → retrying (transient failure, backoff) → queued
//	failed|canceled → queued (POST /v1/jobs/{id}/retry)
type Status string

// Job states.
const (
	StatusQueued    Status = "queued"
	StatusAssigned  Status = "assigned"
	StatusRunning   Status = "running"
	StatusRetrying  Status = "retrying"
	StatusCompleted Status = "completed"
	StatusFailed    Status = "failed"
	StatusCanceled  Status = "canceled"
)

// Statuses lists every job state.
var Statuses = []Status{StatusQueued, StatusAssigned, StatusRunning, StatusRetrying,
	StatusCompleted, StatusFailed, StatusCanceled}

// Terminal reports whether a job in status s is finished.
func (s Status) Terminal() bool {
	return s == StatusCompleted || s == StatusFailed || s == StatusCanceled
}

// Active reports whether a job in status s holds a place on a node.
func (s Status) Active() bool { return s == StatusAssigned || s == StatusRunning }

// Valid reports whether s is a known state.
func (s Status) Valid() bool {
	for _, v := range Statuses {
		if s == v {
			return true
		}
	}
	return false
}

// Phase is what a running job is doing.
type Phase string

// Running phases.
const (
	PhaseProbing     Phase = "probing"
	PhaseTranscoding Phase = "transcoding"
	PhaseFinalizing  Phase = "finalizing"
)

// Queue names, best served first.
const (
	QueueLive   = "live"
	QueueHigh   = "high"
	QueueMedium = "medium"
	QueueLow    = "low"
	QueueBatch  = "batch"
)

// Queues lists the queues from the first served to the last.
var Queues = []string{QueueLive, QueueHigh, QueueMedium, QueueLow, QueueBatch}

// Priority bounds: within a queue, higher runs first.
const (
	MinPriority = -100
	MaxPriority = 100
)

// JobRequest is the body of POST /v1/jobs. Exactly one of Spec, Preset or Scenario says what
// to do:
//   - Spec: the engine's full description (input and outputs).
//   - Preset: a named ABR ladder applied to Input, written under Output.
//   - Scenario: a named synthetic workload (no Input), written to Output or discarded.
type JobRequest struct {
	Input      string      `json:"input,omitempty"`
	Spec       *spec.Spec  `json:"spec,omitempty"`
	Preset     string      `json:"preset,omitempty"`
	Scenario   string      `json:"scenario,omitempty"`
	Parameters *Parameters `json:"parameters,omitempty"`
	// Output is where preset and scenario outputs go: a folder URL ending in "/" (file:///srv/out/j1/)
	// or, for a scenario, a file whose extension names the container.
	Output       string       `json:"output,omitempty"`
	Queue        string       `json:"queue,omitempty"`    // default medium
	Priority     int          `json:"priority,omitempty"` // MinPriority..MaxPriority, default 0
	Requirements Requirements `json:"requirements,omitzero"`
	// MaxRunTime fails the job when a run takes longer ("2h", "90s" or seconds). Zero: no limit.
	MaxRunTime Duration `json:"max_run_time,omitempty"`
	// MaxRetries overrides the master's --max-retries for this job.
	MaxRetries *int `json:"max_retries,omitempty"`
	// CallbackURL receives a signed POST on every state change. Its host must resolve to public
	// addresses only, unless the master's operator allows the range (--webhook-allow-cidr):
	// otherwise the submit is a 400 on callback_url.
	CallbackURL string `json:"callback_url,omitempty"`
	// Labels are free-form tags shown in the job view (not matched against nodes).
	Labels map[string]string `json:"labels,omitempty"`
	// Tenant submits the job on behalf of a tenant (admin keys only; a submitter's jobs
	// belong to its key's tenant, and naming another is refused).
	Tenant string `json:"tenant,omitempty"`
}

// DefaultTenant owns the jobs, streams and presets of keys without a tenant, and every job
// stored before tenants existed (those carry no tenant field).
const DefaultTenant = "default"

// Parameters tune a preset or scenario.
type Parameters struct {
	// Duration is the synthetic source's length in seconds (scenarios).
	Duration float64 `json:"duration,omitempty"`
	// Bitrate overrides the video bitrate (scenarios; for presets the top rung, others scaled).
	Bitrate spec.Bitrate `json:"bitrate,omitempty"`
	// Encoder overrides the video encoder (libx264, h264_nvenc, ...).
	Encoder string `json:"encoder,omitempty"`
	// EncoderPreset is the encoder's own speed preset (veryfast, p4, ...).
	EncoderPreset string `json:"encoder_preset,omitempty"`
	// Hardware is none, auto or require (with the encoder's device); default auto for
	// hardware encoders.
	Hardware string `json:"hardware,omitempty"`
}

// Requirements are what a node must have to be given the job.
type Requirements struct {
	// Encoder must open on the node (its capabilities list it).
	Encoder string `json:"encoder,omitempty"`
	// Hardware is a device kind the node must have working: cuda, qsv or vaapi.
	Hardware string `json:"hardware,omitempty"`
	// MinGPUMemoryMB asks for a GPU with at least this much memory.
	MinGPUMemoryMB int `json:"min_gpu_memory_mb,omitempty"`
	// Labels must all be present on the node with equal values.
	Labels map[string]string `json:"labels,omitempty"`
	// Node pins the job to one node (by ID): `ffrtmp bench --farm` measures each machine
	// this way. The job waits while that node is away.
	Node string `json:"node,omitempty"`
}

// IsZero reports whether r asks for nothing.
func (r Requirements) IsZero() bool {
	return r.Encoder == "" && r.Hardware == "" && r.MinGPUMemoryMB == 0 && len(r.Labels) == 0 && r.Node == ""
}

// Job is the master's view of a job.
type Job struct {
	ID       string `json:"id"`
	Tenant   string `json:"tenant,omitempty"` // the tenant that owns the job; absent: DefaultTenant
	Status   Status `json:"status"`
	Phase    Phase  `json:"phase,omitempty"`
	Queue    string `json:"queue"`
	Priority int    `json:"priority"`

	Scenario   string      `json:"scenario,omitempty"`
	Preset     string      `json:"preset,omitempty"`
	Parameters *Parameters `json:"parameters,omitempty"`
	Input      string      `json:"input,omitempty"`
	Output     string      `json:"output,omitempty"`
	// Spec is what the worker runs: the request's spec, or the preset or scenario resolved
	// at submit time (later preset changes do not alter a queued job).
	Spec         spec.Spec         `json:"spec"`
	Requirements Requirements      `json:"requirements,omitzero"`
	MaxRunTime   Duration          `json:"max_run_time,omitempty"`
	MaxRetries   int               `json:"max_retries"`
	CallbackURL  string            `json:"callback_url,omitempty"`
	Labels       map[string]string `json:"labels,omitempty"`
	// Cost is the work the job asks of a node in pixels per second of media (the scheduler
	// counts node capacity with it).
	Cost int64 `json:"cost_pixels_per_second,omitempty"`

	Attempts int    `json:"attempts"`
	Node     string `json:"node,omitempty"`
	// GPU is the index of the GPU the job was placed on, when it uses one.
	GPU *int `json:"gpu,omitempty"`

	Progress *Progress `json:"progress,omitempty"`
	Result   *Result   `json:"result,omitempty"`
	Error    *JobError `json:"error,omitempty"`

	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	AssignedAt *time.Time `json:"assigned_at,omitempty"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	// RetryAt is when a retrying job goes back to the queue.
	RetryAt *time.Time `json:"retry_at,omitempty"`
}

// Progress is a running job's latest numbers.
type Progress struct {
	Percent float64 `json:"percent"`
	FPS     float64 `json:"fps"`
	Speed   float64 `json:"speed"`
	// ETA is the estimated seconds left; absent when the duration is unknown.
	ETA    *float64 `json:"eta_seconds,omitempty"`
	Frames int64    `json:"frames"`
	// OutTime is the media time written so far, in seconds.
	OutTime float64   `json:"out_time_seconds,omitempty"`
	At      time.Time `json:"at"`
	// Outputs are the per-output numbers, restream outputs with their destination's state.
	Outputs []OutputProgress `json:"outputs,omitempty"`
}

// OutputProgress is one output's numbers in a progress report or, for restream outputs,
// in the final result.
type OutputProgress struct {
	Name    string  `json:"name"`
	FPS     float64 `json:"fps"`               // encoded video frames per wall second
	Frames  int64   `json:"frames"`            // video frames encoded
	Dropped int64   `json:"dropped,omitempty"` // frames the rate conversion dropped
	Bitrate float64 `json:"bitrate,omitempty"` // bits per second of media time
	// LatencyMs, for a live job's output, is the mean pipeline latency of the video packets
	// encoded since the previous report, in milliseconds: from the read of each source
	// packet off the ingest's relay to its encoded packet (ffrtmp_live_latency_seconds).
	LatencyMs float64 `json:"latency_ms,omitempty"`
	// Restream outputs (pushed to a destination with reconnect): whether it is connected
	// now, the connections made, the attempts after the first, the packets dropped while
	// not connected, the last error (the destination's key redacted) and, in a result,
	// whether it was never reached.
	Restream       bool   `json:"restream,omitempty"`
	Connected      bool   `json:"connected,omitempty"`
	Connections    int64  `json:"connections,omitempty"`
	Reconnects     int64  `json:"reconnects,omitempty"`
	DroppedPackets int64  `json:"dropped_packets,omitempty"`
	LastError      string `json:"last_error,omitempty"`
	Unreached      bool   `json:"unreached,omitempty"`
}

// JobError says why a job failed. Transient errors are retried; terminal ones are not.
type JobError struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	Transient bool   `json:"transient"`
}

// Error codes the master itself puts in a JobError.
const (
	JobErrNodeLost        = "node_lost"        // the node stopped heartbeating
	JobErrStale           = "stale"            // no progress for too long
	JobErrMaxRunTime      = "max_run_time"     // ran longer than max_run_time
	JobErrLeaseLost       = "lease_lost"       // the node never started the job it leased
	JobErrRetriesSpent    = "retries_spent"    // wrapped around the last transient error
	JobErrNodeRemoved     = "node_removed"     // an operator removed the node
	JobErrNodeDrained     = "node_drained"     // the node handed the job back while draining
	JobErrExecutorCrashed = "executor_crashed" // the worker's executor process died
)

// Result is what a completed run reports.
type Result struct {
	// Encoders names the video encoder that really ran per output (after any fallback).
	Encoders map[string]string `json:"encoders,omitempty"`
	Decoder  string            `json:"decoder,omitempty"`
	Fallback string            `json:"fallback,omitempty"`
	Frames   int64             `json:"frames,omitempty"`
	Bytes    int64             `json:"bytes,omitempty"`
	Seconds  float64           `json:"seconds,omitempty"` // wall time of the run
	FPS      float64           `json:"fps,omitempty"`
	Speed    float64           `json:"speed,omitempty"`
	// Outputs lists what was written (files or folders), for the submitter.
	Outputs []string `json:"outputs,omitempty"`
	// Details is free-form engine output (per output stats), kept as given.
	Details json.RawMessage `json:"details,omitempty"`
	// EncodeLatency is the video frames' encode time over the run (every output).
	EncodeLatency *LatencySummary `json:"encode_latency,omitempty"`
	// Restreams are the restream outputs' final numbers; Unreached names those whose
	// destination was never reached (the run succeeds without them).
	Restreams []OutputProgress `json:"restreams,omitempty"`
	Unreached []string         `json:"unreached,omitempty"`
	// DroppedTracks are the input's tracks that could not be read and that the outputs
	// went without (a warning event says so too; a spec whose video or audio is marked
	// required fails instead).
	DroppedTracks []spec.DroppedTrack `json:"dropped_tracks,omitempty"`
}

// LatencySummary is a distribution of per-frame times, in milliseconds.
type LatencySummary struct {
	Frames int64   `json:"frames"`
	P50ms  float64 `json:"p50_ms"`
	P95ms  float64 `json:"p95_ms"`
	P99ms  float64 `json:"p99_ms"`
}

// JobList is a page of GET /v1/jobs, newest first.
type JobList struct {
	Jobs []Job `json:"jobs"`
	// NextCursor fetches the next (older) page; empty at the end.
	NextCursor string `json:"next_cursor,omitempty"`
}

// EventType classifies job events.
type EventType string

// Event types.
const (
	EventState    EventType = "state"
	EventProgress EventType = "progress"
	EventWarning  EventType = "warning"
	EventLog      EventType = "log"
)

// Event is one entry of a job's history.
type Event struct {
	Seq      int64     `json:"seq"`
	Time     time.Time `json:"time"`
	Type     EventType `json:"type"`
	From     Status    `json:"from,omitempty"`
	To       Status    `json:"to,omitempty"`
	Node     string    `json:"node,omitempty"`
	Message  string    `json:"message,omitempty"`
	Progress *Progress `json:"progress,omitempty"`
	Error    *JobError `json:"error,omitempty"`
}

// EventList is a page of GET /v1/jobs/{id}/events, oldest first.
type EventList struct {
	Events []Event `json:"events"`
	// Next is the seq to pass as ?after= for the following page; 0 at the end.
	Next int64 `json:"next,omitempty"`
}

// Duration is a time.Duration that JSON writes as "1h30m0s" and reads from such a string or
// a number of seconds.
type Duration time.Duration

// MarshalJSON writes the Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads "90s", "2h" or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if v, err := time.ParseDuration(s); err == nil {
			if v < 0 {
				return badDuration(fmt.Sprintf("duration %q must not be negative", s))
			}
			*d = Duration(v)
			return nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	// The bound is on nanoseconds: float64(math.MaxInt64) is 2^63, which no int64 holds (the
	// conversion would wrap to a negative duration).
	if err != nil || f < 0 || math.IsNaN(f) || f*float64(time.Second) >= math.MaxInt64 {
		return badDuration(fmt.Sprintf("duration %s: want seconds or a string like \"90s\" or \"2h\"", string(b)))
	}
	*d = Duration(f * float64(time.Second))
	return nil
}

// badDuration is a *json.UnmarshalTypeError so encoding/json names the field; Value explains.
func badDuration(msg string) error {
	return &json.UnmarshalTypeError{Value: msg, Type: reflect.TypeFor[Duration]()}
}
