// Package compose_test checks deploy/compose.yaml, its Prometheus configuration and secrets
// script, and the master's Dockerfile as data: Docker is not needed (nor assumed) where the
// tests run, so each file a build or a container refers to must exist in the repository.
package compose_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/ffrtmp/ffrtmp/master/auth"
)

// deployDir is deploy/, where compose.yaml lives and its relative paths start.
const deployDir = ".."

type composeFile struct {
	Services map[string]struct {
		Build *struct {
			Context    string `yaml:"context"`
			Dockerfile string `yaml:"dockerfile"`
		} `yaml:"build"`
		Image   string   `yaml:"image"`
		Volumes []string `yaml:"volumes"`
		Secrets []string `yaml:"secrets"`
		EnvFile []string `yaml:"env_file"`
		Extends *struct {
			Service string `yaml:"service"`
		} `yaml:"extends"`
	} `yaml:"services"`
	Secrets map[string]struct {
		File string `yaml:"file"`
	} `yaml:"secrets"`
	Volumes map[string]any `yaml:"volumes"`
}

func readCompose(t *testing.T) composeFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(deployDir, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(false)
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	return c
}

// otherParts are deploy/ folders another part of the operations kit ships: a mount into them
// is checked once the folder is in the tree.
var otherParts = []string{"grafana", "prometheus"}

// TestComposeFilesExist: every build context and Dockerfile, bind-mounted file or folder,
// env file and secret compose.yaml names exists, or (secrets) is what gen-secrets.sh writes.
func TestComposeFilesExist(t *testing.T) {
	c := readCompose(t)
	for _, want := range []string{"master", "worker", "prometheus", "grafana"} {
		if _, ok := c.Services[want]; !ok {
			t.Errorf("no service %q", want)
		}
	}
	secretFiles := map[string]bool{}
	for name, s := range c.Secrets {
		if !strings.HasPrefix(s.File, "./compose/secrets/") {
			t.Errorf("secret %s: %s is not under ./compose/secrets/ (kept out of git and of the image)", name, s.File)
		}
		secretFiles[filepath.Base(s.File)] = true
	}
	for name, svc := range c.Services {
		if svc.Build != nil {
			ctx := filepath.Join(deployDir, svc.Build.Context)
			if fi, err := os.Stat(ctx); err != nil || !fi.IsDir() {
				t.Errorf("%s: build context %s: %v", name, svc.Build.Context, err)
			}
			if _, err := os.Stat(filepath.Join(ctx, svc.Build.Dockerfile)); err != nil {
				t.Errorf("%s: dockerfile: %v", name, err)
			}
		} else if svc.Image == "" && svc.Extends == nil {
			t.Errorf("%s: neither build nor image", name)
		}
		if svc.Extends != nil {
			if _, ok := c.Services[svc.Extends.Service]; !ok {
				t.Errorf("%s extends %q, which is no service", name, svc.Extends.Service)
			}
		}
		for _, v := range svc.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if !strings.HasPrefix(src, ".") {
				if _, ok := c.Volumes[src]; !ok {
					t.Errorf("%s: volume %q is not declared", name, src)
				}
				continue
			}
			path := filepath.Join(deployDir, src)
			if _, err := os.Stat(path); err != nil {
				if part := otherPart(src); part != "" && !exists(filepath.Join(deployDir, part)) {
					t.Logf("%s: %s is shipped with deploy/%s/, not in this tree yet", name, src, part)
					continue
				}
				t.Errorf("%s: mounts %s: %v", name, src, err)
			}
		}
		for _, s := range svc.Secrets {
			if _, ok := c.Secrets[s]; !ok {
				t.Errorf("%s: secret %q is not declared", name, s)
			}
		}
		for _, f := range svc.EnvFile {
			if !strings.HasPrefix(f, "compose/secrets/") {
				t.Errorf("%s: env file %s holds keys: it belongs in compose/secrets/", name, f)
			}
			secretFiles[filepath.Base(f)] = true
		}
	}

	// gen-secrets.sh writes every secret and env file, and the keys it mints are the ones
	// keys.yaml admits, with the roles their users need.
	dir := filepath.Join(t.TempDir(), "secrets")
	out, err := exec.Command("sh", filepath.Join(deployDir, "compose", "gen-secrets.sh"), dir).CombinedOutput()
	if err != nil {
		t.Fatalf("gen-secrets.sh: %v\n%s", err, out)
	}
	for f := range secretFiles {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("gen-secrets.sh does not write %s: %v", f, err)
		}
	}
	read := func(name string) string {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		s := strings.TrimSpace(string(b))
		if _, v, ok := strings.Cut(s, "="); ok {
			return v
		}
		return s
	}
	var keys struct {
		Keys []struct{ Name, Role, SHA256 string } `yaml:"keys"`
	}
	if b, err := os.ReadFile(filepath.Join(dir, "keys.yaml")); err != nil || yaml.Unmarshal(b, &keys) != nil {
		t.Fatalf("keys.yaml: %v", err)
	}
	roles := map[string]string{}
	for _, k := range keys.Keys {
		roles["sha256:"+k.SHA256] = k.Role
	}
	for file, role := range map[string]string{"worker.env": "worker", "monitor.key": "monitor"} {
		key := read(file)
		if !strings.HasPrefix(key, auth.KeyPrefix) || roles[auth.HashKey(key)] != role {
			t.Errorf("the key in %s (%d chars) is not in keys.yaml with role %s: %v", file, len(key), role, roles)
		}
	}
	if out, err := exec.Command("sh", filepath.Join(deployDir, "compose", "gen-secrets.sh"), dir).CombinedOutput(); err == nil {
		t.Errorf("gen-secrets.sh over existing secrets succeeded: %s", out)
	}
	for _, ignore := range []string{"../../.gitignore", "../../.dockerignore"} {
		if b, _ := os.ReadFile(ignore); !strings.Contains(string(b), "deploy/compose/secrets") {
			t.Errorf("%s does not keep deploy/compose/secrets out", ignore)
		}
	}
}

