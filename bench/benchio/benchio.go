// Package benchio writes benchmark reports: one timestamped JSON file per run plus a
// <name>-latest.json copy, replaced atomically.
package benchio

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
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
