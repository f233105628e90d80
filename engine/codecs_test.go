package engine_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/engine"
)

// softwareEncoders are the software encoders beyond libx264, at their fastest presets (the
// tests check what comes out, not its quality), with the codec ffprobe must read back.
var softwareEncoders = []struct {
	encoder, preset, codec string
}{
	{"libx265", "ultrafast", "hevc"},
	{"libsvtav1", "12", "av1"},
	{"libvpx-vp9", "8", "vp9"},
}

// TestSoftwareEncoderLadders runs each software encoder through the test ladder into mp4:
// every rendition is the encoder's codec at its size, every frame decodes, and keyframes sit
// on the same timestamps in every rendition, one a GOP, as HLS and DASH need to switch.
func TestSoftwareEncoderLadders(t *testing.T) {
	t.Parallel()
	const seconds = 3
	for _, e := range softwareEncoders {
		t.Run(e.encoder, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			outs, err := spec.LadderOutputs(testLadder, spec.Output{Container: "mp4", Target: dir,
				Video: &spec.Video{Codec: e.encoder, Preset: e.preset, GOP: 1}})
			if err != nil {
				t.Fatal(err)
			}
			res := run(t, spec.Spec{Input: synthetic(854, 480, seconds), Outputs: outs}, nil)
			files := map[string]string{}
			for i, r := range testRungs {
				files[r.name] = filepath.Join(dir, r.name+".mp4")
				v := buildProbe(t).videoStream(t, files[r.name])
				if v.CodecName != e.codec || v.Width != r.width || v.Height != r.height || v.PixFmt != "yuv420p" {
					t.Errorf("%s: %+v, want %s %dx%d yuv420p", r.name, v, e.codec, r.width, r.height)
				}
				if v.NbReadFrames != "90" {
					t.Errorf("%s: ffprobe decoded %s frames, want 90", r.name, v.NbReadFrames)
				}
				if e.codec == "hevc" && v.CodecTag != "hvc1" {
					t.Errorf("%s: HEVC in mp4 tagged %q, want hvc1 (Apple players and MSE)", r.name, v.CodecTag)
				}
				if got := res.Outputs[i].VideoEncoder; got != e.encoder {
					t.Errorf("%s: result says encoder %q, want %s", r.name, got, e.encoder)
				}
			}
			assertAlignedKeyframes(t, buildProbe(t).keyframesOf(t, files), seconds)
		})
	}
}

// TestTenBitOutputs: pix_fmt yuv420p10le (or the profile that implies it) gives 10-bit
// pictures that decode, in each encoder's 10-bit profile.
func TestTenBitOutputs(t *testing.T) {
	t.Parallel()
	profiles := map[string]string{"hevc": "Main 10", "av1": "Main", "vp9": "Profile 2"}
	for _, e := range softwareEncoders {
		t.Run(e.encoder, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "ten.mkv")
			v := &spec.Video{Codec: e.encoder, Preset: e.preset, PixFmt: spec.PixFmt10Bit}
			if e.codec == "hevc" {
				v = &spec.Video{Codec: e.encoder, Preset: e.preset, Profile: "main10"} // implies 10-bit
			}
			run(t, spec.Spec{Input: synthetic(320, 240, 1), Outputs: []spec.Output{{Target: out, Video: v}}}, nil)
			got := buildProbe(t).videoStream(t, out)
			if got.PixFmt != "yuv420p10le" || got.Profile != profiles[e.codec] || got.NbReadFrames != "30" {
				t.Errorf("%+v, want yuv420p10le in profile %s, 30 frames", got, profiles[e.codec])
			}
		})
	}
}

// TestHEVCInHLS: libx265 renditions in HLS (MPEG-TS segments) play back and keep their
// keyframes aligned at segment starts.
func TestHEVCInHLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	outs, err := spec.LadderOutputs("360p,240p", spec.Output{Container: "hls", Target: dir,
		Video: &spec.Video{Codec: "libx265", Preset: "ultrafast", GOP: 1}})
	if err != nil {
		t.Fatal(err)
	}
	run(t, spec.Spec{Input: synthetic(640, 360, 2), Outputs: outs}, nil)
	master := readMaster(t, filepath.Join(dir, "master.m3u8"))
	if len(master) != 2 {
		t.Fatalf("master playlist has %d variants, want 2", len(master))
	}
	for _, r := range []string{"360p", "240p"} {
		segs := segments(t, filepath.Join(dir, r, "index.m3u8"))
		if len(segs) != 2 {
			t.Errorf("%s: %d segments, want 2", r, len(segs))
		}
		for _, s := range segs {
			if v := buildProbe(t).videoStream(t, s); v.CodecName != "hevc" {
				t.Errorf("%s: %s is %s, want hevc", r, s, v.CodecName)
			}
			if keys := buildProbe(t).keyframeTimes(t, s, 0); len(keys) == 0 || !strings.HasSuffix(s, ".ts") {
				t.Errorf("%s: segment %s starts no keyframe (%v)", r, s, keys)
			}
		}
	}
}

// TestCodecOptionErrors: an encoder option the encoder does not take is an error naming it,
// before any output is written, never a crash.
func TestCodecOptionErrors(t *testing.T) {
	t.Parallel()
	for _, e := range softwareEncoders {
		t.Run(e.encoder, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_, err := engine.Run(ctx, spec.Spec{Input: synthetic(320, 240, 1), Outputs: []spec.Output{{Target: filepath.Join(dir, "o.mp4"),
				Video: &spec.Video{Codec: e.encoder, Preset: e.preset, Options: map[string]string{"no-such-option": "1"}}}}}, nil)
			if err == nil || !strings.Contains(err.Error(), "no-such-option") {
				t.Errorf("Run = %v, want an error naming no-such-option", err)
			}
			assertNoOutput(t, dir)
		})
	}
}

// TestCappedRates: every software encoder takes the capped VBR that ladders and the bench
// use (bitrate = max rate, a one-second buffer), and lands near the bitrate.
func TestCappedRates(t *testing.T) {
	t.Parallel()
	for _, e := range softwareEncoders {
		t.Run(e.encoder, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "capped.mp4")
			res := run(t, spec.Spec{Input: synthetic(640, 360, 2), Outputs: []spec.Output{{Target: out,
				Video: &spec.Video{Codec: e.encoder, Preset: e.preset, Bitrate: 800_000, MaxRate: 800_000, BufSize: 800_000},
				Audio: &spec.Audio{Codec: "none"}}}}, nil)
			if got := res.Outputs[0].Bitrate; got < 400_000 || got > 1_200_000 {
				t.Errorf("%s at 800 kb/s capped: %.0f b/s", e.encoder, got)
			}
		})
	}
}
