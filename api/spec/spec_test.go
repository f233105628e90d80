package spec_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/ffrtmp/ffrtmp/api/spec"
)

// good is the smallest spec Normalize accepts; each case below breaks one field of it.
func good() spec.Spec {
	return spec.Spec{
		Input:   spec.Input{Synthetic: &spec.Synthetic{Width: 64, Height: 64, Duration: 1}},
		Outputs: []spec.Output{{Container: "null"}},
	}
}

// TestNormalizeRejects: every field Normalize checks is refused with a *spec.Error that
// names the field and says what is wrong (the API answers it as a 400 naming that field).
func TestNormalizeRejects(t *testing.T) {
	t.Parallel()
	if _, err := good().Normalize(); err != nil {
		t.Fatalf("the base spec is refused: %v", err)
	}
	tests := []struct {
		name   string
		modify func(*spec.Spec)
		field  string
	}{
		{"no input", func(s *spec.Spec) { s.Input = spec.Input{} }, "input.url"},
		{"url and synthetic", func(s *spec.Spec) { s.Input.URL = "in.mp4" }, "input"},
		{"synthetic size", func(s *spec.Spec) { s.Input.Synthetic.Width = 0 }, "input.synthetic.width"},
		{"synthetic duration", func(s *spec.Spec) { s.Input.Synthetic.Duration = -1 }, "input.synthetic.duration"},
		{"negative max decode errors", func(s *spec.Spec) { s.Input.MaxDecodeErrors = -1 }, "input.max_decode_errors"},
		{"negative timeout", func(s *spec.Spec) { s.Input.TimeoutSeconds = -1 }, "input.timeout_seconds"},
		{"hardware mode", func(s *spec.Spec) { s.Hardware.Mode = "sometimes" }, "hardware.mode"},
		{"hardware device", func(s *spec.Spec) { s.Hardware = spec.Hardware{Mode: "require", Device: "tpu"} }, "hardware.device"},
		{"no outputs", func(s *spec.Spec) { s.Outputs = nil }, "outputs"},
		{"too many outputs", func(s *spec.Spec) { s.Outputs = make([]spec.Output, 33) }, "outputs"},
		{"hls target named like a playlist", func(s *spec.Spec) { s.Outputs[0].Container, s.Outputs[0].Target = "hls", "out/x.m3u8" }, "outputs[0].target"},
		{"name with a path", func(s *spec.Spec) { s.Outputs[0].Name = "../x" }, "outputs[0].name"},
		{"duplicate names", func(s *spec.Spec) {
			s.Outputs = []spec.Output{{Name: "a", Container: "null"}, {Name: "a", Container: "null"}}
		}, "outputs[1].name"},
		{"unknown container", func(s *spec.Spec) { s.Outputs[0].Container = "avi" }, "outputs[0].container"},
		{"container not guessable", func(s *spec.Spec) { s.Outputs[0] = spec.Output{Target: "out.xyz"} }, "outputs[0].container"},
		{"no target", func(s *spec.Spec) { s.Outputs[0].Container = "mp4" }, "outputs[0].target"},
		{"video codec", func(s *spec.Spec) { s.Outputs[0].Video = &spec.Video{Codec: "mpeg2video"} }, "outputs[0].video.codec"},
		{"odd width", func(s *spec.Spec) { s.Outputs[0].Video = &spec.Video{Width: 641} }, "outputs[0].video.width"},
		{"negative bitrate", func(s *spec.Spec) { s.Outputs[0].Video = &spec.Video{Bitrate: -1} }, "outputs[0].video.bitrate"},
		{"crf", func(s *spec.Spec) { s.Outputs[0].Video = &spec.Video{CRF: 64} }, "outputs[0].video.crf"},
		{"gop", func(s *spec.Spec) { s.Outputs[0].Video = &spec.Video{GOP: 61} }, "outputs[0].video.gop"},
		{"audio codec", func(s *spec.Spec) { s.Outputs[0].Audio = &spec.Audio{Codec: "mp3"} }, "outputs[0].audio.codec"},
		{"channels", func(s *spec.Spec) { s.Outputs[0].Audio = &spec.Audio{Channels: 9} }, "outputs[0].audio.channels"},
		{"sample rate", func(s *spec.Spec) { s.Outputs[0].Audio = &spec.Audio{SampleRate: 1000} }, "outputs[0].audio.sample_rate"},
		{"opus sample rate", func(s *spec.Spec) { s.Outputs[0].Audio = &spec.Audio{Codec: "opus", SampleRate: 44100} }, "outputs[0].audio.sample_rate"},
		{"neither video nor audio", func(s *spec.Spec) {
			s.Outputs[0].Video, s.Outputs[0].Audio = &spec.Video{Codec: "none"}, &spec.Audio{Codec: "none"}
		}, "outputs[0]"},
		{"negative hls segment", func(s *spec.Spec) {
			s.Outputs[0] = spec.Output{Container: "hls", Target: "ladder", HLS: &spec.HLS{SegmentSeconds: -1}}
		}, "outputs[0].hls"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := good()
			tc.modify(&s)
			_, err := s.Normalize()
			var se *spec.Error
			if !errors.As(err, &se) {
				t.Fatalf("Normalize = %v (%T), want a *spec.Error", err, err)
			}
			if se.Field != tc.field {
				t.Errorf("field %q, want %q (%v)", se.Field, tc.field, err)
			}
			if !strings.Contains(err.Error(), tc.field) || se.Message == "" {
				t.Errorf("message %q does not name %s and say what is wrong", err, tc.field)
			}
		})
	}
}

