package api

import "time"

// NodeStatus is a node's standing with the master.
type NodeStatus string

// Node states.
const (
	NodeOnline   NodeStatus = "online"
	NodeDraining NodeStatus = "draining" // takes no new jobs; running ones finish
	NodeOffline  NodeStatus = "offline"  // silent for longer than the heartbeat timeout
)

// Registration is the body of POST /v1/nodes/register. A worker keeps its ID across restarts
// (in its data dir); an empty ID asks the master to assign one.
type Registration struct {
	ID           string            `json:"id,omitempty"`
	Name         string            `json:"name"`
	Version      string            `json:"version,omitempty"`
	Labels       map[string]string `json:"labels,omitempty"`
	Capabilities Capabilities      `json:"capabilities"`
	// HLSBaseURL is where the node serves the HLS of the live jobs it runs
	// (http://host:8088/hls/, followed by <stream name>/master.m3u8); empty: it serves none.
	HLSBaseURL string `json:"hls_base_url,omitempty"`
	// MetricsURL is where the node serves its Prometheus metrics (http://host:9091/metrics);
	// the master lists it in GET /v1/sd/prometheus. Empty: the node serves none.
	MetricsURL string `json:"metrics_url,omitempty"`
}

// Capabilities is what a node can do, as it measured it.
type Capabilities struct {
	CPUs        int   `json:"cpus"`
	MemoryBytes int64 `json:"memory_bytes,omitempty"`
	// Encoders and Decoders list codecs that really opened on this node.
	Encoders []string `json:"encoders"`
	Decoders []string `json:"decoders,omitempty"`
	// Hardware lists the device kinds whose hardware context really opened (cuda, qsv, vaapi).
	Hardware []string `json:"hardware,omitempty"`
	GPUs     []GPU    `json:"gpus,omitempty"`
	// Slots is how many jobs the node runs at once (its --max-concurrent-jobs). Zero: 1.
	Slots int `json:"slots"`
	// PixelRate is how many pixels per second the node can transcode in all (0: unknown, no
	// limit beyond Slots).
	PixelRate int64 `json:"pixel_rate,omitempty"`
}

// GPU is one GPU as discovered through NVML.
type GPU struct {
	Index         int    `json:"index"`
	UUID          string `json:"uuid,omitempty"`
	Name          string `json:"name"`
	MemoryTotalMB int    `json:"memory_total_mb"`
	// EncoderSessions is how many NVENC sessions opened at once in the probe (0: no NVENC).
	EncoderSessions int `json:"encoder_sessions,omitempty"`
}

// Telemetry is a node's load, sent with every heartbeat.
type Telemetry struct {
	CPUPercent  float64        `json:"cpu_percent"`
	MemoryUsed  int64          `json:"memory_used_bytes,omitempty"`
	LoadAverage float64        `json:"load_average,omitempty"`
	GPUs        []GPUTelemetry `json:"gpus,omitempty"`
}

// GPUTelemetry is one GPU's NVML readings.
type GPUTelemetry struct {
	Index              int     `json:"index"`
	Utilization        float64 `json:"utilization_percent"`
	MemoryUtilization  float64 `json:"memory_utilization_percent"`
	EncoderUtilization float64 `json:"encoder_utilization_percent"`
	DecoderUtilization float64 `json:"decoder_utilization_percent"`
	MemoryUsedMB       int     `json:"memory_used_mb"`
	PowerWatts         float64 `json:"power_watts"`
	TemperatureC       float64 `json:"temperature_c"`
	EncoderSessions    int     `json:"encoder_sessions"`
	EncoderFPS         float64 `json:"encoder_fps,omitempty"`
	EncoderLatencyUs   float64 `json:"encoder_latency_us,omitempty"`
}

