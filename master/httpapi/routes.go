package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gorilla/mux"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/auth"
	"github.com/ffrtmp/ffrtmp/master/farm"
	"github.com/ffrtmp/ffrtmp/master/store"
)

// table is every route the API serves, in the order the OpenAPI description lists them.
func (s *Server) table() []Route {
	listQuery := map[string]string{
		"status":         "job status; repeat or comma-separate for several",
		"queue":          "queue name",
		"node":           "node ID",
		"tenant":         "tenant (admin keys; a submitter sees only its own tenant's jobs)",
		"created_after":  "RFC 3339 time (inclusive)",
		"created_before": "RFC 3339 time (exclusive)",
		"text":           fmt.Sprintf("only jobs with this text in their ID, input, outputs, preset, scenario, node, error or labels (key=value), ignoring case; a whole job ID finds that job alone; at most %d bytes. A page that examines %d jobs without filling up ends there, with a next_cursor to go on from", store.MaxTextLen, store.MaxScan),
		"cursor":         "next_cursor of the previous page",
		"limit":          fmt.Sprintf("page size, 1..%d (default %d)", 1000, 50),
	}
	nodeSecret := map[string]string{api.NodeSecretHeader: "the calling node's secret, issued at its registration"}
	return []Route{
		{Method: "GET", Path: "/healthz", Name: "health", Summary: "Liveness: the process answers (no authentication).", Response: map[string]string{}, Status: 200, handler: s.health},
		{Method: "GET", Path: "/readyz", Name: "ready", Summary: "Readiness: the store is open and the master takes work.", Roles: anyRole, Response: map[string]string{}, Status: 200, handler: s.ready},
		{Method: "GET", Path: "/v1/openapi.json", Name: "openapi", Summary: "This API's OpenAPI 3 description.", Roles: anyRole, Response: map[string]any{}, Status: 200, handler: s.openapi},
		{Method: "POST", Path: "/v1/session", Name: "login", Summary: "Log in to the console with an API key (in the body; no other credentials): sets the " + api.SessionCookie + " cookie (HttpOnly, SameSite=Strict, Secure under TLS) that then stands for the key, and answers the CSRF token that state-changing requests with the cookie carry in " + api.CSRFHeader + ".",
			Request: api.SessionRequest{}, Response: api.SessionInfo{}, Status: 200, handler: s.createSession},
		{Method: "GET", Path: "/v1/session", Name: "getSession", Summary: "The console session of the " + api.SessionCookie + " cookie: its key's name, role and tenant, CSRF token and expiry (401 without a valid session).", Roles: anyRole, Response: api.SessionInfo{}, Status: 200, handler: s.session},
		{Method: "DELETE", Path: "/v1/session", Name: "logout", Summary: "Log out: the session's cookie is refused from now on, on every master, and cleared.", Roles: anyRole, Status: 204, handler: s.deleteSession},
		{Method: "GET", Path: "/v1/backup", Name: "backup", Summary: "A consistent hot copy of the bbolt database, streamed.", Roles: admins, Status: 200, Binary: "application/octet-stream", handler: s.backup},

		{Method: "GET", Path: "/v1/cluster", Name: "clusterStatus", Summary: "The replicated masters: members, leader, each member's applied index and last contact (a single master: clustered false, no members).", Roles: admins, Response: api.ClusterStatus{}, Status: 200, handler: s.clusterStatus},
		{Method: "POST", Path: "/v1/cluster/members", Name: "addClusterMember", Summary: "Add a master to the cluster (it runs with the same --cluster-* settings and no state of its own).", Roles: admins, Request: api.ClusterMemberRequest{}, Response: api.ClusterStatus{}, Status: 200, handler: s.addClusterMember},
		{Method: "POST", Path: "/v1/cluster/restore", Name: "restoreCluster", Summary: "Replace the whole farm's state, on every master of the cluster, with a database backup (the body: a file GET /v1/backup wrote, of any master).", Roles: admins, BinaryRequest: "application/octet-stream", Response: api.ClusterStatus{}, Status: 200, handler: s.restoreCluster},
		{Method: "DELETE", Path: "/v1/cluster/members/{id}", Name: "removeClusterMember", Summary: "Remove a master from the cluster.", Roles: admins, Response: api.ClusterStatus{}, Status: 200, handler: s.removeClusterMember},

		{Method: "POST", Path: "/v1/jobs", Name: "submitJob", Summary: "Submit a job (Idempotency-Key header: the same key returns the same job).", Roles: submitters, Request: api.JobRequest{}, Response: api.Job{}, Status: 201,
			Headers: map[string]string{"Idempotency-Key": "the same key (per API key) returns the same job"}, handler: s.submitJob},
		{Method: "GET", Path: "/v1/jobs", Name: "listJobs", Summary: "List jobs, newest first, with filters and cursor pagination.", Roles: submitters, Response: api.JobList{}, Status: 200, Query: listQuery, handler: s.listJobs},
		{Method: "GET", Path: "/v1/jobs/summary", Name: "jobSummary", Summary: "Exact job counts by status and by queue, and the jobs finished in each of the last 60 minutes, from the master's memory (cheap on any farm): a submitter's key counts its tenant's jobs, an admin's or a monitor's the whole farm's.", Roles: readers, Response: api.JobSummary{}, Status: 200,
			Query: map[string]string{"tenant": "count only this tenant's jobs (admin and monitor keys; a submitter counts only its own tenant's)"}, handler: s.jobSummary},
		{Method: "GET", Path: "/v1/jobs/{id}", Name: "getJob", Summary: "One job.", Roles: submitters, Response: api.Job{}, Status: 200, handler: s.getJob},
		{Method: "POST", Path: "/v1/jobs/{id}/cancel", Name: "cancelJob", Summary: "Cancel a job that has not finished.", Roles: submitters, Response: api.Job{}, Status: 200, handler: s.cancelJob},
		{Method: "POST", Path: "/v1/jobs/{id}/retry", Name: "retryJob", Summary: "Queue a failed or canceled job again.", Roles: submitters, Response: api.Job{}, Status: 200, handler: s.retryJob},
		{Method: "GET", Path: "/v1/jobs/{id}/events", Name: "jobEvents", Summary: "A job's history: state changes, progress samples, warnings, log lines.", Roles: submitters, Response: api.EventList{}, Status: 200,
			Query: map[string]string{"after": "return events with seq greater than this", "limit": "page size, 1..1000 (default 100)"}, handler: s.jobEvents},

		{Method: "GET", Path: "/v1/events", Name: "events", Summary: "Server-sent events of job, node and stream changes (text/event-stream), resumable with Last-Event-ID; a key sees its tenant's jobs and streams.", Roles: submitters, Status: 200, Binary: "text/event-stream",
			Query:   map[string]string{"types": "event types to send, comma-separated: job, node, stream (default all)", "last_event_id": "resume after this event ID (for EventSource reconnects; the Last-Event-ID header takes precedence)"},
			Headers: map[string]string{"Last-Event-ID": "resume after this event ID: missed events come first, or one reset event when they are no longer held"}, handler: s.events},

		{Method: "GET", Path: "/v1/presets", Name: "listPresets", Summary: "Built-in and stored ladder presets.", Roles: anyRole, Response: api.PresetList{}, Status: 200, handler: s.listPresets},
		{Method: "GET", Path: "/v1/presets/{name}", Name: "getPreset", Summary: "One preset.", Roles: anyRole, Response: api.Preset{}, Status: 200, handler: s.getPreset},
		{Method: "PUT", Path: "/v1/presets/{name}", Name: "putPreset", Summary: "Create or replace a preset (built-ins are read-only).", Roles: admins, Request: api.Preset{}, Response: api.Preset{}, Status: 200, Also: map[int]string{201: "created"}, SameBody: true, handler: s.putPreset},
		{Method: "DELETE", Path: "/v1/presets/{name}", Name: "deletePreset", Summary: "Delete a stored preset.", Roles: admins, Status: 204, handler: s.deletePreset},
		{Method: "GET", Path: "/v1/scenarios", Name: "listScenarios", Summary: "Built-in synthetic workloads.", Roles: anyRole, Response: api.ScenarioList{}, Status: 200, handler: s.listScenarios},

		{Method: "POST", Path: "/v1/streams", Name: "createStream", Summary: "Create a live stream; the answer carries its stream key, shown only here and on rotate-key.", Roles: submitters, Request: api.StreamRequest{}, Response: api.Stream{}, Status: 201, handler: s.createStream},
		{Method: "GET", Path: "/v1/streams", Name: "listStreams", Summary: "Live streams by name, with their state (idle, live, stale) and input.", Roles: submitters, Response: api.StreamList{}, Status: 200,
			Query: map[string]string{"tenant": "tenant (admin keys; a submitter sees only its own tenant's streams)"}, handler: s.listStreams},
		{Method: "GET", Path: "/v1/streams/{id}", Name: "getStream", Summary: "One live stream: state, input, uptime, live job, ingest URL.", Roles: submitters, Response: api.Stream{}, Status: 200, handler: s.getStream},
		{Method: "GET", Path: "/v1/streams/{id}/hls/{file}", Name: "getStreamHLS", Summary: "A live stream's master playlist (master.m3u8) through this master, on the API's origin with its credentials (the console's preview plays it): fetched from the node that runs the stream's live job (where hls_url points); 404 while the stream is not live, 502 node_unreachable when the node does not answer.",
			Roles: submitters, Status: 200, Binary: "application/vnd.apple.mpegurl", handler: s.streamHLS},
		{Method: "GET", Path: "/v1/streams/{id}/hls/{rendition}/{file}", Name: "getStreamHLSFile", Summary: "A rendition's playlist or segment of a live stream's HLS through this master (index.m3u8, init.mp4, .ts or .m4s segments), as the master playlist names them; Range is passed on.",
			Roles: submitters, Status: 200, Binary: "video/mp2t", Headers: map[string]string{"Range": "a byte range of the file"}, handler: s.streamHLS},
		{Method: "POST", Path: "/v1/streams/{id}/rotate-key", Name: "rotateStreamKey", Summary: "Give a stream a new key (in the answer); the old one stops working at once, a connected publisher stays.", Roles: submitters, Response: api.Stream{}, Status: 200, handler: s.rotateStreamKey},
		{Method: "DELETE", Path: "/v1/streams/{id}", Name: "deleteStream", Summary: "Delete a stream and cancel its live job; 409 while a publisher is connected.", Roles: submitters, Status: 204, handler: s.deleteStream},

		{Method: "POST", Path: "/v1/ingest/publish", Name: "ingestPublish", Summary: "A standalone ingest asks whether a publisher's stream key admits it; 403 publish_refused when not.", Roles: ingests, Request: api.IngestPublishRequest{}, Response: api.IngestPublishReply{}, Status: 200, handler: s.ingestPublish},
		{Method: "POST", Path: "/v1/ingest/play", Name: "ingestPlay", Summary: "A standalone ingest asks whether a player (a live job) may play a stream; 403 play_refused when not.", Roles: ingests, Request: api.IngestPlayRequest{}, Status: 204, handler: s.ingestPlay},
		{Method: "POST", Path: "/v1/ingest/events", Name: "ingestEvent", Summary: "A standalone ingest reports a stream published, continued, unpublished, or its counters.", Roles: ingests, Request: api.IngestEvent{}, Status: 204, handler: s.ingestEvent},

		{Method: "GET", Path: "/v1/nodes", Name: "listNodes", Summary: "Registered nodes with capabilities, telemetry and running jobs.", Roles: submitters, Response: api.NodeList{}, Status: 200, handler: s.listNodes},
		{Method: "GET", Path: "/v1/sd/prometheus", Name: "prometheusTargets", Summary: "Prometheus HTTP service discovery (http_sd_configs): the metrics address of every node that registered one, labelled node, node_name, gpu_model and label_<key>; offline nodes stay listed until removed.", Roles: monitors, Response: api.ScrapeTargets{}, Status: 200, handler: s.prometheusTargets},
		{Method: "POST", Path: "/v1/nodes/register", Name: "registerNode", Summary: "Register a worker; a new node's secret is in the answer, shown only then. Registering an ID again needs its secret or an admin key.", Roles: workers, Request: api.Registration{}, Response: api.Registered{}, Status: 200,
			Headers: map[string]string{api.NodeSecretHeader: "the node's secret, to register an existing node ID again"}, handler: s.registerNode},
		{Method: "GET", Path: "/v1/nodes/{id}", Name: "getNode", Summary: "One node.", Roles: submitters, Response: api.Node{}, Status: 200, handler: s.getNode},
		{Method: "DELETE", Path: "/v1/nodes/{id}", Name: "removeNode", Summary: "Forget a node; its jobs are requeued.", Roles: admins, Status: 204, handler: s.removeNode},
		{Method: "POST", Path: "/v1/nodes/{id}/drain", Name: "drainNode", Summary: "Stop giving a node jobs; running ones finish. The order stays until undrain, also across the worker's restarts.", Roles: admins, Response: api.Node{}, Status: 200, handler: s.drainNode},
		{Method: "POST", Path: "/v1/nodes/{id}/undrain", Name: "undrainNode", Summary: "Lift a drain order: the node takes jobs again.", Roles: admins, Response: api.Node{}, Status: 200, handler: s.undrainNode},
		{Method: "POST", Path: "/v1/nodes/{id}/heartbeat", Name: "heartbeat", Summary: "Worker heartbeat with telemetry; answers cancels and drain orders.", Roles: workers, Request: api.Heartbeat{}, Response: api.HeartbeatReply{}, Status: 200, Headers: nodeSecret, handler: s.heartbeat},
		{Method: "POST", Path: "/v1/nodes/{id}/lease", Name: "lease", Summary: "Long-poll (up to 30 s) for one job the node can run; 204 when none came.", Roles: workers, Request: api.LeaseRequest{}, Response: api.Lease{}, Status: 200,
			Query: map[string]string{"wait": "long-poll time (e.g. 30s); overrides the body's wait"}, Headers: nodeSecret, OptionalBody: true, Also: map[int]string{204: "no job came within the wait"}, handler: s.lease},
		{Method: "POST", Path: "/v1/jobs/{id}/progress", Name: "reportProgress", Summary: "Worker progress for a job it runs.", Roles: workers, Request: api.ProgressReport{}, Response: api.ProgressReply{}, Status: 200, Headers: nodeSecret, handler: s.progress},
		{Method: "POST", Path: "/v1/jobs/{id}/complete", Name: "completeJob", Summary: "Worker reports a job done.", Roles: workers, Request: api.CompleteReport{}, Response: api.Job{}, Status: 200, Headers: nodeSecret, handler: s.complete},
		{Method: "POST", Path: "/v1/jobs/{id}/fail", Name: "failJob", Summary: "Worker reports a job failed (transient errors are retried).", Roles: workers, Request: api.FailReport{}, Response: api.Job{}, Status: 200, Headers: nodeSecret, handler: s.failJob},
	}
}

