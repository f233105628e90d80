package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Client talks to a master over its REST API. The worker, the CLI and tests use it.
//
//	c, err := api.NewClient("https://master:8080", os.Getenv("FFMPEG_RTMP_API_KEY"),
//		api.WithTLSConfig(tlsCfg))
//	if err != nil {
//		return err
//	}
//	job, err := c.SubmitJob(ctx, api.JobRequest{Scenario: "4k60", Queue: api.QueueLive}, "")
//	switch {
//	case api.IsCode(err, api.CodeUnknownField):
//		// the request names a field this master does not know
//	case err != nil:
//		return err
//	}
//	fmt.Println(job.ID, job.Status)
//
// Every answer other than 2xx comes back as an *Error carrying the HTTP status, the master's
// error code (see the Code constants; switch with IsCode, errors.As) and, on 429 and 503, the
// Retry-After seconds. Any other error means no usable answer arrived: the master was
// unreachable, the connection broke, the context ended or the Client's timeout ran out
// (errors.Is(err, context.DeadlineExceeded)); its message starts with the method and URL.
//
// # Several masters
//
// Given every master of a cluster ("https://m1:8080,https://m2:8080,https://m3:8080"), the
// Client sticks to the master that last answered and moves on to the next one in the list,
// round robin, each master at most once per pass, when the request cannot have done anything
// there or is safe to send again:
//
//   - the connection could not be made (refused, DNS failure, TLS handshake failure, connect
//     timeout): the request never reached that master;
//   - the master answered 503 with code CodeUnavailable (shutting down, or no cluster leader):
//     it did nothing;
//   - the exchange broke after the request was sent (the connection closed, the Client's
//     timeout ran out), only for requests that are safe to repeat: GET and HEAD, requests
//     with an Idempotency-Key (SubmitJob always sends one to a cluster, see there) and lease
//     long polls.
//
// Any other answer, a 4xx or another 5xx included, is the call's answer: it is never sent to
// another master. When a whole pass over the list fails, the Client waits briefly (100 ms,
// doubling up to 2 s, with jitter) and passes over the list again while the call's budget
// lasts: its context, and the Client's timeout counted from the call's start (a lease's wait
// plus 15 s). Then it returns an *UnreachableError naming each master and why it failed.
// Master says which master answered last; each move to another master is logged once, at
// Info, with the reason (WithLogger). A Client given one URL behaves as before: it never
// retries.
//
// A Client never retries a request on the same master: whether a request may be repeated,
// and after how long, is the caller's call (the worker has its own backoff; SubmitJob is safe
// to repeat with the same idempotency key). A Client is safe for concurrent use and holds no
// state between requests besides its HTTP connections and the master that answered last.
type Client struct {
	// masters are the base URLs (scheme://host[:port][/prefix], without a trailing slash),
	// in the order given; current indexes the one that answered last.
	masters   []string
	current   atomic.Int32
	log       *slog.Logger // nil: slog.Default() at the time of logging
	apiKey    string
	hc        *http.Client
	userAgent string
	timeout   time.Duration

	// nodeSecrets are the secrets of the nodes this client acts as (a worker: one), sent
	// with every call made as that node.
	secretsMu   sync.Mutex
	nodeSecrets map[string]string
}

const (
	// maxResponseBytes bounds a decoded answer; a larger one is an error, not a truncation.
	maxResponseBytes = 32 << 20
	// maxErrorBytes bounds how much of an error answer is read.
	maxErrorBytes = 64 << 10
	// maxErrorMessage is how much of a non-JSON error answer becomes Error.Message.
	maxErrorMessage = 512
)

// NewClient returns a Client for the master at baseURL (http:// or https://, host and port,
// optionally a path prefix when the master sits behind a proxy), or for every master of a
// cluster given as a comma-separated list of such URLs (see Client: several masters). apiKey
// is sent as a bearer token on every request; empty sends none.
func NewClient(baseURL, apiKey string, opts ...Option) (*Client, error) {
	cfg := clientConfig{userAgent: DefaultUserAgent, timeout: DefaultTimeout}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	masters, err := parseMasters(baseURL)
	if err != nil {
		return nil, err
	}
	for _, r := range apiKey {
		if r < 0x20 || r == 0x7f || r > 0x7e {
			// The key itself stays out of the message: it ends up in logs.
			return nil, errors.New("API key holds a character that cannot go in an HTTP header")
		}
	}
	hc, err := newHTTPClient(cfg, len(masters) > 1)
	if err != nil {
		return nil, err
	}
	return &Client{masters: masters, log: cfg.logger, apiKey: apiKey, hc: hc, userAgent: cfg.userAgent, timeout: cfg.timeout}, nil
}