// Node is the master's view of a worker.
type Node struct {
	ID           string            `json:"id"`
	Name         string            `json:"name"`
	Version      string            `json:"version,omitempty"`
	Status       NodeStatus        `json:"status"`
	Labels       map[string]string `json:"labels,omitempty"`
	Capabilities Capabilities      `json:"capabilities"`
	Telemetry    *Telemetry        `json:"telemetry,omitempty"`
	RunningJobs  []string          `json:"running_jobs"`
	Address      string            `json:"address,omitempty"` // as seen by the master
	// HLSBaseURL is where the node serves live HLS, as it registered it; empty: none.
	HLSBaseURL string `json:"hls_base_url,omitempty"`
	// MetricsURL is where the node serves Prometheus metrics, as it registered it; empty: none.
	MetricsURL    string    `json:"metrics_url,omitempty"`
	RegisteredAt  time.Time `json:"registered_at"`
	LastHeartbeat time.Time `json:"last_heartbeat"`
}

// NodeSecretHeader carries a node's secret on every call a worker makes as that node
// (heartbeat, lease, progress, complete, fail, and registering an ID again).
const NodeSecretHeader = "Ffrtmp-Node-Secret"

// Registered is the answer to POST /v1/nodes/register: the node, and its secret when the
// master issued one (a first registration, or one an admin made). The secret is shown only
// here; the master keeps its hash. A worker keeps it (ffrtmp-worker: in --data-dir) and
// sends it in NodeSecretHeader.
type Registered struct {
	Node
	Secret string `json:"node_secret,omitempty"`
}

// NodeList is GET /v1/nodes.
type NodeList struct {
	Nodes []Node `json:"nodes"`
}

// Heartbeat is the body of POST /v1/nodes/{id}/heartbeat, sent about every 10 s.
type Heartbeat struct {
	Telemetry Telemetry `json:"telemetry"`
	// RunningJobs lists the jobs the worker is running right now.
	RunningJobs []string `json:"running_jobs"`
	// Draining says the worker is shutting down and wants no more jobs.
	Draining bool `json:"draining,omitempty"`
}

// HeartbeatReply tells the worker what to stop.
type HeartbeatReply struct {
	// Cancel lists running jobs the worker must stop (canceled, failed by the master or
	// given to another node).
	Cancel []string `json:"cancel,omitempty"`
	// Drain asks the worker to stop leasing and finish what it runs.
	Drain bool `json:"drain,omitempty"`
	// Interval is how often the master wants heartbeats.
	Interval Duration `json:"interval"`
}

// LeaseRequest is the body of POST /v1/nodes/{id}/lease.
type LeaseRequest struct {
	// Wait is how long to hold the request open for a job (long poll); at most 30 s.
	Wait Duration `json:"wait,omitempty"`
}

// Lease is a job handed to a node. A 204 answer means no job came within the wait.
type Lease struct {
	Job Job `json:"job"`
	// GPU is the GPU index to run on, when the job uses one.
	GPU *int `json:"gpu,omitempty"`
}

// ProgressReport is the body of POST /v1/jobs/{id}/progress.
type ProgressReport struct {
	Node     string    `json:"node"`
	Phase    Phase     `json:"phase,omitempty"`
	Progress *Progress `json:"progress,omitempty"`
	// Warnings and Log lines are appended to the job's events.
	Warnings []string `json:"warnings,omitempty"`
	Log      []string `json:"log,omitempty"`
}

// ProgressReply tells the worker whether to go on.
type ProgressReply struct {
	// Cancel says the job is no longer the worker's to run: stop it.
	Cancel bool `json:"cancel,omitempty"`
}

// CompleteReport is the body of POST /v1/jobs/{id}/complete.
type CompleteReport struct {
	Node   string  `json:"node"`
	Result *Result `json:"result,omitempty"`
}

// FailReport is the body of POST /v1/jobs/{id}/fail.
type FailReport struct {
	Node  string   `json:"node"`
	Error JobError `json:"error"`
}

// ScrapeTargets is the answer to GET /v1/sd/prometheus: Prometheus's HTTP service discovery
// format (http_sd_configs), one group per node that serves metrics.
type ScrapeTargets []ScrapeTargetGroup

// ScrapeTargetGroup is a set of host:port targets that share labels.
type ScrapeTargetGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}