// nodeCaller is who makes a node call: the API key, the node secret header and the names
// of a verified client certificate.
func nodeCaller(r *http.Request) farm.NodeCaller {
	p, _ := auth.FromContext(r.Context())
	c := farm.NodeCaller{Key: p.Name, Admin: p.Role == auth.RoleAdmin, Secret: r.Header.Get(api.NodeSecretHeader)}
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.PeerCertificates) > 0 {
		cert := r.TLS.PeerCertificates[0]
		if cert.Subject.CommonName != "" {
			c.CertNames = append(c.CertNames, cert.Subject.CommonName)
		}
		c.CertNames = append(c.CertNames, cert.DNSNames...)
	}
	return c
}

// caller is the name of the request's key ("anonymous" without one).
func caller(r *http.Request) string { return who(r).Name }

// who is the farm's view of the request's key: its name, its tenant, and whether it sees
// every tenant (admin keys).
func who(r *http.Request) farm.Caller {
	p, ok := auth.FromContext(r.Context())
	if !ok {
		return farm.Caller{Name: "anonymous", Tenant: api.DefaultTenant}
	}
	return farm.Caller{Name: p.Name, Tenant: p.Tenant, All: p.Role == auth.RoleAdmin}
}

// tenantParam reads the tenant query parameter ("" when absent), checking the name.
func tenantParam(q url.Values) (string, *api.Error) {
	v := q.Get("tenant")
	if v == "" {
		return "", nil
	}
	if err := auth.CheckTenant(v); err != nil {
		return "", &api.Error{Status: 400, Code: api.CodeBadRequest, Field: "tenant", Message: err.Error()}
	}
	return v, nil
}

