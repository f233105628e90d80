// Package benchio writes benchmark reports: one timestamped JSON file per run plus a
// <name>-latest.json copy, replaced atomically.
package benchio

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// WriteJSON writes v as dir/<name>-<UTC time>.json and copies it to dir/<name>-latest.json.
// It returns the first path.
func WriteJSON(dir, name string, started time.Time, v any) (string, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return "", err
	}
	b = append(b, '\n')
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, name+"-"+started.UTC().Format("20060102T150405Z")+".json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return "", err
	}
	latest := filepath.Join(dir, name+"-latest.json")
	tmp := latest + ".partial-" + strconv.Itoa(os.Getpid())
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return path, err
	}
	if err := os.Rename(tmp, latest); err != nil {
		os.Remove(tmp)
		return path, err
	}
	return path, nil
}

// ProcField returns the value of the first "key : value" line of a /proc file ("" when it
// cannot be read), e.g. ProcField("/proc/cpuinfo", "model name").
func ProcField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// Host describes the machine a benchmark ran on; reports embed it.
type Host struct {
	Hostname    string `json:"hostname"`
	CPU         string `json:"cpu_model"`
	Cores       int    `json:"cores"`
	GOMAXPROCS  int    `json:"gomaxprocs"`
	MemoryBytes int64  `json:"memory_bytes,omitempty"`
	OS          string `json:"os"`
	Arch        string `json:"arch"`
	Kernel      string `json:"kernel,omitempty"`
	// LoadAverage is /proc/loadavg's 1, 5 and 15 minute figures when the benchmark started:
	// on a shared machine it says how much noise to expect.
	LoadAverage string `json:"load_average,omitempty"`
	GoVersion   string `json:"go_version"`
}

// DetectHost reads what a report says about this machine.
func DetectHost() Host {
	h := Host{CPU: "unknown", Cores: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0),
		OS: runtime.GOOS, Arch: runtime.GOARCH, GoVersion: runtime.Version()}
	h.Hostname, _ = os.Hostname()
	if v := ProcField("/proc/cpuinfo", "model name"); v != "" {
		h.CPU = v
	}
	if v := ProcField("/proc/meminfo", "MemTotal"); v != "" {
		if kb, err := strconv.ParseInt(strings.TrimSuffix(v, " kB"), 10, 64); err == nil {
			h.MemoryBytes = kb * 1024
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		h.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			h.LoadAverage = strings.Join(f[:3], " ")
		}
	}
	return h
}
