package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/engine"
)

// oneFrame at 30 fps, the tolerance on frame counts and durations.
const oneFrame = time.Second / 30

func TestRunContainers(t *testing.T) {
	t.Parallel()
	const seconds, wantFrames = 1.0, 30
	tests := []struct {
		container, ext string
		audio          *spec.Audio
		wantAudio      string
	}{
		{container: "mp4", ext: ".mp4", wantAudio: "aac"},
		{container: "mkv", ext: ".mkv", audio: &spec.Audio{Codec: "opus"}, wantAudio: "opus"},
		{container: "mpegts", ext: ".ts", wantAudio: "aac"},
		{container: "flv", ext: ".flv", wantAudio: "aac"},
	}
	for _, tc := range tests {
		t.Run(tc.container, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			target := filepath.Join(dir, "out"+tc.ext)
			res := run(t, spec.Spec{
				Input:   synthetic(320, 240, seconds),
				Outputs: []spec.Output{{Target: target, Video: fast(160, 0), Audio: tc.audio}},
			}, nil)

			p := ffprobe(t, target)
			v, a := p.stream("video"), p.stream("audio")
			if v == nil || a == nil {
				t.Fatalf("streams %+v: want one video and one audio", p.Streams)
			}
			if v.CodecName != "h264" || v.Width != 160 || v.Height != 120 {
				t.Errorf("video %s %dx%d, want h264 160x120", v.CodecName, v.Width, v.Height)
			}
			if n := v.frames(t); n < wantFrames-1 || n > wantFrames+1 {
				t.Errorf("%d video frames, want %d±1", n, wantFrames)
			}
			if d := videoSpan(t, target); d < time.Second-oneFrame || d > time.Second+oneFrame {
				t.Errorf("video lasts %v, want 1s±1 frame", d)
			}
			if d, err := time.ParseDuration(p.Format.Duration + "s"); err != nil || d < time.Second-oneFrame || d > time.Second+oneFrame {
				t.Errorf("container says it lasts %q, want 1s±1 frame", p.Format.Duration)
			}
			if a.CodecName != tc.wantAudio || a.Channels != 2 || a.SampleRate != "48000" {
				t.Errorf("audio %s %d ch %s Hz, want %s stereo 48000 Hz", a.CodecName, a.Channels, a.SampleRate, tc.wantAudio)
			}
			if a.frames(t) == 0 {
				t.Error("audio stream has no frames")
			}

			out := res.Outputs[0]
			if out.VideoEncoder != "libx264" || out.Width != 160 || out.Height != 120 || out.Frames != wantFrames {
				t.Errorf("result %+v: want libx264 160x120, %d frames", out, wantFrames)
			}
			if out.Bytes == 0 {
				t.Error("result counts no bytes written")
			}
			if names := dirEntries(t, dir); len(names) != 1 {
				t.Errorf("output folder holds %v, want only the output", names)
			}
		})
	}
}

func TestRunNullOutput(t *testing.T) {
	t.Parallel()
	res := run(t, spec.Spec{
		Input:   synthetic(320, 240, 1),
		Outputs: []spec.Output{{Container: "null", Video: fast(0, 0)}},
	}, nil)
	out := res.Outputs[0]
	if out.VideoEncoder != "libx264" || out.AudioEncoder != "aac" {
		t.Errorf("encoders %q/%q, want libx264/aac", out.VideoEncoder, out.AudioEncoder)
	}
	if out.Width != 320 || out.Height != 240 || out.Frames != 30 || out.Bytes == 0 {
		t.Errorf("result %+v: want 320x240, 30 frames, some bytes", out)
	}
	if res.Frames != 30 || res.Input.Width != 320 || res.Input.Height != 240 {
		t.Errorf("result decoded %d frames of %dx%d, want 30 of 320x240", res.Frames, res.Input.Width, res.Input.Height)
	}
}

func TestRunStreamCopyToMKV(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := makeSource(t, dir, "src.mp4", 320, 240, 1)
	target := filepath.Join(dir, "copy.mkv")
	res := run(t, spec.Spec{
		Input: spec.Input{URL: src},
		Outputs: []spec.Output{{Target: target,
			Video: &spec.Video{Codec: "copy"}, Audio: &spec.Audio{Codec: "copy"}}},
	}, nil)
	if out := res.Outputs[0]; out.VideoEncoder != "copy" || out.AudioEncoder != "copy" {
		t.Errorf("encoders %q/%q, want copy/copy", out.VideoEncoder, out.AudioEncoder)
	}
	want, got := ffprobe(t, src), ffprobe(t, target)
	if !strings.Contains(got.Format.FormatName, "matroska") {
		t.Errorf("format %q, want matroska", got.Format.FormatName)
	}
	for _, media := range []string{"video", "audio"} {
		w, g := want.stream(media), got.stream(media)
		if g == nil {
			t.Fatalf("copy has no %s stream", media)
		}
		// Packets, not decoded frames: mp4's edit list hides AAC's priming frame from a decoder.
		if g.CodecName != w.CodecName || g.Width != w.Width || g.Height != w.Height || g.NbReadPackets != w.NbReadPackets {
			t.Errorf("%s: copy %+v, source %+v", media, *g, *w)
		}
	}
}

// An output that cannot be created fails the run before anything is decoded.
func TestRunUnwritableOutput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("not a folder"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		output  spec.Output
		subject string // the output the error must name
	}{
		{"mp4 under a file", spec.Output{Target: filepath.Join(file, "out.mp4")}, "out0"},
		{"hls under a file", spec.Output{Container: "hls", Target: filepath.Join(file, "ladder")}, "out0"},
		{"second output under a file", spec.Output{Name: "bad", Target: filepath.Join(file, "sub", "out.ts")}, "bad"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			outs := []spec.Output{tc.output}
			if tc.output.Name == "bad" {
				outs = []spec.Output{{Name: "good", Target: filepath.Join(dir, "good.mp4")}, tc.output}
			}
			var obs recorder
			start := time.Now()
			// A long input: if the engine decoded before opening its outputs, this would show.
			res, err := engine.Run(context.Background(), spec.Spec{Input: synthetic(320, 240, 600), Outputs: outs}, &obs)
			e := engineErr(t, err, engine.KindOutput)
			if e.Subject != tc.subject || !strings.Contains(err.Error(), file) {
				t.Errorf("error %q (subject %q): want it to name output %q and %s", err, e.Subject, tc.subject, file)
			}
			if el := time.Since(start); el > 5*time.Second {
				t.Errorf("failing took %v", el)
			}
			if res.Frames != 0 || obs.frameCount() != 0 {
				t.Errorf("decoded %d frames (observer saw %d) before failing", res.Frames, obs.frameCount())
			}
			if names := dirEntries(t, dir); len(names) != 1 {
				t.Errorf("left behind %v, want only the blocking file", names)
			}
		})
	}
}