// tenantOnly reads the query of a route whose one parameter is tenant.
func tenantOnly(r *http.Request) (string, *api.Error) {
	q, e := query(r, "tenant")
	if e != nil {
		return "", e
	}
	return tenantParam(q)
}

// textParam reads the text search parameter, trimmed ("" when absent or blank).
func textParam(q url.Values) (string, *api.Error) {
	v := strings.TrimSpace(q.Get("text"))
	bad := func(msg string) (string, *api.Error) {
		return "", &api.Error{Status: 400, Code: api.CodeBadRequest, Field: "text", Message: msg}
	}
	switch {
	case len(v) > store.MaxTextLen:
		return bad(fmt.Sprintf("text is %d bytes: at most %d", len(v), store.MaxTextLen))
	case !utf8.ValidString(v):
		return bad("text is not valid UTF-8")
	case strings.ContainsFunc(v, unicode.IsControl):
		return bad("text holds a control character")
	}
	return v, nil
}

// query checks that r has only the allowed query parameters.
func query(r *http.Request, allowed ...string) (url.Values, *api.Error) {
	q := r.URL.Query()
	for k := range q {
		if !slices.Contains(allowed, k) {
			return nil, &api.Error{Status: 400, Code: api.CodeBadRequest, Field: k,
				Message: fmt.Sprintf("unknown query parameter %q: known are %s", k, strings.Join(allowed, ", "))}
		}
	}
	return q, nil
}

