package engine_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/engine"
)

// skipWithCUDA skips hardware-absence tests on a machine that has an NVIDIA GPU: there the
// device opens and these tests' premise does not hold (the GPU suite covers it).
func skipWithCUDA(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/dev/nvidia0"); err == nil {
		t.Skip("this machine has an NVIDIA GPU")
	}
}

func TestRunHardwareRequireFailsAtOnce(t *testing.T) {
	t.Parallel()
	skipWithCUDA(t)
	var obs recorder
	start := time.Now()
	// A long input: a failure that came after decoding had started would take long.
	_, err := engine.Run(context.Background(), spec.Spec{
		Input:    synthetic(320, 240, 600),
		Outputs:  []spec.Output{{Container: "null", Video: &spec.Video{Codec: "h264_nvenc"}}},
		Hardware: spec.Hardware{Mode: "require", Device: "cuda"},
	}, &obs)
	engineErr(t, err, engine.KindHardware)
	for _, want := range []string{"cuda", "h264_nvenc"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("failing took %v", el)
	}
	if n := obs.frameCount(); n != 0 {
		t.Errorf("encoded %d frames before failing", n)
	}
}

func TestRunHardwareAutoFallsBack(t *testing.T) {
	t.Parallel()
	skipWithCUDA(t)
	res := run(t, spec.Spec{
		Input: synthetic(160, 120, 0.5),
		Outputs: []spec.Output{
			{Name: "gpu", Container: "null", Video: &spec.Video{Codec: "h264_nvenc", Preset: "p4"}},
			{Name: "cpu", Container: "null", Video: fast(0, 0)},
		},
		Hardware: spec.Hardware{Mode: "auto", Device: "cuda"},
	}, nil)
	for _, out := range res.Outputs {
		if out.VideoEncoder != "libx264" || out.Frames != 15 || out.Hardware != "" {
			t.Errorf("%s: encoder %q on %q, %d frames; want libx264 in software, 15 frames", out.Name, out.VideoEncoder, out.Hardware, out.Frames)
		}
	}
	if res.Decoder.Hardware != "" {
		t.Errorf("decoded on %q, want software", res.Decoder.Hardware)
	}
	if !strings.Contains(res.Fallback, "cuda") || !strings.Contains(res.Fallback, "h264_nvenc") {
		t.Errorf("fallback %q: want it to say cuda was not usable and h264_nvenc was replaced", res.Fallback)
	}
}

// Asking for a hardware encoder without a hardware mode still fails cleanly, naming it.
func TestRunHardwareEncoderWithoutDevice(t *testing.T) {
	t.Parallel()
	skipWithCUDA(t)
	dir := t.TempDir()
	_, err := engine.Run(context.Background(), spec.Spec{
		Input:   synthetic(160, 120, 1),
		Outputs: []spec.Output{{Target: dir + "/out.mp4", Video: &spec.Video{Codec: "h264_nvenc"}}},
	}, nil)
	engineErr(t, err, engine.KindHardware)
	if !strings.Contains(err.Error(), "h264_nvenc") {
		t.Errorf("error %q does not name h264_nvenc", err)
	}
	assertNoOutput(t, dir)
}