// BaseURL returns the URL of the master the Client sends to first, as it uses it (no trailing
// slash): with several masters, the one that answered last (Master).
func (c *Client) BaseURL() string { return c.Master() }

func parseBaseURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", errors.New("master URL is empty")
	}
	hint := ""
	if !strings.Contains(raw, "://") {
		hint = fmt.Sprintf(" (did you mean \"http://%s\"?)", raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("master URL: %w%s", err, hint)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("master URL %q: want http:// or https://%s", u.Redacted(), hint)
	case u.User != nil:
		return "", fmt.Errorf("master URL %q: credentials go in the API key, not the URL", u.Redacted())
	case u.Host == "":
		return "", fmt.Errorf("master URL %q has no host", raw)
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return "", fmt.Errorf("master URL %q: want no query or fragment", raw)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	return u.String(), nil
}

// newHTTPClient builds the Client's HTTP client. For a cluster (failover) a transport of its
// own dials with failoverDialTimeout, so a master that drops packets costs seconds, not the
// whole call.
func newHTTPClient(cfg clientConfig, failover bool) (*http.Client, error) {
	var hc http.Client
	if cfg.httpClient != nil {
		hc = *cfg.httpClient
	}
	if hc.Transport != nil && cfg.tlsConfig == nil {
		return &hc, nil
	}
	var tr *http.Transport
	switch t := hc.Transport.(type) {
	case nil:
		if dt, ok := http.DefaultTransport.(*http.Transport); ok {
			tr = dt.Clone()
		} else {
			tr = &http.Transport{Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true}
		}
		if failover {
			tr.DialContext = (&net.Dialer{Timeout: failoverDialTimeout, KeepAlive: 30 * time.Second}).DialContext
		}
	case *http.Transport:
		tr = t.Clone()
	default:
		return nil, fmt.Errorf("WithTLSConfig: the HTTP client's Transport is a %T; want an *http.Transport", t)
	}
	if cfg.tlsConfig != nil {
		tr.TLSClientConfig = cfg.tlsConfig.Clone()
	}
	hc.Transport = tr
	return &hc, nil
}

// ---- jobs ----

// ListJobsOptions filter GET /v1/jobs. Zero fields do not filter.
type ListJobsOptions struct {
	// Status keeps jobs in any of these states.
	Status []Status
	Queue  string
	Node   string
	// Tenant keeps one tenant's jobs (admin keys; a submitter always sees only its own).
	Tenant        string
	CreatedAfter  time.Time
	CreatedBefore time.Time
	// Text keeps the jobs with it in their ID, input, outputs, preset, scenario, node, error
	// or labels (key=value), ignoring case; a whole job ID finds that job alone. A sparse
	// search may answer a page short of Limit, even empty, with a NextCursor to go on from.
	Text string
	// Cursor is a previous page's NextCursor.
	Cursor string
	// Limit is the page size; zero: the master's default.
	Limit int
}

func (o ListJobsOptions) query() url.Values {
	q := url.Values{}
	for _, s := range o.Status {
		q.Add("status", string(s))
	}
	setIf(q, "queue", o.Queue)
	setIf(q, "node", o.Node)
	setIf(q, "tenant", o.Tenant)
	if !o.CreatedAfter.IsZero() {
		q.Set("created_after", o.CreatedAfter.UTC().Format(time.RFC3339Nano))
	}
	if !o.CreatedBefore.IsZero() {
		q.Set("created_before", o.CreatedBefore.UTC().Format(time.RFC3339Nano))
	}
	setIf(q, "text", o.Text)
	setIf(q, "cursor", o.Cursor)
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	return q
}

func setIf(q url.Values, key, value string) {
	if value != "" {
		q.Set(key, value)
	}
}

// SubmitJob queues a job (POST /v1/jobs). With a non-empty idempotencyKey, repeating the call
// with the same key and request returns the job the first call created instead of a second
// one; the same key with another request fails with CodeIdempotencyReuse. A Client of several
// masters makes a key up when idempotencyKey is empty (one per call), so that a submit whose
// connection broke can go to the next master without queuing the job twice.
func (c *Client) SubmitJob(ctx context.Context, req JobRequest, idempotencyKey string) (*Job, error) {
	r := request{method: http.MethodPost, path: "/v1/jobs", body: req}
	if idempotencyKey == "" && len(c.masters) > 1 {
		idempotencyKey = autoIdempotencyPrefix + rand.Text()
	}
	if idempotencyKey != "" {
		r.header = http.Header{"Idempotency-Key": {idempotencyKey}}
	}
	return doJSON[Job](ctx, c, r)
}

// ListJobs returns one page of jobs, newest first (GET /v1/jobs).
func (c *Client) ListJobs(ctx context.Context, opts ListJobsOptions) (*JobList, error) {
	return doJSON[JobList](ctx, c, request{method: http.MethodGet, path: "/v1/jobs", query: opts.query()})
}

// ListAllJobs calls fn for every job that opts select, newest first, fetching page after page
// from opts.Cursor on. It stops at the first error, from the master or from fn, and returns it.
func (c *Client) ListAllJobs(ctx context.Context, opts ListJobsOptions, fn func(Job) error) error {
	for {
		page, err := c.ListJobs(ctx, opts)
		if err != nil {
			return err
		}
		for _, j := range page.Jobs {
			if err := fn(j); err != nil {
				return err
			}
		}
		if page.NextCursor == "" {
			return nil
		}
		if page.NextCursor == opts.Cursor {
			return fmt.Errorf("list jobs: the master returned cursor %q for itself", opts.Cursor)
		}
		opts.Cursor = page.NextCursor
	}
}

// JobSummary returns exact job counts by status and queue and the jobs finished per minute
// over the last hour (GET /v1/jobs/summary): the caller's tenant's for a submitter's key,
// the whole farm's for an admin's or a monitor's, or tenant's when they name one.
func (c *Client) JobSummary(ctx context.Context, tenant string) (*JobSummary, error) {
	q := url.Values{}
	setIf(q, "tenant", tenant)
	return doJSON[JobSummary](ctx, c, request{method: http.MethodGet, path: "/v1/jobs/summary", query: q})
}

// GetJob returns a job (GET /v1/jobs/{id}).
func (c *Client) GetJob(ctx context.Context, id string) (*Job, error) {
	p, err := pathSegment("job ID", id)
	if err != nil {
		return nil, err
	}
	return doJSON[Job](ctx, c, request{method: http.MethodGet, path: "/v1/jobs/" + p})
}

// CancelJob cancels a job that has not finished (POST /v1/jobs/{id}/cancel).
func (c *Client) CancelJob(ctx context.Context, id string) (*Job, error) {
	return c.jobAction(ctx, id, "cancel", nil)
}

// RetryJob queues a failed or canceled job again (POST /v1/jobs/{id}/retry).
func (c *Client) RetryJob(ctx context.Context, id string) (*Job, error) {
	return c.jobAction(ctx, id, "retry", nil)
}

// JobEvents returns a job's history after event seq after, oldest first
// (GET /v1/jobs/{id}/events). Pass the answer's Next as after for the following page; limit
// zero takes the master's default page size.
func (c *Client) JobEvents(ctx context.Context, id string, after int64, limit int) (*EventList, error) {
	p, err := pathSegment("job ID", id)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if after > 0 {
		q.Set("after", strconv.FormatInt(after, 10))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	return doJSON[EventList](ctx, c, request{method: http.MethodGet, path: "/v1/jobs/" + p + "/events", query: q})
}

func (c *Client) jobAction(ctx context.Context, id, action string, body any) (*Job, error) {
	return c.nodeJobAction(ctx, id, action, "", body)
}

// nodeJobAction is jobAction made as node ("" none), with its secret.
func (c *Client) nodeJobAction(ctx context.Context, id, action, node string, body any) (*Job, error) {
	p, err := pathSegment("job ID", id)
	if err != nil {
		return nil, err
	}
	r := request{method: http.MethodPost, path: "/v1/jobs/" + p + "/" + action, body: body}
	if node != "" {
		r.header = c.nodeHeader(node)
	}
	return doJSON[Job](ctx, c, r)
}

// ---- presets and scenarios ----

// ListPresets returns every preset, built-in ones included (GET /v1/presets).
func (c *Client) ListPresets(ctx context.Context) (*PresetList, error) {
	return doJSON[PresetList](ctx, c, request{method: http.MethodGet, path: "/v1/presets"})
}

// GetPreset returns a preset (GET /v1/presets/{name}).
func (c *Client) GetPreset(ctx context.Context, name string) (*Preset, error) {
	p, err := pathSegment("preset name", name)
	if err != nil {
		return nil, err
	}
	return doJSON[Preset](ctx, c, request{method: http.MethodGet, path: "/v1/presets/" + p})
}

// PutPreset creates or replaces the preset named p.Name (PUT /v1/presets/{name}).
func (c *Client) PutPreset(ctx context.Context, preset Preset) (*Preset, error) {
	p, err := pathSegment("preset name", preset.Name)
	if err != nil {
		return nil, err
	}
	return doJSON[Preset](ctx, c, request{method: http.MethodPut, path: "/v1/presets/" + p, body: preset})
}

// DeletePreset deletes a preset (DELETE /v1/presets/{name}).
func (c *Client) DeletePreset(ctx context.Context, name string) error {
	p, err := pathSegment("preset name", name)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, request{method: http.MethodDelete, path: "/v1/presets/" + p}, nil)
	return err
}

// ListScenarios returns the synthetic workloads jobs can name (GET /v1/scenarios).
func (c *Client) ListScenarios(ctx context.Context) (*ScenarioList, error) {
	return doJSON[ScenarioList](ctx, c, request{method: http.MethodGet, path: "/v1/scenarios"})
}

// ---- live streams ----

// CreateStream creates a live stream (POST /v1/streams). The answer carries the stream key,
// which the master shows only here and in RotateStreamKey's answer.
func (c *Client) CreateStream(ctx context.Context, req StreamRequest) (*Stream, error) {
	return doJSON[Stream](ctx, c, request{method: http.MethodPost, path: "/v1/streams", body: req})
}

// ListStreams returns every stream by name (GET /v1/streams).
func (c *Client) ListStreams(ctx context.Context) (*StreamList, error) {
	return doJSON[StreamList](ctx, c, request{method: http.MethodGet, path: "/v1/streams"})
}

// GetStream returns a stream with its live state (GET /v1/streams/{id}).
func (c *Client) GetStream(ctx context.Context, id string) (*Stream, error) {
	p, err := pathSegment("stream ID", id)
	if err != nil {
		return nil, err
	}
	return doJSON[Stream](ctx, c, request{method: http.MethodGet, path: "/v1/streams/" + p})
}

// RotateStreamKey replaces a stream's key (POST /v1/streams/{id}/rotate-key): the old key
// stops working for new publishes at once; a publisher that is live keeps its connection.
// The answer carries the new key.
func (c *Client) RotateStreamKey(ctx context.Context, id string) (*Stream, error) {
	p, err := pathSegment("stream ID", id)
	if err != nil {
		return nil, err
	}
	return doJSON[Stream](ctx, c, request{method: http.MethodPost, path: "/v1/streams/" + p + "/rotate-key"})
}

// DeleteStream deletes a stream (DELETE /v1/streams/{id}). A stream with a connected
// publisher is refused with CodeConflict.
func (c *Client) DeleteStream(ctx context.Context, id string) error {
	p, err := pathSegment("stream ID", id)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, request{method: http.MethodDelete, path: "/v1/streams/" + p}, nil)
	return err
}