func otherPart(src string) string {
	first := strings.Split(strings.TrimPrefix(src, "./"), "/")[0]
	if slices.Contains(otherParts, first) {
		return first
	}
	return ""
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// TestComposePrometheus: compose's Prometheus finds the workers through the master's service
// discovery with the monitor key compose mounts, and promtool accepts its configuration.
func TestComposePrometheus(t *testing.T) {
	path := filepath.Join(deployDir, "compose", "prometheus.yml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			HTTPSDConfigs []struct {
				URL           string `yaml:"url"`
				Authorization struct {
					Type            string `yaml:"type"`
					CredentialsFile string `yaml:"credentials_file"`
				} `yaml:"authorization"`
			} `yaml:"http_sd_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	sd := 0
	for _, sc := range cfg.ScrapeConfigs {
		for _, h := range sc.HTTPSDConfigs {
			sd++
			if h.URL != "http://master:8080/v1/sd/prometheus" || h.Authorization.Type != "Bearer" ||
				h.Authorization.CredentialsFile != "/run/secrets/monitor.key" {
				t.Errorf("job %s: http_sd_configs %+v", sc.JobName, h)
			}
		}
	}
	if sd == 0 {
		t.Error("no http_sd_configs")
	}
	if !slices.Contains(readCompose(t).Services["prometheus"].Secrets, "monitor.key") {
		t.Error("the prometheus service does not mount the monitor.key secret")
	}
	rules := filepath.Join(deployDir, "prometheus")
	for _, f := range cfg.RuleFiles {
		if exists(rules) && !exists(filepath.Join(rules, f)) {
			t.Errorf("rule file %s: not in deploy/prometheus/ (mounted as /etc/prometheus/rules)", f)
		}
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skip("promtool not installed (Debian: apt-get install prometheus)")
		}
		t.Fatal("promtool not installed")
	}
	if out, err := exec.Command(promtool, "check", "config", "--syntax-only", path).CombinedOutput(); err != nil {
		t.Errorf("promtool check config: %v\n%s", err, out)
	}
}

// dockerLine is one instruction of a Dockerfile, continuation lines joined.
type dockerLine struct {
	op, args string
	line     int
}

func readDockerfile(t *testing.T, path string) []dockerLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []dockerLine
	var cur strings.Builder
	start, n := 0, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || (line == "" && cur.Len() == 0) {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		more := strings.HasSuffix(line, "\\")
		cur.WriteString(strings.TrimSuffix(line, "\\") + " ")
		if !more {
			op, args, _ := strings.Cut(strings.TrimSpace(cur.String()), " ")
			out = append(out, dockerLine{strings.ToUpper(op), strings.TrimSpace(args), start})
			cur.Reset()
		}
	}
	return out
}

var fromRe = regexp.MustCompile(`(?i)^\S+\s+AS\s+(\S+)$`)

// checkStages checks that every COPY of a Dockerfile copies files that exist in the
// repository (the build context) or comes from an earlier stage, and returns the
// instructions.
func checkStages(t *testing.T, name string) []dockerLine {
	t.Helper()
	lines := readDockerfile(t, filepath.Join("..", "..", name))
	stages := map[string]bool{}
	for _, l := range lines {
		switch l.op {
		case "FROM":
			if m := fromRe.FindStringSubmatch(l.args); m != nil {
				stages[m[1]] = true
			}
		case "COPY":
			fields := strings.Fields(l.args)
			var srcs []string
			from := ""
			for _, f := range fields {
				if v, ok := strings.CutPrefix(f, "--from="); ok {
					from = v
				} else if !strings.HasPrefix(f, "--") {
					srcs = append(srcs, f)
				}
			}
			if len(srcs) < 2 {
				t.Errorf("%s:%d: COPY without a source and a destination", name, l.line)
				continue
			}
			if from != "" {
				if !stages[from] {
					t.Errorf("%s:%d: COPY --from=%s: no stage of that name before it", name, l.line, from)
				}
				continue
			}
			for _, src := range srcs[:len(srcs)-1] {
				if m, _ := filepath.Glob(filepath.Join("..", "..", src)); len(m) == 0 {
					t.Errorf("%s:%d: COPY %s: nothing of that name in the repository", name, l.line, src)
				}
			}
		case "RUN":
			for _, pkg := range regexp.MustCompile(`\./cmd/[a-z-]+`).FindAllString(l.args, -1) {
				if !exists(filepath.Join("..", "..", pkg)) {
					t.Errorf("%s:%d: builds %s, which does not exist", name, l.line, pkg)
				}
			}
		}
	}
	return lines
}

// TestDockerfiles: the master's image builds a static binary from paths that exist, runs as
// a non-root user with /data as its volume, and checks its health with the binary itself.
func TestDockerfiles(t *testing.T) {
	checkStages(t, "Dockerfile.cuda")
	lines := checkStages(t, "Dockerfile")
	has := func(op, sub string) bool {
		return slices.ContainsFunc(lines, func(l dockerLine) bool { return l.op == op && strings.Contains(l.args, sub) })
	}
	for _, c := range []struct{ op, sub, why string }{
		{"ENV", "CGO_ENABLED=0", "a static binary"},
		{"RUN", "./cmd/ffrtmp-master", "the master is built"},
		{"USER", "65532", "a non-root user"},
		{"VOLUME", `"/data"`, "the database's volume"},
		{"ENV", "FFRTMP_MASTER_DB=/data/", "the database on the volume"},
		{"HEALTHCHECK", `"ffrtmp-master", "healthcheck"`, "a health check by the binary (no shell on distroless)"},
		{"ENTRYPOINT", "/usr/local/bin/ffrtmp-master", "the master runs"},
	} {
		if !has(c.op, c.sub) && !has(c.op, strings.ReplaceAll(c.sub, `"ffrtmp-master"`, `"/usr/local/bin/ffrtmp-master"`)) {
			t.Errorf("Dockerfile: no %s with %s (%s)", c.op, c.sub, c.why)
		}
	}
	if n := slices.IndexFunc(lines, func(l dockerLine) bool { return l.op == "USER" }); n < 0 || slices.ContainsFunc(lines[n:], func(l dockerLine) bool { return l.op == "USER" && (l.args == "root" || strings.HasPrefix(l.args, "0")) }) {
		t.Error("Dockerfile: the image runs as root")
	}
}