func intParam(q url.Values, name string) (int64, *api.Error) {
	v := q.Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, &api.Error{Status: 400, Code: api.CodeBadRequest, Field: name, Message: fmt.Sprintf("%s %q: want a non-negative integer", name, v)}
	}
	return n, nil
}

func timeParam(q url.Values, name string) (time.Time, *api.Error) {
	v := q.Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return t, &api.Error{Status: 400, Code: api.CodeBadRequest, Field: name, Message: fmt.Sprintf("%s %q: want an RFC 3339 time like 2026-01-02T15:04:05Z", name, v)}
	}
	return t, nil
}

func (s *Server) submitJob(w http.ResponseWriter, r *http.Request) {
	var req api.JobRequest
	if e := s.decode(w, r, &req, false); e != nil {
		writeError(w, e)
		return
	}
	job, replay, err := s.opts.Farm.Submit(r.Context(), who(r), req, r.Header.Get("Idempotency-Key"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/jobs/"+job.ID)
	if replay {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeJob(w, http.StatusCreated, job)
}

// jobSummary answers GET /v1/jobs/summary. A monitor key counts the whole farm like an
// admin's: it is the monitoring system's, whose scrape of /metrics shows the same farm-wide
// counts by status and queue, and it changes nothing.
func (s *Server) jobSummary(w http.ResponseWriter, r *http.Request) {
	tenant, e := tenantOnly(r)
	if e != nil {
		writeError(w, e)
		return
	}
	c := who(r)
	if p, _ := auth.FromContext(r.Context()); p.Role == auth.RoleMonitor {
		c.All = true
	}
	sum, err := s.opts.Farm.Summary(c, tenant)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sum)
}

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request) {
	q, e := query(r, "status", "queue", "node", "tenant", "created_after", "created_before", "text", "cursor", "limit")
	if e != nil {
		writeError(w, e)
		return
	}
	f := store.Filter{Queue: q.Get("queue"), Node: q.Get("node"), Cursor: q.Get("cursor")}
	if f.Tenant, e = tenantParam(q); e != nil {
		writeError(w, e)
		return
	}
	if f.Text, e = textParam(q); e != nil {
		writeError(w, e)
		return
	}
	for _, v := range q["status"] {
		for _, st := range strings.Split(v, ",") {
			st := api.Status(strings.TrimSpace(st))
			if !st.Valid() {
				writeError(w, &api.Error{Status: 400, Code: api.CodeBadRequest, Field: "status", Message: fmt.Sprintf("status %q: want one of %v", st, api.Statuses)})
				return
			}
			if !slices.Contains(f.Statuses, st) {
				f.Statuses = append(f.Statuses, st)
			}
		}
	}
	if f.Queue != "" && !slices.Contains(api.Queues, f.Queue) {
		writeError(w, &api.Error{Status: 400, Code: api.CodeBadRequest, Field: "queue", Message: fmt.Sprintf("queue %q: want one of %s", f.Queue, strings.Join(api.Queues, ", "))})
		return
	}
	var err *api.Error
	if f.CreatedAfter, err = timeParam(q, "created_after"); err != nil {
		writeError(w, err)
		return
	}
	if f.CreatedBefore, err = timeParam(q, "created_before"); err != nil {
		writeError(w, err)
		return
	}
	limit, err := intParam(q, "limit")
	if err != nil {
		writeError(w, err)
		return
	}
	if q.Has("limit") && limit == 0 {
		writeError(w, &api.Error{Status: 400, Code: api.CodeBadRequest, Field: "limit", Message: "limit must be at least 1"})
		return
	}
	f.Limit = int(min(limit, 1<<20))
	page, lerr := s.opts.Farm.List(r.Context(), who(r), f)
	if lerr != nil {
		s.fail(w, r, lerr)
		return
	}
	if page, lerr = redactPage(page); lerr != nil {
		s.fail(w, r, lerr)
		return
	}
	writeJobPage(w, page)
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) {
	j, err := s.opts.Farm.Get(r.Context(), who(r), mux.Vars(r)["id"])
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJob(w, http.StatusOK, j)
}

func (s *Server) cancelJob(w http.ResponseWriter, r *http.Request) {
	if e := s.decode(w, r, &struct{}{}, true); e != nil {
		writeError(w, e)
		return
	}
	j, err := s.opts.Farm.Cancel(r.Context(), who(r), mux.Vars(r)["id"])
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJob(w, http.StatusOK, j)
}

func (s *Server) retryJob(w http.ResponseWriter, r *http.Request) {
	if e := s.decode(w, r, &struct{}{}, true); e != nil {
		writeError(w, e)
		return
	}
	j, err := s.opts.Farm.Retry(r.Context(), who(r), mux.Vars(r)["id"])
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJob(w, http.StatusOK, j)
}

func (s *Server) jobEvents(w http.ResponseWriter, r *http.Request) {
	q, e := query(r, "after", "limit")
	if e != nil {
		writeError(w, e)
		return
	}
	after, e := intParam(q, "after")
	if e != nil {
		writeError(w, e)
		return
	}
	limit, e := intParam(q, "limit")
	if e != nil {
		writeError(w, e)
		return
	}
	list, err := s.opts.Farm.Events(r.Context(), who(r), mux.Vars(r)["id"], after, int(min(limit, 1<<20)))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	redactEvents(&list)
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) listPresets(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, api.PresetList{Presets: s.opts.Farm.Presets(who(r))})
}

