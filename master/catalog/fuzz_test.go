package catalog_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/api/roundtrip"
	"github.com/ffrtmp/ffrtmp/master/catalog"
	"github.com/ffrtmp/ffrtmp/master/fault"
)

func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// FuzzResolve turns any job request (and a stored preset named "custom", as an admin could
// have put it) into a job. A refusal is a 400 naming the field; an accepted job carries a
// spec that is already normalised and survives JSON, a known queue, a cost that is not
// negative, locations without "..", and hardware requirements that match a required device.
func FuzzResolve(f *testing.F) {
	custom := `{"name":"custom","container":"mp4","video":{"codec":"libx264","gop":4},"renditions":[{"name":"hi","height":720,"bitrate":3000000,"max_rate":4500000,"buf_size":6000000,"audio_bitrate":128000}]}`
	for _, r := range []string{
		`{"scenario":"720p30-h264"}`,
		`{"scenario":"1080p30-ladder","output":"file:///srv/out/j1/","parameters":{"duration":3,"bitrate":"6M","encoder":"h264_nvenc","hardware":"require"}}`,
		`{"preset":"abr-720p","input":"https://cdn.example/in.mp4","output":"/srv/out/j2/","queue":"high","priority":50,"labels":{"team":"a"}}`,
		`{"preset":"custom","input":"/in/a.mp4","output":"file:///out/","parameters":{"bitrate":"1e12"}}`,
		`{"spec":{"input":{"url":"file:///in/a.mp4"},"outputs":[{"target":"rtmp://x/live/k","reconnect":{}}]},"max_run_time":"2h","max_retries":3,"callback_url":"https://hooks.example/cb","requirements":{"hardware":"cuda","min_gpu_memory_mb":8000,"node":"n1"}}`,
		`{"spec":{"input":{"url":"/in/../etc/passwd"},"outputs":[{"target":"/out/a.mp4"}]}}`,
		`{"spec":{"input":{"synthetic":{"width":640,"height":360,"duration":1}},"outputs":[{"container":"null","video":{"codec":"h264_qsv"}}],"hardware":{"mode":"require","device":"qsv"}},"requirements":{"hardware":"cuda"}}`,
	} {
		f.Add([]byte(r), []byte(custom))
	}
	f.Fuzz(func(t *testing.T, body, presetJSON []byte) {
		var req api.JobRequest
		if strictJSON(body, &req) != nil {
			return
		}
		var stored api.Preset
		haveStored := strictJSON(presetJSON, &stored) == nil
		presets := func(name string) (api.Preset, bool) {
			if name == "custom" && haveStored {
				return stored, true
			}
			return catalog.BuiltinPreset(name)
		}
		job, rerr := catalog.Resolve(req, presets, 3)
		if rerr != nil {
			var inv *fault.InvalidError
			if !errors.As(rerr, &inv) || inv.Field == "" || inv.Msg == "" {
				t.Fatalf("refused with %#v: want an invalid-field error naming the field", rerr)
			}
			return
		}
		n, err := job.Spec.Normalize()
		if err != nil {
			t.Fatalf("the job's spec is refused by Normalize: %v", err)
		}
		if !reflect.DeepEqual(n, job.Spec) {
			t.Fatalf("the job's spec is not normalised:\n job  %+v\n norm %+v", job.Spec, n)
		}
		if err := roundtrip.Check(job.Spec); err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(api.Queues, job.Queue) || job.Cost < 0 || job.MaxRetries < 0 {
			t.Fatalf("job with queue %q, cost %d, max_retries %d", job.Queue, job.Cost, job.MaxRetries)
		}
		locs := []string{job.Spec.Input.URL}
		for _, o := range job.Spec.Outputs {
			locs = append(locs, o.Target)
		}
		for _, l := range locs {
			if slices.Contains(strings.Split(l, "/"), "..") || strings.ContainsAny(l, "\x00\r\n") {
				t.Fatalf("location %q accepted", l)
			}
		}
		if h := job.Spec.Hardware; h.Mode == "require" && job.Requirements.Hardware != h.Device {
			t.Fatalf("the spec requires %s but the job asks nodes for %q", h.Device, job.Requirements.Hardware)
		}
	})
}