// ---- nodes ----

// ListNodes returns every node the master knows (GET /v1/nodes).
func (c *Client) ListNodes(ctx context.Context) (*NodeList, error) {
	return doJSON[NodeList](ctx, c, request{method: http.MethodGet, path: "/v1/nodes"})
}

// ScrapeTargets returns the Prometheus scrape targets of the farm's nodes
// (GET /v1/sd/prometheus; a monitor or admin key).
func (c *Client) ScrapeTargets(ctx context.Context) (ScrapeTargets, error) {
	t, err := doJSON[ScrapeTargets](ctx, c, request{method: http.MethodGet, path: "/v1/sd/prometheus"})
	if err != nil {
		return nil, err
	}
	return *t, nil
}

// GetNode returns a node (GET /v1/nodes/{id}).
func (c *Client) GetNode(ctx context.Context, id string) (*Node, error) {
	p, err := pathSegment("node ID", id)
	if err != nil {
		return nil, err
	}
	return doJSON[Node](ctx, c, request{method: http.MethodGet, path: "/v1/nodes/" + p})
}

// DrainNode stops giving a node new jobs; the ones it runs finish (POST /v1/nodes/{id}/drain).
func (c *Client) DrainNode(ctx context.Context, id string) (*Node, error) {
	p, err := pathSegment("node ID", id)
	if err != nil {
		return nil, err
	}
	return doJSON[Node](ctx, c, request{method: http.MethodPost, path: "/v1/nodes/" + p + "/drain"})
}

