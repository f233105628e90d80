package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/gorilla/mux"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/master"
	"github.com/ffrtmp/ffrtmp/master/auth"
	"github.com/ffrtmp/ffrtmp/master/mastertest"
)

// loadDoc fetches /v1/openapi.json from the master and loads and validates it.
func loadDoc(t *testing.T, h *mastertest.Harness) (*openapi3.T, []byte) {
	t.Helper()
	r := call(t, h, "GET", "/v1/openapi.json", roleKey[auth.RoleSubmitter], nil)
	if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /v1/openapi.json: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(r.Body)
	if err != nil {
		t.Fatalf("load the OpenAPI document: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("the OpenAPI document is not valid: %v", err)
	}
	return doc, r.Body
}

var templateVar = regexp.MustCompile(`\{([^{}]+)\}`)

// TestOpenAPIMatchesRouter checks, route by route, that the served description and the real
// router agree: every router path+method is documented and every documented one is routed.
func TestOpenAPIMatchesRouter(t *testing.T) {
	h := start(t)
	doc, _ := loadDoc(t, h)
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi %q, want 3.x", doc.OpenAPI)
	}
	srv := newServer(t)

	routed := map[string]bool{}
	err := srv.Router().Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tmpl, err := route.GetPathTemplate()
		if err != nil {
			return err
		}
		methods, err := route.GetMethods()
		if err != nil {
			return fmt.Errorf("route %s has no methods: %w", tmpl, err)
		}
		for _, m := range methods {
			k := routeKey(m, tmpl)
			if routed[k] {
				t.Errorf("%s is routed twice", k)
			}
			routed[k] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]*openapi3.Operation{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			documented[routeKey(method, path)] = op
		}
	}
	if len(routed) < 20 {
		t.Fatalf("the router walk found only %d routes", len(routed))
	}

	keys := func(m map[string]bool) []string {
		out := make([]string, 0, len(m))
		for k := range m {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	for _, k := range keys(routed) {
		t.Run("routed "+k, func(t *testing.T) {
			if documented[k] == nil {
				t.Fatalf("%s is routed but not in /v1/openapi.json", k)
			}
		})
	}
	docKeys := map[string]bool{}
	for k := range documented {
		docKeys[k] = true
	}
	for _, k := range keys(docKeys) {
		t.Run("documented "+k, func(t *testing.T) {
			if !routed[k] {
				t.Fatalf("%s is in /v1/openapi.json but the router does not serve it", k)
			}
		})
	}

	// Each operation says what the route does: auth, parameters, bodies, success status.
	for _, rt := range srv.Routes() {
		k := routeKey(rt.Method, rt.Path)
		op := documented[k]
		if op == nil {
			continue // reported above
		}
		t.Run("operation "+k, func(t *testing.T) {
			if op.OperationID != rt.Name {
				t.Errorf("operationId %q, want %q", op.OperationID, rt.Name)
			}
			if op.Summary == "" {
				t.Error("no summary")
			}
			switch {
			case op.Security == nil:
				t.Error("no security requirement (an operation without one inherits the document's)")
			case len(rt.Roles) == 0 && len(*op.Security) != 0:
				t.Errorf("security %v on a route that takes no key", *op.Security)
			case len(rt.Roles) > 0:
				if len(*op.Security) != 2 || (*op.Security)[0]["apiKey"] == nil || (*op.Security)[1]["session"] == nil {
					t.Errorf("security %v, want apiKey or session", *op.Security)
				}
				var roles []string
				if raw, ok := op.Extensions["x-roles"]; ok {
					b, _ := json.Marshal(raw)
					_ = json.Unmarshal(b, &roles)
				}
				var want []string
				for _, r := range rt.Roles {
					want = append(want, string(r))
				}
				if !slices.Equal(roles, want) {
					t.Errorf("x-roles %v, want %v", roles, want)
				}
			}
			for _, m := range templateVar.FindAllStringSubmatch(rt.Path, -1) {
				p := op.Parameters.GetByInAndName("path", m[1])
				if p == nil || !p.Required {
					t.Errorf("path parameter %s is not declared (required)", m[1])
				}
			}
			var query []string
			for _, p := range op.Parameters {
				if p.Value.In == "query" {
					query = append(query, p.Value.Name)
				}
			}
			var wantQuery []string
			for q := range rt.Query {
				wantQuery = append(wantQuery, q)
			}
			slices.Sort(query)
			slices.Sort(wantQuery)
			if !slices.Equal(query, wantQuery) {
				t.Errorf("query parameters %v, want %v", query, wantQuery)
			}
			if op.Responses.Status(rt.Status) == nil {
				t.Errorf("success status %d is not documented", rt.Status)
			}
			if op.Responses.Default() == nil {
				t.Error("no default (error) response")
			}
			if takes := rt.Request != nil || rt.BinaryRequest != ""; takes != (op.RequestBody != nil) {
				t.Errorf("request body documented: %v, route takes one: %v", op.RequestBody != nil, takes)
			}
			if rt.BinaryRequest != "" && op.RequestBody.Value.Content.Get(rt.BinaryRequest) == nil {
				t.Errorf("request body not documented as %s", rt.BinaryRequest)
			}
		})
	}

	// The documented query parameters are the ones the routes accept.
	job := submit(t, h.Client(t, auth.RoleSubmitter), scenarioJob("", 0))
	node := registerNode(t, h.Client(t, auth.RoleWorker), "doc-node", 1)
	for k, op := range documented {
		method, path, _ := strings.Cut(k, " ")
		if strings.HasPrefix(path, "/v1/nodes/") {
			path = strings.ReplaceAll(path, "{id}", node.ID)
		}
		path = strings.ReplaceAll(strings.ReplaceAll(path, "{id}", job.ID), "{name}", "abr-720p")
		for _, p := range op.Parameters {
			if p.Value.In != "query" {
				continue
			}
			r := call(t, h, method, path+"?"+p.Value.Name+"=1", roleKey[auth.RoleAdmin], nil)
			if r.Status == http.StatusBadRequest && strings.Contains(string(r.Body), "unknown query parameter") {
				t.Errorf("%s: documented query parameter %s is refused: %s", k, p.Value.Name, r.Body)
			}
		}
	}
}

// validator checks every request a client sends and every answer it gets against the
// document: the generated schemas must describe what really goes over the wire.
type validator struct {
	router routers.Router
	next   http.RoundTripper

	mu       sync.Mutex
	problems []string
	checked  map[string]int // "METHOD path status" → answers validated
}

func newValidator(t *testing.T, doc *openapi3.T, baseURL string) *validator {
	t.Helper()
	doc.Servers = openapi3.Servers{{URL: baseURL}}
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &validator{router: r, next: http.DefaultTransport, checked: map[string]int{}}
}

func (v *validator) problem(format string, args ...any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.problems = append(v.problems, fmt.Sprintf(format, args...))
}

func (v *validator) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		_ = req.Body.Close()
		reqBody = b
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		v.problem("%s %s: not in the document: %v", req.Method, req.URL.Path, err)
		return v.next.RoundTrip(req)
	}
	ctx := context.Background()
	in := &openapi3filter.RequestValidationInput{Request: req.Clone(ctx), PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	in.Request.Body = io.NopCloser(bytes.NewReader(reqBody))
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
		v.problem("%s %s request %s: %v", req.Method, route.Path, reqBody, err)
	}
	req.Body = io.NopCloser(bytes.NewReader(reqBody))
	res, err := v.next.RoundTrip(req)
	if err != nil {
		return res, err
	}
	body, err := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	opts := &openapi3filter.Options{IncludeResponseStatus: true}
	if res.Header.Get("Content-Type") == "application/octet-stream" {
		opts.ExcludeResponseBody = true // the backup: a bbolt file, checked elsewhere
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.StatusCode,
		Header: res.Header, Body: io.NopCloser(bytes.NewReader(body)), Options: opts}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		v.problem("%s %s answer %d %s: %v", req.Method, route.Path, res.StatusCode, clipBytes(body), err)
	}
	v.mu.Lock()
	v.checked[fmt.Sprintf("%s %s %d", req.Method, route.Path, res.StatusCode)]++
	v.mu.Unlock()
	return res, nil
}

