package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/internal/syncbuf"
	"github.com/ffrtmp/ffrtmp/master/auth"
	"github.com/ffrtmp/ffrtmp/master/egress"
	"github.com/ffrtmp/ffrtmp/master/farm"
	"github.com/ffrtmp/ffrtmp/master/httpapi"
	"github.com/ffrtmp/ffrtmp/master/live"
	"github.com/ffrtmp/ffrtmp/master/mastertest"
	"github.com/ffrtmp/ffrtmp/master/store"
)

// redactEnv is a real farm (bbolt file, live streams) behind the real API on loopback, with
// the master's log kept for the test to read.
type redactEnv struct {
	ctx     context.Context
	st      *store.Store
	db      string
	streams *live.Streams
	wc      *api.Client
	log     *syncbuf.Buffer
	srv     *httptest.Server
}

func newRedactEnv(t *testing.T) *redactEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	db := filepath.Join(t.TempDir(), "redact.db")
	st, err := store.Open(db, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	logs := &syncbuf.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f, err := farm.New(ctx, st, farm.Config{Logger: log, Interval: time.Hour, Aging: -1,
		Callbacks: egress.Policy{Resolver: egress.HostTable{"hooks.example": {netip.MustParseAddr("93.184.215.14")}}}})
	if err != nil {
		t.Fatal(err)
	}
	streams, err := live.New(ctx, f, st, live.Config{IngestPort: 19350, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := auth.NewKeyring([]auth.Entry{
		auth.StaticKey("admin", auth.RoleAdmin, mastertest.AdminKey),
		auth.StaticKey("sub", auth.RoleSubmitter, mastertest.SubmitterKey),
		auth.StaticKey("worker", auth.RoleWorker, mastertest.WorkerKey),
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.New(httpapi.Options{Farm: f, Streams: streams, Keys: keys, Logger: log}))
	t.Cleanup(srv.Close)
	wc, err := api.NewClient(srv.URL, mastertest.WorkerKey)
	if err != nil {
		t.Fatal(err)
	}
	return &redactEnv{ctx: ctx, st: st, db: db, streams: streams, wc: wc, log: logs, srv: srv}
}

// do sends a request with key and returns the answer's body, failing on a non-2xx.
func (e *redactEnv) do(t *testing.T, method, path, key string, body any) []byte {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequestWithContext(e.ctx, method, e.srv.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	if r.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %s", method, path, r.StatusCode, b)
	}
	return b
}

// webhooks are the payloads the master will POST to callbacks, as the receivers get them.
func (e *redactEnv) webhooks(t *testing.T) map[string][]byte {
	t.Helper()
	due, err := e.st.Outbox().Due(e.ctx, time.Now().Add(time.Hour), 100)
	if err != nil || len(due) == 0 {
		t.Fatalf("no webhook deliveries: %v", err)
	}
	out := map[string][]byte{}
	for _, d := range due {
		out[fmt.Sprintf("webhook %s #%d", d.JobID, d.Seq)] = d.Body
	}
	return out
}

// A stream's restream destinations carry third-party stream keys, and its live job's input
// the play token: no route that shows jobs to submitters or admins shows them, the
// webhook payload neither; the worker's lease has them all.
func TestJobViewsRedactDestinationKeys(t *testing.T) {
	e := newRedactEnv(t)
	ctx, streams, wc := e.ctx, e.streams, e.wc
	do := func(method, path, key string, body any) []byte {
		t.Helper()
		return e.do(t, method, path, key, body)
	}

	var stream api.Stream
	if err := json.Unmarshal(do("POST", "/v1/streams", mastertest.SubmitterKey, api.StreamRequest{Name: "cam", Preset: "abr-480p",
		Destinations: []string{"rtmp://a.example/app/SECRETKEY", "rtmps://user:SECRETPW@b.example:443/app/SECRETKEY2?x=SECRETQ"}}), &stream); err != nil {
		t.Fatal(err)
	}
	streams.Published(stream.ID, api.StreamInput{VideoCodec: "h264", Width: 1280, Height: 720, FPS: 30})
	if err := json.Unmarshal(do("GET", "/v1/streams/"+stream.ID, mastertest.SubmitterKey, nil), &stream); err != nil || stream.JobID == "" {
		t.Fatalf("the published stream has no live job: %+v %v", stream, err)
	}

	// The worker gets the real URLs.
	if _, err := wc.Register(ctx, api.Registration{ID: "n1", Name: "n1", Version: "test",
		Capabilities: api.Capabilities{CPUs: 4, Encoders: []string{"libx264", "aac"}, Slots: 2}}); err != nil {
		t.Fatal(err)
	}
	l, err := wc.Lease(ctx, "n1", 5*time.Second)
	if err != nil || l == nil || l.Job.ID != stream.JobID {
		t.Fatalf("lease: %+v, %v", l, err)
	}
	leased, _ := json.Marshal(l)
	for _, s := range []string{"rtmp://a.example/app/SECRETKEY", "SECRETPW", "SECRETKEY2", "?token="} {
		if !bytes.Contains(leased, []byte(s)) {
			t.Errorf("the lease lacks %q: %s", s, leased)
		}
	}
	token := l.Job.Input[bytes.LastIndex([]byte(l.Job.Input), []byte("token="))+len("token="):]
	if len(token) < 20 {
		t.Fatalf("play token %q", token)
	}

	// The worker reports a restream error quoting the URL, and the run's end.
	lastErr := "connect rtmp://a.example/app/SECRETKEY: connection refused"
	if _, err := wc.ReportProgress(ctx, l.Job.ID, api.ProgressReport{Node: "n1", Phase: api.PhaseTranscoding,
		Progress: &api.Progress{FPS: 30, Speed: 1, Outputs: []api.OutputProgress{{Name: "restream0", Restream: true, Reconnects: 2, LastError: lastErr}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := wc.Fail(ctx, l.Job.ID, api.FailReport{Node: "n1", Error: api.JobError{Code: "io", Message: "input rtmp://127.0.0.1:19350/live/" + stream.ID + "?token=" + token + " ended; " + lastErr}}); err != nil {
		t.Fatal(err)
	}

	// A job submitted with an rtmp output and a callback: the answer and the webhook.
	sub := do("POST", "/v1/jobs", mastertest.SubmitterKey, api.JobRequest{CallbackURL: "https://hooks.example/cb",
		Spec: &spec.Spec{Input: spec.Input{Synthetic: &spec.Synthetic{Width: 320, Height: 240, Duration: 1}},
			Outputs: []spec.Output{{Name: "push", Target: "rtmp://c.example/live/SECRETKEY3", Reconnect: &spec.Reconnect{}}}}})
	var subJob api.Job
	_ = json.Unmarshal(sub, &subJob)

	views := map[string][]byte{
		"submit answer": sub,
		"list":          do("GET", "/v1/jobs", mastertest.SubmitterKey, nil),
		"list admin":    do("GET", "/v1/jobs?queue=live", mastertest.AdminKey, nil),
		"get":           do("GET", "/v1/jobs/"+l.Job.ID, mastertest.SubmitterKey, nil),
		"events":        do("GET", "/v1/jobs/"+l.Job.ID+"/events", mastertest.SubmitterKey, nil),
		"cancel answer": do("POST", "/v1/jobs/"+subJob.ID+"/cancel", mastertest.SubmitterKey, nil),
		"retry answer":  do("POST", "/v1/jobs/"+l.Job.ID+"/retry", mastertest.AdminKey, nil),
	}
	maps.Copy(views, e.webhooks(t))
	for name, b := range views {
		for _, secret := range []string{"SECRETKEY", "SECRETPW", "SECRETQ", token} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s shows %q: %s", name, secret, b)
			}
		}
	}
	for _, name := range []string{"get", "list"} {
		if !bytes.Contains(views[name], []byte("rtmp://a.example/app/***")) || !bytes.Contains(views[name], []byte("rtmps://***@b.example:443/app/***?***")) {
			t.Errorf("%s lost the destinations' host and app: %s", name, views[name])
		}
	}
	var got api.Job
	if err := json.Unmarshal(views["get"], &got); err != nil || got.Progress == nil || len(got.Progress.Outputs) != 1 || got.Progress.Outputs[0].Reconnects != 2 {
		t.Errorf("the job view lost the restream progress: %+v %v", got.Progress, err)
	}
}

// Workers quote secrets in what they report: errors and log lines that name an input URL
// with its password, a presigned URL, request headers, API keys. The master stores all of
// it redacted, so no job view, event, webhook payload, stream view or log line shows a
// secret, and the database file never holds one the worker reported; the worker's lease
// still has the spec's secrets, which it needs to run the job.
func TestWorkerReportsStoredRedacted(t *testing.T) {
	e := newRedactEnv(t)
	const farmKey = "ffk_5ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75e"
	var stream api.Stream
	if err := json.Unmarshal(e.do(t, "POST", "/v1/streams", mastertest.SubmitterKey, api.StreamRequest{Name: "cam", Preset: "abr-480p",
		Destinations: []string{"rtmp://a.example/app/SECRETKEY", "rtmps://user:SECRETPW@b.example:443/app/SECRETKEY2?token=SECRETQ"}}), &stream); err != nil {
		t.Fatal(err)
	}
	// The answer that creates the stream shows its own key, and only it.
	if stream.StreamKey == "" || strings.Contains(stream.Destinations[0], "SECRETKEY") {
		t.Fatalf("create answer: stream key %q, destinations %q", stream.StreamKey, stream.Destinations)
	}

	input := "https://user:SECRETINPW@media.example/in.mp4?X-Amz-Credential=SECRETCRED&X-Amz-Signature=SECRETSIG"
	req := api.JobRequest{CallbackURL: "https://hooks.example/cb?token=SECRETCB",
		Spec: &spec.Spec{Input: spec.Input{URL: input, Options: map[string]string{"headers": "Authorization: Bearer SECRETHDR\r\n"}},
			Outputs: []spec.Output{{Name: "v0", Target: "/srv/out/v0.mp4"}}}}
	var failed, done api.Job
	_ = json.Unmarshal(e.do(t, "POST", "/v1/jobs", mastertest.SubmitterKey, req), &failed)
	_ = json.Unmarshal(e.do(t, "POST", "/v1/jobs", mastertest.SubmitterKey, req), &done)
	if _, err := e.wc.Register(e.ctx, api.Registration{ID: "n1", Name: "n1", Version: "test",
		Capabilities: api.Capabilities{CPUs: 4, Encoders: []string{"libx264", "aac"}, Slots: 2}}); err != nil {
		t.Fatal(err)
	}
	leased := map[string]bool{}
	for range 2 {
		l, err := e.wc.Lease(e.ctx, "n1", 5*time.Second)
		if err != nil || l == nil {
			t.Fatalf("lease: %+v, %v", l, err)
		}
		leased[l.Job.ID] = true
		if l.Job.Spec.Input.URL != input || !strings.Contains(l.Job.Spec.Input.Options["headers"], "SECRETHDR") {
			t.Errorf("the lease lacks the input's credentials the worker needs: %+v", l.Job.Spec.Input)
		}
	}
	if !leased[failed.ID] || !leased[done.ID] {
		t.Fatalf("leased %v, want %s and %s", leased, failed.ID, done.ID)
	}

	// What the worker reports: each secret it quotes is one the spec does not hold
	// (WSECRET...), so the database must never have seen it.
	if _, err := e.wc.ReportProgress(e.ctx, failed.ID, api.ProgressReport{Node: "n1", Phase: api.PhaseTranscoding,
		Progress: &api.Progress{FPS: 30, Outputs: []api.OutputProgress{{Name: "up", Restream: true,
			LastError: "connect rtmps://b.example/app/WSECRETKEY?token=WSECRETQ: refused"}}},
		Warnings: []string{"open https://user:WSECRETPW@media.example/in.mp4 failed: 403 (apikey=WSECRETAPI)"},
		Log: []string{"privatekey=WSECRETPRIV accesskey=WSECRETACC", "request headers: Authorization: Bearer WSECRETHDR",
			"retry with Bearer " + farmKey, "GET https://b.s3.amazonaws.com/in.mp4?X-Amz-Credential=WSECRETCRED&X-Amz-Signature=WSECRETSIG"},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.wc.Fail(e.ctx, failed.ID, api.FailReport{Node: "n1", Error: api.JobError{Code: "input",
		Message: "open input \"https://user:WSECRETPW@media.example/in.mp4\": 401; callback_url https://hooks.example/cb?token=WSECRETCB"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.wc.Complete(e.ctx, done.ID, api.CompleteReport{Node: "n1", Result: &api.Result{
		Outputs:   []string{"https://user:WSECRETPW@up.example/v0.mp4"},
		Details:   json.RawMessage(`[{"name":"v0","api_key":"WSECRETJSON","note":"Authorization: Basic WSECRETBASIC"}]`),
		Restreams: []api.OutputProgress{{Name: "up", Restream: true, LastError: "rtmp://a.example/app/WSECRETKEY2 gone"}}}}); err != nil {
		t.Fatal(err)
	}

	views := map[string][]byte{
		"get failed":  e.do(t, "GET", "/v1/jobs/"+failed.ID, mastertest.SubmitterKey, nil),
		"get done":    e.do(t, "GET", "/v1/jobs/"+done.ID, mastertest.AdminKey, nil),
		"events":      e.do(t, "GET", "/v1/jobs/"+failed.ID+"/events", mastertest.SubmitterKey, nil),
		"events done": e.do(t, "GET", "/v1/jobs/"+done.ID+"/events", mastertest.AdminKey, nil),
		"list":        e.do(t, "GET", "/v1/jobs", mastertest.SubmitterKey, nil),
		"streams":     e.do(t, "GET", "/v1/streams", mastertest.SubmitterKey, nil),
		"stream":      e.do(t, "GET", "/v1/streams/"+stream.ID, mastertest.AdminKey, nil),
	}
	maps.Copy(views, e.webhooks(t))
	views["master log"] = []byte(e.log.String())
	for name, b := range views {
		for _, secret := range []string{"SECRET", farmKey} {
			if i := bytes.Index(b, []byte(secret)); i >= 0 {
				t.Errorf("%s shows a secret: …%s…", name, b[max(0, i-60):min(len(b), i+40)])
			}
		}
	}
	for name, keep := range map[string]string{
		"streams": "rtmps://***@b.example:443/app/***?***", "stream": "rtmp://a.example/app/***",
		"get failed": "https://***@media.example/in.mp4?X-Amz-Credential=***", "events": "privatekey=*** accesskey=***",
		"get done": `"api_key":"***"`,
	} {
		if !bytes.Contains(views[name], []byte(keep)) {
			t.Errorf("%s lost %q: %s", name, keep, views[name])
		}
	}
	var ev api.EventList
	if err := json.Unmarshal(views["events"], &ev); err != nil {
		t.Fatal(err)
	}
	lines := 0
	for _, x := range ev.Events {
		if x.Type == api.EventLog || x.Type == api.EventWarning {
			lines++
		}
	}
	if lines != 5 {
		t.Errorf("%d warning and log events, want 5: %s", lines, views["events"])
	}

	// Stored redacted: the database file never held a secret the worker reported.
	if err := e.st.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(e.db)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"WSECRET", farmKey} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("the database holds %q, reported by the worker", secret)
		}
	}
}
