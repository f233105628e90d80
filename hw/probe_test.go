package hw

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// TestProbeReportsWhatOpens runs the real probes on this machine with an NVML that sees one
// GPU (go-nvml's mock: this machine has none), and checks the report a worker registers.
func TestProbeReportsWhatOpens(t *testing.T) {
	h100 := fakeDevice(t, reading{name: "NVIDIA H100 80GB HBM3", uuid: "GPU-1",
		mem: nvml.Memory{Total: 80 << 30, Used: 1 << 30}, temperature: 35, powerMW: 70000})
	r := Probe(context.Background(), Options{NVML: fakeLib(t, "560.35.03", h100)})
	if len(r.GPUs) != 1 || r.GPUs[0].Name != "NVIDIA H100 80GB HBM3" || r.NVML != "" {
		t.Fatalf("GPUs %+v, NVML %q", r.GPUs, r.NVML)
	}
	for _, want := range []string{"libx264", "aac", "libopus"} {
		if !slices.Contains(Opened(r.Encoders), want) {
			t.Errorf("%s did not open: %+v", want, r.Encoders)
		}
	}
	if len(r.Devices) != 3 || len(r.Decoders) == 0 {
		t.Fatalf("devices %+v decoders %+v", r.Devices, r.Decoders)
	}
	// A device that does not open takes its encoders and decoders with it, with its reason.
	for _, dev := range r.Devices {
		if dev.OK {
			continue
		}
		for _, cs := range [][]Check{r.Encoders, r.Decoders} {
			for _, c := range cs {
				if c.Device == dev.Name && (c.OK || c.Error != dev.Error) {
					t.Errorf("%s on a %s device that did not open: %+v (device: %s)", c.Name, dev.Name, c, dev.Error)
				}
			}
		}
	}
	caps := r.Capabilities(3)
	if caps.Slots != 3 || caps.CPUs != r.CPUs || caps.MemoryBytes <= 0 || !slices.Equal(caps.Encoders, Opened(r.Encoders)) {
		t.Errorf("capabilities %+v", caps)
	}
	if len(caps.GPUs) != 1 || caps.GPUs[0].MemoryTotalMB != 80<<10 || caps.GPUs[0].UUID != "GPU-1" {
		t.Errorf("capability GPUs %+v", caps.GPUs)
	}
	var table strings.Builder
	r.WriteTable(&table)
	for _, want := range []string{"gpu 0", "NVIDIA H100", "libx264", "yes"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
}

// TestProbeCanceled: a canceled probe opens nothing more and says so.
func TestProbeCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := Probe(ctx, Options{NVML: fakeLib(t, "560")})
	for _, cs := range [][]Check{r.Devices, r.Encoders, r.Decoders} {
		for _, c := range cs {
			if c.OK || !strings.Contains(c.Error, "canceled") {
				t.Errorf("%s after cancel: %+v", c.Name, c)
			}
		}
	}
}

// TestProbeSoftwareOnly: even where NVML sees a GPU, a software-only probe offers no GPU, no
// device and no hardware encoder, and says why; the software encoders still open.
func TestProbeSoftwareOnly(t *testing.T) {
	h100 := fakeDevice(t, reading{name: "NVIDIA H100 80GB HBM3", uuid: "GPU-1", mem: nvml.Memory{Total: 80 << 30}})
	r := Probe(context.Background(), Options{NVML: fakeLib(t, "560.35.03", h100), SoftwareOnly: true})
	if len(r.GPUs) != 0 || r.NVML != ErrSoftwareOnly.Error() {
		t.Errorf("GPUs %+v, NVML %q", r.GPUs, r.NVML)
	}
	for _, cs := range [][]Check{r.Devices, r.Decoders} {
		for _, c := range cs {
			if c.OK || c.Error != ErrSoftwareOnly.Error() {
				t.Errorf("%s: %+v, want not probed", c.Name, c)
			}
		}
	}
	caps := r.Capabilities(1)
	if !slices.Contains(caps.Encoders, "libx264") || len(caps.Hardware) != 0 || len(caps.GPUs) != 0 || len(caps.Decoders) != 0 {
		t.Errorf("capabilities %+v", caps)
	}
	for _, e := range r.Encoders {
		if e.Device != "" && (e.OK || e.Error != ErrSoftwareOnly.Error()) {
			t.Errorf("hardware encoder %s: %+v, want not probed", e.Name, e)
		}
	}
}
