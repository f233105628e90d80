package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/api/roundtrip"
	"github.com/ffrtmp/ffrtmp/master"
	"github.com/ffrtmp/ffrtmp/master/auth"
	"github.com/ffrtmp/ffrtmp/master/mastertest"
)

// The fuzz targets below send any body to the API's routes that read one, through a real
// master (bbolt file, HTTP on loopback) that all inputs of a target share. Whatever the
// body, the answer is never a 5xx, and an error is the API's error body; a body the API
// accepted is one that reads back the same after a JSON round trip (what the master stores
// and resends is what the client meant). Bodies may name the harness's node, job and stream
// as $NODE, $JOB and $STREAM, so seeds reach past "not found".

const fuzzNode = "fuzz-node"

// fuzzMaster is a running master with a registered node, a stream, and a job leased to the
// node and running on it (replaced when an input completes or fails it).
type fuzzMaster struct {
	h      *mastertest.Harness
	worker *api.Client
	client *http.Client
	stream string
	job    string
}

func startFuzzMaster(f *testing.F) *fuzzMaster {
	f.Helper()
	h := mastertest.Start(f, func(c *master.Config) {
		// Nothing expires while a long `make fuzz` runs: the inputs find the same node and job.
		day := 24 * time.Hour
		c.Farm.HeartbeatTimeout, c.Farm.LeaseAckTimeout, c.Farm.BatchStale, c.Farm.LiveStale = day, day, day, day
		c.Farm.NoRetries = true
		// The master's warnings must not go to f: testing.F panics when logged to from inside
		// the fuzz target, and the panic, in a request's goroutine, drops its connection.
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	})
	m := &fuzzMaster{h: h, worker: h.Client(f, auth.RoleWorker),
		client: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}}
	st, err := h.Client(f, auth.RoleSubmitter).CreateStream(fuzzCtx(f), api.StreamRequest{Name: "fuzz", Preset: "abr-480p"})
	if err != nil {
		f.Fatalf("create stream: %v", err)
	}
	m.stream = st.ID
	m.freshJob(f)
	return m
}

// freshJob registers the node (again) and gives it a new running job.
func (m *fuzzMaster) freshJob(t testing.TB) {
	t.Helper()
	ctx := fuzzCtx(t)
	if _, err := m.worker.Register(ctx, api.Registration{ID: fuzzNode, Name: fuzzNode, Version: "fuzz",
		Capabilities: api.Capabilities{CPUs: 4, Encoders: []string{"libx264", "aac"}, Slots: 1000}}); err != nil {
		t.Fatalf("register %s: %v", fuzzNode, err)
	}
	sub := m.h.Client(t, auth.RoleSubmitter)
	if _, err := sub.SubmitJob(ctx, api.JobRequest{Scenario: "720p30-h264", Requirements: api.Requirements{Node: fuzzNode}}, ""); err != nil {
		t.Fatalf("submit: %v", err)
	}
	l, err := m.worker.Lease(ctx, fuzzNode, 5*time.Second)
	if err != nil || l == nil {
		t.Fatalf("lease for %s: %v (lease %v)", fuzzNode, err, l)
	}
	m.job = l.Job.ID
	if _, err := m.worker.ReportProgress(ctx, m.job, api.ProgressReport{Node: fuzzNode, Phase: api.PhaseTranscoding}); err != nil {
		t.Fatalf("progress of %s: %v", m.job, err)
	}
}

// call sends one request on a connection of its own, so that no input can fail on a
// keep-alive connection the server closed after an earlier one (a client-side race that says
// nothing about the body).
func (m *fuzzMaster) call(t *testing.T, method, path, key string, body []byte) resp {
	t.Helper()
	req, err := http.NewRequestWithContext(fuzzCtx(t), method, m.h.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	// Node routes act as the harness's node, with its secret (other routes ignore it).
	req.Header.Set(api.NodeSecretHeader, m.worker.NodeSecret(fuzzNode))
	res, err := m.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read answer: %v", method, path, err)
	}
	return resp{Status: res.StatusCode, Header: res.Header, Body: b}
}

func fuzzCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func (m *fuzzMaster) expand(s string) string {
	return strings.NewReplacer("$NODE", fuzzNode, "$JOB", m.job, "$STREAM", m.stream).Replace(s)
}

