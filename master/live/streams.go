// Package live is the master's live streams: the stream resources (with their keys), the
// ingests' questions (who may publish, who may play) and news (publishers starting,
// leaving, coming back), the session each publish starts and the live job that transcodes
// it, which the farm's job service runs.
package live

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/master/auth"
	"github.com/ffrtmp/ffrtmp/master/catalog"
	"github.com/ffrtmp/ffrtmp/master/farm"
	"github.com/ffrtmp/ffrtmp/master/fault"
	"github.com/ffrtmp/ffrtmp/master/store"
)

// Jobs is what live streams need of the farm's job service (farm.Service): a session's
// live job is submitted, read and canceled there.
type Jobs interface {
	// SubmitTuned stores a queued job for c from req, tune shaping the resolved job, outside
	// the submit quotas (the stream quota bounds live jobs).
	SubmitTuned(ctx context.Context, c farm.Caller, req api.JobRequest, tune func(*api.Job)) (api.Job, error)
	// Get returns job id as c sees it; a job that is not there is a *fault.NotFoundError.
	Get(ctx context.Context, c farm.Caller, id string) (api.Job, error)
	// Abandon cancels job id for why unless it ended (or, onlyWaiting, a node took it).
	Abandon(ctx context.Context, id, why string, onlyWaiting bool) error
	// PresetsOf finds the presets tenant may use.
	PresetsOf(tenant string) catalog.PresetSource
	// HLSBaseURL is where the node running job id serves HLS ("" none).
	HLSBaseURL(jobID string) string
}

// StreamStore is where streams are kept (store.Store).
type StreamStore interface {
	Streams(ctx context.Context) ([]store.StreamRecord, error)
	GetStream(ctx context.Context, id string) (store.StreamRecord, error)
	StreamByKey(ctx context.Context, keyHash []byte) (store.StreamRecord, error)
	CreateStream(ctx context.Context, r store.StreamRecord) error
	UpdateStream(ctx context.Context, id string, fn func(*store.StreamRecord) error) (store.StreamRecord, error)
	DeleteStream(ctx context.Context, id string) error
}

// Config tunes live streams. Zero fields take the defaults in brackets.
type Config struct {
	// Grace is how long a stream whose publisher left stays live: a reconnect within it
	// continues the same job [10s].
	Grace time.Duration
	// Stale is how long a connected publisher may send nothing before the stream shows as
	// stale [5m].
	Stale time.Duration
	// Poll is how often the ingest's byte counters are sampled for the stale check [5s].
	Poll time.Duration

	// IngestPort is the RTMP ingest's port; 0: the master runs no ingest (streams can be
	// managed, but nobody can publish).
	IngestPort int
	// IngestTLS: the ingest speaks RTMPS.
	IngestTLS bool
	// IngestHost is the host publishers reach the ingest at [localhost].
	IngestHost string
	// RelayHost is the host workers play live streams from [127.0.0.1].
	RelayHost string
	// IngestURL is the public address of standalone ingests (ffrtmp ingest),
	// rtmp(s)://host:port: publishers are told to push to it (IngestURL + "/live/"), whether
	// or not the master runs an ingest itself. Empty: the master's own ingest.
	IngestURL string
	// Stats reports a connected publisher's counters (the master's own ingest's view); nil:
	// none known. Streams that came through a standalone ingest use the counters it reports.
	Stats func(streamID string) (IngestStats, bool)
	// IngestSilence is how long a standalone ingest may report nothing of a connected stream
	// (it sends stats every few seconds) before the stream is taken as left, its grace
	// starting: the ingest stopped or cannot reach the master [30s].
	IngestSilence time.Duration
	// Tenants returns a tenant's quotas (max_streams); nil: no quotas.
	Tenants func(name string) auth.Tenant

	// OnChange is told of a stream's change (created, key rotated, publisher come or gone,
	// live job started, idle, stale, and every Poll while connected, for its bitrate) with
	// the stream as the API shows it, ingest URL included, without its key; OnDelete of its
	// deletion. Either may be nil.
	OnChange func(st api.Stream)
	OnDelete func(id, tenant string)

	Logger *slog.Logger
}

// IngestStats is what the ingest counts of a connected publisher.
type IngestStats struct {
	Bytes      int64
	BitrateBPS float64
}