// UndrainNode lifts a drain order: the node takes jobs again (POST /v1/nodes/{id}/undrain).
func (c *Client) UndrainNode(ctx context.Context, id string) (*Node, error) {
	p, err := pathSegment("node ID", id)
	if err != nil {
		return nil, err
	}
	return doJSON[Node](ctx, c, request{method: http.MethodPost, path: "/v1/nodes/" + p + "/undrain"})
}

// RemoveNode forgets a node; its jobs are requeued (DELETE /v1/nodes/{id}).
func (c *Client) RemoveNode(ctx context.Context, id string) error {
	p, err := pathSegment("node ID", id)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, request{method: http.MethodDelete, path: "/v1/nodes/" + p}, nil)
	return err
}

// ---- worker side ----

// Register announces a worker and its capabilities (POST /v1/nodes/register). The returned
// node carries the ID to use from then on and, when the master issued one, the node's secret;
// the Client keeps it and sends it with every later call made as that node (see
// SetNodeSecret). Registering an ID that is registered already needs that node's secret
// (or an admin key).
func (c *Client) Register(ctx context.Context, reg Registration) (*Registered, error) {
	r := request{method: http.MethodPost, path: "/v1/nodes/register", body: reg}
	if reg.ID != "" {
		r.header = c.nodeHeader(reg.ID)
	}
	n, err := doJSON[Registered](ctx, c, r)
	if err != nil {
		return nil, err
	}
	if n.Secret != "" {
		c.SetNodeSecret(n.ID, n.Secret)
	}
	return n, nil
}

