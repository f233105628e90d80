package main

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/auth"
)

// doc/config.md must be what `ffrtmp docs config` prints now.
func TestConfigReference(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	stdout, stderr, code := runWithEnv(t, dir, isolatedEnv(dir), "", "docs", "config")
	if code != 0 {
		t.Fatalf("docs config: exit %d: %s", code, stderr)
	}
	want, err := os.ReadFile(filepath.Join("..", "..", "doc", "config.md"))
	if err != nil {
		t.Fatalf("doc/config.md is stale: run `make docs` (%v)", err)
	}
	if stdout != string(want) {
		t.Errorf("doc/config.md is stale: run `make docs`\n%s", firstDifference(string(want), stdout))
	}
}

// firstDifference shows the first line where the file and the generator part.
func firstDifference(file, generated string) string {
	a, b := strings.Split(file, "\n"), strings.Split(generated, "\n")
	for i := range max(len(a), len(b)) {
		var x, y string
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			return "line " + strconv.Itoa(i+1) + ":\n  doc/config.md: " + x + "\n  generated:     " + y
		}
	}
	return ""
}

// Every command a user can run has its section, every visible flag of it a row, and the
// bindings say where each flag is also read from.
func TestConfigReferenceCoversTheTree(t *testing.T) {
	root := newRootCmd(io.Discard, io.Discard)
	var b strings.Builder
	if err := writeConfigReference(&b, root); err != nil {
		t.Fatal(err)
	}
	doc := b.String()
	// Sections by command path: a heading names the command in backticks.
	sections := map[string]string{}
	current := ""
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(line, "#") {
			current = ""
			if _, rest, ok := strings.Cut(line, " `"); ok {
				current, _, _ = strings.Cut(rest, "`")
			}
			continue
		}
		if current != "" {
			sections[current] += line + "\n"
		}
	}
	n := 0
	walkCommands(root, func(c *cobra.Command) {
		n++
		body, ok := sections[c.CommandPath()]
		if !ok {
			t.Errorf("no section for %q", c.CommandPath())
			return
		}
		check := func(f *pflag.Flag) {
			if !f.Hidden && f.Name != "help" && !strings.Contains(body, "`--"+f.Name+"` | "+f.Value.Type()+" |") {
				t.Errorf("section %q lacks flag --%s", c.CommandPath(), f.Name)
			}
		}
		c.LocalNonPersistentFlags().VisitAll(check)
		c.PersistentFlags().VisitAll(check)
	})
	for _, hidden := range []string{"ffrtmp docs", "ffrtmp docs config", "ffrtmp help"} {
		if _, ok := sections[hidden]; ok {
			t.Errorf("hidden command %q is documented", hidden)
		}
	}
	if n < 20 {
		t.Errorf("walked %d commands, want the whole tree", n)
	}
	for _, row := range []struct{ section, want string }{
		{"ffrtmp master", "| `--max-retries` | int | `3` | `FFRTMP_MASTER_MAX_RETRIES` | `max-retries` |"},
		{"ffrtmp master", "`FFRTMP_MASTER_API_KEY`, `MASTER_API_KEY` | `api-key` |"},
		{"ffrtmp worker", "| `--max-concurrent-jobs` | int | `1` | `FFRTMP_WORKER_MAX_CONCURRENT_JOBS` | `max-concurrent-jobs` |"},
		{"ffrtmp worker", "`FFRTMP_WORKER_API_KEY`, `FFMPEG_RTMP_API_KEY` | `api-key` |"},
		{"ffrtmp nodes", "| `--api-key` | string |  | `FFRTMP_API_KEY` | `api-key` |"},
		{"ffrtmp nodes", "| `--config` | string |  | `FFRTMP_CONFIG` |  |"},
		{"ffrtmp nodes", "| `--timeout` | duration | `30s` |  |  |"},
		{"ffrtmp presets put", "| `-f`, `--file` | string |  |  |  |"},
		{"ffrtmp nodes list", "| `-o`, `--output` | string | `table` |  |  | output format: table, json or yaml |"},
		{"ffrtmp run", "`FFRTMP_RUN_PORT` | `run.port` |"},
	} {
		if !strings.Contains(sections[row.section], row.want) {
			t.Errorf("section %q lacks %q:\n%s", row.section, row.want, sections[row.section])
		}
	}
	for _, want := range []string{"1. the flag on the command line;", "2. the environment variable;", "3. the config file;",
		"`ffrtmp-data/master-url` and `ffrtmp-data/api-key`", "5. the flag's default."} {
		if !strings.Contains(doc, want) {
			t.Errorf("the precedence rule lacks %q", want)
		}
	}
}

