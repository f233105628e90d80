package workercmd

import (
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/hw"
)

// telemetry reads the machine's load for heartbeats: CPU use since the previous reading
// (/proc/stat), memory in use (/proc/meminfo), the load average, and the GPUs through NVML
// when there are any (and the worker may use them).
type telemetry struct {
	mu         sync.Mutex
	nvml       *hw.NVML
	busy, all  uint64
	haveSample bool
}

// newTelemetry starts reading; withGPUs false leaves NVML alone (a software-only worker).
func newTelemetry(withGPUs bool) *telemetry {
	t := &telemetry{}
	if withGPUs {
		if n, err := hw.OpenNVML(nil); err == nil {
			t.nvml = n
		}
	}
	t.cpu() // the first reading only sets the baseline
	return t
}

func (t *telemetry) close() {
	if t.nvml != nil {
		t.nvml.Close()
	}
}

func (t *telemetry) read() api.Telemetry {
	out := api.Telemetry{CPUPercent: t.cpu(), MemoryUsed: memUsed(), LoadAverage: loadAvg()}
	if t.nvml != nil {
		if gpus, err := t.nvml.GPUs(); err == nil {
			for _, g := range gpus {
				out.GPUs = append(out.GPUs, g.Telemetry())
			}
		}
	}
	return out
}

// cpu is the share of CPU time spent busy since the previous call, in percent.
func (t *telemetry) cpu() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0
	}
	var all, idle uint64
	for i, s := range f[1:] {
		n, _ := strconv.ParseUint(s, 10, 64)
		all += n
		if i == 3 || i == 4 { // idle, iowait
			idle += n
		}
	}
	busy := all - idle
	t.mu.Lock()
	defer t.mu.Unlock()
	pct := 0.0
	if t.haveSample && all > t.all {
		pct = 100 * float64(busy-t.busy) / float64(all-t.all)
	}
	t.busy, t.all, t.haveSample = busy, all, true
	return pct
}

func memUsed() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	var total, avail int64
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "MemTotal":
			total = n
		case "MemAvailable":
			avail = n
		}
	}
	return (total - avail) * 1024
}

func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}