func (c *Config) defaults() {
	if c.Grace <= 0 {
		c.Grace = 10 * time.Second
	}
	if c.Stale <= 0 {
		c.Stale = 5 * time.Minute
	}
	if c.Poll <= 0 {
		c.Poll = 5 * time.Second
	}
	if c.IngestSilence <= 0 {
		c.IngestSilence = 30 * time.Second
	}
	if c.RelayHost == "" {
		c.RelayHost = "127.0.0.1"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Streams manages live streams: the API resources (stored with their key hashed), the
// ingest's questions (who may publish, who may play) and the live jobs publishes start.
//
// A stream is live while its publisher is connected and for the grace after it leaves; a
// publisher that comes back within the grace continues the same job. After the grace the
// stream is idle: a job that never started is canceled, and its play token stops working.
type Streams struct {
	cfg  Config
	jobs Jobs
	st   StreamStore
	log  *slog.Logger

	// op serialises the changes of stream sessions (publish, leave, grace end, rotate,
	// delete): each reads the stored stream, decides, and writes.
	op sync.Mutex

	mu   sync.Mutex // guards live and the liveStreams in it, grants and counts
	live map[string]*liveStream
	// counts are the stored streams per tenant, for the max_streams quota (a stream being
	// created counts from its reservation).
	counts map[string]int
	// grants are the publishes the master admitted for standalone ingests, by session,
	// until their published event comes (see GrantPublish).
	grants map[string]publishGrant
	wake   chan struct{} // a grace deadline was set

	base   context.Context // ends when Run ends: the ingest's callbacks have no context
	cancel context.CancelFunc
}

// liveStream is what memory knows of a stream with a session (connected or in its grace).
type liveStream struct {
	connected  bool
	graceUntil time.Time // when the grace ends (not connected)
	lastBytes  int64
	lastData   time.Time // last time the byte count moved (or the connect)

	// relay is the standalone ingest the publisher came through (rtmp(s)://host:port, where
	// the session's job plays from); "" for the master's own ingest.
	relay string
	// session is the publish's session, issued by the master with its admission ("" for
	// the master's own ingest); ingest is the name of the API key of the ingest it came
	// through. Only that ingest's news of that session counts.
	session string
	ingest  string
	// remote is what that ingest last reported of the publisher (remoteOK: once it did);
	// lastReport is when it last said anything of the stream.
	remote     IngestStats
	remoteOK   bool
	lastReport time.Time
}

// New loads the streams of st, whose live jobs run on jobs. Streams whose session was cut by
// a master restart get a grace period from now, as if the publisher had just left.
func New(ctx context.Context, jobs Jobs, st StreamStore, cfg Config) (*Streams, error) {
	cfg.defaults()
	if cfg.IngestURL != "" {
		u, err := api.CheckRTMPBase(cfg.IngestURL)
		if err != nil {
			return nil, fmt.Errorf("ingest URL: %w", err)
		}
		cfg.IngestURL = u
	}
	base, cancel := context.WithCancel(context.Background())
	s := &Streams{cfg: cfg, jobs: jobs, st: st, log: cfg.Logger, live: map[string]*liveStream{}, counts: map[string]int{},
		grants: map[string]publishGrant{}, wake: make(chan struct{}, 1), base: base, cancel: cancel}
	recs, err := s.st.Streams(ctx)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("load streams: %w", err)
	}
	now := time.Now()
	for _, r := range recs {
		s.counts[streamTenant(r.Stream)]++
		if r.Stream.JobID != "" || len(r.PlayTokenHash) > 0 {
			s.live[r.Stream.ID] = &liveStream{graceUntil: now.Add(cfg.Grace)}
		}
	}
	return s, nil
}

// Run ends grace periods and samples the ingest's counters until ctx ends.
func (s *Streams) Run(ctx context.Context) error {
	defer s.cancel()
	poll := time.NewTicker(s.cfg.Poll)
	defer poll.Stop()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next := s.expire(ctx, time.Now())
		d := time.Hour
		if !next.IsZero() {
			d = max(time.Until(next), time.Millisecond)
		}
		timer.Reset(d)
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		case <-timer.C:
		case <-poll.C:
			s.sample(time.Now())
		}
	}
}

// ---- the API ----

var streamNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Stream key and play token length in random bytes.
const secretBytes = 32

func newSecret() (secret string, hash []byte, err error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("random secret: %w", err)
	}
	secret = base64.RawURLEncoding.EncodeToString(b)
	return secret, hashSecret(secret), nil
}

