package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// flags is a command's flag set with a flag of each kind the commands bind.
func flags(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	fs.String("config", "", "config file")
	fs.Int("max-retries", 3, "retries")
	fs.Int("port", 8080, "port")
	fs.Duration("drain-timeout", 30*time.Second, "drain")
	fs.String("api-key", "", "key")
	fs.StringSlice("input-roots", nil, "roots")
	fs.StringToString("labels", nil, "labels")
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return fs
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ffrtmp.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestBind: where each setting comes from, for a file of its own, a section of a shared
// file, and the file named by a flag or its variable.
func TestBind(t *testing.T) {
	const prefix = "FFRTMP_TEST"
	type check func(t *testing.T, v *viper.Viper)
	intIs := func(key string, want int) check {
		return func(t *testing.T, v *viper.Viper) {
			if got := v.GetInt(key); got != want {
				t.Errorf("%s = %d, want %d", key, got, want)
			}
		}
	}
	stringIs := func(key, want string) check {
		return func(t *testing.T, v *viper.Viper) {
			if got := v.GetString(key); got != want {
				t.Errorf("%s = %q, want %q", key, got, want)
			}
		}
	}
	listIs := func(key string, want ...string) check {
		return func(t *testing.T, v *viper.Viper) {
			if got := List(v, key); !slices.Equal(got, want) {
				t.Errorf("List(%s) = %q, want %q", key, got, want)
			}
		}
	}
	mapIs := func(key string, want map[string]string) check {
		return func(t *testing.T, v *viper.Viper) {
			got, err := Map(v, key)
			if err != nil || len(got) != len(want) {
				t.Fatalf("Map(%s) = %v, %v; want %v", key, got, err, want)
			}
			for k, w := range want {
				if got[k] != w {
					t.Errorf("Map(%s)[%s] = %q, want %q", key, k, got[k], w)
				}
			}
		}
	}
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		file string // the file's body; "" none
		src  Sources
		want []check
		// err is what the error must say ("FILE" stands for the file's path); "" none.
		err string
	}{
		{name: "default", want: []check{intIs("max-retries", 3), stringIs("api-key", "")}},
		{name: "file beats default", file: "max-retries: 5\n", want: []check{intIs("max-retries", 5), intIs("port", 8080)}},
		{name: "env beats file", file: "max-retries: 5\n", env: map[string]string{prefix + "_MAX_RETRIES": "6"},
			want: []check{intIs("max-retries", 6)}},
		{name: "flag beats env", args: []string{"--max-retries", "7"}, file: "max-retries: 5\n",
			env: map[string]string{prefix + "_MAX_RETRIES": "6"}, want: []check{intIs("max-retries", 7)}},
		{name: "two-word flag from env", env: map[string]string{prefix + "_DRAIN_TIMEOUT": "5s"},
			want: []check{func(t *testing.T, v *viper.Viper) {
				if d := v.GetDuration("drain-timeout"); d != 5*time.Second {
					t.Errorf("drain-timeout %v, want 5s", d)
				}
			}}},
		{name: "extra variable", env: map[string]string{"SEED_API_KEY": "seed"}, file: "api-key: file\n",
			src: Sources{ExtraEnv: map[string]string{"api-key": "SEED_API_KEY"}}, want: []check{stringIs("api-key", "seed")}},
		{name: "own variable beats the extra one", env: map[string]string{"SEED_API_KEY": "seed", prefix + "_API_KEY": "own"},
			src: Sources{ExtraEnv: map[string]string{"api-key": "SEED_API_KEY"}}, want: []check{stringIs("api-key", "own")}},
		{name: "list from the command line", args: []string{"--input-roots", "/a,/b", "--input-roots", "/c"},
			want: []check{listIs("input-roots", "/a", "/b", "/c")}},
		{name: "list from env", env: map[string]string{prefix + "_INPUT_ROOTS": "/a, /b,,/c"},
			want: []check{listIs("input-roots", "/a", "/b", "/c")}},
		{name: "list from the file", file: "input-roots: [/a, /b]\n", want: []check{listIs("input-roots", "/a", "/b")}},
		{name: "list from the file as a string", file: "input-roots: /a,/b\n", want: []check{listIs("input-roots", "/a", "/b")}},
		{name: "map from the command line", args: []string{"--labels", "zone=eu,tier=gpu"},
			want: []check{mapIs("labels", map[string]string{"zone": "eu", "tier": "gpu"})}},
		{name: "map from env", env: map[string]string{prefix + "_LABELS": "zone=eu, tier=gpu"},
			want: []check{mapIs("labels", map[string]string{"zone": "eu", "tier": "gpu"})}},
		{name: "map from the file", file: "labels:\n  zone: eu\n", want: []check{mapIs("labels", map[string]string{"zone": "eu"})}},
		{name: "unknown key", file: "port: 1\nmax-retires: 5\n", err: `config FILE: unknown key "max-retires" (keys are the flag names, e.g. max-retries)`},
		{name: "a key under a flag that takes no mapping", file: "port:\n  number: 1\n", err: `unknown key "port.number"`},
		{name: "the file cannot name a file", args: []string{"--config", "FILE"}, file: "config: other.yaml\n", src: Sources{FileFlag: "config"}, err: `unknown key "config"`},
		{name: "file named by its flag's variable", file: "max-retries: 9\n", src: Sources{FileFlag: "config"},
			env: map[string]string{prefix + "_CONFIG": "FILE"}, want: []check{intIs("max-retries", 9)}},
		{name: "section", file: "master: http://m\nrun:\n  max-retries: 4\nother:\n  x: 1\n", src: Sources{Section: "run"},
			want: []check{intIs("max-retries", 4)}},
		{name: "unknown key in a section", file: "run:\n  max-retry: 4\n", src: Sources{Section: "run"},
			err: `config FILE: unknown key "run.max-retry" (keys are the flag names, e.g. run.max-retries)`},
		{name: "section that is no mapping", file: "run: 4\n", src: Sources{Section: "run"}, err: `config FILE: "run" must be a mapping`},
		{name: "no section", file: "master: http://m\n", src: Sources{Section: "run"}, want: []check{intIs("max-retries", 3)}},
		{name: "other commands' sections", file: "port: 1\nrun:\n  slots: 2\n", src: Sources{Others: []string{"run"}},
			want: []check{intIs("port", 1)}},
		{name: "unknown key beside other sections", file: "port: 1\nrun:\n  slots: 2\nrunn: 1\n", src: Sources{Others: []string{"run"}},
			err: `unknown key "runn"`},
		{name: "not YAML", file: "port: [1\n", err: "read config FILE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			if tc.file != "" {
				path = writeFile(t, tc.file)
			}
			for k, val := range tc.env {
				t.Setenv(k, strings.ReplaceAll(val, "FILE", path))
			}
			src := tc.src
			src.EnvPrefix = prefix
			if src.FileFlag == "" {
				src.File = path
			}
			var args []string
			for _, a := range tc.args {
				args = append(args, strings.ReplaceAll(a, "FILE", path))
			}
			v, err := Bind(flags(t, args...), src)
			if want := strings.ReplaceAll(tc.err, "FILE", path); want != "" {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("error %v, want one saying %s", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range tc.want {
				c(t, v)
			}
		})
	}
}

