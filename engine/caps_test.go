package engine_test

import (
	"strings"
	"testing"

	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/engine"
)

func TestProbeSoftwareEncoders(t *testing.T) {
	for _, name := range []string{"libx264", "aac", "libopus"} {
		if err := engine.ProbeEncoder(name, ""); err != nil {
			t.Errorf("%s does not open: %v", name, err)
		}
	}
	err := engine.ProbeEncoder("mpeg4_nonexistent", "")
	if err == nil || !strings.Contains(err.Error(), "has no mpeg4_nonexistent encoder") {
		t.Errorf("an encoder the build lacks: %v", err)
	}
}

// TestProbeHardware holds on any machine: where a device does not open, its encoders and
// decoders fail with the device's reason; where it opens, they either open or say why not.
func TestProbeHardware(t *testing.T) {
	for _, kind := range engine.DeviceKinds() {
		devErr := engine.ProbeDevice(kind, "")
		t.Logf("device %s: %v", kind, devErr)
		probes := map[string]func(string, string) error{}
		for _, enc := range encodersOf(kind) {
			probes["encoder "+enc] = func(string, string) error { return engine.ProbeEncoder(enc, "") }
		}
		for _, dec := range engine.HardwareDecoders(kind) {
			if engine.DeviceFor(dec) != kind {
				t.Errorf("DeviceFor(%s) = %q, want %s", dec, engine.DeviceFor(dec), kind)
			}
			probes["decoder "+dec] = func(string, string) error { return engine.ProbeDecoder(dec, "") }
		}
		for what, probe := range probes {
			err := probe("", "")
			t.Logf("  %s: %v", what, err)
			if devErr == nil {
				continue
			}
			if err == nil {
				t.Errorf("%s opened although the %s device does not", what, kind)
			} else if !strings.Contains(err.Error(), "no usable "+kind+" device") && !strings.Contains(err.Error(), "has no") {
				t.Errorf("%s: %q does not give the %s device's reason", what, err, kind)
			}
		}
	}
	if err := engine.ProbeDevice("tpu", ""); err == nil || !strings.Contains(err.Error(), `unknown device kind "tpu"`) {
		t.Errorf("unknown kind: %v", err)
	}
	if _, err := engine.ProbeEncoderSessions("libx264", "", 4); err == nil {
		t.Error("ProbeEncoderSessions accepted a software encoder")
	}
	if err := engine.ProbeDecoder("h264", ""); err == nil {
		t.Error("ProbeDecoder accepted a software decoder")
	}
}

func encodersOf(kind string) []string {
	var out []string
	for _, c := range spec.VideoCodecs() {
		if engine.DeviceFor(c) == kind {
			out = append(out, c)
		}
	}
	return out
}