// send sends body to method path as role and checks what every answer must be: no 5xx, and
// errors in the API's error body. For an accepted body (2xx) it checks that the body, read
// strictly into T as the master reads it, survives a JSON round trip.
func send[T any](t *testing.T, m *fuzzMaster, method, path string, role auth.Role, body []byte) resp {
	t.Helper()
	body = []byte(m.expand(string(body)))
	r := m.call(t, method, m.expand(path), roleKey[role], body)
	switch {
	case r.Status >= 500:
		t.Fatalf("%s %s answered %d for body %q: %s", method, path, r.Status, body, r.Body)
	case r.Status >= 400:
		r.apiError(t)
	case r.Status >= 200 && r.Status < 300:
		var v T
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%s %s accepted (%d) a body that does not decode strictly as %T: %v\n%q", method, path, r.Status, v, err, body)
		}
		if err := roundtrip.Check(v); err != nil {
			t.Fatalf("%s %s accepted %q: %v", method, path, body, err)
		}
	default:
		t.Fatalf("%s %s answered %d: %s", method, path, r.Status, r.Body)
	}
	return r
}

func addSeeds(f *testing.F, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
}

// Bodies every route must refuse cleanly.
var malformed = []string{``, `null`, `[]`, `{`, `{"a":1}`, `{} {}`, `"x"`, `{"name":1e999}`, "\xff\xfe{}"}

func FuzzSubmitJob(f *testing.F) {
	m := startFuzzMaster(f)
	addSeeds(f, malformed...)
	addSeeds(f,
		`{"scenario":"720p30-h264","queue":"high","priority":10,"labels":{"team":"a"},"max_run_time":"1h"}`,
		`{"preset":"abr-720p","input":"https://cdn.example/in.mp4","output":"file:///srv/out/j/","parameters":{"bitrate":"2M","encoder_preset":"fast"}}`,
		`{"preset":"abr-2160p","input":"/in/a.mp4","output":"/out/","parameters":{"bitrate":"1000G"}}`,
		`{"spec":{"input":{"url":"/in/a.mp4"},"outputs":[{"name":"x","target":"/out/hls","video":{"fps":"30000/1001"}}]},"max_run_time":9223372036.854776}`,
		`{"spec":{"input":{"url":"/in/a.mp4"},"outputs":[{"name":"a\n#EXT-X-ENDLIST","target":"/out/hls"}]}}`,
		`{"scenario":"1080p30-h264","callback_url":"http://hooks.example/x","max_retries":2,"requirements":{"node":"$NODE","labels":{"gpu":"yes"}}}`,
	)
	f.Fuzz(func(t *testing.T, body []byte) {
		r := send[api.JobRequest](t, m, "POST", "/v1/jobs", auth.RoleSubmitter, body)
		if r.Status != 201 {
			return
		}
		job := decode[api.Job](t, r, 201)
		got := decode[api.Job](t, m.call(t, "GET", "/v1/jobs/"+url.PathEscape(job.ID), mastertest.SubmitterKey, nil), 200)
		if !roundtrip.Equal(got, job) {
			t.Fatalf("the job reads back otherwise than submitted:\n submit %s\n get    %+v", r.Body, got)
		}
	})
}

func FuzzPutPreset(f *testing.F) {
	m := startFuzzMaster(f)
	for _, s := range malformed {
		f.Add([]byte(s), "mine")
	}
	for _, s := range []struct{ body, name string }{
		{`{"container":"hls","video":{"codec":"libx264","preset":"veryfast","gop":2},"audio":{"codec":"aac"},"renditions":[{"name":"720p","height":720,"bitrate":"3M"},{"name":"360p","height":360,"bitrate":"800k","audio_bitrate":"64k"}]}`, "mine"},
		{`{"name":"other","renditions":[{"name":"a","height":720,"bitrate":1}]}`, "mine"},
		{`{"container":"mp4","renditions":[{"name":"a\n#x","height":720,"bitrate":1000}]}`, "lines"},
		{`{"renditions":[{"name":"a","height":720,"bitrate":"1000G","max_rate":"1000G"}]}`, "big"},
		{`{"renditions":[{"name":"a","height":720,"bitrate":1000}],"segment_seconds":4}`, "abr-720p"},
		{`{"renditions":[{"name":"a","height":720,"bitrate":1000}]}`, "../x"},
	} {
		f.Add([]byte(s.body), s.name)
	}
	f.Fuzz(func(t *testing.T, body []byte, name string) {
		if name == "" || name == "." || name == ".." {
			return // another route, not a preset name
		}
		path := "/v1/presets/" + url.PathEscape(name)
		r := send[api.Preset](t, m, "PUT", path, auth.RoleAdmin, body)
		if r.Status != 200 && r.Status != 201 {
			return
		}
		put := decode[api.Preset](t, r, r.Status)
		got := decode[api.Preset](t, m.call(t, "GET", path, mastertest.AdminKey, nil), 200)
		if put.Name != name || !roundtrip.Equal(got, put) {
			t.Fatalf("preset %q reads back otherwise than stored:\n put %+v\n get %+v", name, put, got)
		}
	})
}

