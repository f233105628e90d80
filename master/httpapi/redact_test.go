package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/engine/spec"
	"github.com/ffrtmp/ffrtmp/master/auth"
	"github.com/ffrtmp/ffrtmp/master/egress"
	"github.com/ffrtmp/ffrtmp/master/farm"
	"github.com/ffrtmp/ffrtmp/master/httpapi"
	"github.com/ffrtmp/ffrtmp/master/mastertest"
	"github.com/ffrtmp/ffrtmp/master/store"
)

// A stream's restream destinations carry third-party stream keys, and its live job's input
// the play token: no route that shows jobs to submitters or admins shows them, the
// webhook payload neither; the worker's lease has them all.
func TestJobViewsRedactDestinationKeys(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	st, err := store.Open(filepath.Join(t.TempDir(), "redact.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	f, err := farm.New(ctx, st, farm.Config{Logger: quiet, Interval: time.Hour, Aging: -1,
		Callbacks: egress.Policy{Resolver: egress.HostTable{"hooks.example": {netip.MustParseAddr("93.184.215.14")}}}})
	if err != nil {
		t.Fatal(err)
	}
	streams, err := farm.NewStreams(ctx, f, farm.StreamsConfig{IngestPort: 19350, Logger: quiet})
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
	srv := httptest.NewServer(httpapi.New(httpapi.Options{Farm: f, Streams: streams, Keys: keys, Logger: quiet}))
	t.Cleanup(srv.Close)
	do := func(method, path, key string, body any) []byte {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequestWithContext(ctx, method, srv.URL+path, rd)
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
	wc, err := api.NewClient(srv.URL, mastertest.WorkerKey)
	if err != nil {
		t.Fatal(err)
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
	due, err := st.Outbox().Due(ctx, time.Now().Add(time.Hour), 100)
	if err != nil || len(due) == 0 {
		t.Fatalf("no webhook deliveries: %v", err)
	}
	for _, d := range due {
		views["webhook "+d.JobID] = d.Body
	}
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
