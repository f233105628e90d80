//go:build nvidia

// GPU tests: go test -tags nvidia ./engine/ on a machine with an NVIDIA GPU and driver.
// H100/H200/A100 have NVDEC but no NVENC: there the engine must decode and scale on the GPU,
// encode in software, and say so.

package engine_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/engine"
)

// TestCUDADecodeScale decodes with NVDEC, scales with scale_cuda and encodes with libx264.
func TestCUDADecodeScale(t *testing.T) {
	dir := t.TempDir()
	src := makeSource(t, dir, "src.mp4", 1920, 1080, 2)
	out := filepath.Join(dir, "out.mp4")
	res := run(t, spec.Spec{
		Input:    spec.Input{URL: src},
		Outputs:  []spec.Output{{Target: out, Video: &spec.Video{Height: 720, Bitrate: 3_000_000, Preset: "veryfast"}}},
		Hardware: spec.Hardware{Mode: spec.HardwareRequire, Device: "cuda"},
	}, nil)
	if res.Decoder.Hardware != "cuda" {
		t.Errorf("decoder ran on %q, want cuda (decoder %s)", res.Decoder.Hardware, res.Decoder.Video)
	}
	if got := res.Outputs[0].VideoEncoder; got != "libx264" {
		t.Errorf("encoder %q, want libx264", got)
	}
	p := ffprobe(t, out)
	v := p.stream("video")
	if v == nil || v.Width != 1280 || v.Height != 720 {
		t.Fatalf("output video %+v, want 1280x720", v)
	}
	if n := v.frames(t); n != 60 {
		t.Errorf("%d frames, want 60", n)
	}
}

// TestNVENCOrClearError: where the GPU has NVENC, frames stay on the GPU end to end; where
// it has none (H100), the run fails at once with a hardware error naming the encoder, and
// auto mode falls back to libx264.
func TestNVENCOrClearError(t *testing.T) {
	dir := t.TempDir()
	src := makeSource(t, dir, "src.mp4", 1280, 720, 2)
	nvencSpec := func(mode string) spec.Spec {
		return spec.Spec{
			Input:    spec.Input{URL: src},
			Outputs:  []spec.Output{{Target: filepath.Join(dir, mode+".mp4"), Video: &spec.Video{Codec: "h264_nvenc", Height: 480, Bitrate: 1_500_000}}},
			Hardware: spec.Hardware{Mode: mode, Device: "cuda"},
		}
	}
	res, err := engine.Run(context.Background(), nvencSpec(spec.HardwareRequire), nil)
	if err == nil {
		if res.Outputs[0].VideoEncoder != "h264_nvenc" || res.Decoder.Hardware != "cuda" {
			t.Errorf("NVENC run reports encoder %q, decoder on %q", res.Outputs[0].VideoEncoder, res.Decoder.Hardware)
		}
		return
	}
	if engine.KindOf(err) != engine.KindHardware || !strings.Contains(err.Error(), "h264_nvenc") {
		t.Fatalf("without NVENC: %v (kind %q), want a hardware error naming h264_nvenc", err, engine.KindOf(err))
	}
	t.Logf("this GPU has no NVENC: %v", err)
}