// TestNormalizeDefaults: what an unset field means, as the Spec's doc comments promise.
func TestNormalizeDefaults(t *testing.T) {
	t.Parallel()
	n, err := spec.Spec{
		Input: spec.Input{Synthetic: &spec.Synthetic{Width: 64, Height: 64, Duration: 1}},
		Outputs: []spec.Output{
			{Target: "/out/a.mp4"},
			{Name: "ladder", Target: "/out/hls", Video: &spec.Video{GOP: 4}},
			{Target: "rtmp://h/live/k", Reconnect: &spec.Reconnect{}},
		},
	}.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	if got := n.Input.Synthetic.FPS; got != (spec.Rate{Num: 30, Den: 1}) {
		t.Errorf("synthetic fps %v, want 30", got)
	}
	if n.Hardware.Mode != spec.HardwareNone {
		t.Errorf("hardware mode %q, want %q", n.Hardware.Mode, spec.HardwareNone)
	}
	a, hls, push := n.Outputs[0], n.Outputs[1], n.Outputs[2]
	if a.Name != "out0" || a.Container != "mp4" || push.Name != "out2" || push.Container != "flv" || hls.Container != "hls" {
		t.Errorf("names and containers %q/%q, %q/%q, %q/%q; want out0/mp4, ladder/hls, out2/flv",
			a.Name, a.Container, hls.Name, hls.Container, push.Name, push.Container)
	}
	if v := a.Video; v.Codec != "libx264" || v.GOP != 2 {
		t.Errorf("video %+v: want libx264 with a 2 s GOP", *v)
	}
	if au := a.Audio; *au != (spec.Audio{Codec: "aac", Bitrate: 128_000, Channels: 2, SampleRate: 48000}) {
		t.Errorf("audio %+v: want aac 128k stereo 48 kHz", *au)
	}
	if a.HLS != nil || hls.HLS == nil || hls.HLS.SegmentSeconds != 4 {
		t.Errorf("hls settings %+v and %+v: want none on the mp4 and 4 s segments (the GOP) on the hls output", a.HLS, hls.HLS)
	}
	if push.Reconnect.MaxBackoffSeconds != spec.DefaultMaxBackoffSeconds {
		t.Errorf("reconnect max backoff %g, want %d", push.Reconnect.MaxBackoffSeconds, spec.DefaultMaxBackoffSeconds)
	}
}

