// Package executor runs one job in a child process of the worker's own binary, so a crash
// inside libav or a GPU driver costs only that job. The child (Main) reads the job's spec on
// stdin, runs it through the engine and writes JSON lines on stdout: progress snapshots with
// the frames' encode latencies, warnings (input damage the engine repaired), then the result
// or the error. The worker side (Run)
// supervises it: it kills the child on cancel, on a deadline, and when it stops making
// progress, and reports how it ended.
package executor

import (
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/engine"
)

// Request is what the worker writes to the child's stdin.
type Request struct {
	JobID string    `json:"job_id"`
	Spec  spec.Spec `json:"spec"`
	// Live asks for the pipeline latency of every encoded video packet (live jobs): from
	// the read of its source packet from the ingest to the encoded packet.
	Live bool `json:"live,omitempty"`
}

// Event is one line the child writes to stdout.
type Event struct {
	Type string `json:"type"` // progress, warning, result, error
	// Warning is damage in the input the engine repaired or worked around (type warning).
	Warning string `json:"warning,omitempty"`
	// Progress is a snapshot (type progress).
	Progress *engine.Progress `json:"progress,omitempty"`
	// Encode holds the encode latencies of the frames since the previous event, per
	// output and encoder (type progress).
	Encode []EncodeLatency `json:"encode,omitempty"`
	// Latency holds live jobs' pipeline latencies of the video packets since the previous
	// event, per output, in LiveLatencyBuckets (type progress, Request.Live).
	Latency []EncodeLatency `json:"latency,omitempty"`
	// Result is the run's result (type result), with the video frames' encode time
	// percentiles over the whole run.
	Result        *engine.Result      `json:"result,omitempty"`
	EncodeSummary *api.LatencySummary `json:"encode_summary,omitempty"`
	// Error is why the run failed (type error).
	Error *Failure `json:"error,omitempty"`
}

// EncodeLatency counts frames of one output by encode time.
type EncodeLatency struct {
	Output  string  `json:"output"`
	Encoder string  `json:"encoder,omitempty"`
	Frames  int64   `json:"frames"`
	Seconds float64 `json:"seconds"` // total encode time
	// Buckets counts frames whose encode time was at most LatencyBuckets[i] (not cumulative;
	// the last entry counts the slower ones).
	Buckets []int64 `json:"buckets"`
}

// LatencyBuckets are the upper bounds of the encode latency buckets.
var LatencyBuckets = []time.Duration{
	500 * time.Microsecond, time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond,
	10 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond,
	250 * time.Millisecond,
}

// LiveLatencyBuckets are the upper bounds of the live pipeline latency buckets: 25 ms steps
// where a healthy live job sits (a zerolatency ladder: about 0.1 to 0.2 s), wider beyond.
var LiveLatencyBuckets = []time.Duration{
	25 * time.Millisecond, 50 * time.Millisecond, 75 * time.Millisecond, 100 * time.Millisecond,
	125 * time.Millisecond, 150 * time.Millisecond, 175 * time.Millisecond, 200 * time.Millisecond,
	250 * time.Millisecond, 300 * time.Millisecond, 400 * time.Millisecond, 500 * time.Millisecond,
	750 * time.Millisecond, time.Second, 1500 * time.Millisecond, 2 * time.Second,
	3 * time.Second, 5 * time.Second, 10 * time.Second,
}

// Failure is an engine error as the child reports it.
type Failure struct {
	Kind      string `json:"kind"` // engine error kind: input, encode, io, ...
	Message   string `json:"message"`
	Transient bool   `json:"transient"`
}