// SetNodeSecret makes the Client send secret with every call made as node id (a worker that
// kept its secret across a restart sets it before registering again).
func (c *Client) SetNodeSecret(id, secret string) {
	c.secretsMu.Lock()
	defer c.secretsMu.Unlock()
	if c.nodeSecrets == nil {
		c.nodeSecrets = map[string]string{}
	}
	c.nodeSecrets[id] = secret
}

// NodeSecret returns the secret the Client holds for node id ("" none).
func (c *Client) NodeSecret(id string) string {
	c.secretsMu.Lock()
	defer c.secretsMu.Unlock()
	return c.nodeSecrets[id]
}

// nodeHeader is the header that proves the caller is node id, or nil when the Client holds
// no secret for it.
func (c *Client) nodeHeader(id string) http.Header {
	secret := c.NodeSecret(id)
	if secret == "" {
		return nil
	}
	return http.Header{NodeSecretHeader: {secret}}
}

// Heartbeat reports a node's load and running jobs (POST /v1/nodes/{id}/heartbeat). An error
// with CodeUnknownNode means the master forgot the node: register again.
func (c *Client) Heartbeat(ctx context.Context, nodeID string, hb Heartbeat) (*HeartbeatReply, error) {
	p, err := pathSegment("node ID", nodeID)
	if err != nil {
		return nil, err
	}
	return doJSON[HeartbeatReply](ctx, c, request{method: http.MethodPost, path: "/v1/nodes/" + p + "/heartbeat", body: hb, header: c.nodeHeader(nodeID)})
}

// Lease asks for a job to run, waiting up to wait for one (POST /v1/nodes/{id}/lease, a long
// poll; the master caps wait at 30 s). It returns nil and no error when no job came. The
// request may take wait plus 15 s before the Client's timeout ends it; cancelling ctx ends
// it at once. A Client of several masters asks the next master when the long poll breaks
// mid-wait (a job a lost answer carried goes back to the queue when its lease expires).
func (c *Client) Lease(ctx context.Context, nodeID string, wait time.Duration) (*Lease, error) {
	p, err := pathSegment("node ID", nodeID)
	if err != nil {
		return nil, err
	}
	wait = max(wait, 0)
	r := request{method: http.MethodPost, path: "/v1/nodes/" + p + "/lease", body: LeaseRequest{Wait: Duration(wait)}, header: c.nodeHeader(nodeID),
		repeatable: true}
	if c.timeout > 0 {
		r.timeout = max(c.timeout, wait+leaseSlack)
	}
	var lease Lease
	status, err := c.do(ctx, r, &lease)
	if err != nil {
		return nil, err
	}
	if status == http.StatusNoContent {
		return nil, nil
	}
	return &lease, nil
}