// The commands of this part have help a user can learn from.
func TestNodesPresetsHelp(t *testing.T) {
	root := newRootCmd(io.Discard, io.Discard)
	for _, name := range []string{"nodes", "presets", "completion"} {
		c, _, err := root.Find([]string{name})
		if err != nil || c.Name() != name {
			t.Fatalf("no %s command: %v", name, err)
		}
		walkCommands(c, func(c *cobra.Command) {
			if c.Short == "" || c.Long == "" || c.Example == "" && c.Parent().Name() != "completion" {
				t.Errorf("%s lacks Short, Long or Example", c.CommandPath())
			}
		})
	}
}

func TestCompletion(t *testing.T) {
	t.Parallel()
	f := newClientFarm(t)
	node := registerGPUNode(t, f.h, "node-complete-me", "gpu-c")
	if _, err := f.h.Client(t, auth.RoleAdmin).PutPreset(context.Background(), api.Preset{Name: "stored-one",
		Renditions: fixturePreset().Renditions[:1]}); err != nil {
		t.Fatal(err)
	}

	script := f.mustRun(t, "", "completion", "bash")
	if !strings.HasPrefix(script, "# bash completion V2 for ffrtmp") || !strings.Contains(script, "complete -o default -F __start_ffrtmp ffrtmp") {
		t.Errorf("completion bash is not cobra's bash script for ffrtmp:\n%.300s", script)
	}
	for _, shell := range []string{"zsh", "fish", "powershell"} {
		if out := f.mustRun(t, "", "completion", shell); !strings.Contains(out, "completion for ffrtmp") || !strings.Contains(out, " __complete ") {
			t.Errorf("completion %s does not call back into ffrtmp:\n%.300s", shell, out)
		}
	}
	if _, stderr, code := f.run(t, "", "completion", "tcsh"); code != exitUsage || !strings.Contains(stderr, "want bash, zsh, fish or powershell") {
		t.Errorf("completion tcsh: exit %d, %q", code, stderr)
	}

	// What the script asks the binary for, as the shell would when TAB is pressed.
	candidates := func(args ...string) []string {
		t.Helper()
		out := f.mustRun(t, "", append([]string{"__complete"}, args...)...)
		var names []string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if !strings.HasPrefix(l, ":") {
				name, _, _ := strings.Cut(l, "\t")
				names = append(names, name)
			}
		}
		return names
	}
	tests := []struct {
		args      []string
		want, not []string
	}{
		{[]string{""}, []string{"jobs", "nodes", "presets", "run", "completion"}, []string{"docs"}},
		{[]string{"nodes", "list", "-o", ""}, []string{"table", "json", "yaml"}, nil},
		{[]string{"presets", "get", ""}, []string{"abr-1080p", "abr-720p", "stored-one"}, nil},
		{[]string{"presets", "delete", ""}, []string{"stored-one"}, []string{"abr-1080p"}},
		{[]string{"nodes", "drain", ""}, []string{node.ID}, nil},
		{[]string{"jobs", "submit", "--preset", ""}, []string{"abr-1080p", "stored-one"}, nil},
		{[]string{"jobs", "submit", "--scenario", ""}, []string{"4k30", "1080p30-h264"}, nil},
	}
	for _, tc := range tests {
		got := candidates(tc.args...)
		for _, w := range tc.want {
			if !slices.Contains(got, w) {
				t.Errorf("completing %q: %q lacks %q", tc.args, got, w)
			}
		}
		for _, n := range tc.not {
			if slices.Contains(got, n) {
				t.Errorf("completing %q: %q offers %q", tc.args, got, n)
			}
		}
	}
}

// A master that does not answer costs a completion a moment, not --timeout: the shell waits.
func TestCompletionWithoutAnswer(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn // held open, answered never
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	dir := t.TempDir()
	env := isolatedEnv(dir, "FFRTMP_MASTER=http://"+ln.Addr().String(), "FFRTMP_API_KEY=k")
	// With --timeout 1h, only the completion's own bound can end this within runWithEnv's minute.
	out, stderr, code := runWithEnv(t, dir, env, "", "__complete", "presets", "get", "--timeout", "1h", "")
	if code != 0 || strings.TrimSpace(out) != ":4" {
		t.Errorf("completion against a silent master: exit %d, stdout %q, stderr %q; want no candidates", code, out, stderr)
	}
	out, _, _ = runWithEnv(t, dir, isolatedEnv(dir, "FFRTMP_MASTER=http://127.0.0.1:1", "FFRTMP_API_KEY=k"), "", "__complete", "nodes", "get", "")
	if strings.TrimSpace(out) != ":4" {
		t.Errorf("completion without a master offered %q", out)
	}
}
