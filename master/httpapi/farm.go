package httpapi

import (
	"context"
	"net/url"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/farm"
	"github.com/ffrtmp/ffrtmp/master/store"
)

// What the API asks of the domain, declared here so a test can hand the server a small fake
// (embed the interface, override what the test calls). The master wires farm.Service and
// live.Streams in; errors are the domain's (package fault), which fail maps to answers.

// Farm is the job service: jobs, presets and nodes (farm.Service).
type Farm interface {
	Jobs
	Presets
	Nodes
}

// Jobs are the job routes' calls.
type Jobs interface {
	Submit(ctx context.Context, c farm.Caller, req api.JobRequest, idemKey string) (job api.Job, replay bool, err error)
	Get(ctx context.Context, c farm.Caller, id string) (api.Job, error)
	List(ctx context.Context, c farm.Caller, f store.Filter) (farm.Page, error)
	Cancel(ctx context.Context, c farm.Caller, id string) (api.Job, error)
	Retry(ctx context.Context, c farm.Caller, id string) (api.Job, error)
	Events(ctx context.Context, c farm.Caller, id string, after int64, limit int) (api.EventList, error)
	// Summary counts the jobs c sees, or tenant's (farm.Service.Summary).
	Summary(c farm.Caller, tenant string) (api.JobSummary, error)
}

// Presets are the preset and scenario routes' calls.
type Presets interface {
	Presets(c farm.Caller) []api.Preset
	Preset(c farm.Caller, name string) (api.Preset, error)
	PutPreset(ctx context.Context, name string, p api.Preset) (api.Preset, bool, error)
	DeletePreset(ctx context.Context, name string) error
	Scenarios() []api.Scenario
}

// Nodes are the node routes' calls, the operators' and the workers'.
type Nodes interface {
	Nodes(ctx context.Context) []api.Node
	ScrapeTargets(ctx context.Context) api.ScrapeTargets
	Node(ctx context.Context, id string) (api.Node, error)
	Drain(ctx context.Context, id string) (api.Node, error)
	Undrain(ctx context.Context, id string) (api.Node, error)
	RemoveNode(ctx context.Context, id string) error
	Register(ctx context.Context, reg api.Registration, addr string, who farm.NodeCaller) (api.Registered, error)
	AuthNode(id string, who farm.NodeCaller) error
	Heartbeat(ctx context.Context, id string, hb api.Heartbeat) (api.HeartbeatReply, error)
	Lease(ctx context.Context, id string, wait time.Duration) (*api.Lease, error)
	Progress(ctx context.Context, id string, rep api.ProgressReport) (api.ProgressReply, error)
	Complete(ctx context.Context, id string, rep api.CompleteReport) (api.Job, error)
	Fail(ctx context.Context, id string, rep api.FailReport) (api.Job, error)
}

// Streams are the live stream routes' calls and the standalone ingests' (live.Streams).
type Streams interface {
	CreateStream(ctx context.Context, c farm.Caller, req api.StreamRequest) (api.Stream, error)
	ListStreams(ctx context.Context, c farm.Caller, tenant string) ([]api.Stream, error)
	Stream(ctx context.Context, c farm.Caller, id string) (api.Stream, error)
	RotateStreamKey(ctx context.Context, c farm.Caller, id string) (api.Stream, error)
	DeleteStream(ctx context.Context, c farm.Caller, id string) error
	// HLSOrigin is the folder of stream id's live HLS on its node, for c; not found while
	// the stream has none (not live, no HLS, its node serves none).
	HLSOrigin(ctx context.Context, c farm.Caller, id string) (*url.URL, error)
	// IngestURL is where publishers push to ("" no ingest); Grace how long a stream stays
	// live after its publisher left.
	IngestURL() string
	Grace() time.Duration
	GrantPublish(ctx context.Context, key, relay, ingest string) (id, session string, err error)
	AuthorizePlay(ctx context.Context, id, token string) error
	IngestEvent(ctx context.Context, ev api.IngestEvent, ingest string) error
}
