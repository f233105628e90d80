//go:build nvidia

package hw

import (
	"strings"
	"sync"
	"testing"
)

// TestNVMLRealGPUs reads the machine's GPUs through the driver's own NVML (go test -tags
// nvidia -run NVML -v ./hw/ prints them).
func TestNVMLRealGPUs(t *testing.T) {
	n, err := OpenNVML(nil)
	if err != nil {
		t.Fatalf("OpenNVML on a GPU machine: %v", err)
	}
	defer func() {
		if err := n.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()

	gpus, err := n.GPUs()
	if err != nil {
		t.Fatal(err)
	}
	if len(gpus) == 0 {
		t.Fatal("NVML started but sees no GPU")
	}
	for i, g := range gpus {
		t.Logf("GPU %d: %+v", i, g)
		if g.Index != i {
			t.Errorf("GPU %d: Index %d", i, g.Index)
		}
		if g.Name == "" {
			t.Errorf("GPU %d: no name", i)
		}
		if !strings.HasPrefix(g.UUID, "GPU-") && !strings.HasPrefix(g.UUID, "MIG-") {
			t.Errorf("GPU %d: UUID %q", i, g.UUID)
		}
		if g.MemoryTotalMB <= 0 || g.MemoryUsedMB < 0 || g.MemoryUsedMB > g.MemoryTotalMB {
			t.Errorf("GPU %d: memory used %d of %d MiB", i, g.MemoryUsedMB, g.MemoryTotalMB)
		}
		if g.TemperatureC < 1 || g.TemperatureC > 120 {
			t.Errorf("GPU %d: temperature %v °C", i, g.TemperatureC)
		}
		for what, pct := range map[string]float64{
			"utilization": g.Utilization, "memory utilization": g.MemoryUtilization,
			"encoder utilization": g.EncoderUtilization, "decoder utilization": g.DecoderUtilization,
		} {
			if pct < 0 || pct > 100 {
				t.Errorf("GPU %d: %s %v%%", i, what, pct)
			}
		}
		if g.PowerWatts < 0 || g.PowerWatts > 2000 {
			t.Errorf("GPU %d: power %v W", i, g.PowerWatts)
		}
		if g.EncoderSessions < 0 {
			t.Errorf("GPU %d: %d encoder sessions", i, g.EncoderSessions)
		}
		if g.DriverVersion == "" {
			t.Errorf("GPU %d: no driver version", i)
		}
		t.Logf("API: %+v", g.API())
		t.Logf("Telemetry: %+v", g.Telemetry())
	}

	// Concurrent reads against the real library (run with -race).
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 10 {
				if got, err := n.GPUs(); err != nil || len(got) != len(gpus) {
					t.Errorf("concurrent GPUs: %d GPUs, %v", len(got), err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestNVMLRealReopen opens, closes and reopens NVML: go-nvml counts Init/Shutdown and
// dlcloses the library on the last Shutdown.
func TestNVMLRealReopen(t *testing.T) {
	for i := range 3 {
		n, err := OpenNVML(nil)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		if _, err := n.GPUs(); err != nil {
			t.Errorf("open %d: %v", i, err)
		}
		if err := n.Close(); err != nil {
			t.Errorf("close %d: %v", i, err)
		}
	}
}
