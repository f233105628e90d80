package httpapi_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/master"
	"github.com/ffrtmp/ffrtmp/master/auth"
	"github.com/ffrtmp/ffrtmp/master/httpapi"
	"github.com/ffrtmp/ffrtmp/master/mastertest"
	"github.com/ffrtmp/ffrtmp/master/store"
)

// TestEveryRouteSucceeds drives a job through its life and the rest of the API with the real
// client, and checks that every route of the table answered its success status at least once.
func TestEveryRouteSucceeds(t *testing.T) {
	h := start(t)
	srv := newServer(t)
	rec := newRouteRecorder(srv)
	ctx := ctxT(t)
	admin := rec.client(t, h, auth.RoleAdmin)
	sub := rec.client(t, h, auth.RoleSubmitter)
	wk := rec.client(t, h, auth.RoleWorker)
	anon := h.ClientWithKey(t, "", api.WithHTTPClient(&http.Client{Transport: rec}))

	if err := anon.Health(ctx); err != nil {
		t.Fatalf("healthz: %v", err)
	}
	if err := sub.Ready(ctx); err != nil {
		t.Fatalf("readyz: %v", err)
	}
	if _, err := sub.OpenAPI(ctx); err != nil {
		t.Fatalf("openapi: %v", err)
	}
	es, err := sub.Events(ctx, api.EventsOptions{})
	if err != nil {
		t.Fatalf("events: %v", err)
	}
	es.Close()

	// Presets and scenarios.
	if _, err := sub.ListPresets(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := wk.GetPreset(ctx, "abr-720p"); err != nil {
		t.Fatal(err)
	}
	if _, err := sub.ListScenarios(ctx); err != nil {
		t.Fatal(err)
	}
	mine := api.Preset{Name: "route-ladder", Container: "mp4", Renditions: []spec.Rung{{Name: "small", Height: 360, Bitrate: 800_000}}}
	if _, err := admin.PutPreset(ctx, mine); err != nil {
		t.Fatal(err)
	}
	mine.Description = "again"
	if _, err := admin.PutPreset(ctx, mine); err != nil { // replace: 200
		t.Fatal(err)
	}
	if err := admin.DeletePreset(ctx, mine.Name); err != nil {
		t.Fatal(err)
	}

	// A live stream's life (no publisher: the ingest is tested in package master).
	stream, err := sub.CreateStream(ctx, api.StreamRequest{Name: "route-cam", Preset: "abr-720p"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sub.ListStreams(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := sub.GetStream(ctx, stream.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.RotateStreamKey(ctx, stream.ID); err != nil {
		t.Fatal(err)
	}
	if err := sub.DeleteStream(ctx, stream.ID); err != nil {
		t.Fatal(err)
	}

	// A standalone ingest's questions and news of a publisher (its live job is canceled with
	// the stream, before the node below leases).
	ing := rec.client(t, h, auth.RoleIngest)
	cam, err := sub.CreateStream(ctx, api.StreamRequest{Name: "route-edge", Preset: "abr-720p"})
	if err != nil {
		t.Fatal(err)
	}
	const relay = "rtmp://edge-1.example:1935"
	pub, err := ing.AuthorizePublish(ctx, api.IngestPublishRequest{App: "live", Key: cam.StreamKey, Relay: relay})
	if err != nil || pub.StreamID != cam.ID {
		t.Fatalf("authorize publish: %+v, %v", pub, err)
	}
	if err := ing.IngestEvent(ctx, api.IngestEvent{Type: api.IngestPublished, StreamID: cam.ID, Relay: relay, Session: pub.Session,
		Input: &api.StreamInput{VideoCodec: "h264", Width: 320, Height: 180}}); err != nil {
		t.Fatal(err)
	}
	_, token := liveJobToken(t, h, cam.ID)
	if err := ing.AuthorizePlay(ctx, api.IngestPlayRequest{App: "live", StreamID: cam.ID, Token: token}); err != nil {
		t.Fatal(err)
	}
	if err := ing.IngestEvent(ctx, api.IngestEvent{Type: api.IngestUnpublished, StreamID: cam.ID, Relay: relay, Session: pub.Session, Bytes: 1000}); err != nil {
		t.Fatal(err)
	}
	if err := sub.DeleteStream(ctx, cam.ID); err != nil {
		t.Fatal(err)
	}

	// A node and a job that completes.
	node := registerNode(t, wk, "route-node", 1)
	if _, err := sub.ListNodes(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := sub.GetNode(ctx, node.ID); err != nil {
		t.Fatal(err)
	}
	j := submit(t, sub, scenarioJob(api.QueueHigh, 10))
	l := lease(t, wk, node.ID)
	if l.Job.ID != j.ID {
		t.Fatalf("leased %s, want %s", l.Job.ID, j.ID)
	}
	if _, err := wk.Heartbeat(ctx, node.ID, api.Heartbeat{RunningJobs: []string{j.ID}}); err != nil {
		t.Fatal(err)
	}
	if _, err := wk.ReportProgress(ctx, j.ID, api.ProgressReport{Node: node.ID, Phase: api.PhaseTranscoding,
		Progress: &api.Progress{Percent: 50, FPS: 60, Speed: 2, Frames: 150}, Log: []string{"half way"}}); err != nil {
		t.Fatal(err)
	}
	done, err := wk.Complete(ctx, j.ID, api.CompleteReport{Node: node.ID, Result: &api.Result{Frames: 300, Encoders: map[string]string{"720p30-h264": "libx264"}}})
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != api.StatusCompleted {
		t.Fatalf("completed job is %s", done.Status)
	}
	if _, err := sub.GetJob(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	evs, err := sub.JobEvents(ctx, j.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var path []api.Status
	for _, e := range evs.Events {
		if e.Type == api.EventState {
			path = append(path, e.To)
		}
	}
	if want := []api.Status{api.StatusQueued, api.StatusAssigned, api.StatusRunning, api.StatusCompleted}; !slices.Equal(path, want) {
		t.Errorf("state events %v, want %v", path, want)
	}

	// A job that fails terminally, is retried, then canceled.
	j2 := submit(t, sub, scenarioJob(api.QueueLow, 0))
	if l := lease(t, wk, node.ID); l.Job.ID != j2.ID {
		t.Fatalf("leased %s, want %s", l.Job.ID, j2.ID)
	}
	failed, err := wk.Fail(ctx, j2.ID, api.FailReport{Node: node.ID, Error: api.JobError{Code: "bad_input", Message: "moov atom not found"}})
	if err != nil {
		t.Fatal(err)
	}
	if failed.Status != api.StatusFailed {
		t.Fatalf("terminal failure left the job %s", failed.Status)
	}
	if again, err := sub.RetryJob(ctx, j2.ID); err != nil || again.Status != api.StatusQueued {
		t.Fatalf("retry: %v %+v", err, again)
	}
	if c, err := sub.CancelJob(ctx, j2.ID); err != nil || c.Status != api.StatusCanceled {
		t.Fatalf("cancel: %v %+v", err, c)
	}
	if _, err := sub.ListJobs(ctx, api.ListJobsOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := sub.JobSummary(ctx, ""); err != nil {
		t.Fatal(err)
	}

	// Operator routes.
	if _, err := admin.Backup(ctx, io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.DrainNode(ctx, node.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.UndrainNode(ctx, node.ID); err != nil {
		t.Fatal(err)
	}
	if err := admin.RemoveNode(ctx, node.ID); err != nil {
		t.Fatal(err)
	}
	if cs, err := admin.ClusterStatus(ctx); err != nil || cs.Clustered || len(cs.Members) != 0 {
		t.Fatalf("cluster status of a single master: %+v, %v", cs, err)
	}
	if _, err := admin.ScrapeTargets(ctx); err != nil {
		t.Fatal(err)
	}

	// The console's session: log in, read it, log out (raw: the Go client uses keys).
	b := login(t, h, roleKey[auth.RoleSubmitter])
	rec.note("POST", "/v1/session", http.StatusOK)
	rec.note("GET", "/v1/session", b.call(t, h, "GET", "/v1/session", false, nil).Status)
	rec.note("DELETE", "/v1/session", b.call(t, h, "DELETE", "/v1/session", true, nil).Status)

	// A live stream's HLS through the master, from its node's HLS server (raw: players fetch
	// files, not the Go client).
	lv := startLiveHLS(t, h, "route-hls")
	rec.note("GET", "/v1/streams/{id}/hls/{file}", call(t, h, "GET", lv.stream.PreviewURL, roleKey[auth.RoleSubmitter], nil).Status)
	rec.note("GET", "/v1/streams/{id}/hls/{rendition}/{file}", call(t, h, "GET", "/v1/streams/"+lv.stream.ID+"/hls/360p/index.m3u8", roleKey[auth.RoleSubmitter], nil).Status)

	// PUT /v1/presets/{name} answers 201 for a new preset: send one raw to see it.
	r := call(t, h, "PUT", "/v1/presets/route-new", roleKey[auth.RoleAdmin], mustJSON(t, mine))
	rec.note("PUT", "/v1/presets/{name}", r.Status)

	for _, rt := range srv.Routes() {
		if strings.HasPrefix(rt.Path, "/v1/cluster/members") || rt.Path == "/v1/cluster/restore" {
			continue // membership changes need a cluster: package master's cluster tests make them
		}
		got := rec.seen[routeKey(rt.Method, rt.Path)]
		want := []int{rt.Status}
		for status := range rt.Also {
			if status != http.StatusNoContent { // a lease that got no job: not a case this test makes
				want = append(want, status)
			}
		}
		for _, w := range want {
			if !slices.Contains(got, w) {
				t.Errorf("%s %s (%s): answered %v, never its success status %d", rt.Method, rt.Path, rt.Name, got, w)
			}
		}
	}
}

// access is who may call each route, written down independently of the route table so a
// change to either shows here.
var access = map[string]string{
	"GET /healthz":                                "none",
	"GET /readyz":                                 "any",
	"GET /v1/openapi.json":                        "any",
	"POST /v1/session":                            "login",
	"GET /v1/session":                             "session",
	"DELETE /v1/session":                          "session",
	"GET /v1/backup":                              "admin",
	"GET /v1/cluster":                             "admin",
	"POST /v1/cluster/members":                    "admin",
	"DELETE /v1/cluster/members/{id}":             "admin",
	"POST /v1/cluster/restore":                    "admin",
	"POST /v1/jobs":                               "submitter",
	"GET /v1/jobs":                                "submitter",
	"GET /v1/jobs/summary":                        "reader",
	"GET /v1/jobs/{id}":                           "submitter",
	"POST /v1/jobs/{id}/cancel":                   "submitter",
	"POST /v1/jobs/{id}/retry":                    "submitter",
	"GET /v1/jobs/{id}/events":                    "submitter",
	"GET /v1/events":                              "submitter",
	"GET /v1/presets":                             "any",
	"GET /v1/presets/{name}":                      "any",
	"PUT /v1/presets/{name}":                      "admin",
	"DELETE /v1/presets/{name}":                   "admin",
	"GET /v1/scenarios":                           "any",
	"POST /v1/streams":                            "submitter",
	"GET /v1/streams":                             "submitter",
	"GET /v1/streams/{id}":                        "submitter",
	"GET /v1/streams/{id}/hls/{file}":             "submitter",
	"GET /v1/streams/{id}/hls/{rendition}/{file}": "submitter",
	"POST /v1/streams/{id}/rotate-key":            "submitter",
	"DELETE /v1/streams/{id}":                     "submitter",
	"POST /v1/ingest/publish":                     "ingest",
	"POST /v1/ingest/play":                        "ingest",
	"POST /v1/ingest/events":                      "ingest",
	"GET /v1/nodes":                               "submitter",
	"GET /v1/sd/prometheus":                       "monitor",
	"POST /v1/nodes/register":                     "worker",
	"GET /v1/nodes/{id}":                          "submitter",
	"DELETE /v1/nodes/{id}":                       "admin",
	"POST /v1/nodes/{id}/drain":                   "admin",
	"POST /v1/nodes/{id}/undrain":                 "admin",
	"POST /v1/nodes/{id}/heartbeat":               "worker",
	"POST /v1/nodes/{id}/lease":                   "worker",
	"POST /v1/jobs/{id}/progress":                 "worker",
	"POST /v1/jobs/{id}/complete":                 "worker",
	"POST /v1/jobs/{id}/fail":                     "worker",
}

func allowed(class string, role auth.Role) bool {
	switch class {
	case "none", "any", "login", "session":
		return true
	case "admin":
		return role == auth.RoleAdmin
	case "submitter":
		return role == auth.RoleAdmin || role == auth.RoleSubmitter
	case "worker":
		return role == auth.RoleAdmin || role == auth.RoleWorker
	case "ingest":
		return role == auth.RoleAdmin || role == auth.RoleIngest
	case "monitor":
		return role == auth.RoleAdmin || role == auth.RoleMonitor
	case "reader":
		return role == auth.RoleAdmin || role == auth.RoleSubmitter || role == auth.RoleMonitor
	}
	panic("unknown access class " + class)
}

// tenantScoped are the routes whose resource (a job, a stream) belongs to a tenant: another
// tenant's submitter gets the 404 of a resource that does not exist. Lists (listed) show it
// nothing of the default tenant's. Every other route a submitter may call answers it as
// it answers the default tenant's submitter.
var (
	tenantScoped = []string{
		"GET /v1/jobs/{id}", "POST /v1/jobs/{id}/cancel", "POST /v1/jobs/{id}/retry", "GET /v1/jobs/{id}/events",
		"GET /v1/streams/{id}", "POST /v1/streams/{id}/rotate-key", "DELETE /v1/streams/{id}",
		"GET /v1/streams/{id}/hls/{file}", "GET /v1/streams/{id}/hls/{rendition}/{file}",
	}
	listed = []string{"GET /v1/jobs", "GET /v1/streams"}
)

// TestAuthEveryRoute checks every route of the table with no key, a wrong key, each role,
// another tenant's submitter key and, on node routes, no node secret and another node's.
func TestAuthEveryRoute(t *testing.T) {
	h := start(t, func(c *master.Config) { c.Farm.MaxLeaseWait = 50 * time.Millisecond })
	srv := newServer(t)
	job := submit(t, h.Client(t, auth.RoleSubmitter), scenarioJob("", 0))
	stream, err := h.Client(t, auth.RoleSubmitter).CreateStream(ctxT(t), api.StreamRequest{Name: "auth-stream", Preset: "abr-480p"})
	if err != nil {
		t.Fatal(err)
	}
	wc := h.Client(t, auth.RoleWorker)
	node := registerNode(t, wc, "auth-node", 1)
	registerNode(t, wc, "other-node", 1)
	registerNode(t, wc, "doomed-node", 1) // removeNode's: the others must outlive the table's order
	secret, otherSecret := wc.NodeSecret(node.ID), wc.NodeSecret("other-node")
	fill := func(p string) string {
		switch {
		case strings.HasPrefix(p, "/v1/nodes/"):
			p = strings.ReplaceAll(p, "{id}", node.ID)
		case strings.HasPrefix(p, "/v1/streams/"):
			p = strings.ReplaceAll(p, "{id}", stream.ID)
		}
		p = strings.ReplaceAll(p, "{id}", job.ID)
		p = strings.ReplaceAll(p, "{rendition}", "360p")
		p = strings.ReplaceAll(p, "{file}", "index.m3u8")
		return strings.ReplaceAll(p, "{name}", "auth-preset")
	}

	routes := srv.Routes()
	for k := range access {
		if !slices.ContainsFunc(routes, func(rt httpapi.Route) bool { return rt.Method+" "+rt.Path == k }) {
			t.Errorf("route %s is no longer in the table: update the access list", k)
		}
	}
	for _, rt := range routes {
		name := rt.Method + " " + rt.Path
		class, ok := access[name]
		if !ok {
			t.Errorf("route %s (%s) is not in the test's access list: say who may call it", name, rt.Name)
			continue
		}
		t.Run(strings.ReplaceAll(name, "/", "_"), func(t *testing.T) {
			path := fill(rt.Path)
			if rt.Name == "removeNode" {
				path = "/v1/nodes/doomed-node"
			}
			var body []byte
			if rt.Method == "POST" || rt.Method == "PUT" {
				body = []byte(`{}`)
			}
			// Node routes act as a node (the path's, or the body's "node"): allowed roles
			// send its secret; without it, or with another node's, they are refused.
			_, asNode := rt.Headers[api.NodeSecretHeader]
			var nodeHdr []string
			if asNode && rt.Name != "registerNode" {
				if !strings.HasPrefix(rt.Path, "/v1/nodes/") {
					body = []byte(`{"node":"` + node.ID + `"}`)
				}
				nodeHdr = []string{api.NodeSecretHeader, secret}
				for _, role := range []auth.Role{auth.RoleWorker, auth.RoleAdmin} {
					r := call(t, h, rt.Method, path, roleKey[role], body)
					r.wantError(t, http.StatusUnauthorized, api.CodeNodeSecret, "")
					r = call(t, h, rt.Method, path, roleKey[role], body, api.NodeSecretHeader, otherSecret)
					r.wantError(t, http.StatusForbidden, api.CodeNodeForbidden, "")
				}
			}
			// Another tenant's submitter: a tenant's resource is not there for it. (The
			// session's routes take a session, not a key: checkSessionRoute.)
			if allowed(class, auth.RoleSubmitter) && class != "login" && class != "session" {
				r := call(t, h, rt.Method, path, mastertest.OtherTenantKey, body)
				switch {
				case slices.Contains(tenantScoped, name):
					r.wantError(t, http.StatusNotFound, api.CodeNotFound, "")
				case r.Status == http.StatusUnauthorized || r.Status == http.StatusForbidden || r.Status >= 500:
					t.Errorf("another tenant's submitter: %d: %s", r.Status, r.Body)
				case slices.Contains(listed, name) && (bytes.Contains(r.Body, []byte(job.ID)) || bytes.Contains(r.Body, []byte(stream.ID))):
					t.Errorf("another tenant's submitter sees the default tenant's job or stream: %s", r.Body)
				}
			}
			// The table's roles agree with the access list.
			for _, role := range allRoles {
				inTable := len(rt.Roles) == 0 || role == auth.RoleAdmin || slices.Contains(rt.Roles, role)
				if inTable != allowed(class, role) {
					t.Errorf("route table lets role %s call it: %v; want %v (%s)", role, inTable, allowed(class, role), class)
				}
			}

			if class == "login" || class == "session" {
				checkSessionRoute(t, h, rt, class)
				return
			}
			if class == "none" {
				r := call(t, h, rt.Method, path, "", body)
				if r.Status != rt.Status {
					t.Errorf("without a key: %d, want %d: %s", r.Status, rt.Status, r.Body)
				}
				r = call(t, h, rt.Method, path, "wrong-key", body)
				if r.Status != rt.Status {
					t.Errorf("with a wrong key: %d, want %d: %s", r.Status, rt.Status, r.Body)
				}
				return
			}
			for _, c := range []struct{ what, key string }{{"no key", ""}, {"a wrong key", "not-a-known-key"}} {
				r := call(t, h, rt.Method, path, c.key, body)
				r.wantError(t, http.StatusUnauthorized, api.CodeUnauthorized, "")
				if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("%s: 401 without a Bearer WWW-Authenticate header (%q)", c.what, r.Header.Get("WWW-Authenticate"))
				}
			}
			// A key in another scheme is no key.
			r := call(t, h, rt.Method, path, "", body, "Authorization", "Basic "+roleKey[auth.RoleAdmin])
			r.wantError(t, http.StatusUnauthorized, api.CodeUnauthorized, "")

			for _, role := range allRoles {
				r := call(t, h, rt.Method, path, roleKey[role], body, nodeHdr...)
				if !allowed(class, role) {
					r.wantError(t, http.StatusForbidden, api.CodeForbidden, "")
					continue
				}
				if r.Status == http.StatusUnauthorized || r.Status == http.StatusForbidden {
					t.Errorf("role %s is allowed but got %d: %s", role, r.Status, r.Body)
				}
				if r.Status >= 500 {
					t.Errorf("role %s: %d: %s", role, r.Status, r.Body)
				}
			}
		})
	}
}

// checkSessionRoute checks a route of the console's session: the login takes a key in its
// body (none: 400; a wrong one: 401) and any role's key; reading and ending a session need
// its cookie, whatever key comes instead, and work for every role's session.
func checkSessionRoute(t *testing.T, h *mastertest.Harness, rt httpapi.Route, class string) {
	t.Helper()
	if class == "login" {
		call(t, h, rt.Method, rt.Path, "", []byte(`{}`)).wantError(t, http.StatusBadRequest, api.CodeBadRequest, "api_key")
		call(t, h, rt.Method, rt.Path, "", mustJSON(t, api.SessionRequest{APIKey: "not-a-known-key"})).wantError(t, http.StatusUnauthorized, api.CodeUnauthorized, "api_key")
		for _, role := range allRoles {
			if b := login(t, h, roleKey[role]); b.info.Role != string(role) {
				t.Errorf("role %s logged in as %s", role, b.info.Role)
			}
		}
		return
	}
	for _, key := range []string{"", "not-a-known-key", roleKey[auth.RoleAdmin]} {
		call(t, h, rt.Method, rt.Path, key, nil).wantError(t, http.StatusUnauthorized, api.CodeUnauthorized, "")
	}
	for _, role := range allRoles {
		b := login(t, h, roleKey[role])
		if r := b.call(t, h, rt.Method, rt.Path, true, nil); r.Status != rt.Status {
			t.Errorf("role %s's session: %d, want %d: %s", role, r.Status, rt.Status, r.Body)
		}
	}
}

// TestIssueExamples runs the requests the issue says must work as written.
func TestIssueExamples(t *testing.T) {
	h := start(t)
	key := roleKey[auth.RoleAdmin] // the example's --api-key K

	t.Run("4k60 live 50", func(t *testing.T) {
		r := call(t, h, "POST", "/v1/jobs", key, []byte(`{"scenario":"4k60","queue":"live","priority":50}`))
		if r.Status != http.StatusCreated {
			t.Fatalf("status %d, want 201: %s", r.Status, r.Body)
		}
		var m map[string]any
		if err := json.Unmarshal(r.Body, &m); err != nil {
			t.Fatal(err)
		}
		if id, _ := m["id"].(string); id == "" {
			t.Errorf(`no "id" in %s`, r.Body)
		}
		if m["status"] != "queued" || m["queue"] != "live" || m["priority"] != float64(50) || m["scenario"] != "4k60" {
			t.Errorf(`want "status":"queued", "queue":"live", "priority":50: %s`, r.Body)
		}
		if loc := r.Header.Get("Location"); loc != "/v1/jobs/"+m["id"].(string) {
			t.Errorf("Location %q", loc)
		}
		j := decode[api.Job](t, r, http.StatusCreated)
		syn := j.Spec.Input.Synthetic
		if syn == nil || syn.Width != 3840 || syn.Height != 2160 || syn.FPS.Float() != 60 {
			t.Errorf("4k60 source %+v, want 3840x2160 at 60", syn)
		}
		got, err := h.Client(t, auth.RoleSubmitter).GetJob(ctxT(t), j.ID)
		if err != nil || got.Status != api.StatusQueued {
			t.Fatalf("GET the job: %v %+v", err, got)
		}
	})

	t.Run("720p30 duration 3", func(t *testing.T) {
		r := call(t, h, "POST", "/v1/jobs", key, []byte(`{"scenario":"720p30-h264","parameters":{"duration":3},"output":"file:///srv/out/j1/"}`))
		j := decode[api.Job](t, r, http.StatusCreated)
		syn := j.Spec.Input.Synthetic
		if syn == nil || syn.Duration != 3 {
			t.Fatalf("synthetic source %+v, want duration 3", syn)
		}
		if syn.Width != 1280 || syn.Height != 720 || syn.FPS.Float() != 30 {
			t.Errorf("source %dx%d at %v, want 1280x720 at 30", syn.Width, syn.Height, syn.FPS)
		}
		if len(j.Spec.Outputs) != 1 || !strings.HasPrefix(j.Spec.Outputs[0].Target, "/srv/out/j1/") {
			t.Errorf("outputs %+v, want one under /srv/out/j1/", j.Spec.Outputs)
		}
		if v := j.Spec.Outputs[0].Video; v == nil || v.Codec != "libx264" {
			t.Errorf("video %+v, want libx264", v)
		}
		if j.Status != api.StatusQueued || j.Queue != api.QueueMedium {
			t.Errorf("status %s queue %s, want queued in medium", j.Status, j.Queue)
		}
	})

	t.Run("abr-720p ladder", func(t *testing.T) {
		r := call(t, h, "POST", "/v1/jobs", key, []byte(`{"input":"file:///srv/in/a.mp4","preset":"abr-720p","output":"file:///srv/out/j2/"}`))
		j := decode[api.Job](t, r, http.StatusCreated)
		if j.Spec.Input.URL != "/srv/in/a.mp4" {
			t.Errorf("input %q, want /srv/in/a.mp4", j.Spec.Input.URL)
		}
		if got := heights(j.Spec.Outputs); !slices.Equal(got, []int{720, 480, 360}) {
			t.Fatalf("rendition heights %v, want 720/480/360", got)
		}
		for _, o := range j.Spec.Outputs {
			if o.Container != "hls" || !strings.HasPrefix(o.Target, "/srv/out/j2") {
				t.Errorf("output %s: container %q target %q, want hls under /srv/out/j2", o.Name, o.Container, o.Target)
			}
		}
	})

	t.Run("built-ins", func(t *testing.T) {
		c := h.Client(t, auth.RoleSubmitter)
		sl, err := c.ListScenarios(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"720p30-h264", "1080p30-h264", "1080p60-h264", "4k30", "4k60"} {
			if !slices.ContainsFunc(sl.Scenarios, func(s api.Scenario) bool { return s.Name == name }) {
				t.Errorf("no built-in scenario %s", name)
			}
			// Each one resolves into a job.
			j := submit(t, c, api.JobRequest{Scenario: name})
			if j.Spec.Input.Synthetic == nil || len(j.Spec.Outputs) == 0 {
				t.Errorf("scenario %s: spec %+v", name, j.Spec)
			}
		}
		for name, want := range map[string][]int{"abr-1080p": {1080, 720, 480, 360}, "abr-720p": {720, 480, 360}} {
			p, err := c.GetPreset(ctxT(t), name)
			if err != nil {
				t.Fatalf("preset %s: %v", name, err)
			}
			var got []int
			for _, r := range p.Renditions {
				got = append(got, r.Height)
			}
			if !slices.Equal(got, want) || !p.BuiltIn {
				t.Errorf("preset %s: heights %v built-in %v, want %v built-in", name, got, p.BuiltIn, want)
			}
			j := submit(t, c, api.JobRequest{Input: "/srv/in/b.mp4", Preset: name, Output: "/srv/out/" + name + "/"})
			if hs := heights(j.Spec.Outputs); !slices.Equal(hs, want) {
				t.Errorf("job with %s: heights %v, want %v", name, hs, want)
			}
		}
	})
}

func heights(outs []spec.Output) []int {
	var hs []int
	for _, o := range outs {
		if o.Video == nil {
			hs = append(hs, 0)
			continue
		}
		hs = append(hs, o.Video.Height)
	}
	return hs
}

// TestSubmitErrors sends bad requests and checks the status, code and field.
func TestSubmitErrors(t *testing.T) {
	h := start(t)
	key := roleKey[auth.RoleSubmitter]
	ladder := func(in, out string) string {
		return fmt.Sprintf(`{"input":%q,"preset":"abr-720p","output":%q}`, in, out)
	}
	specJob := func(in, target string) string {
		return fmt.Sprintf(`{"spec":{"input":{"url":%q},"outputs":[{"container":"mp4","target":%q}]}}`, in, target)
	}
	for _, c := range []struct {
		name, body  string
		status      int
		code, field string
	}{
		{"unknown field", `{"scenario":"4k60","colour":"red"}`, 400, api.CodeUnknownField, "colour"},
		{"unknown nested field", `{"scenario":"4k60","parameters":{"durration":3}}`, 400, api.CodeUnknownField, "-"},
		{"priority as string", `{"scenario":"4k60","priority":"high"}`, 400, api.CodeBadRequest, "priority"},
		{"queue as number", `{"scenario":"4k60","queue":5}`, 400, api.CodeBadRequest, "queue"},
		{"nested wrong type", `{"scenario":"720p30-h264","parameters":{"duration":"3"}}`, 400, api.CodeBadRequest, "parameters.duration"},
		{"labels as list", `{"scenario":"4k60","labels":["a"]}`, 400, api.CodeBadRequest, "labels"},
		{"queue urgent", `{"scenario":"4k60","queue":"urgent"}`, 400, api.CodeBadRequest, "queue"},
		{"priority 1000", `{"scenario":"4k60","priority":1000}`, 400, api.CodeBadRequest, "priority"},
		{"priority -101", `{"scenario":"4k60","priority":-101}`, 400, api.CodeBadRequest, "priority"},
		{"max_retries 99", `{"scenario":"4k60","max_retries":99}`, 400, api.CodeBadRequest, "max_retries"},
		{"max_run_time a year", `{"scenario":"4k60","max_run_time":"8760h"}`, 400, api.CodeBadRequest, "max_run_time"},
		{"negative max_run_time", `{"scenario":"4k60","max_run_time":"-5s"}`, 400, api.CodeBadRequest, "-"},
		{"unknown scenario", `{"scenario":"8k120"}`, 400, api.CodeBadRequest, "scenario"},
		{"scenario with input", `{"scenario":"4k60","input":"/srv/in/a.mp4"}`, 400, api.CodeBadRequest, "input"},
		{"nothing to do", `{"queue":"live"}`, 400, api.CodeBadRequest, "spec"},
		{"preset and scenario", `{"scenario":"4k60","preset":"abr-720p","input":"/a.mp4","output":"/o/"}`, 400, api.CodeBadRequest, "spec"},
		{"unknown preset", `{"input":"/srv/in/a.mp4","preset":"abr-9000p","output":"/srv/out/x/"}`, 400, api.CodeBadRequest, "preset"},
		{"preset without output", `{"input":"/srv/in/a.mp4","preset":"abr-720p"}`, 400, api.CodeBadRequest, "output"},
		{"concat input", ladder("concat:/srv/in/a.mp4|/etc/passwd", "/srv/out/x/"), 400, api.CodeBadRequest, "input"},
		{"subfile input", ladder("subfile:,,start,0,end,0,,:/etc/shadow", "/srv/out/x/"), 400, api.CodeBadRequest, "input"},
		{"CONCAT input", ladder("CONCAT:/a.mp4|/b.mp4", "/srv/out/x/"), 400, api.CodeBadRequest, "input"},
		{"dotdot input", ladder("file:///srv/in/../../etc/passwd", "/srv/out/x/"), 400, api.CodeBadRequest, "input"},
		{"dotdot relative input", ladder("../secret.mp4", "/srv/out/x/"), 400, api.CodeBadRequest, "input"},
		{"dotdot output", ladder("/srv/in/a.mp4", "file:///srv/out/../../etc/cron.d/"), 400, api.CodeBadRequest, "output"},
		{"concat output", ladder("/srv/in/a.mp4", "concat:/srv/out/x/"), 400, api.CodeBadRequest, "output"},
		{"http output", ladder("/srv/in/a.mp4", "http://example.com/up/"), 400, api.CodeBadRequest, "output"},
		{"file URL with host", ladder("file://evil/srv/in/a.mp4", "/srv/out/x/"), 400, api.CodeBadRequest, "input"},
		{"scenario dotdot output", `{"scenario":"4k60","output":"/srv/out/../../root/x.mp4"}`, 400, api.CodeBadRequest, "output"},
		{"spec concat input", specJob("concat:/a.mp4|/b.mp4", "/srv/out/a.mp4"), 400, api.CodeBadRequest, "spec.input.url"},
		{"spec subfile output", specJob("/srv/in/a.mp4", "subfile:/srv/out/a.mp4"), 400, api.CodeBadRequest, "spec.outputs[0].target"},
		{"spec dotdot output", specJob("/srv/in/a.mp4", "/srv/out/../../etc/a.mp4"), 400, api.CodeBadRequest, "spec.outputs[0].target"},
		{"callback ftp", `{"scenario":"4k60","callback_url":"ftp://example.com/hook"}`, 400, api.CodeBadRequest, "callback_url"},
		{"callback no host", `{"scenario":"4k60","callback_url":"http:///hook"}`, 400, api.CodeBadRequest, "callback_url"},
		{"callback not a URL", `{"scenario":"4k60","callback_url":"not a url"}`, 400, api.CodeBadRequest, "callback_url"},
		{"callback javascript", `{"scenario":"4k60","callback_url":"javascript:alert(1)"}`, 400, api.CodeBadRequest, "callback_url"},
		{"requirements hardware", `{"scenario":"4k60","requirements":{"hardware":"tpu"}}`, 400, api.CodeBadRequest, "requirements.hardware"},
		{"bad encoder", `{"scenario":"4k60","parameters":{"encoder":"rm -rf"}}`, 400, api.CodeBadRequest, "parameters.encoder"},
		{"encoder preset of another encoder", `{"scenario":"4k60","parameters":{"encoder":"libsvtav1","encoder_preset":"veryfast"}}`, 400, api.CodeBadRequest, "parameters.encoder_preset"},
		{"av1 into an mpeg-ts ladder", `{"preset":"abr-720p","input":"/srv/in/a.mp4","output":"file:///srv/out/j/","parameters":{"encoder":"libsvtav1"}}`, 400, api.CodeBadRequest, "parameters.encoder"},
		{"negative duration", `{"scenario":"4k60","parameters":{"duration":-3}}`, 400, api.CodeBadRequest, "parameters.duration"},
		{"malformed: cut short", `{"scenario":`, 400, api.CodeBadRequest, ""},
		{"malformed: unclosed", `{"scenario":"4k60"`, 400, api.CodeBadRequest, ""},
		{"malformed: bare words", `{scenario:4k60}`, 400, api.CodeBadRequest, ""},
		{"malformed: not JSON", `scenario=4k60`, 400, api.CodeBadRequest, ""},
		{"malformed: trailing data", `{"scenario":"4k60"} {"scenario":"4k30"}`, 400, api.CodeBadRequest, ""},
		{"malformed: empty", ``, 400, api.CodeBadRequest, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := call(t, h, "POST", "/v1/jobs", key, []byte(c.body))
			e := r.wantError(t, c.status, c.code, c.field)
			if c.name == "unknown nested field" && !strings.Contains(e.Field, "durration") {
				t.Errorf("field %q does not name durration", e.Field)
			}
		})
	}
	// None of them was stored.
	list, err := h.Client(t, auth.RoleSubmitter).ListJobs(ctxT(t), api.ListJobsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Jobs) != 0 {
		t.Errorf("%d jobs stored from bad requests", len(list.Jobs))
	}
}

// TestBodyLimit checks --max-body.
func TestBodyLimit(t *testing.T) {
	const limit = 4096
	h := start(t, func(c *master.Config) { c.MaxBody = limit })
	pad := func(n int) string { return strings.Repeat("x", n) }
	under := fmt.Sprintf(`{"scenario":"4k60","labels":{"pad":%q}}`, pad(200))
	r := call(t, h, "POST", "/v1/jobs", roleKey[auth.RoleSubmitter], []byte(under))
	if r.Status != http.StatusCreated {
		t.Fatalf("a body under the limit: %d %s", r.Status, r.Body)
	}
	// Just over, and far over (more than one read).
	for _, n := range []int{limit + 1, 8 * limit} {
		body := fmt.Sprintf(`{"scenario":"4k60","labels":{"pad":%q}}`, pad(n))
		r := call(t, h, "POST", "/v1/jobs", roleKey[auth.RoleSubmitter], []byte(body))
		e := r.wantError(t, http.StatusRequestEntityTooLarge, api.CodeTooLarge, "-")
		if !strings.Contains(e.Message, fmt.Sprint(limit)) {
			t.Errorf("message %q does not say the limit", e.Message)
		}
	}
	preset := fmt.Sprintf(`{"description":%q,"renditions":[{"name":"a","height":360,"bitrate":800000}]}`, pad(2*limit))
	r = call(t, h, "PUT", "/v1/presets/big", roleKey[auth.RoleAdmin], []byte(preset))
	r.wantError(t, http.StatusRequestEntityTooLarge, api.CodeTooLarge, "-")
	reg := fmt.Sprintf(`{"name":%q,"capabilities":{"cpus":1,"encoders":[],"slots":1}}`, pad(2*limit))
	r = call(t, h, "POST", "/v1/nodes/register", roleKey[auth.RoleWorker], []byte(reg))
	r.wantError(t, http.StatusRequestEntityTooLarge, api.CodeTooLarge, "-")
}

// TestRoutingErrors checks unknown query parameters, unknown IDs and routes, and wrong methods.
func TestRoutingErrors(t *testing.T) {
	h := start(t)
	sub, adm := roleKey[auth.RoleSubmitter], roleKey[auth.RoleAdmin]
	job := submit(t, h.Client(t, auth.RoleSubmitter), scenarioJob("", 0))
	unknownID := ulid.Make().String()

	t.Run("unknown query parameter", func(t *testing.T) {
		for _, c := range []struct{ method, path, key, param string }{
			{"GET", "/v1/jobs?colour=red", sub, "colour"},
			{"GET", "/v1/jobs?status=queued&statuss=failed", sub, "statuss"},
			{"GET", "/v1/jobs/" + job.ID + "/events?since=3", sub, "since"},
			{"POST", "/v1/nodes/n1/lease?timeout=3s", roleKey[auth.RoleWorker], "timeout"},
		} {
			r := call(t, h, c.method, c.path, c.key, nil)
			r.wantError(t, http.StatusBadRequest, api.CodeBadRequest, c.param)
		}
	})
	t.Run("bad query values", func(t *testing.T) {
		for _, c := range []struct{ query, field string }{
			{"status=done", "status"},
			{"status=queued,done", "status"},
			{"queue=urgent", "queue"},
			{"created_after=yesterday", "created_after"},
			{"created_before=2026-13-01T00:00:00Z", "created_before"},
			{"limit=0", "limit"},
			{"limit=-1", "limit"},
			{"limit=ten", "limit"},
			{"limit=1001", "limit"},
			{"limit=99999999999999999999999", "limit"},
			{"cursor=not-a-job", "cursor"},
			{"text=" + strings.Repeat("x", 257), "text"},
			{"text=a%00b", "text"},
			{"text=%ff%fe", "text"},
		} {
			r := call(t, h, "GET", "/v1/jobs?"+c.query, sub, nil)
			r.wantError(t, http.StatusBadRequest, api.CodeBadRequest, c.field)
		}
		for _, q := range []string{"after=-1", "after=x", "limit=1001", "limit=x"} {
			r := call(t, h, "GET", "/v1/jobs/"+job.ID+"/events?"+q, sub, nil)
			r.wantError(t, http.StatusBadRequest, api.CodeBadRequest, strings.Split(q, "=")[0])
		}
	})
	t.Run("unknown job", func(t *testing.T) {
		for _, id := range []string{unknownID, "nope", "01ARZ3NDEKTSV4RRFFQ69G5FA%21"} {
			for _, c := range []struct{ method, suffix string }{
				{"GET", ""}, {"GET", "/events"}, {"POST", "/cancel"}, {"POST", "/retry"},
			} {
				r := call(t, h, c.method, "/v1/jobs/"+id+c.suffix, sub, nil)
				r.wantError(t, http.StatusNotFound, api.CodeNotFound, "-")
			}
		}
		_, err := h.Client(t, auth.RoleSubmitter).GetJob(ctxT(t), unknownID)
		wantAPIError(t, err, http.StatusNotFound, api.CodeNotFound, "-")
	})
	t.Run("unknown node and preset", func(t *testing.T) {
		call(t, h, "GET", "/v1/nodes/ghost", sub, nil).wantError(t, 404, api.CodeNotFound, "-")
		call(t, h, "POST", "/v1/nodes/ghost/drain", adm, nil).wantError(t, 404, api.CodeNotFound, "-")
		call(t, h, "DELETE", "/v1/nodes/ghost", adm, nil).wantError(t, 404, api.CodeNotFound, "-")
		call(t, h, "POST", "/v1/nodes/ghost/heartbeat", adm, []byte(`{}`)).wantError(t, 404, api.CodeUnknownNode, "-")
		call(t, h, "POST", "/v1/nodes/ghost/lease", adm, []byte(`{}`)).wantError(t, 404, api.CodeUnknownNode, "-")
		call(t, h, "GET", "/v1/presets/ghost", sub, nil).wantError(t, 404, api.CodeNotFound, "-")
	})
	t.Run("unknown route", func(t *testing.T) {
		for _, p := range []string{"/v1/nope", "/v2/jobs", "/v1", "/nope", "/v1/jobs/" + job.ID + "/explode", "/v1/presets/a/b"} {
			for _, key := range []string{"", sub} {
				call(t, h, "GET", p, key, nil).wantError(t, http.StatusNotFound, api.CodeNotFound, "")
			}
		}
	})
	t.Run("wrong method", func(t *testing.T) {
		for _, c := range []struct{ method, path, allow string }{
			{"DELETE", "/v1/jobs", "GET, POST"},
			{"PUT", "/v1/jobs", "GET, POST"},
			{"PATCH", "/v1/jobs/" + job.ID, "GET"},
			{"DELETE", "/v1/jobs/" + job.ID, "GET"},
			{"GET", "/v1/jobs/" + job.ID + "/cancel", "POST"},
			{"POST", "/v1/presets", "GET"},
			{"PATCH", "/v1/presets/abr-720p", "DELETE, GET, PUT"},
			{"POST", "/healthz", "GET"},
			{"DELETE", "/v1/backup", "GET"},
			{"PUT", "/v1/nodes/register", "DELETE, GET, POST"}, // GET and DELETE are /v1/nodes/{id}
			{"GET", "/v1/nodes/n1/lease", "POST"},
		} {
			for _, key := range []string{"", sub} {
				r := call(t, h, c.method, c.path, key, nil)
				e := r.wantError(t, http.StatusMethodNotAllowed, api.CodeMethodNotAllowed, "")
				if !strings.Contains(e.Message, c.method) {
					t.Errorf("%s %s: message %q does not name the method", c.method, c.path, e.Message)
				}
				if got := r.Header.Get("Allow"); got != c.allow {
					t.Errorf("%s %s: Allow %q, want %q", c.method, c.path, got, c.allow)
				}
			}
		}
	})
	t.Run("client errors are typed", func(t *testing.T) {
		_, err := h.Client(t, auth.RoleSubmitter).SubmitJob(ctxT(t), api.JobRequest{Scenario: "4k60", Queue: "urgent"}, "")
		wantAPIError(t, err, 400, api.CodeBadRequest, "queue")
		_, err = h.Client(t, auth.RoleSubmitter).CancelJob(ctxT(t), unknownID)
		wantAPIError(t, err, 404, api.CodeNotFound, "-")
	})
}

// hostileBodies are inputs that must never cost a 500.
func hostileBodies() map[string]string {
	deepArr := strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000)
	deepObj := strings.Repeat(`{"a":`, 20_000) + "1" + strings.Repeat("}", 20_000)
	deepLabels := `{"scenario":"4k60","labels":` + strings.Repeat(`{"a":`, 5000) + `"x"` + strings.Repeat("}", 5000) + "}"
	manyOutputs := `{"spec":{"input":{"url":"/a.mp4"},"outputs":[` + strings.TrimSuffix(strings.Repeat(`{"container":"null"},`, 20_000), ",") + `]}}`
	return map[string]string{
		"null":                      `null`,
		"empty array":               `[]`,
		"array of jobs":             `[{"scenario":"4k60"}]`,
		"string":                    `"4k60"`,
		"number":                    `42`,
		"true":                      `true`,
		"huge float priority":       `{"scenario":"4k60","priority":1e400}`,
		"huge int priority":         `{"scenario":"4k60","priority":99999999999999999999999}`,
		"min int priority":          `{"scenario":"4k60","priority":-9223372036854775808}`,
		"fraction priority":         `{"scenario":"4k60","priority":1.5}`,
		"huge duration":             `{"scenario":"4k60","parameters":{"duration":1e308}}`,
		"tiny duration":             `{"scenario":"4k60","parameters":{"duration":1e-308}}`,
		"huge max_run_time":         `{"scenario":"4k60","max_run_time":1e300}`,
		"huge max_run_time string":  `{"scenario":"4k60","max_run_time":"99999999999h"}`,
		"huge bitrate":              `{"scenario":"4k60","parameters":{"bitrate":"99999999999999999T"}}`,
		"negative bitrate":          `{"scenario":"4k60","parameters":{"bitrate":-1}}`,
		"huge gpu memory":           `{"scenario":"4k60","requirements":{"min_gpu_memory_mb":1e30}}`,
		"nulls everywhere":          `{"scenario":null,"parameters":null,"spec":null,"labels":null,"requirements":null,"priority":null,"max_retries":null}`,
		"null label value":          `{"scenario":"4k60","labels":{"a":null}}`,
		"array for parameters":      `{"scenario":"4k60","parameters":[]}`,
		"array for spec":            `{"spec":[1,2,3]}`,
		"string for requirements":   `{"scenario":"4k60","requirements":"gpu"}`,
		"array for labels":          `{"scenario":"4k60","labels":[]}`,
		"object for scenario":       `{"scenario":{"name":"4k60"}}`,
		"deeply nested array":       deepArr,
		"deeply nested object":      deepObj,
		"deeply nested labels":      deepLabels,
		"invalid UTF-8 value":       "{\"scenario\":\"\xff\xfe\"}",
		"invalid UTF-8 key":         "{\"\xff\":1}",
		"invalid UTF-8 label":       "{\"scenario\":\"4k60\",\"labels\":{\"\xff\":\"\xfe\"}}",
		"invalid UTF-8 output":      "{\"scenario\":\"4k60\",\"output\":\"/srv/\xff/\"}",
		"NUL in callback":           `{"scenario":"4k60","callback_url":"http://example.com/\u0000"}`,
		"NUL in output":             `{"scenario":"4k60","output":"/srv/out/a\u0000.mp4"}`,
		"long output":               `{"scenario":"4k60","output":"/` + strings.Repeat("a", 100_000) + `/"}`,
		"many labels":               `{"scenario":"4k60","labels":{` + manyLabels(1000) + `}}`,
		"spec with hostile numbers": `{"spec":{"input":{"synthetic":{"width":99999999,"height":-5,"fps":"1/0","duration":1e308}},"outputs":[{"video":{"width":1000000000,"height":1,"fps":1e9,"gop":-1,"crf":-99}}]}}`,
		"spec bad rate":             `{"spec":{"input":{"url":"/a.mp4"},"outputs":[{"container":"mp4","target":"/o.mp4","video":{"fps":"30000/0"}}]}}`,
		"spec no outputs":           `{"spec":{"input":{"url":"/a.mp4"},"outputs":[]}}`,
		"spec null outputs":         `{"spec":{"input":{"url":"/a.mp4"},"outputs":null}}`,
		"spec null output":          `{"spec":{"input":{"url":"/a.mp4"},"outputs":[null]}}`,
		"spec many outputs":         manyOutputs,
		"spec huge hls":             `{"spec":{"input":{"url":"/a.mp4"},"outputs":[{"container":"hls","target":"/o/","hls":{"segment_seconds":1e308,"playlist_size":-1}}]}}`,
		"preset hostile":            `{"renditions":[{"name":"a","height":1e10,"bitrate":"1e30"}],"segment_seconds":-1}`,
		"preset null renditions":    `{"renditions":[null,null]}`,
		"preset hostile names":      `{"renditions":[{"name":"../..","height":360,"bitrate":1},{"name":"","height":2,"bitrate":1}]}`,
		"registration hostile":      `{"id":"../../x","capabilities":{"slots":-1,"gpus":[{"index":-1}],"pixel_rate":-5}}`,
		"registration huge slots":   `{"capabilities":{"slots":1e12}}`,
		"heartbeat hostile":         `{"running_jobs":[null,1],"telemetry":{"gpus":[{"index":1e300}]}}`,
		"heartbeat many jobs":       `{"running_jobs":[` + strings.TrimSuffix(strings.Repeat(`"x",`, 10_000), ",") + `]}`,
		"lease huge wait":           `{"wait":1e300}`,
		"lease negative wait":       `{"wait":"-1s"}`,
		"lease NaN wait":            `{"wait":"NaN"}`,
		"progress hostile":          `{"node":"n","phase":"sleeping","progress":{"percent":1e308,"eta_seconds":-1e308,"frames":-1}}`,
		"progress many lines":       `{"node":"n","log":[` + strings.TrimSuffix(strings.Repeat(`"line",`, 1000), ",") + `]}`,
		"fail without error":        `{"node":"n","error":null}`,
		"fail huge message":         `{"node":"n","error":{"code":"x","message":"` + strings.Repeat("m", 500_000) + `"}}`,
		"complete hostile result":   `{"node":"n","result":{"details":` + deepArr[:1000] + `}}`,
	}
}

func manyLabels(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"k%d":"v"`, i)
	}
	return b.String()
}

// TestHostileInputsNever500 sends every hostile body to every route that takes one.
func TestHostileInputsNever500(t *testing.T) {
	h := start(t, func(c *master.Config) { c.Farm.MaxLeaseWait = 50 * time.Millisecond })
	job := submit(t, h.Client(t, auth.RoleSubmitter), scenarioJob("", 0))
	node := registerNode(t, h.Client(t, auth.RoleWorker), "hostile-node", 1)
	key := roleKey[auth.RoleAdmin]
	paths := []struct{ method, path string }{
		{"POST", "/v1/jobs"},
		{"PUT", "/v1/presets/hostile"},
		{"POST", "/v1/nodes/register"},
		{"POST", "/v1/nodes/" + node.ID + "/heartbeat"},
		{"POST", "/v1/nodes/" + node.ID + "/lease"},
		{"POST", "/v1/nodes/" + node.ID + "/drain"},
		{"POST", "/v1/jobs/" + job.ID + "/progress"},
		{"POST", "/v1/jobs/" + job.ID + "/complete"},
		{"POST", "/v1/jobs/" + job.ID + "/fail"},
		{"POST", "/v1/jobs/" + job.ID + "/cancel"},
		{"POST", "/v1/jobs/" + job.ID + "/retry"},
	}
	bodies := hostileBodies()
	names := make([]string, 0, len(bodies))
	for n := range bodies {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, p := range paths {
		for _, n := range names {
			r := call(t, h, p.method, p.path, key, []byte(bodies[n]))
			if r.Status >= 500 {
				t.Errorf("%s %s with %s: %d %s", p.method, p.path, n, r.Status, r.Body)
				continue
			}
			if r.Status >= 400 {
				r.apiError(t)
			} else if testing.Verbose() {
				t.Logf("%s %s with %s: accepted: %d %s", p.method, p.path, n, r.Status, clipBytes(r.Body))
			}
		}
	}
	// Hostile paths and queries too.
	for _, p := range []string{
		"/v1/jobs/" + strings.Repeat("A", 10_000),
		"/v1/jobs/%00",
		"/v1/jobs/%ff%fe",
		"/v1/jobs?status=" + url.QueryEscape("\xff"),
		"/v1/jobs?limit=1e400",
		"/v1/jobs?created_after=" + url.QueryEscape("99999-01-01T00:00:00Z"),
		"/v1/jobs?created_before=" + url.QueryEscape("0000-01-01T00:00:00Z"),
		"/v1/jobs?cursor=" + strings.Repeat("Z", 26),
		"/v1/jobs?cursor=" + strings.Repeat("0", 26),
		"/v1/jobs/" + job.ID + "/events?after=99999999999999999999",
		"/v1/jobs/" + job.ID + "/events?after=9223372036854775807",
		"/v1/presets/" + strings.Repeat("p", 5000),
		"/v1/nodes/%2e%2e",
	} {
		r := call(t, h, "GET", p, key, nil)
		if r.Status >= 500 {
			t.Errorf("GET %s: %d %s", p, r.Status, r.Body)
		}
	}
	// The master still works.
	if _, err := h.Client(t, auth.RoleSubmitter).SubmitJob(ctxT(t), scenarioJob("", 0), ""); err != nil {
		t.Fatalf("submit after the hostile inputs: %v", err)
	}
}

// TestIdempotencyKey checks replays, reuse with another body, and scoping per API key.
func TestIdempotencyKey(t *testing.T) {
	const otherKey = "second-submitter-key"
	h := start(t, func(c *master.Config) {
		c.APIKeys = append(c.APIKeys, auth.StaticKey("submitter-b", auth.RoleSubmitter, otherKey))
	})
	sub := roleKey[auth.RoleSubmitter]
	body := []byte(`{"scenario":"4k60","queue":"live","priority":50}`)

	first := call(t, h, "POST", "/v1/jobs", sub, body, "Idempotency-Key", "order-1")
	j1 := decode[api.Job](t, first, http.StatusCreated)
	if first.Header.Get("Idempotent-Replayed") != "" {
		t.Errorf("first submission says Idempotent-Replayed: %q", first.Header.Get("Idempotent-Replayed"))
	}
	again := call(t, h, "POST", "/v1/jobs", sub, body, "Idempotency-Key", "order-1")
	j2 := decode[api.Job](t, again, http.StatusCreated)
	if j2.ID != j1.ID {
		t.Fatalf("replay created job %s, want %s", j2.ID, j1.ID)
	}
	if again.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay: Idempotent-Replayed %q, want true", again.Header.Get("Idempotent-Replayed"))
	}
	// Same request, other spelling (field order, spaces): still the same request.
	respelled := []byte(`{ "priority": 50, "queue": "live", "scenario": "4k60" }`)
	if j := decode[api.Job](t, call(t, h, "POST", "/v1/jobs", sub, respelled, "Idempotency-Key", "order-1"), 201); j.ID != j1.ID {
		t.Errorf("a respelled replay created job %s, want %s", j.ID, j1.ID)
	}
	// The client's replay agrees.
	c := h.Client(t, auth.RoleSubmitter)
	cj, err := c.SubmitJob(ctxT(t), api.JobRequest{Scenario: "4k60", Queue: "live", Priority: 50}, "order-1")
	if err != nil || cj.ID != j1.ID {
		t.Fatalf("client replay: %v, job %v, want %s", err, cj, j1.ID)
	}

	// Same key, another body.
	other := []byte(`{"scenario":"4k60","queue":"live","priority":51}`)
	call(t, h, "POST", "/v1/jobs", sub, other, "Idempotency-Key", "order-1").
		wantError(t, http.StatusConflict, api.CodeIdempotencyReuse, "-")
	_, err = c.SubmitJob(ctxT(t), api.JobRequest{Scenario: "4k30"}, "order-1")
	if !api.IsCode(err, api.CodeIdempotencyReuse) {
		t.Errorf("client: reuse answered %v, want %s", err, api.CodeIdempotencyReuse)
	}

	list, err := c.ListJobs(ctxT(t), api.ListJobsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Jobs) != 1 || list.Jobs[0].ID != j1.ID {
		t.Fatalf("stored %d jobs after replays, want only %s", len(list.Jobs), j1.ID)
	}

	// Another API key with the same Idempotency-Key gets its own job, and its own replays.
	b1 := decode[api.Job](t, call(t, h, "POST", "/v1/jobs", otherKey, body, "Idempotency-Key", "order-1"), 201)
	if b1.ID == j1.ID {
		t.Fatalf("another API key's request replayed job %s", j1.ID)
	}
	b2 := call(t, h, "POST", "/v1/jobs", otherKey, body, "Idempotency-Key", "order-1")
	if j := decode[api.Job](t, b2, 201); j.ID != b1.ID || b2.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("second key's replay: job %s replayed %q, want %s true", j.ID, b2.Header.Get("Idempotent-Replayed"), b1.ID)
	}
	// No key: every request is new.
	n1 := decode[api.Job](t, call(t, h, "POST", "/v1/jobs", sub, body), 201)
	n2 := decode[api.Job](t, call(t, h, "POST", "/v1/jobs", sub, body), 201)
	if n1.ID == n2.ID {
		t.Errorf("two submissions without a key gave the same job")
	}
	// An over-long key is the client's mistake.
	call(t, h, "POST", "/v1/jobs", sub, body, "Idempotency-Key", strings.Repeat("k", 256)).
		wantError(t, http.StatusBadRequest, api.CodeBadRequest, "Idempotency-Key")

	// Concurrent first submissions with one key make one job.
	var wg sync.WaitGroup
	ids := make([]string, 8)
	errs := make([]error, 8)
	for i := range ids {
		wg.Go(func() {
			j, err := c.SubmitJob(ctxT(t), api.JobRequest{Scenario: "1080p30-h264"}, "race-1")
			errs[i] = err
			if j != nil {
				ids[i] = j.ID
			}
		})
	}
	wg.Wait()
	for i := range ids {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Fatalf("concurrent submissions with one key: ids %v errors %v", ids, errs)
		}
	}
	all, err := c.ListJobs(ctxT(t), api.ListJobsOptions{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Jobs) != 5 { // j1, b1, n1, n2, the race's one
		t.Errorf("%d jobs stored, want 5", len(all.Jobs))
	}
}

// TestListJobs checks order, pagination, filters and limits.
func TestListJobs(t *testing.T) {
	h := start(t)
	c := h.Client(t, auth.RoleSubmitter)
	ctx := ctxT(t)
	queues := []string{api.QueueLive, api.QueueBatch, api.QueueMedium}
	var created []*api.Job
	for i := range 25 {
		created = append(created, submit(t, c, scenarioJob(queues[i%3], 0)))
		if i == 11 {
			// Let the clock pass a millisecond so the time filters have two sides to split.
			for time.Now().UnixMilli() <= created[i].CreatedAt.UnixMilli() {
				time.Sleep(100 * time.Microsecond)
			}
		}
	}

	t.Run("pages", func(t *testing.T) {
		var ids []string
		seen := map[string]int{}
		cursor := ""
		pages := 0
		for {
			page, err := c.ListJobs(ctx, api.ListJobsOptions{Limit: 10, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			pages++
			if len(page.Jobs) > 10 {
				t.Fatalf("page of %d with limit 10", len(page.Jobs))
			}
			for _, j := range page.Jobs {
				ids = append(ids, j.ID)
				seen[j.ID]++
			}
			if page.NextCursor == "" {
				break
			}
			if pages > 5 {
				t.Fatal("pagination does not end")
			}
			cursor = page.NextCursor
		}
		if pages != 3 {
			t.Errorf("%d pages for 25 jobs at 10 a page, want 3", pages)
		}
		if len(ids) != 25 {
			t.Errorf("%d jobs over the pages, want 25", len(ids))
		}
		for _, j := range created {
			if seen[j.ID] != 1 {
				t.Errorf("job %s listed %d times", j.ID, seen[j.ID])
			}
		}
		// Newest first: exactly the reverse of submission order.
		for i, id := range ids {
			if want := created[len(created)-1-i].ID; id != want {
				t.Fatalf("position %d: %s, want %s (newest first)", i, id, want)
			}
		}
		// ListAllJobs walks the same pages.
		var all []string
		if err := c.ListAllJobs(ctx, api.ListJobsOptions{Limit: 7}, func(j api.Job) error { all = append(all, j.ID); return nil }); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(all, ids) {
			t.Errorf("ListAllJobs with limit 7 gave %d jobs in another order", len(all))
		}
	})

	// Give the filters variety: one job on a node, two canceled.
	wk := h.Client(t, auth.RoleWorker)
	node := registerNode(t, wk, "list-node", 1)
	leased := lease(t, wk, node.ID).Job // the best: the newest live one
	canceled := []string{created[3].ID, created[4].ID}
	for _, id := range canceled {
		if _, err := c.CancelJob(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	status := func(j *api.Job) api.Status {
		switch {
		case j.ID == leased.ID:
			return api.StatusAssigned
		case slices.Contains(canceled, j.ID):
			return api.StatusCanceled
		}
		return api.StatusQueued
	}
	list := func(t *testing.T, rawQuery string) []string {
		t.Helper()
		var ids []string
		cursor := ""
		for range 10 {
			q := rawQuery + "&limit=4"
			if cursor != "" {
				q += "&cursor=" + cursor
			}
			page := decode[api.JobList](t, call(t, h, "GET", "/v1/jobs?"+q, roleKey[auth.RoleSubmitter], nil), 200)
			for _, j := range page.Jobs {
				ids = append(ids, j.ID)
			}
			if cursor = page.NextCursor; cursor == "" {
				return ids
			}
		}
		t.Fatalf("%s: pagination does not end", rawQuery)
		return nil
	}
	expect := func(keep func(j *api.Job) bool) []string {
		var ids []string
		for i := len(created) - 1; i >= 0; i-- {
			if keep(created[i]) {
				ids = append(ids, created[i].ID)
			}
		}
		return ids
	}
	mid := created[12].CreatedAt
	midQ := url.QueryEscape(mid.Format(time.RFC3339Nano))
	ms := func(j *api.Job) int64 { return j.CreatedAt.UnixMilli() }
	for _, c := range []struct {
		name, query string
		keep        func(j *api.Job) bool
	}{
		{"status", "status=canceled", func(j *api.Job) bool { return status(j) == api.StatusCanceled }},
		{"status repeated", "status=canceled&status=assigned", func(j *api.Job) bool { return status(j) != api.StatusQueued }},
		{"status comma", "status=canceled,assigned", func(j *api.Job) bool { return status(j) != api.StatusQueued }},
		{"status comma and repeat", "status=queued,canceled&status=assigned", func(j *api.Job) bool { return true }},
		{"queue", "queue=batch", func(j *api.Job) bool { return j.Queue == api.QueueBatch }},
		{"queue and status", "queue=live&status=queued", func(j *api.Job) bool { return j.Queue == api.QueueLive && status(j) == api.StatusQueued }},
		{"node", "node=" + node.ID, func(j *api.Job) bool { return j.ID == leased.ID }},
		{"unknown node", "node=nobody", func(j *api.Job) bool { return false }},
		{"created_after", "created_after=" + midQ, func(j *api.Job) bool { return ms(j) >= mid.UnixMilli() }},
		{"created_before", "created_before=" + midQ, func(j *api.Job) bool { return ms(j) < mid.UnixMilli() }},
		{"created range and queue", "queue=medium&created_after=" + url.QueryEscape(created[0].CreatedAt.Format(time.RFC3339Nano)) + "&created_before=" + midQ,
			func(j *api.Job) bool { return j.Queue == api.QueueMedium && ms(j) < mid.UnixMilli() }},
		{"created in the future", "created_after=" + url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339)), func(j *api.Job) bool { return false }},
		{"text: a job ID", "text=" + created[3].ID, func(j *api.Job) bool { return j.ID == created[3].ID }},
		{"text: a job ID, spaces trimmed", "text=+" + strings.ToLower(created[4].ID) + "+", func(j *api.Job) bool { return j.ID == created[4].ID }},
		{"text: blank", "text=+", func(j *api.Job) bool { return true }},
		{"text and queue", "queue=batch&text=" + url.QueryEscape(created[0].ID[:8]), func(j *api.Job) bool { return j.Queue == api.QueueBatch && strings.Contains(j.ID, created[0].ID[:8]) }},
		{"text: the node a job runs on", "text=" + node.ID, func(j *api.Job) bool { return j.ID == leased.ID }},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := list(t, c.query)
			want := expect(c.keep)
			if !slices.Equal(got, want) {
				t.Errorf("?%s: %d jobs %v\nwant %d %v", c.query, len(got), got, len(want), want)
			}
		})
	}
	if n := len(expect(func(j *api.Job) bool { return ms(j) < mid.UnixMilli() })); n == 0 || n == 25 {
		t.Errorf("the time split put %d of 25 jobs before the middle: the time filter cases test nothing", n)
	}

	t.Run("limits", func(t *testing.T) {
		def := decode[api.JobList](t, call(t, h, "GET", "/v1/jobs", roleKey[auth.RoleSubmitter], nil), 200)
		if len(def.Jobs) != 25 || def.NextCursor != "" {
			t.Errorf("default page: %d jobs cursor %q, want all 25", len(def.Jobs), def.NextCursor)
		}
		one := decode[api.JobList](t, call(t, h, "GET", "/v1/jobs?limit=1", roleKey[auth.RoleSubmitter], nil), 200)
		if len(one.Jobs) != 1 || one.NextCursor != one.Jobs[0].ID {
			t.Errorf("limit=1: %d jobs cursor %q", len(one.Jobs), one.NextCursor)
		}
		max := decode[api.JobList](t, call(t, h, "GET", "/v1/jobs?limit=1000", roleKey[auth.RoleSubmitter], nil), 200)
		if len(max.Jobs) != 25 {
			t.Errorf("limit=1000: %d jobs", len(max.Jobs))
		}
		exact := decode[api.JobList](t, call(t, h, "GET", "/v1/jobs?limit=25", roleKey[auth.RoleSubmitter], nil), 200)
		if len(exact.Jobs) != 25 {
			t.Errorf("limit=25: %d jobs", len(exact.Jobs))
		}
		for _, q := range []string{"limit=0", "limit=1001", "limit=-5"} {
			call(t, h, "GET", "/v1/jobs?"+q, roleKey[auth.RoleSubmitter], nil).wantError(t, 400, api.CodeBadRequest, "limit")
		}
	})
}

// TestPresets checks the preset routes and jobs that use a stored preset.
func TestPresets(t *testing.T) {
	h := start(t)
	adm, sub := roleKey[auth.RoleAdmin], roleKey[auth.RoleSubmitter]
	ladder := `{"description":"two mp4 rungs","container":"mp4","video":{"codec":"libx264","preset":"fast","gop":2},
		"renditions":[{"name":"hi","height":540,"bitrate":"2M"},{"name":"lo","height":270,"bitrate":"600k"}]}`

	created := decode[api.Preset](t, call(t, h, "PUT", "/v1/presets/my-ladder", adm, []byte(ladder)), http.StatusCreated)
	if created.Name != "my-ladder" || created.BuiltIn || len(created.Renditions) != 2 {
		t.Errorf("created preset %+v", created)
	}
	replaced := decode[api.Preset](t, call(t, h, "PUT", "/v1/presets/my-ladder", adm, []byte(strings.Replace(ladder, "two mp4 rungs", "replaced", 1))), http.StatusOK)
	if replaced.Description != "replaced" {
		t.Errorf("replaced preset says %q", replaced.Description)
	}
	got := decode[api.Preset](t, call(t, h, "GET", "/v1/presets/my-ladder", sub, nil), 200)
	if got.Description != "replaced" || got.Container != "mp4" || got.Renditions[1].Height != 270 || got.Renditions[0].Bitrate != 2_000_000 {
		t.Errorf("GET gives %+v", got)
	}
	// A worker may read presets too.
	if _, err := h.Client(t, auth.RoleWorker).GetPreset(ctxT(t), "my-ladder"); err != nil {
		t.Error(err)
	}

	list := decode[api.PresetList](t, call(t, h, "GET", "/v1/presets", sub, nil), 200)
	names := map[string]bool{}
	for _, p := range list.Presets {
		names[p.Name] = p.BuiltIn
	}
	if b, ok := names["abr-1080p"]; !ok || !b {
		t.Errorf("list lacks built-in abr-1080p: %v", names)
	}
	if b, ok := names["abr-720p"]; !ok || !b {
		t.Errorf("list lacks built-in abr-720p: %v", names)
	}
	if b, ok := names["my-ladder"]; !ok || b {
		t.Errorf("list lacks stored my-ladder (or calls it built-in): %v", names)
	}

	// A job with the stored preset gets its renditions.
	j, err := h.Client(t, auth.RoleSubmitter).SubmitJob(ctxT(t), api.JobRequest{Input: "file:///srv/in/c.mp4", Preset: "my-ladder", Output: "file:///srv/out/j3/"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if hs := heights(j.Spec.Outputs); !slices.Equal(hs, []int{540, 270}) {
		t.Fatalf("job with my-ladder: heights %v, want 540/270", hs)
	}
	for i, want := range []string{"/srv/out/j3/hi.mp4", "/srv/out/j3/lo.mp4"} {
		o := j.Spec.Outputs[i]
		if o.Target != want || o.Container != "mp4" || o.Video.Codec != "libx264" || o.Video.Preset != "fast" {
			t.Errorf("output %d: %+v video %+v, want mp4 at %s with libx264 fast", i, o, o.Video, want)
		}
	}
	if j.Spec.Outputs[0].Video.Bitrate != 2_000_000 {
		t.Errorf("top rung bitrate %d, want 2M", j.Spec.Outputs[0].Video.Bitrate)
	}

	// Built-ins are read-only.
	call(t, h, "PUT", "/v1/presets/abr-720p", adm, []byte(ladder)).wantError(t, http.StatusConflict, api.CodeConflict, "-")
	call(t, h, "DELETE", "/v1/presets/abr-1080p", adm, nil).wantError(t, http.StatusConflict, api.CodeConflict, "-")

	// Invalid presets name the field.
	for _, c := range []struct{ name, path, body, field string }{
		{"no renditions", "/v1/presets/bad", `{"renditions":[]}`, "renditions"},
		{"renditions missing", "/v1/presets/bad", `{"container":"hls"}`, "renditions"},
		{"odd height", "/v1/presets/bad", `{"renditions":[{"name":"a","height":361,"bitrate":800000}]}`, "renditions[0].height"},
		{"zero height", "/v1/presets/bad", `{"renditions":[{"name":"a","height":360,"bitrate":800000},{"name":"b","height":0,"bitrate":1}]}`, "renditions[1].height"},
		{"no bitrate", "/v1/presets/bad", `{"renditions":[{"name":"a","height":360}]}`, "renditions[0].bitrate"},
		{"duplicate rung", "/v1/presets/bad", `{"renditions":[{"name":"a","height":360,"bitrate":1},{"name":"a","height":240,"bitrate":1}]}`, "renditions[1].name"},
		{"slash in rung name", "/v1/presets/bad", `{"renditions":[{"name":"../a","height":360,"bitrate":1}]}`, "renditions[0].name"},
		{"bad container", "/v1/presets/bad", `{"container":"avi","renditions":[{"name":"a","height":360,"bitrate":1}]}`, "container"},
		{"bad segment type", "/v1/presets/bad", `{"segment_type":"webm","renditions":[{"name":"a","height":360,"bitrate":1}]}`, "segment_type"},
		{"segments of a file", "/v1/presets/bad", `{"container":"mp4","segment_type":"fmp4","renditions":[{"name":"a","height":360,"bitrate":1}]}`, "segment_type"},
		{"ts segments for dash", "/v1/presets/bad", `{"container":"dash","segment_type":"ts","renditions":[{"name":"a","height":360,"bitrate":1}]}`, "segment_type"},
		{"av1 in ts segments", "/v1/presets/bad", `{"video":{"codec":"libsvtav1"},"renditions":[{"name":"a","height":360,"bitrate":1}]}`, "video.codec"},
		{"svt preset word", "/v1/presets/bad", `{"segment_type":"fmp4","video":{"codec":"libsvtav1","preset":"fast"},"renditions":[{"name":"a","height":360,"bitrate":1}]}`, "video.preset"},
		{"bad name", "/v1/presets/Bad%20Name", `{"renditions":[{"name":"a","height":360,"bitrate":1}]}`, "name"},
		{"name mismatch", "/v1/presets/bad", `{"name":"other","renditions":[{"name":"a","height":360,"bitrate":1}]}`, "name"},
		{"unknown field", "/v1/presets/bad", `{"rungs":[]}`, "rungs"},
		{"height as string", "/v1/presets/bad", `{"renditions":[{"name":"a","height":"360p","bitrate":1}]}`, "renditions.height"},
	} {
		t.Run(c.name, func(t *testing.T) {
			call(t, h, "PUT", c.path, adm, []byte(c.body)).wantError(t, http.StatusBadRequest, "", c.field)
		})
	}
	t.Run("bad codec", func(t *testing.T) {
		e := call(t, h, "PUT", "/v1/presets/bad", adm, []byte(`{"video":{"codec":"divx"},"renditions":[{"name":"a","height":360,"bitrate":800000}]}`)).
			wantError(t, http.StatusBadRequest, api.CodeBadRequest, "-")
		if !strings.HasPrefix(e.Field, "video") {
			t.Errorf("field %q, want it to name video (%s)", e.Field, e.Message)
		}
	})
	call(t, h, "GET", "/v1/presets/bad", sub, nil).wantError(t, http.StatusNotFound, api.CodeNotFound, "-")

	// Delete: 204, then gone; queued jobs keep their ladder.
	r := call(t, h, "DELETE", "/v1/presets/my-ladder", adm, nil)
	if r.Status != http.StatusNoContent || len(r.Body) != 0 {
		t.Fatalf("DELETE: %d %q, want 204 and no body", r.Status, r.Body)
	}
	call(t, h, "GET", "/v1/presets/my-ladder", sub, nil).wantError(t, http.StatusNotFound, api.CodeNotFound, "-")
	call(t, h, "DELETE", "/v1/presets/my-ladder", adm, nil).wantError(t, http.StatusNotFound, api.CodeNotFound, "-")
	_, err = h.Client(t, auth.RoleSubmitter).SubmitJob(ctxT(t), api.JobRequest{Input: "/srv/in/c.mp4", Preset: "my-ladder", Output: "/srv/out/j4/"}, "")
	wantAPIError(t, err, http.StatusBadRequest, api.CodeBadRequest, "preset")
	kept, err := h.Client(t, auth.RoleSubmitter).GetJob(ctxT(t), j.ID)
	if err != nil || len(kept.Spec.Outputs) != 2 {
		t.Errorf("the queued job lost its ladder with the preset: %v %+v", err, kept)
	}
}

// TestPresetsSurviveRestart checks that stored presets are on disk.
func TestPresetsSurviveRestart(t *testing.T) {
	h := start(t)
	body := `{"renditions":[{"name":"a","height":360,"bitrate":800000}]}`
	decode[api.Preset](t, call(t, h, "PUT", "/v1/presets/kept", roleKey[auth.RoleAdmin], []byte(body)), 201)
	if err := h.Stop(t); err != nil {
		t.Fatal(err)
	}
	h2 := restart(t, h.Dir)
	decode[api.Preset](t, call(t, h2, "GET", "/v1/presets/kept", roleKey[auth.RoleSubmitter], nil), 200)
}

// TestOps checks /healthz, /readyz and the backup.
func TestOps(t *testing.T) {
	h := start(t)
	if r := call(t, h, "GET", "/healthz", "", nil); r.Status != 200 || !strings.Contains(string(r.Body), `"ok"`) {
		t.Errorf("healthz: %d %s", r.Status, r.Body)
	}
	if err := h.ClientWithKey(t, "").Health(ctxT(t)); err != nil {
		t.Errorf("client Health: %v", err)
	}
	call(t, h, "GET", "/readyz", "", nil).wantError(t, http.StatusUnauthorized, api.CodeUnauthorized, "")
	for _, role := range allRoles {
		if err := h.Client(t, role).Ready(ctxT(t)); err != nil {
			t.Errorf("readyz as %s: %v", role, err)
		}
	}
}

// TestBackupWhileSubmitting streams a backup while a client keeps submitting, and checks the
// copy is a bbolt file holding every job acknowledged before the backup started.
func TestBackupWhileSubmitting(t *testing.T) {
	h := start(t)
	c := h.Client(t, auth.RoleSubmitter)
	ctx := ctxT(t)

	var mu sync.Mutex
	var acked []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var submitErr error
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				j, err := c.SubmitJob(ctx, scenarioJob(api.QueueBatch, 0), "")
				if err != nil {
					mu.Lock()
					submitErr = err
					mu.Unlock()
					return
				}
				mu.Lock()
				acked = append(acked, j.ID)
				mu.Unlock()
			}
		})
	}
	// Let a few jobs land first.
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d submissions in 20 s", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	before := slices.Clone(acked)
	mu.Unlock()

	path := filepath.Join(t.TempDir(), "backup.db")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := h.Client(t, auth.RoleAdmin).Backup(ctx, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	// Submissions go on after the backup: wait for one more, then stop.
	mu.Lock()
	during := len(acked)
	mu.Unlock()
	for deadline := time.Now().Add(20 * time.Second); ; {
		mu.Lock()
		n, serr := len(acked), submitErr
		mu.Unlock()
		if n > during || serr != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no submission succeeded after the backup")
		}
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if submitErr != nil {
		t.Fatalf("a submission during the backup failed: %v", submitErr)
	}
	if st, err := os.Stat(path); err != nil || st.Size() != n {
		t.Fatalf("backup file: %v, size %v, client said %d bytes", err, st, n)
	}

	db, err := bolt.Open(path, 0o400, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("the backup is not a bbolt file: %v", err)
	}
	defer db.Close()
	inBackup := map[string]bool{}
	err = db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("jobs"))
		if b == nil {
			return errors.New(`no "jobs" bucket`)
		}
		return b.ForEach(func(k, v []byte) error {
			if len(k) != 16 {
				return fmt.Errorf("job key of %d bytes", len(k))
			}
			inBackup[ulid.ULID(k).String()] = true
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	}); err != nil {
		t.Fatalf("backup fails bbolt's consistency check: %v", err)
	}
	db.Close()
	// A master can run on the backup: the store opens it and reads every job back.
	st, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatalf("the store does not open the backup: %v", err)
	}
	defer st.Close()
	got, err := st.GetJobs(t.Context(), before)
	if err != nil {
		t.Fatalf("read jobs from the backup: %v", err)
	}
	for id, j := range got {
		if j.ID != id {
			t.Errorf("job %s in the backup reads back as %s", id, j.ID)
		}
	}
	for _, id := range before {
		if !inBackup[id] || got[id].ID == "" {
			t.Errorf("job %s got a 201 before the backup but is not in it", id)
		}
	}
	if len(inBackup) > during+2 { // at most the two in flight when the backup ended
		t.Errorf("backup holds %d jobs; only %d had been acknowledged when it ended", len(inBackup), during)
	}
	t.Logf("backup: %d bytes, %d jobs (%d acknowledged before it, %d when it ended)", n, len(inBackup), len(before), during)

	// The backup is also reachable raw, with its headers.
	r := call(t, h, "GET", "/v1/backup", roleKey[auth.RoleAdmin], nil)
	if r.Status != 200 || r.Header.Get("Content-Type") != "application/octet-stream" ||
		!strings.Contains(r.Header.Get("Content-Disposition"), "attachment") || r.Header.Get("Content-Length") != fmt.Sprint(len(r.Body)) {
		t.Errorf("raw backup: %d, headers %v, %d bytes", r.Status, r.Header, len(r.Body))
	}
	if len(r.Body) < 20 || binary.LittleEndian.Uint32(r.Body[16:20]) != 0xED0CDAED { // bbolt's magic in page 0's meta
		t.Errorf("raw backup does not start with a bbolt meta page: % x", r.Body[:min(len(r.Body), 32)])
	}
}

// TestJobActions checks cancel and retry against the state machine.
func TestJobActions(t *testing.T) {
	h := start(t)
	c := h.Client(t, auth.RoleSubmitter)
	ctx := ctxT(t)
	j := submit(t, c, scenarioJob("", 0))
	_, err := c.RetryJob(ctx, j.ID)
	wantAPIError(t, err, http.StatusConflict, api.CodeIllegalTransition, "-")
	if cj, err := c.CancelJob(ctx, j.ID); err != nil || cj.Status != api.StatusCanceled || cj.FinishedAt == nil {
		t.Fatalf("cancel: %v %+v", err, cj)
	}
	_, err = c.CancelJob(ctx, j.ID)
	wantAPIError(t, err, http.StatusConflict, api.CodeIllegalTransition, "-")
	// Cancel and retry take no body, or an empty object; anything else is refused.
	call(t, h, "POST", "/v1/jobs/"+j.ID+"/retry", roleKey[auth.RoleSubmitter], []byte(`{"force":true}`)).
		wantError(t, 400, api.CodeUnknownField, "force")
	rj := decode[api.Job](t, call(t, h, "POST", "/v1/jobs/"+j.ID+"/retry", roleKey[auth.RoleSubmitter], []byte(`{}`)), 200)
	if rj.Status != api.StatusQueued {
		t.Errorf("retried job is %s", rj.Status)
	}
	evs, err := c.JobEvents(ctx, j.ID, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs.Events) != 2 || evs.Next == 0 {
		t.Fatalf("first page of events: %+v", evs)
	}
	rest, err := c.JobEvents(ctx, j.ID, evs.Next, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(rest.Events) != 1 || rest.Events[0].To != api.StatusQueued || rest.Events[0].Seq <= evs.Events[1].Seq {
		t.Errorf("second page of events: %+v", rest)
	}
}
