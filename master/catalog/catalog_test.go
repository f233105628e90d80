package catalog_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/master/catalog"
	"github.com/ffrtmp/ffrtmp/master/fault"
)

func builtins(name string) (api.Preset, bool) { return catalog.BuiltinPreset(name) }

func TestBuiltinsResolve(t *testing.T) {
	for _, sc := range catalog.Scenarios() {
		j, err := catalog.Resolve(api.JobRequest{Scenario: sc.Name}, builtins, 3)
		if err != nil {
			t.Errorf("scenario %s: %v", sc.Name, err)
			continue
		}
		if syn := j.Spec.Input.Synthetic; syn == nil || syn.Width != sc.Width || syn.Height != sc.Height || syn.Duration != sc.Duration {
			t.Errorf("scenario %s: synthetic input %+v", sc.Name, j.Spec.Input.Synthetic)
		}
		if j.Cost <= 0 {
			t.Errorf("scenario %s: cost %d", sc.Name, j.Cost)
		}
	}
	for _, p := range catalog.BuiltinPresets() {
		j, err := catalog.Resolve(api.JobRequest{Input: "/in/a.mp4", Preset: p.Name, Output: "file:///out/x/"}, builtins, 3)
		if err != nil {
			t.Errorf("preset %s: %v", p.Name, err)
			continue
		}
		if len(j.Spec.Outputs) != len(p.Renditions) {
			t.Errorf("preset %s: %d outputs for %d renditions", p.Name, len(j.Spec.Outputs), len(p.Renditions))
		}
		for i, o := range j.Spec.Outputs {
			if o.Target != "/out/x" || o.Container != "hls" || o.Video.Height != p.Renditions[i].Height {
				t.Errorf("preset %s output %d: %+v", p.Name, i, o)
			}
		}
	}
}

func TestScenarioParameters(t *testing.T) {
	j, err := catalog.Resolve(api.JobRequest{Scenario: "1080p30-h264", Output: "/out/j/",
		Parameters: &api.Parameters{Duration: 4, Bitrate: 2_000_000, Encoder: "h264_nvenc"}}, builtins, 3)
	if err != nil {
		t.Fatal(err)
	}
	o := j.Spec.Outputs[0]
	if j.Spec.Input.Synthetic.Duration != 4 || o.Video.Bitrate != 2_000_000 || o.Video.Codec != "h264_nvenc" || o.Target != "/out/j/1080p30-h264.mp4" {
		t.Fatalf("resolved %+v / %+v", j.Spec.Input.Synthetic, o)
	}
	// A hardware encoder falls back unless asked to require it: no requirement for the node.
	if j.Spec.Hardware.Mode != spec.HardwareAuto || j.Requirements.Encoder != "" {
		t.Fatalf("hardware %+v requirements %+v", j.Spec.Hardware, j.Requirements)
	}
	j, err = catalog.Resolve(api.JobRequest{Scenario: "1080p30-h264", Parameters: &api.Parameters{Encoder: "h264_nvenc", Hardware: "require"}}, builtins, 3)
	if err != nil {
		t.Fatal(err)
	}
	if j.Requirements.Encoder != "h264_nvenc" || j.Requirements.Hardware != "cuda" {
		t.Fatalf("require: requirements %+v", j.Requirements)
	}
}

func TestLocations(t *testing.T) {
	tests := []struct {
		input, field string
		ok           bool
		want         string
	}{
		{"file:///srv/in/a.mp4", "", true, "/srv/in/a.mp4"},
		{"/srv/in/a.mp4", "", true, "/srv/in/a.mp4"},
		{"in/a.mp4", "", true, "in/a.mp4"},
		{"https://cdn.example/a.mp4", "", true, "https://cdn.example/a.mp4"},
		{"rtmp://ingest/live/k", "", true, "rtmp://ingest/live/k"},
		{"concat:/a.mp4|/etc/passwd", "input", false, ""},
		{"subfile:,,start,0,end,0,,:/etc/shadow", "input", false, ""},
		{"file://otherhost/a.mp4", "input", false, ""},
		{"/srv/in/../../etc/shadow", "input", false, ""},
		{"~/a.mp4", "input", false, ""},
		{"http:///nohost", "input", false, ""},
		{"gopher://x/a", "input", false, ""},
	}
	for _, tt := range tests {
		j, err := catalog.Resolve(api.JobRequest{Input: tt.input, Preset: "abr-720p", Output: "/out/"}, builtins, 3)
		if tt.ok != (err == nil) {
			t.Errorf("input %q: err = %v, want ok %v", tt.input, err, tt.ok)
			continue
		}
		var inv *fault.InvalidError
		if err != nil && (!errors.As(err, &inv) || inv.Field != tt.field) {
			t.Errorf("input %q: %#v, want an invalid-field error naming %q", tt.input, err, tt.field)
		}
		if err == nil && j.Spec.Input.URL != tt.want {
			t.Errorf("input %q: engine opens %q, want %q", tt.input, j.Spec.Input.URL, tt.want)
		}
	}
}