func (s *Server) getPreset(w http.ResponseWriter, r *http.Request) {
	p, err := s.opts.Farm.Preset(who(r), mux.Vars(r)["name"])
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) putPreset(w http.ResponseWriter, r *http.Request) {
	var p api.Preset
	if e := s.decode(w, r, &p, false); e != nil {
		writeError(w, e)
		return
	}
	out, created, err := s.opts.Farm.PutPreset(r.Context(), mux.Vars(r)["name"], p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, out)
}

func (s *Server) deletePreset(w http.ResponseWriter, r *http.Request) {
	if err := s.opts.Farm.DeletePreset(r.Context(), mux.Vars(r)["name"]); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listScenarios(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, api.ScenarioList{Scenarios: s.opts.Farm.Scenarios()})
}

func (s *Server) listNodes(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, api.NodeList{Nodes: s.opts.Farm.Nodes(r.Context())})
}

func (s *Server) prometheusTargets(w http.ResponseWriter, r *http.Request) {
	if _, aerr := query(r); aerr != nil {
		s.fail(w, r, aerr)
		return
	}
	writeJSON(w, http.StatusOK, s.opts.Farm.ScrapeTargets(r.Context()))
}

func (s *Server) getNode(w http.ResponseWriter, r *http.Request) {
	n, err := s.opts.Farm.Node(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, n)
}