// ReportProgress sends a running job's progress, warnings and log lines
// (POST /v1/jobs/{id}/progress). A reply with Cancel set means: stop the job.
func (c *Client) ReportProgress(ctx context.Context, jobID string, rep ProgressReport) (*ProgressReply, error) {
	p, err := pathSegment("job ID", jobID)
	if err != nil {
		return nil, err
	}
	return doJSON[ProgressReply](ctx, c, request{method: http.MethodPost, path: "/v1/jobs/" + p + "/progress", body: rep, header: c.nodeHeader(rep.Node)})
}

// Complete reports that a job finished well (POST /v1/jobs/{id}/complete).
func (c *Client) Complete(ctx context.Context, jobID string, rep CompleteReport) (*Job, error) {
	return c.nodeJobAction(ctx, jobID, "complete", rep.Node, rep)
}

// Fail reports that a job failed (POST /v1/jobs/{id}/fail); the master retries it when
// rep.Error.Transient is set and retries are left.
func (c *Client) Fail(ctx context.Context, jobID string, rep FailReport) (*Job, error) {
	return c.nodeJobAction(ctx, jobID, "fail", rep.Node, rep)
}

// ---- operations ----

// Health reports whether the master process answers (GET /healthz).
func (c *Client) Health(ctx context.Context) error {
	_, err := c.do(ctx, request{method: http.MethodGet, path: "/healthz"}, nil)
	return err
}

// Ready reports whether the master takes work: storage open, not draining (GET /readyz).
func (c *Client) Ready(ctx context.Context) error {
	_, err := c.do(ctx, request{method: http.MethodGet, path: "/readyz"}, nil)
	return err
}

// OpenAPI returns the master's OpenAPI document (GET /v1/openapi.json).
func (c *Client) OpenAPI(ctx context.Context) ([]byte, error) {
	var doc json.RawMessage
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/v1/openapi.json"}, &doc); err != nil {
		return nil, err
	}
	return doc, nil
}

// Backup streams a consistent copy of the master's database (a bbolt file) into w
// (GET /v1/backup) and returns the bytes written. The Client's timeout bounds silence, not the
// whole download; ctx bounds the whole. On error, w may hold a partial file.
func (c *Client) Backup(ctx context.Context, w io.Writer) (int64, error) {
	var n int64
	err := c.send(ctx, request{method: http.MethodGet, path: "/v1/backup", stream: true, accept: "application/octet-stream"},
		func(x *exchange) error {
			if !success(x.resp.StatusCode) {
				return errorFromResponse(x.resp)
			}
			// Once bytes are in w, a broken download is the caller's to repeat: it is not
			// marked broken, so it never goes on to another master.
			body := &idleReader{r: x.resp.Body, timer: x.timer, timeout: x.timeout}
			var err error
			n, err = io.Copy(w, body)
			switch {
			case body.err != nil:
				return x.fail(fmt.Sprintf("read backup after %d bytes", n), body.err)
			case err != nil:
				return x.fail(fmt.Sprintf("write backup after %d bytes", n), err)
			}
			return nil
		})
	return n, err
}

// idleReader pushes the request's timer back on every read, so the timeout measures silence.
type idleReader struct {
	r       io.Reader
	timer   *time.Timer
	timeout time.Duration
	err     error // the last read error other than io.EOF
}

func (r *idleReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 && r.timer != nil {
		r.timer.Reset(r.timeout)
	}
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}

// ---- plumbing ----

// request is one call to the master.
type request struct {
	method string
	path   string // escaped, from the root of the base URL
	query  url.Values
	body   any // JSON-encoded when non-nil
	// raw is a body of bytes sent as is, as rawType (a backup), instead of body.
	raw     []byte
	rawType string
	header  http.Header
	accept  string // default application/json
	// timeout replaces the Client's when non-zero.
	timeout time.Duration
	// stream makes the timeout bound silence instead of the whole exchange (the caller
	// resets exchange.timer as data arrives).
	stream bool
	// repeatable marks a POST that is safe to send again after its exchange broke (a lease
	// long poll); GET, HEAD and requests with an Idempotency-Key are so anyway.
	repeatable bool
}

