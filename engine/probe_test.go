package engine_test

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ffrtmp/ffrtmp/engine"
)

func TestProbe(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := makeSource(t, dir, "src.mp4", 320, 240, 1)
	ts := filepath.Join(dir, "src.ts")
	run(t, engine.Spec{Input: engine.Input{URL: src}, Outputs: []engine.Output{{Target: ts,
		Video: &engine.Video{Codec: "copy"}, Audio: &engine.Audio{Codec: "opus"}}}}, nil)

	tests := []struct {
		path, format, audio string
	}{
		{src, "mov,mp4,m4a,3gp,3g2,mj2", "aac"},
		{ts, "mpegts", "opus"},
	}
	for _, tc := range tests {
		res, err := engine.Probe(context.Background(), engine.Input{URL: tc.path})
		if err != nil {
			t.Fatalf("Probe %s: %v", tc.path, err)
		}
		if res.Format != tc.format || math.Abs(res.Duration-1) > 0.1 {
			t.Errorf("%s: format %q, %gs; want %q, 1s", tc.path, res.Format, res.Duration, tc.format)
		}
		if len(res.Streams) != 2 {
			t.Fatalf("%s: streams %+v, want video and audio", tc.path, res.Streams)
		}
		v, a := res.Streams[0], res.Streams[1]
		if v.Type != "video" || v.Codec != "h264" || v.Width != 320 || v.Height != 240 || v.PixelFormat != "yuv420p" || math.Abs(v.FPS-30) > 0.01 {
			t.Errorf("%s: video %+v, want h264 320x240 yuv420p 30 fps", tc.path, v)
		}
		if a.Type != "audio" || a.Codec != tc.audio || a.SampleRate != 48000 || a.Channels != 2 {
			t.Errorf("%s: audio %+v, want %s 48000 Hz stereo", tc.path, a, tc.audio)
		}
	}
}

func TestProbeErrors(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "missing.mp4")
	_, err := engine.Probe(context.Background(), engine.Input{URL: missing})
	engineErr(t, err, engine.KindInput)
	if !strings.Contains(err.Error(), missing) {
		t.Errorf("error %q does not name %s", err, missing)
	}
	_, err = engine.Probe(context.Background(), engine.Input{})
	engineErr(t, err, engine.KindSpec)
}