func clipBytes(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

func (v *validator) client(t *testing.T, h *mastertest.Harness, role auth.Role) *api.Client {
	t.Helper()
	return h.Client(t, role, api.WithHTTPClient(&http.Client{Transport: v}))
}

func (v *validator) report(t *testing.T) {
	t.Helper()
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, p := range v.problems {
		t.Error(p)
	}
}

// TestOpenAPISchemasDescribeTheWire runs jobs, nodes and presets through the real client over a
// transport that validates each request and answer against the served document: Jobs in
// every state, job lists, events, nodes with GPUs and telemetry, presets, errors.
func TestOpenAPISchemasDescribeTheWire(t *testing.T) {
	h := start(t, func(c *master.Config) {
		c.Farm.ProgressSample = time.Nanosecond
		c.WebhookAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} // the rich job's callback_url
	})
	doc, _ := loadDoc(t, h)
	v := newValidator(t, doc, h.URL)
	ctx := ctxT(t)
	sub := v.client(t, h, auth.RoleSubmitter)
	wk := v.client(t, h, auth.RoleWorker)
	admin := v.client(t, h, auth.RoleAdmin)
	anon := h.ClientWithKey(t, "", api.WithHTTPClient(&http.Client{Transport: v}))
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	must(anon.Health(ctx))
	must(sub.Ready(ctx))
	_, err := sub.OpenAPI(ctx)
	must(err)

	// Nodes: one rich, one bare (no encoders, no GPUs: empty lists on the wire).
	rich, err := wk.Register(ctx, api.Registration{ID: "gpu-node", Name: "gpu box", Version: "1.2.3", Labels: map[string]string{"site": "a"},
		Capabilities: api.Capabilities{CPUs: 32, MemoryBytes: 64 << 30, Encoders: []string{"libx264", "h264_nvenc"}, Decoders: []string{"h264"},
			Hardware: []string{"cuda"}, GPUs: []api.GPU{{Index: 0, UUID: "GPU-1", Name: "L4", MemoryTotalMB: 24000, EncoderSessions: 8}},
			Slots: 4, PixelRate: 1 << 30}})
	must(err)
	bare, err := wk.Register(ctx, api.Registration{Name: "bare"})
	must(err)
	_, err = wk.Heartbeat(ctx, rich.ID, api.Heartbeat{Telemetry: api.Telemetry{CPUPercent: 12.5, MemoryUsed: 1 << 30, LoadAverage: 1.5,
		GPUs: []api.GPUTelemetry{{Index: 0, Utilization: 40, MemoryUsedMB: 1000, PowerWatts: 70, TemperatureC: 55, EncoderSessions: 1, EncoderFPS: 300}}}})
	must(err)
	_, err = wk.Heartbeat(ctx, bare.ID, api.Heartbeat{})
	must(err)
	if l, err := wk.Lease(ctx, bare.ID, 0); err != nil || l != nil { // nothing queued yet: 204
		t.Fatalf("lease with nothing queued: %v %+v", err, l)
	}

	// Jobs: a rich one that completes with a result, one that fails, one retrying, one
	// canceled, one queued.
	maxRetries := 2
	richReq := api.JobRequest{Scenario: "1080p30-nvenc", Queue: api.QueueLive, Priority: 90, Output: "file:///srv/out/rich/",
		Parameters:   &api.Parameters{Duration: 2.5, Bitrate: 4_000_000, EncoderPreset: "p4", Hardware: "auto"},
		Requirements: api.Requirements{Encoder: "h264_nvenc", Hardware: "cuda", MinGPUMemoryMB: 1000, Labels: map[string]string{"site": "a"}},
		MaxRunTime:   api.Duration(time.Hour), MaxRetries: &maxRetries, CallbackURL: "http://127.0.0.1:1/hook", Labels: map[string]string{"team": "video"}}
	j1, err := sub.SubmitJob(ctx, richReq, "rich-1")
	must(err)
	_, err = sub.SubmitJob(ctx, richReq, "rich-1") // replay
	must(err)
	l, err := wk.Lease(ctx, rich.ID, time.Second)
	must(err)
	if l == nil || l.Job.ID != j1.ID {
		t.Fatalf("lease: %+v, want %s", l, j1.ID)
	}
	eta := 12.0
	_, err = wk.ReportProgress(ctx, j1.ID, api.ProgressReport{Node: rich.ID, Phase: api.PhaseTranscoding,
		Progress: &api.Progress{Percent: 42, FPS: 120, Speed: 4, ETA: &eta, Frames: 900, OutTime: 30}, Warnings: []string{"slow"}, Log: []string{"line"}})
	must(err)
	_, err = sub.GetJob(ctx, j1.ID) // running, with progress
	must(err)
	_, err = sub.ListJobs(ctx, api.ListJobsOptions{Status: []api.Status{api.StatusRunning}})
	must(err)
	_, err = wk.Complete(ctx, j1.ID, api.CompleteReport{Node: rich.ID, Result: &api.Result{Encoders: map[string]string{"1080p30-nvenc": "h264_nvenc"},
		Decoder: "h264_cuvid", Fallback: "", Frames: 75, Bytes: 1 << 20, Seconds: 1.5, FPS: 50, Speed: 1.7,
		Outputs: []string{"/srv/out/rich/1080p30-nvenc.mp4"}, Details: json.RawMessage(`{"outputs":[{"name":"x","frames":75}]}`)}})
	must(err)
	_, err = sub.GetJob(ctx, j1.ID)
	must(err)
	_, err = sub.JobEvents(ctx, j1.ID, 0, 0)
	must(err)

	for _, transient := range []bool{false, true} {
		j, err := sub.SubmitJob(ctx, api.JobRequest{Input: "https://media.example.com/a.mp4", Preset: "abr-720p", Output: "/srv/out/f/"}, "")
		must(err)
		l, err := wk.Lease(ctx, rich.ID, time.Second)
		must(err)
		if l == nil || l.Job.ID != j.ID {
			t.Fatalf("lease: %+v, want %s", l, j.ID)
		}
		_, err = wk.Fail(ctx, j.ID, api.FailReport{Node: rich.ID, Error: api.JobError{Code: "io", Message: "connection reset", Transient: transient}})
		must(err)
		_, err = sub.GetJob(ctx, j.ID)
		must(err)
	}
	ex := exampleSpec()
	specReq := api.JobRequest{Spec: &ex}
	j4, err := sub.SubmitJob(ctx, specReq, "")
	must(err)
	_, err = sub.CancelJob(ctx, j4.ID)
	must(err)
	_, err = sub.SubmitJob(ctx, api.JobRequest{Scenario: "1080p30-ladder", Queue: api.QueueBatch, Priority: -100}, "")
	must(err)
	_, err = sub.ListJobs(ctx, api.ListJobsOptions{Limit: 2})
	must(err)
	_, err = sub.ListJobs(ctx, api.ListJobsOptions{})
	must(err)
	_, err = sub.ListJobs(ctx, api.ListJobsOptions{Node: "nobody"}) // an empty page
	must(err)
	_, err = sub.JobSummary(ctx, "")
	must(err)
	_, err = admin.JobSummary(ctx, "nobody") // a tenant without jobs: every count 0
	must(err)

	_, err = sub.ListNodes(ctx)
	must(err)
	_, err = sub.GetNode(ctx, bare.ID)
	must(err)
	_, err = admin.DrainNode(ctx, rich.ID)
	must(err)
	_, err = wk.Heartbeat(ctx, rich.ID, api.Heartbeat{RunningJobs: []string{"01ARZ3NDEKTSV4RRFFQ69G5FAV"}, Draining: true})
	must(err)
	must(admin.RemoveNode(ctx, bare.ID))

	// Presets and scenarios.
	_, err = sub.ListPresets(ctx)
	must(err)
	_, err = sub.GetPreset(ctx, "abr-1080p")
	must(err)
	_, err = admin.PutPreset(ctx, api.Preset{Name: "doc-ladder", Description: "d", Container: "mkv", SegmentSeconds: 4,
		Video: &spec.Video{Codec: "libx264", Preset: "fast", Profile: "main", GOP: 2}, Audio: &spec.Audio{Codec: "opus", Channels: 2},
		Renditions: []spec.Rung{{Name: "hi", Height: 720, Bitrate: 3_000_000, MaxRate: 3_300_000, BufSize: 6_000_000, Audio: 128_000},
			{Name: "lo", Height: 360, Bitrate: 800_000}}})
	must(err)
	must(admin.DeletePreset(ctx, "doc-ladder"))
	_, err = sub.ListScenarios(ctx)
	must(err)
	_, err = admin.Backup(ctx, io.Discard)
	must(err)

	// Error answers: the default response.
	_, err = sub.SubmitJob(ctx, api.JobRequest{Scenario: "4k60", Queue: "urgent"}, "")
	wantAPIError(t, err, 400, api.CodeBadRequest, "queue")
	_, err = sub.GetJob(ctx, "01ARZ3NDEKTSV4RRFFQ69G5FAV")
	wantAPIError(t, err, 404, api.CodeNotFound, "-")
	_, err = sub.RetryJob(ctx, j1.ID)
	wantAPIError(t, err, 409, api.CodeIllegalTransition, "-")
	_, err = wk.ListJobs(ctx, api.ListJobsOptions{})
	wantAPIError(t, err, 403, api.CodeForbidden, "-")
	_, err = anon.ListJobs(ctx, api.ListJobsOptions{})
	wantAPIError(t, err, 401, api.CodeUnauthorized, "-")

	v.report(t)
	// The run really went through the validator.
	for _, k := range []string{"GET /v1/jobs/{id} 200", "GET /v1/jobs 200", "POST /v1/jobs 201", "GET /v1/nodes/{id} 200",
		"POST /v1/nodes/{id}/lease 200", "POST /v1/nodes/{id}/lease 204", "GET /v1/jobs/{id} 404", "POST /v1/jobs 400", "GET /v1/jobs/{id}/events 200", "GET /v1/jobs/summary 200"} {
		if v.checked[k] == 0 {
			t.Errorf("no answer validated for %s (validated: %v)", k, v.checked)
		}
	}
}