// exchange is a request in flight: its context, timer and response.
type exchange struct {
	method, url string
	timeout     time.Duration
	stream      bool
	ctx         context.Context
	cancel      context.CancelCauseFunc
	timer       *time.Timer // nil without a timeout
	resp        *http.Response
}

// errClientTimeout is the cause an exchange's context ends with when the Client's timeout
// (rather than the caller) ends it.
var errClientTimeout = errors.New("client timeout")

func (r request) url(base string) string {
	s := base + r.path
	if len(r.query) > 0 {
		s += "?" + r.query.Encode()
	}
	return s
}

// exchange sends r, its body already encoded, to the master at base and returns the exchange
// with its response headers read; the caller closes it. reached, when not nil, learns whether
// a connection to the master was made (the request may have reached it).
func (c *Client) exchange(ctx context.Context, base string, r request, body []byte, reached *atomic.Bool) (*exchange, error) {
	x := &exchange{method: r.method, url: r.url(base), timeout: c.timeout, stream: r.stream}
	if r.timeout != 0 {
		x.timeout = r.timeout
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	x.ctx, x.cancel = context.WithCancelCause(ctx)
	reqCtx := x.ctx
	if reached != nil {
		reqCtx = httptrace.WithClientTrace(reqCtx, &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { reached.Store(true) }})
	}
	req, err := http.NewRequestWithContext(reqCtx, r.method, x.url, rd)
	if err != nil {
		x.cancel(nil)
		return nil, fmt.Errorf("%s %s: %w", x.method, x.url, err)
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	accept := r.accept
	if accept == "" {
		accept = "application/json"
	}
	req.Header.Set("Accept", accept)
	if rd != nil {
		ct := "application/json"
		if r.rawType != "" {
			ct = r.rawType
		}
		req.Header.Set("Content-Type", ct)
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	if c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	if x.timeout > 0 {
		x.timer = time.AfterFunc(x.timeout, func() { x.cancel(errClientTimeout) })
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		// url.Error repeats the method and URL; keep only what went wrong.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		ferr := x.fail("", err)
		x.close()
		return nil, ferr
	}
	x.resp = resp
	return x, nil
}

// close releases the exchange; the connection goes back to the pool when the answer was read
// to its end or is short.
func (x *exchange) close() {
	if x.timer != nil {
		x.timer.Stop()
	}
	if x.resp != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(x.resp.Body, maxErrorBytes))
		_ = x.resp.Body.Close()
	}
	x.cancel(nil)
}

// fail wraps err with the method and URL, and says so when the Client's own timeout ended the
// exchange (the transport then reports a bare "context canceled").
func (x *exchange) fail(what string, err error) error {
	if x.timedOut() {
		if x.stream {
			err = fmt.Errorf("no data for %s: %w", x.timeout, context.DeadlineExceeded)
		} else {
			err = fmt.Errorf("no answer within %s: %w", x.timeout, context.DeadlineExceeded)
		}
	}
	if what != "" {
		return fmt.Errorf("%s %s: %s: %w", x.method, x.url, what, err)
	}
	return fmt.Errorf("%s %s: %w", x.method, x.url, err)
}

// timedOut reports whether the Client's timeout, not the caller, ended the exchange.
func (x *exchange) timedOut() bool { return errors.Is(context.Cause(x.ctx), errClientTimeout) }

// do sends r and decodes a 2xx answer with a body into out (when non-nil). It returns the
// answer's status.
func (c *Client) do(ctx context.Context, r request, out any) (int, error) {
	var status int
	err := c.send(ctx, r, func(x *exchange) error {
		status = x.resp.StatusCode
		if !success(status) {
			return errorFromResponse(x.resp)
		}
		if out == nil || status == http.StatusNoContent {
			return nil
		}
		b, err := io.ReadAll(io.LimitReader(x.resp.Body, maxResponseBytes+1))
		if err != nil {
			return &brokenError{x.fail("", fmt.Errorf("read answer: %w", err))}
		}
		if err := decodeJSON(x.resp, b, out); err != nil {
			return x.fail("", err)
		}
		return nil
	})
	return status, err
}

