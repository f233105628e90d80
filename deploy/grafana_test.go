package deploy

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// dashboard is a Grafana dashboard, as far as these tests read it.
type dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Query      json.RawMessage `json:"query"`
			Definition string          `json:"definition"`
			Datasource *datasource     `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type panel struct {
	ID          int         `json:"id"`
	Type        string      `json:"type"`
	Title       string      `json:"title"`
	Description string      `json:"description"`
	Datasource  *datasource `json:"datasource"`
	FieldConfig struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
	Targets []struct {
		Expr       string      `json:"expr"`
		RefID      string      `json:"refId"`
		Datasource *datasource `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a collapsed row's
}

// Grafana's own variables that panel expressions may use.
var builtinVars = map[string]bool{"__rate_interval": true, "__interval": true, "__range": true}

var varRef = regexp.MustCompile(`\$(?:\{([a-zA-Z0-9_]+)(?::[a-z]+)?\}|([a-zA-Z0-9_]+))`)

func readDashboards(t *testing.T) map[string]dashboard {
	t.Helper()
	out := map[string]dashboard{}
	for _, f := range glob(t, filepath.Join("grafana", "dashboards", "*.json")) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d dashboard
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if want := strings.TrimSuffix(filepath.Base(f), ".json"); d.UID != want {
			t.Errorf("%s: uid %q, want the file's name %q (links and provisioning rely on it)", f, d.UID, want)
		}
		out[d.UID] = d
	}
	return out
}

// TestDashboards checks each dashboard as data: its schema, its datasource variable used by
// every panel and query, unique panel ids, titles, descriptions and units, variables that
// exist, and metric names the code registers.
func TestDashboards(t *testing.T) {
	known := registeredMetrics(t)
	recorded := recordedNames(t)
	dashboards := readDashboards(t)
	for _, uid := range []string{"ffrtmp-master-overview", "ffrtmp-job-queue", "ffrtmp-worker-performance", "ffrtmp-system-health", "ffrtmp-live-streams"} {
		if _, ok := dashboards[uid]; !ok {
			t.Errorf("dashboard %s.json is missing", uid)
		}
	}
	for uid, d := range dashboards {
		if d.Title == "" {
			t.Errorf("%s: no title", uid)
		}
		if d.SchemaVersion < 38 {
			t.Errorf("%s: schemaVersion %d, want 38 or newer (Grafana 10)", uid, d.SchemaVersion)
		}
		vars := map[string]bool{}
		for _, v := range d.Templating.List {
			vars[v.Name] = true
			if v.Type == "query" {
				if v.Datasource == nil || v.Datasource.UID != "${datasource}" {
					t.Errorf("%s: variable %s does not query ${datasource}", uid, v.Name)
				}
				for _, e := range checkNames(uid+" variable "+v.Name, v.Definition, known, recorded) {
					t.Error(e)
				}
			}
		}
		ds := d.Templating.List
		if len(ds) == 0 || ds[0].Name != "datasource" || ds[0].Type != "datasource" || string(ds[0].Query) != `"prometheus"` {
			t.Errorf("%s: the first variable must be datasource, of type datasource, query prometheus", uid)
		}
		for _, v := range d.Templating.List {
			for _, ref := range varRefs(v.Definition) {
				if !vars[ref] && !builtinVars[ref] {
					t.Errorf("%s: variable %s uses $%s, which is not defined", uid, v.Name, ref)
				}
			}
		}
		ids := map[int]string{}
		titles := map[string]bool{}
		for _, p := range flatten(d.Panels) {
			if prev, ok := ids[p.ID]; ok {
				t.Errorf("%s: panels %q and %q share id %d", uid, prev, p.Title, p.ID)
			}
			ids[p.ID] = p.Title
			if p.Title == "" {
				t.Errorf("%s: panel %d has no title", uid, p.ID)
			}
			if p.Type == "row" {
				continue
			}
			where := uid + " / " + p.Title
			if titles[p.Title] {
				t.Errorf("%s: two panels are titled %q", uid, p.Title)
			}
			titles[p.Title] = true
			if p.Description == "" {
				t.Errorf("%s: no description", where)
			}
			if p.FieldConfig.Defaults.Unit == "" {
				t.Errorf("%s: no unit", where)
			}
			if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
				t.Errorf("%s: panel datasource %+v, want uid ${datasource}", where, p.Datasource)
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: no query", where)
			}
			for _, tg := range p.Targets {
				if tg.Datasource == nil || tg.Datasource.UID != "${datasource}" {
					t.Errorf("%s: query %s datasource %+v, want uid ${datasource}", where, tg.RefID, tg.Datasource)
				}
				if strings.TrimSpace(tg.Expr) == "" {
					t.Errorf("%s: query %s has no expression", where, tg.RefID)
				}
				for _, ref := range varRefs(tg.Expr) {
					if !vars[ref] && !builtinVars[ref] {
						t.Errorf("%s: query %s uses $%s, which is not defined", where, tg.RefID, ref)
					}
				}
				for _, e := range checkNames(where, tg.Expr, known, recorded) {
					t.Error(e)
				}
			}
		}
	}
}

