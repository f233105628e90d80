package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ffrtmp/ffrtmp/hw"
)

// TestHW runs `ffrtmp hw` on this machine: libx264, aac and libopus really open, and every
// check that fails says why. Where there is no GPU, NVML says so and nothing crashes.
func TestHW(t *testing.T) {
	out, stderr, code := ffrtmp(t, t.TempDir(), "hw", "-o", "json")
	if code != 0 {
		t.Fatalf("ffrtmp hw -o json: exit %d: %s", code, stderr)
	}
	var r hw.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("hw -o json is not a report: %v\n%s", err, out)
	}
	if r.CPUs < 1 || r.MemoryBytes <= 0 || r.Build.FFmpeg == "" {
		t.Errorf("machine: %d CPUs, %d bytes, FFmpeg %q", r.CPUs, r.MemoryBytes, r.Build.FFmpeg)
	}
	opened := hw.Opened(r.Encoders)
	for _, want := range []string{"libx264", "aac", "libopus"} {
		if !strings.Contains(strings.Join(opened, ","), want) {
			t.Errorf("%s did not open: %+v", want, r.Encoders)
		}
	}
	for _, cs := range [][]hw.Check{r.Devices, r.Encoders, r.Decoders} {
		for _, c := range cs {
			if !c.OK && c.Error == "" {
				t.Errorf("%s failed without a reason", c.Name)
			}
		}
	}
	if len(r.GPUs) == 0 && !strings.Contains(r.NVML, "no NVIDIA GPU") {
		t.Errorf("no GPUs and NVML says %q", r.NVML)
	}

	table, stderr, code := ffrtmp(t, t.TempDir(), "hw")
	if code != 0 {
		t.Fatalf("ffrtmp hw: exit %d: %s", code, stderr)
	}
	for _, line := range strings.Split(strings.TrimRight(table, "\n"), "\n") {
		if n := len([]rune(line)); n > 100 {
			t.Errorf("line of %d columns: %q", n, line)
		}
	}
	if !strings.Contains(table, "libx264") || !strings.Contains(table, "encoders") {
		t.Errorf("table:\n%s", table)
	}
	if out, stderr, code := ffrtmp(t, t.TempDir(), "hw", "-o", "yaml"); code != 0 || !strings.Contains(out, "name: libx264") {
		t.Errorf("-o yaml: exit %d: %s\n%s", code, stderr, out)
	}
	if _, _, code := ffrtmp(t, t.TempDir(), "hw", "-o", "xml"); code != 2 {
		t.Errorf("-o xml: exit %d, want 2 (usage)", code)
	}
}