func hashSecret(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// streamTenant is the tenant that owns st: streams stored before tenants are the default's.
func streamTenant(st api.Stream) string {
	if st.Tenant == "" {
		return api.DefaultTenant
	}
	return st.Tenant
}

// reserveStream holds one of tenant's max_streams places; release it if the stream is not
// stored.
func (s *Streams) reserveStream(tenant string) (release func(), err error) {
	q := auth.Tenant{Name: tenant}
	if s.cfg.Tenants != nil {
		q = s.cfg.Tenants(tenant)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.counts[tenant]; q.MaxStreams > 0 && n >= q.MaxStreams {
		return nil, &fault.QuotaError{Quota: "max_streams",
			Msg: fmt.Sprintf("tenant %s has %d live streams, its max_streams quota: delete one or ask an admin", tenant, n)}
	}
	s.counts[tenant]++
	return func() {
		s.mu.Lock()
		s.counts[tenant]--
		s.mu.Unlock()
	}, nil
}

// CreateStream validates req and stores a new stream, owned by the caller's tenant (or the
// one an admin names) within its max_streams quota. The answer carries the stream key,
// which is stored only as its hash and never shown again. Stream names are unique on the
// master whatever the tenant: they name the HLS folders.
func (s *Streams) CreateStream(ctx context.Context, c farm.Caller, req api.StreamRequest) (api.Stream, error) {
	tenant, aerr := c.Owner(req.Tenant)
	if aerr != nil {
		return api.Stream{}, aerr
	}
	st, aerr := s.checkRequest(req, tenant)
	if aerr != nil {
		return api.Stream{}, aerr
	}
	st.Tenant = tenant
	key, hash, err := newSecret()
	if err != nil {
		return api.Stream{}, err
	}
	release, aerr := s.reserveStream(tenant)
	if aerr != nil {
		return api.Stream{}, aerr
	}
	stored := false
	defer func() {
		if !stored {
			release()
		}
	}()
	now := time.Now().UTC()
	st.ID = store.NewID(now)
	st.CreatedAt, st.UpdatedAt = now, now
	rec := store.StreamRecord{Stream: st, KeyHash: hash}
	if err := s.st.CreateStream(ctx, rec); err != nil {
		if errors.Is(err, store.ErrNameTaken) {
			return api.Stream{}, &fault.ConflictError{Code: api.CodeConflict, Field: "name",
				Msg: fmt.Sprintf("a stream named %q exists: choose another name or delete it", st.Name)}
		}
		return api.Stream{}, fmt.Errorf("store stream: %w", err)
	}
	stored = true
	s.notify(rec)
	s.log.Info("stream created", "stream_id", st.ID, "stream", st.Name, "preset", st.Preset, "tenant", tenant)
	out := s.view(rec, now)
	out.StreamKey = key
	return out, nil
}

func (s *Streams) checkRequest(req api.StreamRequest, tenant string) (api.Stream, error) {
	presets := s.jobs.PresetsOf(tenant)
	st := api.Stream{Name: req.Name, Preset: req.Preset, HLS: true, Queue: req.Queue, SegmentType: req.SegmentType}
	if req.HLS != nil {
		st.HLS = *req.HLS
	}
	if !streamNameRe.MatchString(req.Name) {
		return st, fault.Invalid("name", "name %q: want 1..64 of A-Z, a-z, 0-9, '.', '_', '-', starting with a letter or digit", req.Name)
	}
	if st.Queue == "" {
		st.Queue = api.QueueLive
	}
	if !slices.Contains(api.Queues, st.Queue) {
		return st, fault.Invalid("queue", "queue %q: want one of %s", req.Queue, strings.Join(api.Queues, ", "))
	}
	if st.SegmentType != "" && st.SegmentType != spec.SegmentTS && st.SegmentType != spec.SegmentFMP4 {
		return st, fault.Invalid("segment_type", "segment_type %q: want %s or %s (empty: the preset's)", req.SegmentType, spec.SegmentTS, spec.SegmentFMP4)
	}
	if req.Preset == "" {
		return st, fault.Invalid("preset", "a stream needs a preset: GET /v1/presets lists them")
	}
	if _, ok := presets(req.Preset); !ok {
		return st, fault.Invalid("preset", "no preset %q: GET /v1/presets lists them", req.Preset)
	}
	// Resolve the job a publish would start, so a preset that cannot take a live input
	// fails now rather than at the first publish.
	j, err := catalog.Resolve(catalog.LiveRequest(st, "rtmp://127.0.0.1/live/check?token=check"), presets, 0)
	if err != nil {
		return st, fault.Invalid("preset", "preset %q cannot run on a live stream: %s", req.Preset, fault.Reason(err))
	}
	if st.SegmentType != "" {
		catalog.TuneLive(&j, st, 0)
		if _, err := j.Spec.Normalize(); err != nil {
			return st, fault.Invalid("segment_type", "preset %q cannot stream in %s segments: %s", req.Preset, st.SegmentType, fault.Reason(err))
		}
	}
	if len(req.Destinations) > api.MaxStreamDestinations {
		return st, fault.Invalid("destinations", "%d destinations: at most %d", len(req.Destinations), api.MaxStreamDestinations)
	}
	for i, d := range req.Destinations {
		if err := checkDestination(d); err != "" {
			return st, fault.Invalid(fmt.Sprintf("destinations[%d]", i), "%s", err)
		}
		if slices.Contains(req.Destinations[:i], d) {
			return st, fault.Invalid(fmt.Sprintf("destinations[%d]", i), "%q is listed twice", d)
		}
	}
	st.Destinations = slices.Clone(req.Destinations)
	return st, nil
}

// checkDestination says what is wrong with a restream URL, or "".
func checkDestination(d string) string {
	if len(d) > 4096 {
		return "longer than 4096 bytes"
	}
	if strings.ContainsFunc(d, func(r rune) bool { return r < 0x20 || r == 0x7f || r == ' ' }) {
		return "contains spaces or control characters"
	}
	u, err := url.Parse(d)
	if err != nil {
		return fmt.Sprintf("%q is not a URL", d)
	}
	if sc := strings.ToLower(u.Scheme); sc != "rtmp" && sc != "rtmps" {
		return fmt.Sprintf("%q: want an rtmp:// or rtmps:// URL", d)
	}
	if u.Hostname() == "" {
		return fmt.Sprintf("%q has no host", d)
	}
	return ""
}

// ListStreams returns the streams c sees by name; tenant, when not empty, keeps one
// tenant's (admins).
func (s *Streams) ListStreams(ctx context.Context, c farm.Caller, tenant string) ([]api.Stream, error) {
	if tenant != "" && !c.Sees(tenant) {
		return nil, &fault.ForbiddenError{Field: "tenant",
			Msg: fmt.Sprintf("API key %q sees only tenant %q: only admin keys list other tenants", c.Name, c.TenantName())}
	}
	recs, err := s.st.Streams(ctx)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	out := make([]api.Stream, 0, len(recs))
	for _, r := range recs {
		if !c.Sees(r.Stream.Tenant) || (tenant != "" && streamTenant(r.Stream) != tenant) {
			continue
		}
		out = append(out, s.view(r, now))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Stream returns stream id with its live state; another tenant's is not found.
func (s *Streams) Stream(ctx context.Context, c farm.Caller, id string) (api.Stream, error) {
	r, err := s.st.GetStream(ctx, id)
	if err != nil {
		return api.Stream{}, storeErr(err, "stream", id)
	}
	if !c.Sees(r.Stream.Tenant) {
		return api.Stream{}, fault.NotFound("stream", id)
	}
	return s.view(r, time.Now()), nil
}

// RotateStreamKey gives stream id a new key; the old one stops working for new publishes at
// once. A connected publisher keeps its connection (it authenticated already).
func (s *Streams) RotateStreamKey(ctx context.Context, c farm.Caller, id string) (api.Stream, error) {
	key, hash, err := newSecret()
	if err != nil {
		return api.Stream{}, err
	}
	s.op.Lock()
	defer s.op.Unlock()
	now := time.Now().UTC()
	r, err := s.st.UpdateStream(ctx, id, func(r *store.StreamRecord) error {
		if !c.Sees(r.Stream.Tenant) {
			return store.ErrNotFound
		}
		r.KeyHash = hash
		r.Stream.UpdatedAt = now
		return nil
	})
	if err != nil {
		return api.Stream{}, storeErr(err, "stream", id)
	}
	s.notify(r)
	s.log.Info("stream key rotated", "stream_id", id, "stream", r.Stream.Name)
	out := s.view(r, now)
	out.StreamKey = key
	return out, nil
}

// DeleteStream removes stream id. A stream with a connected publisher is refused (409):
// the ingest cannot cut a publisher off, and a stream deleted under it would leave a
// publisher sending to nobody; rotate the key and stop the publisher first. A stream in its
// grace (publisher gone) is deleted and its live job canceled.
func (s *Streams) DeleteStream(ctx context.Context, c farm.Caller, id string) error {
	by := c.Name
	s.op.Lock()
	defer s.op.Unlock()
	r, err := s.st.GetStream(ctx, id)
	if err != nil {
		return storeErr(err, "stream", id)
	}
	if !c.Sees(r.Stream.Tenant) {
		return fault.NotFound("stream", id)
	}
	s.mu.Lock()
	ls := s.live[id]
	connected := ls != nil && ls.connected
	s.mu.Unlock()
	if connected {
		return fault.Conflict(api.CodeConflict, "stream %s has a publisher connected: stop it (rotate the key so it cannot come back) and delete again", id)
	}
	if r.Stream.JobID != "" {
		s.cancelJob(ctx, r.Stream.JobID, "stream "+r.Stream.Name+" deleted by "+by, false)
	}
	if err := s.st.DeleteStream(ctx, id); err != nil {
		return storeErr(err, "stream", id)
	}
	s.mu.Lock()
	delete(s.live, id)
	s.counts[streamTenant(r.Stream)]--
	s.mu.Unlock()
	if s.cfg.OnDelete != nil {
		s.cfg.OnDelete(id, streamTenant(r.Stream))
	}
	s.log.Info("stream deleted", "stream_id", id, "stream", r.Stream.Name, "by", by)
	return nil
}

// IngestURL is where publishers push to (the key follows it): the standalone ingests'
// address when one is configured, else the master's own ingest at IngestHost; empty when
// there is no ingest. It never depends on a request: a Host header is the client's to set.
func (s *Streams) IngestURL() string {
	if s.cfg.IngestURL != "" {
		return s.cfg.IngestURL + "/" + api.LiveApp + "/"
	}
	if s.cfg.IngestPort == 0 {
		return ""
	}
	host := strings.Trim(s.cfg.IngestHost, "[]")
	if host == "" {
		host = "localhost"
	}
	return fmt.Sprintf("%s://%s/%s/", s.scheme(), net.JoinHostPort(host, strconv.Itoa(s.cfg.IngestPort)), api.LiveApp)
}

func (s *Streams) scheme() string {
	if s.cfg.IngestTLS {
		return "rtmps"
	}
	return "rtmp"
}

// view is the API view of r: the stored part and what memory knows of its session.
func (s *Streams) view(r store.StreamRecord, now time.Time) api.Stream {
	v := r.Stream
	v.StreamKey = ""
	v.Destinations = slices.Clone(v.Destinations)
	v.State = api.StreamIdle
	s.mu.Lock()
	ls := s.live[v.ID]
	connected := ls != nil && ls.connected
	s.mu.Unlock()
	switch {
	case ls == nil:
		v.Input, v.LiveSince = nil, nil
	case !connected:
		v.State = api.StreamLive // in its grace
	default:
		v.State = api.StreamLive
		// The ingest is asked without s.mu held: it may be telling us news meanwhile.
		st, ok := s.stats(v.ID)
		s.mu.Lock()
		if ok {
			s.noteBytes(ls, st.Bytes, now)
		}
		if now.Sub(ls.lastData) > s.cfg.Stale {
			v.State = api.StreamStale
		}
		s.mu.Unlock()
		if ok && v.Input != nil {
			in := *v.Input
			in.Bitrate = st.BitrateBPS
			v.Input = &in
		}
	}
	if v.LiveSince != nil {
		v.UptimeSeconds = now.Sub(*v.LiveSince).Seconds()
	}
	if ls != nil {
		v.HLSURL = s.hlsURL(v)
	}
	if v.HLSURL != "" {
		v.PreviewURL = "/v1/streams/" + url.PathEscape(v.ID) + "/hls/master.m3u8"
	}
	return v
}

// HLSOrigin is the folder of stream id's live HLS for c, on the node its live job runs on
// (where hls_url points, without master.m3u8): the master's preview proxy fetches from it.
// Another tenant's stream is not found, and neither is the HLS of a stream that is not live,
// writes none, or whose node serves none.
func (s *Streams) HLSOrigin(ctx context.Context, c farm.Caller, id string) (*url.URL, error) {
	v, err := s.Stream(ctx, c, id)
	if err != nil {
		return nil, err
	}
	if v.HLSURL == "" {
		return nil, fault.NotFound("live HLS of stream", v.Name)
	}
	u, err := url.Parse(strings.TrimSuffix(v.HLSURL, "master.m3u8"))
	if err != nil {
		return nil, fmt.Errorf("stream %s: HLS URL %q: %w", id, v.HLSURL, err)
	}
	return u, nil
}

// hlsURL is where players open stream v's master playlist: on the node its live job is
// assigned to or running on, when that node serves HLS; "" otherwise.
func (s *Streams) hlsURL(v api.Stream) string {
	if !v.HLS || v.JobID == "" {
		return ""
	}
	base := s.jobs.HLSBaseURL(v.JobID)
	if base == "" {
		return ""
	}
	return strings.TrimSuffix(base, "/") + "/" + url.PathEscape(v.Name) + "/master.m3u8"
}

// stats is what the ingest of stream id's publisher counts: the figures a standalone ingest
// last reported, or the master's own ingest's.
func (s *Streams) stats(id string) (IngestStats, bool) {
	s.mu.Lock()
	if ls := s.live[id]; ls != nil && ls.relay != "" {
		st, ok := ls.remote, ls.remoteOK
		s.mu.Unlock()
		return st, ok
	}
	s.mu.Unlock()
	if s.cfg.Stats == nil {
		return IngestStats{}, false
	}
	return s.cfg.Stats(id)
}

// noteBytes moves ls's last-data time when the byte count moved. s.mu is held.
func (s *Streams) noteBytes(ls *liveStream, bytes int64, now time.Time) {
	if bytes != ls.lastBytes {
		ls.lastBytes, ls.lastData = bytes, now
	}
}

// sample reads the ingest's counters of every connected publisher, and takes the streams
// whose standalone ingest went silent as left.
func (s *Streams) sample(now time.Time) {
	s.mu.Lock()
	ids := make([]string, 0, len(s.live))
	var silent []string
	for id, ls := range s.live {
		switch {
		case !ls.connected:
		case ls.relay != "" && now.Sub(ls.lastReport) > s.cfg.IngestSilence:
			silent = append(silent, id)
		default:
			ids = append(ids, id)
		}
	}
	s.mu.Unlock()
	for _, id := range silent {
		if s.leave(id, func(ls *liveStream) bool { return ls.relay != "" && now.Sub(ls.lastReport) > s.cfg.IngestSilence }, 0) {
			s.log.Warn("the stream's ingest reported nothing for a while: its publisher is taken as gone", "stream_id", id,
				"silence", s.cfg.IngestSilence)
		}
	}
	for _, id := range ids {
		if st, ok := s.stats(id); ok {
			s.mu.Lock()
			if ls := s.live[id]; ls != nil && ls.connected {
				s.noteBytes(ls, st.Bytes, now)
			}
			s.mu.Unlock()
		}
		s.changed(s.base, id) // its bitrate, and whether it went stale
	}
}

// changed tells Config.OnChange of stream id as it is now.
func (s *Streams) changed(ctx context.Context, id string) {
	if s.cfg.OnChange == nil {
		return
	}
	r, err := s.st.GetStream(ctx, id)
	if err != nil {
		return // deleted meanwhile: OnDelete said so
	}
	s.notify(r)
}

// notify tells Config.OnChange of stream r, as the API shows it.
func (s *Streams) notify(r store.StreamRecord) {
	if s.cfg.OnChange == nil {
		return
	}
	v := s.view(r, time.Now())
	v.IngestURL = s.IngestURL()
	s.cfg.OnChange(v)
}

// ---- the ingest's questions and news ----

// ErrPublishRefused and ErrPlayRefused are the ingest's refusals. They never say which part
// of a secret was wrong.
var (
	ErrPublishRefused = errors.New("unknown stream key")
	ErrPlayRefused    = errors.New("play refused: unknown stream or wrong token")
)

// PublishedElsewhereError refuses a publisher whose stream is live through another ingest:
// one publisher per stream, across ingests too.
type PublishedElsewhereError struct {
	StreamID string
	Relay    string // the ingest it is live on; "" for the master's own
}

func (e *PublishedElsewhereError) Error() string {
	where := "the master's own ingest"
	if e.Relay != "" {
		where = "the ingest at " + e.Relay
	}
	return fmt.Sprintf("stream %s is live through %s: one publisher per stream", e.StreamID, where)
}

// AuthorizePublish returns the ID of the stream whose key is key, for the master's own
// ingest. The lookup goes through the key's SHA-256 (an index hit, whatever the number of
// streams), and the stored hash is compared in constant time.
func (s *Streams) AuthorizePublish(ctx context.Context, key string) (string, error) {
	return s.AuthorizePublishAt(ctx, key, "")
}

// AuthorizePublishAt is AuthorizePublish for the ingest whose relay is relay ("" for the
// master's own): a stream live through another ingest is refused with a
// *PublishedElsewhereError (the ingest itself refuses a second publisher of a stream it has).
func (s *Streams) AuthorizePublishAt(ctx context.Context, key, relay string) (string, error) {
	id, err := s.streamByKey(ctx, key)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	ls := s.live[id]
	elsewhere := ls != nil && ls.connected && ls.relay != relay
	var other string
	if elsewhere {
		other = ls.relay
	}
	s.mu.Unlock()
	if elsewhere {
		return "", &PublishedElsewhereError{StreamID: id, Relay: other}
	}
	return id, nil
}

func (s *Streams) streamByKey(ctx context.Context, key string) (string, error) {
	if key == "" || len(key) > 1024 {
		return "", ErrPublishRefused
	}
	h := hashSecret(key)
	r, err := s.st.StreamByKey(ctx, h)
	if errors.Is(err, store.ErrNotFound) {
		return "", ErrPublishRefused
	}
	if err != nil {
		return "", fmt.Errorf("look up stream key: %w", err)
	}
	if subtle.ConstantTimeCompare(r.KeyHash, h) != 1 {
		return "", ErrPublishRefused
	}
	return r.Stream.ID, nil
}

// AuthorizePlay admits a player of stream id holding the play token of its current live
// job (the token is in the job's input URL).
func (s *Streams) AuthorizePlay(ctx context.Context, id, token string) error {
	if id == "" || token == "" || len(token) > 1024 {
		return ErrPlayRefused
	}
	r, err := s.st.GetStream(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return ErrPlayRefused
	}
	if err != nil {
		return fmt.Errorf("look up stream: %w", err)
	}
	if len(r.PlayTokenHash) == 0 || subtle.ConstantTimeCompare(r.PlayTokenHash, hashSecret(token)) != 1 {
		return ErrPlayRefused
	}
	return nil
}

// Published is the ingest's news that stream id's publisher started. A publisher coming
// back within the grace continues the stream's job when the job has not started; otherwise
// a new session starts: a new play token and a new job in the stream's queue that reads the
// ingest's relay (a job the last session started ends with its input, one that waits is
// canceled).
func (s *Streams) Published(id string, in api.StreamInput) { s.published(id, in, false, "", "", "") }

// Continued is the ingest's news that a publisher of stream id came back within the grace
// and the ingest continued its input: the job's player goes on with the new publisher's
// data, so the job (running or not) continues.
func (s *Streams) Continued(id string, in api.StreamInput) { s.published(id, in, true, "", "", "") }

// published starts or continues stream id's session for a publisher that came through the
// ingest whose relay is relay ("" for the master's own) and whose API key is named ingest.
// A job waiting or continued resumes only when it plays from that ingest. A session ("" none)
// that is connected already is news applied before: it is ignored.
func (s *Streams) published(id string, in api.StreamInput, continued bool, relay, session, ingest string) {
	ctx, cancel := context.WithTimeout(s.base, 30*time.Second)
	defer cancel()
	s.op.Lock()
	defer s.op.Unlock()
	if s.connectedAlready(id, relay, session) {
		s.log.Debug("publish news repeated by the ingest: already applied", "stream_id", id, "relay", relay)
		return
	}
	p := publish{id: id, in: in, continued: continued, relay: relay, session: session, ingest: ingest, now: time.Now().UTC()}
	p.in.Bitrate = 0 // measured live, not stored
	r, err := s.st.GetStream(ctx, id)
	if err != nil {
		s.log.Error("publish of a stream that cannot be read", "stream_id", id, "err", err)
		return
	}
	log := s.log.With("stream_id", id, "stream", r.Stream.Name)

	jobID, job, going := s.sessionJob(ctx, r.Stream, continued)
	if s.connect(p, job, going) {
		s.resumeSession(ctx, log, p, jobID)
		return
	}
	if going && r.Stream.JobID != "" {
		// The ingest ended the job's input (other tracks, or it restarted): the job ends with
		// it, or is canceled if it waits; the new session gets a new job.
		s.cancelJob(ctx, r.Stream.JobID, "stream "+r.Stream.Name+": the publisher came back with an input the job cannot continue", true)
	}
	s.startSession(ctx, log, p)
}

// publish is a publisher's start as published applies it.
type publish struct {
	id        string
	in        api.StreamInput
	continued bool   // the ingest continued the input it held
	relay     string // the ingest's relay; "" for the master's own
	session   string // the publish's session; "" for the master's own ingest
	ingest    string // the name of the ingest's API key
	now       time.Time
}

// connectedAlready reports whether stream id's publisher is connected through relay in
// session already (never for session "").
func (s *Streams) connectedAlready(id, relay, session string) bool {
	if session == "" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ls := s.live[id]
	return ls != nil && ls.connected && ls.relay == relay && ls.session == session
}

// sessionJob is the job a publisher of stream st may continue (its ID, and the job when it
// has not ended: going).
func (s *Streams) sessionJob(ctx context.Context, st api.Stream, continued bool) (jobID string, job api.Job, going bool) {
	// The ingest continues a held input as long as its own grace, which started before this
	// one: a continued publisher may come back just after this grace ended the session (the
	// publisher's tracks take a moment to read). Its job is then the last one.
	jobID = st.JobID
	if jobID == "" && continued {
		jobID = st.LastJobID
	}
	if jobID == "" {
		return "", api.Job{}, false
	}
	j, err := s.jobs.Get(ctx, farm.Admin("live"), jobID)
	if err != nil || j.Status.Terminal() {
		return jobID, api.Job{}, false
	}
	return jobID, j, true
}

// connect marks p's publisher connected (a fresh live state: no grace, no bytes, no report
// of the ingest yet) and reports whether the job, when going, resumes: it does when the
// ingest continued its input, or when it waits and the stream was live (in its grace), and
// only when it plays from p's ingest.
func (s *Streams) connect(p publish, job api.Job, going bool) (resume bool) {
	waiting := going && (job.Status == api.StatusQueued || job.Status == api.StatusRetrying)
	s.mu.Lock()
	defer s.mu.Unlock()
	ls := s.live[p.id]
	resume = going && (p.continued || (ls != nil && waiting)) && s.readsFrom(job, p.relay)
	if ls == nil {
		ls = &liveStream{}
		s.live[p.id] = ls
	}
	ls.connected, ls.graceUntil, ls.lastData, ls.lastBytes = true, time.Time{}, p.now, 0
	ls.relay, ls.session, ls.remote, ls.remoteOK, ls.lastReport = p.relay, p.session, IngestStats{}, false, p.now
	ls.ingest = p.ingest
	return resume
}

// resumeSession gives the publisher back within the grace the stream's job jobID: the stream
// takes the new input (and the job again, if the session had ended).
func (s *Streams) resumeSession(ctx context.Context, log *slog.Logger, p publish, jobID string) {
	r, err := s.st.UpdateStream(ctx, p.id, func(r *store.StreamRecord) error {
		if r.Stream.JobID == "" { // the session had ended: it is back
			r.Stream.JobID, r.Stream.LiveSince = jobID, &p.now
		}
		r.Stream.Input, r.Stream.UpdatedAt = &p.in, p.now
		r.Ingest = p.ingest
		return nil
	})
	if err != nil {
		log.Warn("store the input of a resumed stream", "err", err)
	} else {
		s.notify(r)
	}
	log.Info("publisher back within the grace: the live job continues", "job_id", jobID, "remote", p.in.Remote,
		"continued_input", p.continued)
}

// startSession starts a new session of the stream for p: a new play token, and a new job in
// the stream's queue that plays the relay of p's ingest with it.
func (s *Streams) startSession(ctx context.Context, log *slog.Logger, p publish) {
	token, tokenHash, err := newSecret()
	if err != nil {
		log.Error("no play token for the live job", "err", err)
		return
	}
	// The token is stored before the job exists: a worker may lease the job and play the
	// relay the moment it is created.
	r, err := s.st.UpdateStream(ctx, p.id, func(r *store.StreamRecord) error {
		if r.Stream.JobID != "" {
			r.Stream.LastJobID = r.Stream.JobID
		}
		r.Stream.JobID, r.PlayTokenHash = "", tokenHash
		r.Stream.LiveSince, r.Stream.Input, r.Stream.UpdatedAt = &p.now, &p.in, p.now
		r.Ingest = p.ingest
		return nil
	})
	if err != nil {
		log.Error("store the start of a live session", "err", err)
		return
	}
	owner := farm.Caller{Name: "stream " + r.Stream.Name, Tenant: streamTenant(r.Stream)}
	job, err := s.jobs.SubmitTuned(ctx, owner, catalog.LiveRequest(r.Stream, s.relayURL(p.relay, p.id, token)), s.liveJob(r.Stream))
	if err != nil {
		log.Error("no live job for the stream: the publisher stays connected but nothing transcodes it", "err", err)
		return
	}
	r, err = s.st.UpdateStream(ctx, p.id, func(r *store.StreamRecord) error {
		r.Stream.JobID = job.ID
		return nil
	})
	if err != nil {
		log.Error("store the stream's live job", "job_id", job.ID, "err", err)
	} else {
		s.notify(r)
	}
	log.Info("stream live", "job_id", job.ID, "queue", job.Queue, "remote", p.in.Remote, "relay", s.relayBase(p.relay),
		"video", p.in.VideoCodec, "width", p.in.Width, "height", p.in.Height, "fps", p.in.FPS, "audio", p.in.AudioCodec)
}

// Unpublished is the master's own ingest's news that stream id's publisher left; its grace
// starts.
func (s *Streams) Unpublished(id string, bytes int64) {
	s.leave(id, func(ls *liveStream) bool { return ls.relay == "" }, bytes)
}

// leave starts stream id's grace when its publisher is connected and match (called with
// s.mu held) says the news is about that connection (it came through the same ingest). It
// reports whether the grace started.
func (s *Streams) leave(id string, match func(*liveStream) bool, bytes int64) bool {
	s.op.Lock()
	defer s.op.Unlock()
	s.mu.Lock()
	ls := s.live[id]
	if ls == nil || !ls.connected || !match(ls) {
		s.mu.Unlock()
		return false
	}
	ls.connected = false
	ls.graceUntil = time.Now().Add(s.cfg.Grace)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	s.changed(s.base, id)
	s.log.Info("publisher left: the stream stays live for the grace", "stream_id", id, "grace", s.cfg.Grace, "bytes", bytes)
	return true
}

// expire ends the sessions whose grace is over by now and returns the next grace end.
func (s *Streams) expire(ctx context.Context, now time.Time) (next time.Time) {
	s.mu.Lock()
	var due []string
	for id, ls := range s.live {
		switch {
		case ls.connected:
		case !ls.graceUntil.After(now):
			due = append(due, id)
		case next.IsZero() || ls.graceUntil.Before(next):
			next = ls.graceUntil
		}
	}
	s.mu.Unlock()
	for _, id := range due {
		s.endSession(ctx, id, now)
	}
	return next
}

// endSession makes stream id idle when its grace is still over: a job that never started
// is canceled (a running one ends with its input), and the play token stops working. The job
// is canceled before the stream shows idle, so nobody sees an idle stream with its job still
// waiting.
func (s *Streams) endSession(ctx context.Context, id string, now time.Time) {
	s.op.Lock()
	defer s.op.Unlock()
	s.mu.Lock()
	ls := s.live[id]
	if ls == nil || ls.connected || ls.graceUntil.After(now) {
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	if cur, err := s.st.GetStream(ctx, id); err == nil && cur.Stream.JobID != "" {
		s.cancelJob(ctx, cur.Stream.JobID, "stream "+cur.Stream.Name+": the publisher did not come back within the grace", true)
	}
	s.mu.Lock()
	delete(s.live, id)
	s.mu.Unlock()
	r, err := s.st.UpdateStream(ctx, id, func(r *store.StreamRecord) error {
		if r.Stream.JobID != "" {
			r.Stream.LastJobID = r.Stream.JobID
		}
		r.Stream.JobID, r.PlayTokenHash, r.Stream.LiveSince, r.Stream.Input = "", nil, nil, nil
		r.Stream.UpdatedAt = now.UTC()
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return
	}
	if err != nil {
		s.log.Error("store the end of a live session", "stream_id", id, "err", err)
		return
	}
	s.notify(r)
	s.log.Info("stream idle", "stream_id", id, "stream", r.Stream.Name, "last_job_id", r.Stream.LastJobID)
}

// cancelJob cancels job id; onlyWaiting keeps jobs a node took (they end with their input).
func (s *Streams) cancelJob(ctx context.Context, id, why string, onlyWaiting bool) {
	err := s.jobs.Abandon(ctx, id, why, onlyWaiting)
	if err != nil && !errors.Is(err, store.ErrNotFound) && !fault.IsNotFound(err) {
		s.log.Warn("cancel a stream's live job", "job_id", id, "err", err)
	}
}

// liveInputMargin is how much longer than the grace a live job waits on its input: the
// ingest holds the job's player without data for up to the grace while the publisher is
// away, then for the returning publisher's handshake and the 2 s of media its tracks are
// read from.
const liveInputMargin = 10 * time.Second

// liveJob tunes the live job of stream st: live HLS, a restream output per destination, and
// an input timeout past the grace, so a publisher who comes back continues the job.
func (s *Streams) liveJob(st api.Stream) func(*api.Job) {
	return func(j *api.Job) { catalog.TuneLive(j, st, s.cfg.Grace+liveInputMargin) }
}

// Grace is how long a stream stays live after its publisher left (the ingest holds the live
// job's input as long).
func (s *Streams) Grace() time.Duration { return s.cfg.Grace }

// relayBase is where workers play live streams from: the standalone ingest whose relay is
// relay, or ("") the master's own ingest.
func (s *Streams) relayBase(relay string) string {
	if relay != "" {
		return relay
	}
	return fmt.Sprintf("%s://%s", s.scheme(), net.JoinHostPort(s.cfg.RelayHost, strconv.Itoa(s.cfg.IngestPort)))
}

// relayURL is where a worker plays stream id from the ingest whose relay is relay ("" the
// master's own), with the session's token.
func (s *Streams) relayURL(relay, id, token string) string {
	return fmt.Sprintf("%s/%s/%s?token=%s", s.relayBase(relay), api.LiveApp, url.PathEscape(id), url.QueryEscape(token))
}

// readsFrom reports whether live job j plays its stream from the ingest whose relay is relay.
func (s *Streams) readsFrom(j api.Job, relay string) bool {
	return strings.HasPrefix(j.Input, s.relayBase(relay)+"/")
}

// storeErr turns store.ErrNotFound into a *fault.NotFoundError of what id and passes the
// rest on.
func storeErr(err error, what, id string) error {
	if errors.Is(err, store.ErrNotFound) {
		return fault.NotFound(what, id)
	}
	return err
}