func varRefs(s string) []string {
	var out []string
	for _, m := range varRef.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1]+m[2])
	}
	return out
}

func flatten(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, flatten(p.Panels)...)
	}
	return out
}

// TestCorePanels checks that core-panels.txt names panels that exist, and that no GPU panel
// is core (the end-to-end test runs on a farm without GPUs).
func TestCorePanels(t *testing.T) {
	dashboards := readDashboards(t)
	f, err := os.Open(filepath.Join("grafana", "core-panels.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		uid, title, ok := strings.Cut(line, ": ")
		d, found := dashboards[uid]
		if !ok || !found {
			t.Errorf("core-panels.txt: %q is not <dashboard uid>: <panel title> of an existing dashboard", line)
			continue
		}
		var p *panel
		for _, q := range flatten(d.Panels) {
			if q.Title == title && q.Type != "row" {
				p = &q
			}
		}
		if p == nil {
			t.Errorf("core-panels.txt: dashboard %s has no panel %q", uid, title)
			continue
		}
		for _, tg := range p.Targets {
			if strings.Contains(tg.Expr, "_gpu_") {
				t.Errorf("core-panels.txt: %s / %s reads GPU metrics, empty on a farm without GPUs", uid, title)
			}
		}
		n++
	}
	if n < 5 {
		t.Errorf("core-panels.txt lists %d panels; every dashboard has core panels", n)
	}
}

// TestGrafanaProvisioning checks the provisioning files point where the guide says.
func TestGrafanaProvisioning(t *testing.T) {
	var ds struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			Type string `yaml:"type"`
			URL  string `yaml:"url"`
		} `yaml:"datasources"`
	}
	readYAML(t, filepath.Join("grafana", "provisioning", "datasources", "prometheus.yaml"), &ds)
	if ds.APIVersion != 1 || len(ds.Datasources) != 1 || ds.Datasources[0].Type != "prometheus" || ds.Datasources[0].URL == "" {
		t.Errorf("datasource provisioning: %+v, want apiVersion 1 and one prometheus datasource with a url", ds)
	}
	var dp struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Folder  string            `yaml:"folder"`
			Type    string            `yaml:"type"`
			Options map[string]string `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, filepath.Join("grafana", "provisioning", "dashboards", "ffrtmp.yaml"), &dp)
	if dp.APIVersion != 1 || len(dp.Providers) != 1 || dp.Providers[0].Folder != "ffrtmp" || dp.Providers[0].Type != "file" ||
		dp.Providers[0].Options["path"] != "/var/lib/grafana/dashboards/ffrtmp" {
		t.Errorf("dashboard provisioning: %+v, want one file provider, folder ffrtmp, path /var/lib/grafana/dashboards/ffrtmp", dp)
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// substitute replaces the dashboards' variables the way an evaluation outside Grafana must
// (doc/operations.md, Dashboards): every template variable by .*, Grafana's intervals by
// fixed ranges.
func substitute(expr, rateInterval, rng string) string {
	return varRef.ReplaceAllStringFunc(expr, func(ref string) string {
		m := varRef.FindStringSubmatch(ref)
		switch m[1] + m[2] {
		case "__rate_interval", "__interval":
			return rateInterval
		case "__range":
			return rng
		}
		return ".*"
	})
}

// TestDashboardExpressionsParse hands every panel's expression, its variables substituted,
// to promtool as a recording rule: it parses each with Prometheus's own parser.
func TestDashboardExpressionsParse(t *testing.T) {
	promtool := tool(t, "promtool")
	type rec struct {
		Record string `yaml:"record"`
		Expr   string `yaml:"expr"`
	}
	var rules []rec
	for uid, d := range readDashboards(t) {
		for _, p := range flatten(d.Panels) {
			for _, tg := range p.Targets {
				// The record name says where the expression comes from if promtool refuses it.
				name := "dashboard:" + strings.ReplaceAll(uid, "-", "_") + ":panel" + strconv.Itoa(p.ID) + tg.RefID
				rules = append(rules, rec{Record: name, Expr: substitute(tg.Expr, "1m", "1h")})
			}
		}
	}
	b, err := yaml.Marshal(map[string]any{"groups": []any{map[string]any{"name": "dashboards", "rules": rules}}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "dashboards.yml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	out := run(t, dir, promtool, "check", "rules", "dashboards.yml")
	if want := "SUCCESS: " + strconv.Itoa(len(rules)) + " rules found"; !strings.Contains(out, want) {
		t.Errorf("promtool check rules: want %q in\n%s", want, out)
	}
}
