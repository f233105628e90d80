package masterbench

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ffrtmp/ffrtmp/bench/benchio"
	"github.com/ffrtmp/ffrtmp/internal/stats"
	"github.com/ffrtmp/ffrtmp/internal/table"
)

// Report is everything one benchmark run measured, as written to JSON.
type Report struct {
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Profile  Profile   `json:"profile"`
	Machine  Machine   `json:"machine"`
	// Notes say how the load was made (client model, rate limit, fixtures), for the reader
	// of the numbers.
	Notes []string     `json:"notes"`
	Cases []CaseResult `json:"cases"`
	// Pass is true when every metric with a target reached it.
	Pass bool `json:"pass"`
}

// CaseResult is one case: its setup and what it measured.
type CaseResult struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Setup lists how the case was prepared (fill method and time, master start time).
	Setup   []string `json:"setup"`
	Metrics []Metric `json:"metrics"`
	// Latencies are the distributions behind the metrics, by name.
	Latencies map[string]Latency `json:"latencies"`
	// Errors counts failed requests by message (at most a few distinct ones are kept).
	Errors map[string]int `json:"errors,omitempty"`
	// MasterCPUSeconds is the master process's CPU time (user+system) during the measured
	// part; MasterCPUPerOp divides it by the operations done there.
	MasterCPUSeconds float64 `json:"master_cpu_seconds"`
	MasterCPUPerOpUs float64 `json:"master_cpu_per_op_us,omitempty"`
	// LoadCPUSeconds is the load generator's own CPU time in the same span: on a shared
	// 2-core machine it is CPU the master did not get.
	LoadCPUSeconds float64 `json:"load_generator_cpu_seconds"`
	// OtherCPUCores is how many cores everything else on the machine kept busy meanwhile, on
	// average: other tenants' noise.
	OtherCPUCores float64 `json:"other_processes_cpu_cores"`
	// Summary is the one line a progress log shows of it.
	Summary string `json:"-"`
}

// Metric is one row of the table. Target and Pass are empty for figures shown for reading.
type Metric struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	Target string  `json:"target,omitempty"`
	Pass   *bool   `json:"pass,omitempty"`
}

// AtLeast and AtMost make metrics with a target: v must reach it from below or above.
func AtLeast(name string, v float64, unit string, target float64) Metric {
	ok := v >= target
	return Metric{Name: name, Value: v, Unit: unit, Target: ">= " + FormatNum(target), Pass: &ok}
}

// AtMost is a metric that must not exceed target.
func AtMost(name string, v float64, unit string, target float64) Metric {
	ok := v <= target
	return Metric{Name: name, Value: v, Unit: unit, Target: "<= " + FormatNum(target), Pass: &ok}
}

// Within is a metric whose target is want ± tol.
func Within(name string, v float64, unit string, want, tol float64) Metric {
	ok := math.Abs(v-want) <= tol
	return Metric{Name: name, Value: v, Unit: unit, Target: FormatNum(want) + " ± " + FormatNum(tol), Pass: &ok}
}

// Info is a figure shown for reading, without a target.
func Info(name string, v float64, unit string) Metric {
	return Metric{Name: name, Value: v, Unit: unit}
}

// Zero is a metric that must be 0 (errors).
func Zero(name string, v float64, unit string) Metric {
	ok := v == 0
	return Metric{Name: name, Value: v, Unit: unit, Target: "0", Pass: &ok}
}

// FormatNum writes a value as the tables show it: integers whole, others with 0 to 2
// decimals by size.
func FormatNum(v float64) string {
	switch {
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.FormatInt(int64(v), 10)
	case math.Abs(v) >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// Latency summarises a set of request times, in milliseconds.
type Latency struct {
	Count int     `json:"count"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p99_9_ms"`
	Max   float64 `json:"max_ms"`
}

// Summarize computes a Latency from request times (sorting ds).
func Summarize(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	slices.Sort(ds)
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	return Latency{Count: len(ds), Mean: ms(sum / time.Duration(len(ds))),
		P50: ms(stats.Percentile(ds, 0.50)), P90: ms(stats.Percentile(ds, 0.90)), P99: ms(stats.Percentile(ds, 0.99)),
		P999: ms(stats.Percentile(ds, 0.999)), Max: ms(ds[len(ds)-1])}
}

// Machine describes where the benchmark ran.
type Machine struct {
	benchio.Host
	// Commit is the repository's HEAD, with "-dirty" when the tree has changes.
	Commit string `json:"commit"`
	// FsyncMs is the median time to write 4 KiB and fdatasync it in the folder the databases
	// live in: the floor under every durable write.
	FsyncMs float64 `json:"fsync_median_ms"`
}

// DetectMachine reads what the report says about this machine; root is the repository
// (for the commit) and dir a folder on the disk the databases use (for the fsync time).
func DetectMachine(ctx context.Context, root, dir string) Machine {
	m := Machine{Host: benchio.DetectHost(), Commit: "unknown"}
	if out, err := exec.CommandContext(ctx, "git", "-C", root, "rev-parse", "HEAD").Output(); err == nil {
		m.Commit = strings.TrimSpace(string(out))
		if st, err := exec.CommandContext(ctx, "git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
			m.Commit += "-dirty"
		}
	}
	m.FsyncMs = fsyncTime(dir)
	return m
}

// fsyncTime is the median of 20 write+fdatasync rounds of 4 KiB in dir, in ms (0 on error).
func fsyncTime(dir string) float64 {
	f, err := os.CreateTemp(dir, "fsync-probe-")
	if err != nil {
		return 0
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, 4096)
	var ds []time.Duration
	for i := range 20 {
		start := time.Now()
		if _, err := f.WriteAt(buf, int64(i)*4096); err != nil {
			return 0
		}
		if err := f.Sync(); err != nil {
			return 0
		}
		ds = append(ds, time.Since(start))
	}
	return Summarize(ds).P50
}

// WriteJSON writes the report as dir/master-<UTC time>.json and copies it to
// dir/master-latest.json. It returns the first path.
func (r Report) WriteJSON(dir string) (string, error) {
	return benchio.WriteJSON(dir, "master", r.Started, r)
}

// WriteTable prints one aligned line per metric: case, metric, value, target and whether it
// passed, then the notes.
func (r Report) WriteTable(w io.Writer) {
	t := table.New("case", "metric", "value", "", "target", "ok")
	t.Right = []int{2, 4}
	for _, c := range r.Cases {
		for _, m := range c.Metrics {
			ok := ""
			if m.Pass != nil {
				ok = "yes"
				if !*m.Pass {
					ok = "NO"
				}
			}
			t.Row(c.Name, m.Name, FormatNum(m.Value), m.Unit, m.Target, ok)
		}
	}
	_ = t.Write(w)
	for _, n := range r.Notes {
		fmt.Fprintf(w, "- %s\n", n)
	}
}
