package main

// The data folder of `ffrtmp run`: the database, the API key (made on the first run), the
// API's URL, the worker's state and the outputs, which the other commands find there.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ffrtmp/ffrtmp/master/auth"
)

// runPaths are where a farm keeps its things, absolute.
type runPaths struct {
	start, data, key, worker, out string
	inputRoots, outputRoots       []string
}

// runData creates the data folder and works out the roots jobs may use.
func runData(s runSettings) (runPaths, error) {
	var p runPaths
	var err error
	if p.start, err = os.Getwd(); err != nil {
		return p, err
	}
	if p.data, err = filepath.Abs(s.dataDir); err != nil {
		return p, usagef("--data-dir %q: %v", s.dataDir, err)
	}
	p.key, p.worker, p.out = filepath.Join(p.data, apiKeyFile), filepath.Join(p.data, runWorkerDir), filepath.Join(p.data, runOutDir)
	for _, d := range []string{p.data, p.out, p.worker} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return p, fmt.Errorf("create the data folder: %w", err)
		}
	}
	p.inputRoots, p.outputRoots = s.inputRoots, s.outputRoots
	if len(p.inputRoots) == 0 {
		p.inputRoots = []string{p.start}
	}
	if len(p.outputRoots) == 0 {
		p.outputRoots = []string{p.out}
	}
	return p, nil
}

// newAPIKey makes a key in the format of `ffrtmp master gen-key`.
func newAPIKey() (string, error) { return auth.Mint(auth.KeyPrefix) }

// ensureAPIKey returns the key kept at path, or makes one and keeps it there (mode 0600);
// fresh says it was made now.
func ensureAPIKey(path string) (key string, fresh bool, err error) {
	b, err := os.ReadFile(path)
	if err == nil {
		key = strings.TrimSpace(string(b))
		if key == "" {
			return "", false, fmt.Errorf("%s is empty: delete it and ffrtmp run makes a new key", path)
		}
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			// Others could read the admin key: make it private again.
			if err := os.Chmod(path, 0o600); err != nil {
				return "", false, fmt.Errorf("make %s private (chmod 600): %w", path, err)
			}
		}
		return key, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", false, fmt.Errorf("read the API key: %w", err)
	}
	if key, err = newAPIKey(); err != nil {
		return "", false, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", false, fmt.Errorf("keep the API key: %w", err)
	}
	if _, err = f.WriteString(key + "\n"); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return "", false, fmt.Errorf("keep the API key: %w", err)
	}
	return key, true, nil
}

// runKeys are the farm's API keys.
type runKeys struct {
	user  string // the user's, admin role, kept in the data folder
	fresh bool   // the user's key was made now: the banner shows it, this once
	// worker is the in-process worker's key: it lives only in this process and can do no
	// more than a worker.
	worker string
}

// makeRunKeys reads (or makes) the user's key at path and makes the worker's.
func makeRunKeys(path string) (runKeys, error) {
	var k runKeys
	var err error
	if k.user, k.fresh, err = ensureAPIKey(path); err != nil {
		return k, err
	}
	k.worker, err = newAPIKey()
	return k, err
}

// writeMasterURL keeps the API's URL in the data folder, where the other commands find it.
func writeMasterURL(dataDir, apiURL string) error {
	if err := os.WriteFile(filepath.Join(dataDir, masterURLFile), []byte(apiURL+"\n"), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", masterURLFile, err)
	}
	return nil
}