// Reconnect is for rtmp pushes only, with a bounded backoff; zero takes the default.
func TestNormalizeReconnect(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		target     string
		container  string
		maxBackoff float64
		ok         bool
	}{
		{"rtmp://h/live/k", "", 0, true},
		{"rtmps://h/live/k", "flv", 5, true},
		{"out.mp4", "", 0, false},
		{"out.flv", "flv", 0, false},
		{"rtmp://h/live/k", "", 0.5, false},
		{"rtmp://h/live/k", "", 601, false},
	} {
		s := good()
		s.Outputs = []spec.Output{{Target: c.target, Container: c.container,
			Reconnect: &spec.Reconnect{MaxBackoffSeconds: c.maxBackoff}}}
		n, err := s.Normalize()
		var se *spec.Error
		switch {
		case c.ok && err != nil:
			t.Errorf("%s (max %g): %v", c.target, c.maxBackoff, err)
		case c.ok && c.maxBackoff == 0 && n.Outputs[0].Reconnect.MaxBackoffSeconds != 30:
			t.Errorf("%s: default max backoff %g, want 30", c.target, n.Outputs[0].Reconnect.MaxBackoffSeconds)
		case !c.ok && (!errors.As(err, &se) || !strings.HasPrefix(se.Field, "outputs[0].reconnect")):
			t.Errorf("%s (max %g): %v, want an error on outputs[0].reconnect", c.target, c.maxBackoff, err)
		}
	}
}

func TestSpecJSONRoundTrip(t *testing.T) {
	t.Parallel()
	const doc = `{
		"input": {"url": "http://example.com/in.ts", "format": "mpegts", "timeout_seconds": 5,
			"options": {"reconnect": "1"}, "max_decode_errors": 3},
		"outputs": [
			{"name": "720p", "container": "hls", "target": "/out/ladder",
				"video": {"codec": "libx264", "width": 1280, "height": 720, "fps": "30000/1001",
					"bitrate": "3M", "max_rate": "4.5M", "buf_size": "6M", "preset": "veryfast",
					"profile": "high", "gop": 2, "options": {"tune": "zerolatency"}},
				"audio": {"codec": "aac", "bitrate": "128k", "channels": 2, "sample_rate": 48000},
				"hls": {"segment_seconds": 4, "playlist_size": 6},
				"options": {"hls_allow_cache": "0"}},
			{"name": "copy", "target": "/out/copy.mkv", "video": {"codec": "copy", "fps": 25, "crf": 20},
				"audio": {"codec": "opus"}}
		],
		"hardware": {"mode": "auto", "device": "cuda", "device_name": "0"}
	}`
	var s spec.Spec
	if err := json.Unmarshal([]byte(doc), &s); err != nil {
		t.Fatalf("decode: %v", err)
	}
	v := s.Outputs[0].Video
	if v.FPS != (spec.Rate{Num: 30000, Den: 1001}) || v.Bitrate != 3_000_000 || v.MaxRate != 4_500_000 || v.BufSize != 6_000_000 {
		t.Errorf("decoded video %+v: want fps 30000/1001, bitrates 3M/4.5M/6M", *v)
	}
	if a := s.Outputs[0].Audio; a.Bitrate != 128_000 {
		t.Errorf("audio bitrate %d, want 128000", a.Bitrate)
	}
	if r := s.Outputs[1].Video.FPS; r != (spec.Rate{Num: 25, Den: 1}) {
		t.Errorf("fps 25 decoded as %v", r)
	}

	b, err := json.Marshal(s)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	if !strings.Contains(string(b), `"fps":"30000/1001"`) {
		t.Errorf("encoded %s: want fps as \"30000/1001\"", b)
	}
	var back spec.Spec
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	if !reflect.DeepEqual(back, s) {
		t.Errorf("round trip changed the spec:\n got %+v\nwant %+v", back, s)
	}

	// Unset fields stay out of the JSON, so a minimal spec reads back as written.
	b, err = json.Marshal(spec.Spec{Input: spec.Input{URL: "in.mp4"}, Outputs: []spec.Output{{Target: "out.mp4"}}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"input":{"url":"in.mp4"},"outputs":[{"target":"out.mp4"}]}`; string(b) != want {
		t.Errorf("minimal spec encoded as %s, want %s", b, want)
	}
}

func TestParseRate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    spec.Rate
		wantErr bool
	}{
		{in: "30", want: spec.Rate{Num: 30, Den: 1}},
		{in: " 60 ", want: spec.Rate{Num: 60, Den: 1}},
		{in: "30000/1001", want: spec.Rate{Num: 30000, Den: 1001}},
		{in: "29.97", want: spec.Rate{Num: 30000, Den: 1001}},
		{in: "23.976", want: spec.Rate{Num: 24000, Den: 1001}},
		{in: "59.94", want: spec.Rate{Num: 60000, Den: 1001}},
		{in: "12.5", want: spec.Rate{Num: 12500, Den: 1000}},
		{in: "", wantErr: true},
		{in: "0", wantErr: true},
		{in: "-30", wantErr: true},
		{in: "1001", wantErr: true},
		{in: "30/0", wantErr: true},
		{in: "0/1", wantErr: true},
		{in: "30/x", wantErr: true},
		{in: "NaN", wantErr: true},
		{in: "ntsc", wantErr: true},
	}
	for _, tc := range tests {
		got, err := spec.ParseRate(tc.in)
		if tc.wantErr {
			if err == nil {
				t.Errorf("ParseRate(%q) = %v, want an error", tc.in, got)
			} else if !strings.Contains(err.Error(), strings.TrimSpace(tc.in)) {
				t.Errorf("ParseRate(%q): error %q does not quote the input", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestRateJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		json    string
		want    spec.Rate
		encoded string
	}{
		{`30`, spec.Rate{Num: 30, Den: 1}, `30`},
		{`"30"`, spec.Rate{Num: 30, Den: 1}, `30`},
		{`29.97`, spec.Rate{Num: 30000, Den: 1001}, `"30000/1001"`},
		{`"30000/1001"`, spec.Rate{Num: 30000, Den: 1001}, `"30000/1001"`},
	}
	for _, tc := range tests {
		var r spec.Rate
		if err := json.Unmarshal([]byte(tc.json), &r); err != nil || r != tc.want {
			t.Errorf("decode %s = %v, %v; want %v", tc.json, r, err, tc.want)
			continue
		}
		if b, err := json.Marshal(r); err != nil || string(b) != tc.encoded {
			t.Errorf("encode %v = %s, %v; want %s", r, b, err, tc.encoded)
		}
	}
	for _, bad := range []string{`"fast"`, `0`, `"1/0"`, `true`, `"30`} {
		var r spec.Rate
		if err := json.Unmarshal([]byte(bad), &r); err == nil {
			t.Errorf("decode %s = %v, want an error", bad, r)
		}
	}
}