// TestBindFile: a file the user named must exist; a default one may be missing; an unknown
// key comes back as an *UnknownKeyError.
func TestBindFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	if _, err := Bind(flags(t), Sources{EnvPrefix: "X", File: missing}); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: %v, want an error naming %s", err, missing)
	}
	if v, err := Bind(flags(t), Sources{EnvPrefix: "X", File: missing, Optional: true}); err != nil || v.GetInt("port") != 8080 {
		t.Errorf("missing optional file: %v", err)
	}
	path := writeFile(t, "prot: 1\n")
	_, err := Bind(flags(t), Sources{EnvPrefix: "X", File: path})
	var uk *UnknownKeyError
	if !errors.As(err, &uk) || uk.Key != "prot" || uk.File != path || uk.Example != "port" {
		t.Errorf("unknown key: %#v, want key prot, file %s, example port", err, path)
	}
	t.Setenv("_PORT", "1")
	if v, err := Bind(flags(t), Sources{}); err != nil {
		t.Error(err)
	} else if p := v.GetInt("port"); p != 8080 {
		t.Errorf("no prefix: port %d, want the default: no variable read", p)
	}
	bad := Sources{EnvPrefix: "X"}
	t.Setenv("X_LABELS", "zone")
	v, err := Bind(flags(t), bad)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Map(v, "labels"); err == nil || !strings.Contains(err.Error(), "--labels") {
		t.Errorf("a label without =: %v, want an error naming --labels", err)
	}
}