func TestCost(t *testing.T) {
	syn := func(w, h int, fps int) spec.Input {
		return spec.Input{Synthetic: &spec.Synthetic{Width: w, Height: h, FPS: spec.Rate{Num: fps, Den: 1}, Duration: 1}}
	}
	tests := []struct {
		name string
		s    spec.Spec
		want int64
	}{
		{"source size", spec.Spec{Input: syn(1920, 1080, 30), Outputs: []spec.Output{{Video: &spec.Video{Codec: "libx264"}}}}, 1920 * 1080 * 30},
		{"height keeps aspect", spec.Spec{Input: syn(1920, 1080, 60), Outputs: []spec.Output{{Video: &spec.Video{Codec: "libx264", Height: 720}}}}, 1280 * 720 * 60},
		{"ladder sums", spec.Spec{Input: syn(1280, 720, 30), Outputs: []spec.Output{
			{Video: &spec.Video{Codec: "libx264", Height: 720}}, {Video: &spec.Video{Codec: "libx264", Height: 360}}}}, 1280*720*30 + 640*360*30},
		{"copy is free", spec.Spec{Input: syn(1920, 1080, 30), Outputs: []spec.Output{{Video: &spec.Video{Codec: "copy"}}}}, 0},
		{"unknown source is 1080p30", spec.Spec{Input: spec.Input{URL: "/a.mp4"}, Outputs: []spec.Output{{Video: &spec.Video{Codec: "libx264"}}}}, 1920 * 1080 * 30},
		{"output fps", spec.Spec{Input: syn(1920, 1080, 60), Outputs: []spec.Output{{Video: &spec.Video{Codec: "libx264", FPS: spec.Rate{Num: 30, Den: 1}}}}}, 1920 * 1080 * 30},
	}
	for _, tt := range tests {
		if got := catalog.Cost(tt.s); got != tt.want {
			t.Errorf("%s: cost %d, want %d", tt.name, got, tt.want)
		}
	}
}

// TestCodecLadders: the HEVC and AV1 presets resolve to fMP4 HLS renditions of their encoder
// at scaled bitrates; a job that needs a software encoder beyond libx264 asks for a node that
// has it, and switching the encoder of a ladder brings that encoder's own default preset.
func TestCodecLadders(t *testing.T) {
	h264, _ := catalog.BuiltinPreset("abr-1080p")
	for name, want := range map[string]struct {
		codec string
		rate  float64
	}{"abr-1080p-hevc": {"libx265", 0.6}, "abr-1080p-av1": {"libsvtav1", 0.5}} {
		j, err := catalog.Resolve(api.JobRequest{Input: "/in/a.mp4", Preset: name, Output: "/out/x/"}, builtins, 3)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i, o := range j.Spec.Outputs {
			if o.Video.Codec != want.codec || o.HLS == nil || o.HLS.SegmentType != spec.SegmentFMP4 {
				t.Errorf("%s output %d: %+v %+v, want %s in fMP4 HLS", name, i, o.Video, o.HLS, want.codec)
			}
			if got, h := float64(o.Video.Bitrate), float64(h264.Renditions[i].Bitrate); got < h*want.rate*0.99 || got > h*want.rate*1.01 {
				t.Errorf("%s output %d: %v b/s, want %.0f%% of H.264's %v", name, i, got, want.rate*100, h)
			}
		}
		if j.Requirements.Encoder != want.codec {
			t.Errorf("%s: requirements %+v, want encoder %s", name, j.Requirements, want.codec)
		}
	}
	// A cmaf preset: CMAF renditions of video alone, and the audio once beside them.
	av1, _ := catalog.BuiltinPreset("abr-1080p-av1")
	av1.Name, av1.BuiltIn, av1.Container, av1.SegmentType = "house-cmaf", false, "cmaf", ""
	j, err := catalog.Resolve(api.JobRequest{Input: "/in/a.mp4", Preset: av1.Name, Output: "/out/x/"}, func(name string) (api.Preset, bool) {
		if name == av1.Name {
			return av1, true
		}
		return builtins(name)
	}, 3)
	if err != nil {
		t.Fatalf("cmaf preset: %v", err)
	}
	var got []string
	for _, o := range j.Spec.Outputs {
		got = append(got, fmt.Sprintf("%s %s %s/%s %s", o.Name, o.Container, o.Video.Codec, o.Audio.Codec, o.HLS.SegmentType))
		if o.Target != "/out/x" {
			t.Errorf("cmaf rendition %s into %q, want the job's folder", o.Name, o.Target)
		}
	}
	want := []string{"1080p cmaf libsvtav1/none fmp4", "720p cmaf libsvtav1/none fmp4", "480p cmaf libsvtav1/none fmp4",
		"360p cmaf libsvtav1/none fmp4", "audio cmaf none/aac fmp4"}
	if !slices.Equal(got, want) {
		t.Errorf("cmaf preset resolves to %q, want %q", got, want)
	}
	j, err = catalog.Resolve(api.JobRequest{Scenario: "1080p30-h264", Parameters: &api.Parameters{Encoder: "libsvtav1"}}, builtins, 3)
	if err != nil {
		t.Fatal(err)
	}
	if v := j.Spec.Outputs[0].Video; v.Codec != "libsvtav1" || v.Preset != "10" || j.Requirements.Encoder != "libsvtav1" {
		t.Errorf("encoder libsvtav1 on an H.264 scenario: %+v, requirements %+v; want preset 10 and the encoder required", v, j.Requirements)
	}
	if _, err := catalog.Resolve(api.JobRequest{Input: "/in/a.mp4", Preset: "abr-1080p", Output: "/out/x/",
		Parameters: &api.Parameters{Encoder: "libsvtav1"}}, builtins, 3); err == nil {
		t.Error("AV1 into the MPEG-TS HLS ladder was accepted")
	}
}
