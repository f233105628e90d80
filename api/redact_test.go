package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/engine/spec"
)

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"rtmp://a.example/app/SECRETKEY":                     "rtmp://a.example/app/***",
		"rtmps://u:SECRETPW@b.example:443/app/SECRETKEY?x=1": "rtmps://***@b.example:443/app/***?***",
		"RTMP://a.example:1935/live/sub/SECRETKEY/":          "RTMP://a.example:1935/live/sub/***",
		"rtmp://127.0.0.1:1935/live/s1?token=SECRETTOKEN":    "rtmp://127.0.0.1:1935/live/***?***",
		"rtmp://a.example":                                   "rtmp://a.example/***",
		"rtmp://a.example/%zzSECRETKEY":                      "rtmp://a.example/***",
		"file:///srv/out/j1/":                                "file:///srv/out/j1/",
		"https://h.example/in.mp4?token=SECRETTOKEN&a=b":     "https://h.example/in.mp4?token=***&a=b",
		"": "",
	} {
		if got := api.RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
	got := api.RedactText("connect rtmp://a.example/app/SECRETKEY: refused; retry rtmps://b.example/x/SECRETKEY2.")
	if want := "connect rtmp://a.example/app/***: refused; retry rtmps://b.example/x/***."; got != want {
		t.Errorf("RedactText = %q, want %q", got, want)
	}
}

func TestJobRedact(t *testing.T) {
	j := api.Job{
		Input: "rtmp://127.0.0.1/live/s1?token=SECRETTOKEN",
		Spec: spec.Spec{Input: spec.Input{URL: "rtmp://127.0.0.1/live/s1?token=SECRETTOKEN"},
			Outputs: []spec.Output{
				{Name: "v0", Target: "streams/cam/"},
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
	for _, secret := range []string{"SECRETKEY", "SECRETTOKEN"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("redacted job shows %s: %s", secret, b)
		}
	}
	for _, keep := range []string{"rtmp://a.example/app/***", "rtmp://127.0.0.1/live/***?***", "streams/cam/", `"n":1.5`} {
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