// exampleSpec is a full engine spec: most fields set, a fractional rate, two containers.
func exampleSpec() spec.Spec {
	return spec.Spec{
		Input: spec.Input{URL: "/srv/in/a.mp4", Format: "mp4", TimeoutSeconds: 5, Options: map[string]string{"probesize": "1000000"}, MaxDecodeErrors: 3},
		Outputs: []spec.Output{
			{Name: "main", Container: "mp4", Target: "/srv/out/s/main.mp4",
				Video: &spec.Video{Codec: "libx264", Width: 1280, Height: 720, FPS: spec.Rate{Num: 30000, Den: 1001}, Bitrate: 3_000_000,
					MaxRate: 3_300_000, BufSize: 6_000_000, Preset: "veryfast", Profile: "high", GOP: 2, Options: map[string]string{"tune": "zerolatency"}},
				Audio:   &spec.Audio{Codec: "aac", Bitrate: 128_000, Channels: 2, SampleRate: 48_000},
				Options: map[string]string{"movflags": "+faststart"}},
			{Name: "hls", Container: "hls", Target: "/srv/out/s/hls", HLS: &spec.HLS{SegmentSeconds: 4, PlaylistSize: 5}},
		},
	}
}

// TestOpenAPISchemasRejectLies makes sure the schema check can fail: answers that break the
// document's types do not validate.
func TestOpenAPISchemasRejectLies(t *testing.T) {
	h := start(t)
	doc, _ := loadDoc(t, h)
	schema := func(name string) *openapi3.Schema {
		t.Helper()
		ref := doc.Components.Schemas[name]
		if ref == nil || ref.Value == nil {
			t.Fatalf("no schema %s in components", name)
		}
		return ref.Value
	}
	job := submit(t, h.Client(t, auth.RoleSubmitter), scenarioJob("", 0))
	raw := call(t, h, "GET", "/v1/jobs/"+job.ID, roleKey[auth.RoleSubmitter], nil)
	var good map[string]any
	if err := json.Unmarshal(raw.Body, &good); err != nil {
		t.Fatal(err)
	}
	if err := schema("Job").VisitJSON(good); err != nil {
		t.Fatalf("a real job does not match the Job schema: %v", err)
	}
	for field, bad := range map[string]any{"priority": "high", "attempts": 1.5, "created_at": "yesterday", "spec": []any{}, "labels": map[string]any{"a": 1}} {
		lie := map[string]any{}
		for k, v := range good {
			lie[k] = v
		}
		lie[field] = bad
		if err := schema("Job").VisitJSON(lie); err == nil {
			t.Errorf("a job with %s=%v matches the Job schema", field, bad)
		}
	}
	errBody := call(t, h, "GET", "/v1/jobs/nope", roleKey[auth.RoleSubmitter], nil)
	var eb map[string]any
	if err := json.Unmarshal(errBody.Body, &eb); err != nil {
		t.Fatal(err)
	}
	if err := schema("ErrorBody").VisitJSON(eb); err != nil {
		t.Errorf("a real error body does not match ErrorBody: %v", err)
	}
	if err := schema("ErrorBody").VisitJSON(map[string]any{"error": map[string]any{"code": 404}}); err == nil {
		t.Error("an error with a numeric code matches ErrorBody")
	}
	list := call(t, h, "GET", "/v1/jobs", roleKey[auth.RoleSubmitter], nil)
	var jl map[string]any
	if err := json.Unmarshal(list.Body, &jl); err != nil {
		t.Fatal(err)
	}
	if err := schema("JobList").VisitJSON(jl); err != nil {
		t.Errorf("a real job list does not match JobList: %v", err)
	}
	if err := schema("JobList").VisitJSON(map[string]any{"jobs": map[string]any{}}); err == nil {
		t.Error("a job list with an object for jobs matches JobList")
	}
}
