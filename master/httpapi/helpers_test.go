package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master"
	"github.com/ffrtmp/ffrtmp/master/auth"
	"github.com/ffrtmp/ffrtmp/master/farm"
	"github.com/ffrtmp/ffrtmp/master/httpapi"
	"github.com/ffrtmp/ffrtmp/master/mastertest"
	"github.com/ffrtmp/ffrtmp/master/store"
)

// roleKey is the harness's key for each role.
var roleKey = map[auth.Role]string{
	auth.RoleAdmin:     mastertest.AdminKey,
	auth.RoleSubmitter: mastertest.SubmitterKey,
	auth.RoleWorker:    mastertest.WorkerKey,
	auth.RoleIngest:    mastertest.IngestKey,
	auth.RoleMonitor:   mastertest.MonitorKey,
}

var allRoles = []auth.Role{auth.RoleAdmin, auth.RoleSubmitter, auth.RoleWorker, auth.RoleIngest, auth.RoleMonitor}

// start runs a real master for the test.
func start(t *testing.T, mutate ...func(*master.Config)) *mastertest.Harness {
	t.Helper()
	return mastertest.Start(t, mutate...)
}

// restart runs a master again on the database in dir.
func restart(t *testing.T, dir string, mutate ...func(*master.Config)) *mastertest.Harness {
	t.Helper()
	return mastertest.StartIn(t, dir, mutate...)
}

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newServer builds the API over a real farm on a temp bbolt file, without serving it: for
// walking the router and reading the route table.
func newServer(t *testing.T) *httpapi.Server {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "walk.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	f, err := farm.New(context.Background(), st, farm.Config{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := auth.NewKeyring([]auth.Entry{auth.StaticKey("admin", auth.RoleAdmin, mastertest.AdminKey)}, "")
	if err != nil {
		t.Fatal(err)
	}
	return httpapi.New(httpapi.Options{Farm: f, Keys: keys, Logger: quiet, Backup: st.Backup})
}

// resp is a raw HTTP answer, read to its end.
type resp struct {
	Status int
	Header http.Header
	Body   []byte
}

// call sends a raw request (body nil: none) with key as bearer token ("" sends none) and
// extra headers as name, value pairs.
func call(t *testing.T, h *mastertest.Harness, method, path, key string, body []byte, hdr ...string) resp {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctxT(t), method, h.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer r.Body.Close()
	if strings.HasPrefix(r.Header.Get("Content-Type"), "text/event-stream") {
		return resp{Status: r.StatusCode, Header: r.Header} // it never ends: the headers say enough
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatalf("%s %s: read answer: %v", method, path, err)
	}
	return resp{Status: r.StatusCode, Header: r.Header, Body: b}
}

// apiError decodes an error answer, failing the test unless it is the API's error body.
func (r resp) apiError(t *testing.T) *api.Error {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("error answer %d has Content-Type %q, want application/json: %s", r.Status, ct, r.Body)
	}
	var eb struct {
		Error *api.Error `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&eb); err != nil || eb.Error == nil || eb.Error.Code == "" || eb.Error.Message == "" {
		t.Fatalf("answer %d is not an error body {\"error\":{code,message,field}} (%v): %s", r.Status, err, r.Body)
	}
	eb.Error.Status = r.Status
	return eb.Error
}

// wantError checks a raw answer's status, code and (when field is not "-") field.
func (r resp) wantError(t *testing.T, status int, code, field string) *api.Error {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	e := r.apiError(t)
	if code != "" && e.Code != code {
		t.Errorf("code %q, want %q (%s)", e.Code, code, e.Message)
	}
	if field != "-" && e.Field != field {
		t.Errorf("field %q, want %q (%s)", e.Field, field, e.Message)
	}
	return e
}

// decode decodes a success answer strictly: the wire types know every field the master sends.
func decode[T any](t *testing.T, r resp, status int) T {
	t.Helper()
	var v T
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %T: %v: %s", v, err, r.Body)
	}
	return v
}

// wantAPIError checks an error from the api client.
func wantAPIError(t *testing.T, err error, status int, code, field string) *api.Error {
	t.Helper()
	var e *api.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T), want an *api.Error with status %d", err, err, status)
	}
	if e.Status != status || (code != "" && e.Code != code) || (field != "-" && e.Field != field) {
		t.Fatalf("error %d %s field %q (%s), want %d %s field %q", e.Status, e.Code, e.Field, e.Message, status, code, field)
	}
	return e
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// scenarioJob is a small valid request.
func scenarioJob(queue string, priority int) api.JobRequest {
	return api.JobRequest{Scenario: "720p30-h264", Queue: queue, Priority: priority}
}

func submit(t *testing.T, c *api.Client, req api.JobRequest) *api.Job {
	t.Helper()
	j, err := c.SubmitJob(ctxT(t), req, "")
	if err != nil {
		t.Fatalf("submit %+v: %v", req, err)
	}
	return j
}

// registerNode registers a software worker with slots job slots.
func registerNode(t *testing.T, wc *api.Client, id string, slots int) *api.Node {
	t.Helper()
	n, err := wc.Register(ctxT(t), api.Registration{ID: id, Name: id, Version: "test",
		Capabilities: api.Capabilities{CPUs: 4, Encoders: []string{"libx264", "aac"}, Slots: slots}})
	if err != nil {
		t.Fatalf("register %s: %v", id, err)
	}
	return &n.Node
}

// lease takes the job the master hands node (failing when none comes).
func lease(t *testing.T, wc *api.Client, node string) *api.Lease {
	t.Helper()
	l, err := wc.Lease(ctxT(t), node, 5*time.Second)
	if err != nil {
		t.Fatalf("lease for %s: %v", node, err)
	}
	if l == nil {
		t.Fatalf("lease for %s: no job came", node)
	}
	return l
}

// routeRecorder is an http.RoundTripper that notes which route of the table each request
// reached (matched with the real router) and how it was answered.
type routeRecorder struct {
	next   http.RoundTripper
	router *mux.Router

	mu   sync.Mutex
	seen map[string][]int // "METHOD /path/{template}" → statuses
}

func newRouteRecorder(srv *httpapi.Server) *routeRecorder {
	return &routeRecorder{next: http.DefaultTransport, router: srv.Router(), seen: map[string][]int{}}
}

func routeKey(method, tmpl string) string { return method + " " + tmpl }

func (rr *routeRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := rr.next.RoundTrip(req)
	if err != nil {
		return res, err
	}
	var m mux.RouteMatch
	if rr.router.Match(req, &m) && m.Route != nil {
		tmpl, _ := m.Route.GetPathTemplate()
		rr.mu.Lock()
		k := routeKey(req.Method, tmpl)
		rr.seen[k] = append(rr.seen[k], res.StatusCode)
		rr.mu.Unlock()
	}
	return res, nil
}

// note records a raw request's answer as if it had gone through the recorder.
func (rr *routeRecorder) note(method, tmpl string, status int) {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	k := routeKey(method, tmpl)
	rr.seen[k] = append(rr.seen[k], status)
}

func (rr *routeRecorder) client(t *testing.T, h *mastertest.Harness, role auth.Role) *api.Client {
	t.Helper()
	return h.Client(t, role, api.WithHTTPClient(&http.Client{Transport: rr}))
}
