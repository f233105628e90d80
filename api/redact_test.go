package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/api/spec"
)

func TestJobRedact(t *testing.T) {
	j := api.Job{
		Input:       "rtmp://127.0.0.1/live/s1?token=SECRETTOKEN",
		CallbackURL: "https://hooks.example/cb?token=SECRETCB",
		Labels:      map[string]string{"src": "https://u:SECRETPW@h.example/in.mp4"},
		Spec: spec.Spec{Input: spec.Input{URL: "rtmp://127.0.0.1/live/s1?token=SECRETTOKEN"},
			Outputs: []spec.Output{
				{Name: "v0", Target: "streams/cam/"},
				{Name: "up", Target: "https://u:SECRETPW@h.example/up/", Options: map[string]string{"headers": "Authorization: Bearer SECRETBEARER\r\n"}},
				{Name: "restream0", Target: "rtmp://a.example/app/SECRETKEY", Options: map[string]string{"rtmp_playpath": "SECRETKEY"}},
			}},
		Progress: &api.Progress{Outputs: []api.OutputProgress{{Name: "restream0", LastError: "open rtmp://a.example/app/SECRETKEY: refused"}}},
		Result: &api.Result{Outputs: []string{"rtmp://a.example/app/SECRETKEY"},
			Details:   json.RawMessage(`[{"target":"rtmp://a.example/app/SECRETKEY","n":1.5}]`),
			Restreams: []api.OutputProgress{{Name: "restream0", LastError: "rtmp://a.example/app/SECRETKEY gone"}}},
		Error: &api.JobError{Message: "input rtmp://127.0.0.1/live/s1?token=SECRETTOKEN ended"},
	}
	orig, _ := json.Marshal(j)
	b, err := json.Marshal(j.Redact())
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"SECRETKEY", "SECRETTOKEN", "SECRETCB", "SECRETPW", "SECRETBEARER"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("redacted job shows %s: %s", secret, b)
		}
	}
	for _, keep := range []string{"rtmp://a.example/app/***", "rtmp://127.0.0.1/live/***?***", "streams/cam/", `"n":1.5`, "https://hooks.example/cb?token=***", "https://***@h.example/up/"} {
		if !strings.Contains(string(b), keep) {
			t.Errorf("redacted job lost %q: %s", keep, b)
		}
	}
	if again, _ := json.Marshal(j); string(again) != string(orig) {
		t.Errorf("Redact changed the job it was called on:\n%s\n%s", orig, again)
	}
	ev := api.Event{Message: "restream rtmp://a.example/app/SECRETKEY dropped", Progress: j.Progress, Error: j.Error}
	if b, _ := json.Marshal(ev.Redact()); strings.Contains(string(b), "SECRET") {
		t.Errorf("redacted event shows a secret: %s", b)
	}
}