func (s *Server) drainNode(w http.ResponseWriter, r *http.Request) {
	if e := s.decode(w, r, &struct{}{}, true); e != nil {
		writeError(w, e)
		return
	}
	n, err := s.opts.Farm.Drain(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, n)
}

func (s *Server) undrainNode(w http.ResponseWriter, r *http.Request) {
	if e := s.decode(w, r, &struct{}{}, true); e != nil {
		writeError(w, e)
		return
	}
	n, err := s.opts.Farm.Undrain(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, n)
}

func (s *Server) removeNode(w http.ResponseWriter, r *http.Request) {
	if err := s.opts.Farm.RemoveNode(r.Context(), mux.Vars(r)["id"]); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) registerNode(w http.ResponseWriter, r *http.Request) {
	var reg api.Registration
	if e := s.decode(w, r, &reg, false); e != nil {
		writeError(w, e)
		return
	}
	n, err := s.opts.Farm.Register(r.Context(), reg, r.RemoteAddr, nodeCaller(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, n)
}

func (s *Server) heartbeat(w http.ResponseWriter, r *http.Request) {
	var hb api.Heartbeat
	if e := s.decode(w, r, &hb, false); e != nil {
		writeError(w, e)
		return
	}
	if err := s.opts.Farm.AuthNode(mux.Vars(r)["id"], nodeCaller(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	reply, err := s.opts.Farm.Heartbeat(r.Context(), mux.Vars(r)["id"], hb)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, reply)
}

func (s *Server) lease(w http.ResponseWriter, r *http.Request) {
	q, e := query(r, "wait")
	if e != nil {
		writeError(w, e)
		return
	}
	var req api.LeaseRequest
	if e := s.decode(w, r, &req, true); e != nil {
		writeError(w, e)
		return
	}
	if v := q.Get("wait"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			writeError(w, &api.Error{Status: 400, Code: api.CodeBadRequest, Field: "wait", Message: fmt.Sprintf("wait %q: want a duration like 30s", v)})
			return
		}
		req.Wait = api.Duration(d)
	}
	if err := s.opts.Farm.AuthNode(mux.Vars(r)["id"], nodeCaller(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	lease, err := s.opts.Farm.Lease(r.Context(), mux.Vars(r)["id"], time.Duration(req.Wait))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if lease == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusOK, lease)
}

func (s *Server) progress(w http.ResponseWriter, r *http.Request) {
	var rep api.ProgressReport
	if e := s.decode(w, r, &rep, false); e != nil {
		writeError(w, e)
		return
	}
	if err := s.opts.Farm.AuthNode(rep.Node, nodeCaller(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	reply, err := s.opts.Farm.Progress(r.Context(), mux.Vars(r)["id"], rep)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, reply)
}

func (s *Server) complete(w http.ResponseWriter, r *http.Request) {
	var rep api.CompleteReport
	if e := s.decode(w, r, &rep, false); e != nil {
		writeError(w, e)
		return
	}
	if err := s.opts.Farm.AuthNode(rep.Node, nodeCaller(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	j, err := s.opts.Farm.Complete(r.Context(), mux.Vars(r)["id"], rep)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJob(w, http.StatusOK, j)
}

func (s *Server) failJob(w http.ResponseWriter, r *http.Request) {
	var rep api.FailReport
	if e := s.decode(w, r, &rep, false); e != nil {
		writeError(w, e)
		return
	}
	if err := s.opts.Farm.AuthNode(rep.Node, nodeCaller(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	j, err := s.opts.Farm.Fail(r.Context(), mux.Vars(r)["id"], rep)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJob(w, http.StatusOK, j)
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	if s.opts.Ready != nil {
		if err := s.opts.Ready(); err != nil {
			writeError(w, &api.Error{Status: 503, Code: api.CodeUnavailable, Message: "not ready: " + err.Error()})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) backup(w http.ResponseWriter, r *http.Request) {
	if s.opts.Backup == nil {
		writeError(w, &api.Error{Status: 503, Code: api.CodeUnavailable, Message: "backup is not available"})
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="ffrtmp-master-%s.db"`, time.Now().UTC().Format("20060102T150405Z")))
	size := func(n int64) { w.Header().Set("Content-Length", strconv.FormatInt(n, 10)) }
	// The copy runs inside a read transaction: a client that stops reading must not hold it
	// (bbolt cannot grow its map while one is open, and the master cannot close).
	sw := s.streamWriter(w)
	n, err := s.opts.Backup(sw, size)
	if err == nil {
		err = sw.close()
	}
	if err != nil {
		// Headers are gone: the short body (Content-Length mismatch) tells the client.
		s.log.Error("backup failed", "written", n, "remote", r.RemoteAddr, "err", err)
	}
}
