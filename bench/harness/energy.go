package harness

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ffrtmp/ffrtmp/hw"
)

// rapl reads the CPU packages' energy counters (Linux powercap: intel-rapl, also on AMD
// since Zen). Reading them usually needs root; where they cannot be read, the harness says
// so and reports no CPU energy.
type rapl struct {
	zones []raplZone
}

type raplZone struct {
	energy string  // .../energy_uj
	wrap   float64 // max_energy_range_uj
}

// openRAPL finds the package domains (intel-rapl:N, not their subzones); nil when none can
// be read.
func openRAPL(root string) *rapl {
	dirs, _ := filepath.Glob(filepath.Join(root, "intel-rapl:*"))
	r := &rapl{}
	for _, d := range dirs {
		if strings.Count(filepath.Base(d), ":") != 1 {
			continue // a subzone (core, uncore, dram) is counted in its package
		}
		if name, _ := os.ReadFile(filepath.Join(d, "name")); !strings.HasPrefix(string(name), "package") {
			continue
		}
		z := raplZone{energy: filepath.Join(d, "energy_uj")}
		if _, ok := readFloat(z.energy); !ok {
			continue
		}
		z.wrap, _ = readFloat(filepath.Join(d, "max_energy_range_uj"))
		r.zones = append(r.zones, z)
	}
	if len(r.zones) == 0 {
		return nil
	}
	return r
}

// read returns each zone's counter, microjoules.
func (r *rapl) read() []float64 {
	out := make([]float64, len(r.zones))
	for i, z := range r.zones {
		out[i], _ = readFloat(z.energy)
	}
	return out
}

// joules is the energy used between two readings, allowing for counters that wrapped.
func (r *rapl) joules(before, after []float64) float64 {
	var uj float64
	for i := range before {
		d := after[i] - before[i]
		if d < 0 && r.zones[i].wrap > 0 {
			d += r.zones[i].wrap
		}
		uj += d
	}
	return uj / 1e6
}

func readFloat(path string) (float64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
	return v, err == nil
}

// gpuSampler reads one GPU through NVML every interval while a run goes on: utilisation,
// encoder and decoder load, memory and power, and the energy as power integrated over time.
type gpuSampler struct {
	nvml  *hw.NVML
	index int
	every time.Duration

	mu      sync.Mutex
	samples []hw.GPU
	times   []time.Time
	stop    chan struct{}
	done    chan struct{}
}

func newGPUSampler(n *hw.NVML, index int, every time.Duration) *gpuSampler {
	return &gpuSampler{nvml: n, index: index, every: every}
}

func (g *gpuSampler) start() {
	g.samples, g.times = nil, nil
	g.stop, g.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(g.done)
		t := time.NewTicker(g.every)
		defer t.Stop()
		for {
			g.sample()
			select {
			case <-g.stop:
				g.sample()
				return
			case <-t.C:
			}
		}
	}()
}

func (g *gpuSampler) sample() {
	gpus, err := g.nvml.GPUs()
	if err != nil || g.index >= len(gpus) {
		return
	}
	g.mu.Lock()
	g.samples = append(g.samples, gpus[g.index])
	g.times = append(g.times, time.Now())
	g.mu.Unlock()
}

// gpuRun is what the sampler saw during one run.
type gpuRun struct {
	util, enc, dec, watts, memMB, joules float64
}

// finish stops sampling and sums up the run: means of the readings, and joules as the
// trapezoid integral of power.
func (g *gpuSampler) finish() (gpuRun, bool) {
	close(g.stop)
	<-g.done
	g.mu.Lock()
	defer g.mu.Unlock()
	n := len(g.samples)
	if n == 0 {
		return gpuRun{}, false
	}
	var r gpuRun
	for i, s := range g.samples {
		r.util += s.Utilization
		r.enc += s.EncoderUtilization
		r.dec += s.DecoderUtilization
		r.watts += s.PowerWatts
		r.memMB += float64(s.MemoryUsedMB)
		if i > 0 {
			dt := g.times[i].Sub(g.times[i-1]).Seconds()
			r.joules += dt * (s.PowerWatts + g.samples[i-1].PowerWatts) / 2
		}
	}
	f := float64(n)
	r.util, r.enc, r.dec, r.watts, r.memMB = r.util/f, r.enc/f, r.dec/f, r.watts/f, r.memMB/f
	return r, true
}
