package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigUnknownKey: every command that reads a config file refuses a key that names
// none of its flags, naming the key and the file, before it starts anything; the client
// commands leave the sections of ffrtmp run and ffrtmp ingest to them.
func TestConfigUnknownKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// file is the config file's body: the --config file of args' CONFIG, or else the
		// user's default ffrtmp config file.
		file string
		args []string
		env  []string
		code int
		key  string // the key the error names; "" for none
		// refused is what must say so: one it says when the file is accepted.
		refused string
	}{
		{"master", "port: 0\nmax-retires: 5\n", []string{"master", "--config", "CONFIG", "--db", "DIR/m.db", "--api-key", "k"}, nil,
			1, "max-retires", "e.g. max-retries"},
		{"worker", "max-concurent-jobs: 2\n", []string{"worker", "--config", "CONFIG", "--data-dir", "DIR/w"}, []string{"FFMPEG_RTMP_API_KEY=k"},
			1, "max-concurent-jobs", "e.g. max-concurrent-jobs"},
		{"run", "run:\n  slot: 2\n", []string{"run", "--data-dir", "DIR/d"}, nil, 2, "run.slot", "e.g. run.slots"},
		{"ingest section", "ingest:\n  listn: \":0\"\n", []string{"ingest", "--master", "http://127.0.0.1:1", "--api-key", "k"}, nil,
			2, "ingest.listn", "e.g. ingest.listen"},
		{"ingest connection", "mastr: http://127.0.0.1:1\n", []string{"ingest", "--api-key", "k"}, nil, 2, "mastr", "e.g. master"},
		{"jobs", "api-key: k\nmastr: http://127.0.0.1:1\n", []string{"jobs", "list"}, nil, 2, "mastr", "e.g. master"},
		{"nodes", "api-keys: k\n", []string{"nodes", "list", "--master", "http://127.0.0.1:1"}, nil, 2, "api-keys", "e.g. api-key"},
		{"presets", "ca:\n  file: x.pem\n", []string{"presets", "list", "--master", "http://127.0.0.1:1", "--api-key", "k"}, nil,
			2, "ca.file", "e.g. ca"},
		{"bench", "timeout: 5s\n", []string{"bench", "--farm", "--quick", "--master", "http://127.0.0.1:1", "--api-key", "k"}, nil,
			2, "timeout", ""},
		{"--config of a client", "mastr: http://127.0.0.1:1\n", []string{"jobs", "list", "--api-key", "k", "--config", "CONFIG"}, nil,
			2, "mastr", ""},
		{"sections beside the connection", "master: http://127.0.0.1:1\napi-key: k\nrun:\n  slots: 2\ningest:\n  listen: \":0\"\n",
			[]string{"jobs", "list"}, nil, 1, "", "no master at http://127.0.0.1:1 (from "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			conf := filepath.Join(dir, "ffrtmp", configFileName)
			var args []string
			for _, a := range tc.args {
				if a == "CONFIG" {
					conf = filepath.Join(dir, "settings.yaml")
				}
				args = append(args, strings.NewReplacer("CONFIG", filepath.Join(dir, "settings.yaml"), "DIR", dir).Replace(a))
			}
			if err := os.MkdirAll(filepath.Dir(conf), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(conf, []byte(tc.file), 0o600); err != nil {
				t.Fatal(err)
			}
			stderr, code := runCLI(t, dir, tc.env, args...)
			want := tc.refused
			if tc.key != "" {
				want = "config " + conf + `: unknown key "` + tc.key + `" (keys are the flag names, ` + tc.refused
			}
			if code != tc.code || !strings.Contains(stderr, want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, tc.code, want)
			}
			if tc.key != "" && (fileExists(filepath.Join(dir, "m.db")) || fileExists(filepath.Join(dir, "d", apiKeyFile))) {
				t.Error("a refused configuration created the master's database or the farm's data folder")
			}
		})
	}
}