func TestParseBitrate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    spec.Bitrate
		str     string // want.String()
		wantErr bool
	}{
		{in: "3000000", want: 3_000_000, str: "3M"},
		{in: "3M", want: 3_000_000, str: "3M"},
		{in: "2.5M", want: 2_500_000, str: "2.5M"},
		{in: "800k", want: 800_000, str: "800k"},
		{in: "800K", want: 800_000, str: "800k"},
		{in: "1G", want: 1_000_000_000, str: "1000M"},
		{in: "1500", want: 1500, str: "1500"},
		{in: "0", want: 0, str: "0"},
		{in: "", wantErr: true},
		{in: "M", wantErr: true},
		{in: "-3M", wantErr: true},
		{in: "3Mb", wantErr: true},
		{in: "fast", wantErr: true},
		{in: "2000G", wantErr: true},
	}
	for _, tc := range tests {
		got, err := spec.ParseBitrate(tc.in)
		if tc.wantErr {
			if err == nil {
				t.Errorf("ParseBitrate(%q) = %v, want an error", tc.in, got)
			} else if !strings.Contains(err.Error(), tc.in) {
				t.Errorf("ParseBitrate(%q): error %q does not quote the input", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want || got.String() != tc.str {
			t.Errorf("ParseBitrate(%q) = %d (%q), %v; want %d (%q)", tc.in, got, got, err, tc.want, tc.str)
		}
	}
	var b spec.Bitrate
	if err := json.Unmarshal([]byte(`"6M"`), &b); err != nil || b != 6_000_000 {
		t.Errorf(`decode "6M" = %d, %v; want 6000000`, b, err)
	}
	if err := json.Unmarshal([]byte(`"six"`), &b); err == nil {
		t.Error(`decode "six" succeeded`)
	}
}

func TestContainerFor(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"rtmp://host/app/key": "flv",
		"out.MP4":             "mp4",
		"out.mov":             "mp4",
		"out.mkv":             "mkv",
		"out.ts":              "mpegts",
		"out.flv":             "flv",
		"out/index.m3u8":      "hls",
		"out/ladder":          "hls",
		"-":                   "",
		"":                    "",
		"out.avi":             "",
	}
	for target, want := range tests {
		if got := spec.ContainerFor(target); got != want {
			t.Errorf("ContainerFor(%q) = %q, want %q", target, got, want)
		}
	}
}