// doJSON is do for routes that always answer with a body.
func doJSON[T any](ctx context.Context, c *Client, r request) (*T, error) {
	var out T
	status, err := c.do(ctx, r, &out)
	if err != nil {
		return nil, err
	}
	if status == http.StatusNoContent {
		return nil, fmt.Errorf("%s %s: answer 204 No Content, want a JSON body", r.method, r.url(c.Master()))
	}
	return &out, nil
}

func success(status int) bool { return status >= 200 && status <= 299 }

// decodeJSON decodes b, resp's body, into out. Unknown fields are accepted: a newer master
// may send more than this client knows.
func decodeJSON(resp *http.Response, b []byte, out any) error {
	if len(b) > maxResponseBytes {
		return fmt.Errorf("answer larger than %d MiB", maxResponseBytes>>20)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return fmt.Errorf("empty answer (%d), want JSON", resp.StatusCode)
	}
	if err := json.Unmarshal(b, out); err != nil {
		ct := resp.Header.Get("Content-Type")
		if mt, _, _ := mime.ParseMediaType(ct); mt != "application/json" && ct != "" {
			return fmt.Errorf("decode answer (Content-Type %s): %w", ct, err)
		}
		return fmt.Errorf("decode answer: %w", err)
	}
	return nil
}

// pathSegment escapes id for use as one path segment, refusing values the router would
// resolve to another route.
func pathSegment(kind, id string) (string, error) {
	switch id {
	case "":
		return "", fmt.Errorf("%s is empty", kind)
	case ".", "..":
		return "", fmt.Errorf("%s %q cannot be used in a URL path", kind, id)
	}
	return url.PathEscape(id), nil
}

// errorFromResponse turns a non-2xx answer into an *Error: the master's own error body when it
// sent one, otherwise a code derived from the status and the start of the body as message.
func errorFromResponse(resp *http.Response) *Error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes))
	e := decodeError(resp.StatusCode, b)
	e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	return e
}

func decodeError(status int, body []byte) *Error {
	var eb ErrorBody
	if json.Unmarshal(body, &eb) == nil && eb.Error != nil && (eb.Error.Code != "" || eb.Error.Message != "") {
		e := eb.Error
		e.Status = status
		if e.Code == "" {
			e.Code = codeForStatus(status)
		}
		return e
	}
	return &Error{Status: status, Code: codeForStatus(status), Message: bodySnippet(status, body)}
}

// codeForStatus names an answer without an error body, usually one from a proxy in front of
// the master. 502 and 504 count as unavailable: the proxy could not reach the master.
func codeForStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return CodeBadRequest
	case http.StatusUnauthorized:
		return CodeUnauthorized
	case http.StatusForbidden:
		return CodeForbidden
	case http.StatusNotFound:
		return CodeNotFound
	case http.StatusMethodNotAllowed:
		return CodeMethodNotAllowed
	case http.StatusConflict:
		return CodeConflict
	case http.StatusRequestEntityTooLarge:
		return CodeTooLarge
	case http.StatusTooManyRequests:
		return CodeRateLimited
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return CodeUnavailable
	}
	return CodeInternal
}

func bodySnippet(status int, body []byte) string {
	if len(body) > maxErrorMessage {
		body = body[:maxErrorMessage]
		// Drop a rune the cut split in two rather than showing it as U+FFFD.
		for i := 0; i < utf8.UTFMax-1 && len(body) > 0; i++ {
			if r, size := utf8.DecodeLastRune(body); r != utf8.RuneError || size != 1 {
				break
			}
			body = body[:len(body)-1]
		}
	}
	msg := strings.TrimSpace(strings.ToValidUTF8(string(body), "\uFFFD"))
	if msg == "" {
		msg = http.StatusText(status)
	}
	if msg == "" {
		msg = "HTTP " + strconv.Itoa(status)
	}
	return msg
}

// parseRetryAfter reads a Retry-After header: seconds or an HTTP date. Zero when absent or
// unreadable.
func parseRetryAfter(v string, now time.Time) int {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0
		}
		return int(min(n, math.MaxInt32))
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	d := t.Sub(now)
	if d <= 0 {
		return 0
	}
	return int(min(math.Ceil(d.Seconds()), math.MaxInt32))
}
