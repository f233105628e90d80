package engine_test

import (
	"context"
	"errors"
	"math"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/engine"
)

func TestProbe(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := makeSource(t, dir, "src.mp4", 320, 240, 1)
	ts := filepath.Join(dir, "src.ts")
	run(t, spec.Spec{Input: spec.Input{URL: src}, Outputs: []spec.Output{{Target: ts,
		Video: &spec.Video{Codec: "copy"}, Audio: &spec.Audio{Codec: "opus"}}}}, nil)

	tests := []struct {
		path, format, audio string
	}{
		{src, "mov,mp4,m4a,3gp,3g2,mj2", "aac"},
		{ts, "mpegts", "opus"},
	}
	for _, tc := range tests {
		res, err := engine.Probe(context.Background(), spec.Input{URL: tc.path})
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
	_, err := engine.Probe(context.Background(), spec.Input{URL: missing})
	engineErr(t, err, engine.KindInput)
	if !strings.Contains(err.Error(), missing) {
		t.Errorf("error %q does not name %s", err, missing)
	}
	_, err = engine.Probe(context.Background(), spec.Input{})
	engineErr(t, err, engine.KindSpec)
}

// An error names the input it could not open without the secrets its URL carries; the
// Subject keeps the URL as given for callers that need it.
func TestErrorHidesURLSecrets(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	url := "http://user:SECRETPW@" + addr + "/in.mp4?token=SECRETTOKEN"
	_, err = engine.Probe(context.Background(), spec.Input{URL: url, TimeoutSeconds: 2})
	if err == nil {
		t.Fatal("probing a closed port succeeded")
	}
	if msg := err.Error(); strings.Contains(msg, "SECRET") || !strings.Contains(msg, "http://***@"+addr+"/in.mp4?token=***") {
		t.Errorf("error %q: want the input named without its password and token", msg)
	}
	var e *engine.Error
	if !errors.As(err, &e) || e.Subject != url {
		t.Errorf("error subject %+v, want the URL as given", e)
	}
}