func FuzzCreateStream(f *testing.F) {
	m := startFuzzMaster(f)
	addSeeds(f, malformed...)
	addSeeds(f,
		`{"name":"cam-1","preset":"abr-720p","destinations":["rtmp://a.rtmp.youtube.com/live2/key"],"queue":"live"}`,
		`{"name":"cam.2","preset":"abr-480p","hls":false,"destinations":["rtmps://live.example:443/app/key"]}`,
		`{"name":"fuzz","preset":"abr-480p"}`,
		`{"name":"a b","preset":"abr-480p"}`,
		`{"name":"x","preset":"abr-480p","destinations":["http://x/y"]}`,
	)
	f.Fuzz(func(t *testing.T, body []byte) {
		r := send[api.StreamRequest](t, m, "POST", "/v1/streams", auth.RoleSubmitter, body)
		if r.Status != 201 {
			return
		}
		st := decode[api.Stream](t, r, 201)
		got := decode[api.Stream](t, m.call(t, "GET", "/v1/streams/"+url.PathEscape(st.ID), mastertest.SubmitterKey, nil), 200)
		if st.StreamKey == "" || got.StreamKey != "" || got.Name != st.Name || got.Preset != st.Preset {
			t.Fatalf("created %+v, reads back as %+v (the key is shown once, at creation)", st, got)
		}
		// Names are unique: free this one for the next input.
		if del := m.call(t, "DELETE", "/v1/streams/"+url.PathEscape(st.ID), mastertest.SubmitterKey, nil); del.Status != 204 {
			t.Fatalf("delete stream %s: %d %s", st.ID, del.Status, del.Body)
		}
	})
}

func FuzzRegisterNode(f *testing.F) {
	m := startFuzzMaster(f)
	addSeeds(f, malformed...)
	addSeeds(f,
		`{"id":"n1","name":"gpu-1","version":"1.0","labels":{"rack":"a"},"capabilities":{"cpus":32,"memory_bytes":1e11,"encoders":["libx264","h264_nvenc"],"hardware":["cuda"],"gpus":[{"index":0,"name":"L4","memory_total_mb":23034,"encoder_sessions":3}],"slots":4,"pixel_rate":500000000},"hls_base_url":"http://10.0.0.5:8088/hls/"}`,
		`{"name":"anon","capabilities":{"cpus":1,"encoders":[],"slots":0}}`,
		`{"id":"$NODE","name":"x","capabilities":{"cpus":-1,"encoders":["libx264"],"slots":-5}}`,
		`{"id":"a/b","name":"x","capabilities":{"cpus":1,"encoders":["libx264"],"slots":1}}`,
	)
	f.Fuzz(func(t *testing.T, body []byte) {
		r := send[api.Registration](t, m, "POST", "/v1/nodes/register", auth.RoleWorker, body)
		if r.Status != 200 {
			return
		}
		n := decode[api.Registered](t, r, 200)
		if n.ID == "" {
			t.Fatalf("registered a node without an ID: %s", r.Body)
		}
		got := decode[api.Node](t, m.call(t, "GET", "/v1/nodes/"+url.PathEscape(n.ID), mastertest.AdminKey, nil), 200)
		if got.ID != n.ID || got.Name != n.Name || !roundtrip.Equal(got.Capabilities, n.Capabilities) || !roundtrip.Equal(got.Labels, n.Labels) {
			t.Fatalf("registered %+v, reads back as %+v", n, got)
		}
	})
}

func FuzzHeartbeat(f *testing.F) {
	m := startFuzzMaster(f)
	addSeeds(f, malformed...)
	addSeeds(f,
		`{"telemetry":{"cpu_percent":12.5,"memory_used_bytes":1000000,"load_average":0.7,"gpus":[{"index":0,"utilization_percent":50,"memory_utilization_percent":10,"encoder_utilization_percent":0,"decoder_utilization_percent":30,"memory_used_mb":900,"power_watts":70,"temperature_c":55,"encoder_sessions":0}]},"running_jobs":["$JOB"]}`,
		`{"telemetry":{"cpu_percent":0},"running_jobs":[],"draining":true}`,
		`{"telemetry":{"cpu_percent":-1e308},"running_jobs":["$JOB","$JOB","nope"]}`,
	)
	f.Fuzz(func(t *testing.T, body []byte) {
		r := send[api.Heartbeat](t, m, "POST", "/v1/nodes/$NODE/heartbeat", auth.RoleWorker, body)
		if r.Status == 200 {
			decode[api.HeartbeatReply](t, r, 200)
		}
	})
}

