// Package benchio writes benchmark reports: one timestamped JSON file per run plus a
// <name>-latest.json copy, replaced atomically.
package benchio

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
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