func FuzzReportProgress(f *testing.F) {
	m := startFuzzMaster(f)
	addSeeds(f, malformed...)
	addSeeds(f,
		`{"node":"$NODE","phase":"transcoding","progress":{"percent":42.5,"fps":120,"speed":4,"eta_seconds":12,"frames":1000,"out_time_seconds":33.3,"at":"2026-01-02T03:04:05Z","outputs":[{"name":"720p","fps":120,"frames":1000,"dropped":1,"bitrate":3e6}]},"warnings":["w1"],"log":["line 1","line 2"]}`,
		`{"node":"$NODE","phase":"probing"}`,
		`{"node":"other","phase":"finalizing"}`,
		`{"node":"$NODE","phase":"exploding","progress":{"percent":1e308,"at":"9999-12-31T23:59:59Z"}}`,
		`{"node":"$NODE","log":["https://user:pw@x/in.mp4 apikey=secret"]}`,
	)
	f.Fuzz(func(t *testing.T, body []byte) {
		r := send[api.ProgressReport](t, m, "POST", "/v1/jobs/$JOB/progress", auth.RoleWorker, body)
		if r.Status == 200 {
			decode[api.ProgressReply](t, r, 200)
			decode[api.Job](t, m.call(t, "GET", "/v1/jobs/"+m.job, mastertest.SubmitterKey, nil), 200)
		}
	})
}

func FuzzCompleteJob(f *testing.F) {
	m := startFuzzMaster(f)
	addSeeds(f, malformed...)
	addSeeds(f,
		`{"node":"$NODE","result":{}}`,
		`{"node":"$NODE"}`,
		`{"node":"other","result":{}}`,
	)
	f.Fuzz(func(t *testing.T, body []byte) {
		r := send[api.CompleteReport](t, m, "POST", "/v1/jobs/$JOB/complete", auth.RoleWorker, body)
		if r.Status != 200 {
			return
		}
		job := decode[api.Job](t, r, 200)
		got := decode[api.Job](t, m.call(t, "GET", "/v1/jobs/"+m.job, mastertest.SubmitterKey, nil), 200)
		if job.Status != api.StatusCompleted || got.Status != job.Status || (got.Result == nil) != (job.Result == nil) {
			t.Fatalf("completed job reads back as %+v, answer was %s", got, r.Body)
		}
		m.freshJob(t)
	})
}

func FuzzFailJob(f *testing.F) {
	m := startFuzzMaster(f)
	addSeeds(f, malformed...)
	addSeeds(f,
		`{"node":"$NODE","error":{"code":"input","message":"open input /in/a.mp4: No such file","transient":false}}`,
		`{"node":"$NODE","error":{"code":"stall","message":"no progress for 60 s","transient":true}}`,
		`{"node":"$NODE","error":{"code":"","message":""}}`,
		`{"node":"$NODE","error":{"code":"x","message":"https://u:pw@host/a?token=abc\napikey=k"}}`,
	)
	f.Fuzz(func(t *testing.T, body []byte) {
		r := send[api.FailReport](t, m, "POST", "/v1/jobs/$JOB/fail", auth.RoleWorker, body)
		if r.Status != 200 {
			return
		}
		job := decode[api.Job](t, r, 200)
		got := decode[api.Job](t, m.call(t, "GET", "/v1/jobs/"+m.job, mastertest.SubmitterKey, nil), 200)
		// Views redact secrets in messages; the worker's own answer need not.
		if got.Status != job.Status || got.Error == nil || job.Error == nil || got.Error.Code != job.Error.Code || got.Attempts != job.Attempts {
			t.Fatalf("failed job reads back as %+v, answer was %s", got, r.Body)
		}
		if job.Status.Terminal() {
			m.freshJob(t)
		}
	})
}

func FuzzIngestEvent(f *testing.F) {
	m := startFuzzMaster(f)
	addSeeds(f, malformed...)
	addSeeds(f,
		`{"type":"published","stream_id":"$STREAM","session":"s1","relay":"rtmp://10.0.0.9:1935","input":{}}`,
		`{"type":"stats","stream_id":"$STREAM","relay":"rtmp://10.0.0.9:1935","bytes":1000,"bitrate_bps":2.5e6}`,
		`{"type":"unpublished","stream_id":"$STREAM","bytes":5000}`,
		`{"type":"continued","stream_id":"nope","relay":"rtmps://ingest.example:443","input":{}}`,
		`{"type":"published","stream_id":"$STREAM","relay":"rtmp://user:pw@x:1935/app","input":{}}`,
	)
	f.Fuzz(func(t *testing.T, body []byte) {
		send[api.IngestEvent](t, m, "POST", "/v1/ingest/events", auth.RoleIngest, body)
	})
}
