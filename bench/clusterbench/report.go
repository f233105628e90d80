package clusterbench

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ffrtmp/ffrtmp/bench/benchio"
	"github.com/ffrtmp/ffrtmp/bench/masterbench"
	"github.com/ffrtmp/ffrtmp/internal/table"
)

// Report is everything one run measured, as written to JSON (the layout of master-*.json,
// each case saying which way it reached the masters).
type Report struct {
	Started  time.Time           `json:"started"`
	Finished time.Time           `json:"finished"`
	Profile  Profile             `json:"profile"`
	Machine  masterbench.Machine `json:"machine"`
	Notes    []string            `json:"notes"`
	Cases    []Case              `json:"cases"`
	// Failovers are the leader SIGKILLs one by one.
	Failovers []Failover `json:"failovers,omitempty"`
	// Pass is true when every metric with a target reached it.
	Pass bool `json:"pass"`
}

// Case is one case as measured through one way in: a single master, a cluster's leader or
// one of its followers.
type Case struct {
	Via string `json:"via"`
	masterbench.CaseResult
}

// WriteJSON writes the report as dir/cluster-<UTC time>.json and copies it to
// dir/cluster-latest.json. It returns the first path.
func (r Report) WriteJSON(dir string) (string, error) {
	return benchio.WriteJSON(dir, "cluster", r.Started, r)
}

// columns are the table's value columns, by Via.
var columns = []string{ViaSingle, ViaLeader, ViaFollower}

// WriteTable prints one line per metric with its value through each way in side by side,
// the targets and whether they were met, then the notes.
func (r Report) WriteTable(w io.Writer) {
	t := table.New("metric", "single", "cluster via leader", "cluster via follower", "target", "met?")
	t.Right = []int{1, 2, 3}
	type key struct{ cas, metric string }
	var order []key
	byVia := map[key]map[string]masterbench.Metric{}
	for _, c := range r.Cases {
		for _, m := range c.Metrics {
			k := key{c.Name, m.Name}
			if byVia[k] == nil {
				byVia[k] = map[string]masterbench.Metric{}
				order = append(order, k)
			}
			byVia[k][c.Via] = m
		}
	}
	for _, k := range order {
		row := []string{k.cas + ": " + k.metric}
		var targets []string // "target (vias)", vias grouped by equal targets
		targetVias := map[string][]string{}
		var missed []string
		met := false
		for _, via := range columns {
			m, ok := byVia[k][via]
			if !ok {
				row = append(row, "-")
				continue
			}
			row = append(row, strings.TrimSpace(masterbench.FormatNum(m.Value)+" "+m.Unit))
			if m.Target == "" {
				continue
			}
			if _, seen := targetVias[m.Target]; !seen {
				targets = append(targets, m.Target)
			}
			targetVias[m.Target] = append(targetVias[m.Target], via)
			met = true
			if m.Pass != nil && !*m.Pass {
				missed = append(missed, via)
			}
		}
		var tcell []string
		for _, tg := range targets {
			if len(targets) == 1 {
				tcell = append(tcell, tg)
				break
			}
			tcell = append(tcell, tg+" ("+strings.Join(targetVias[tg], ", ")+")")
		}
		ok := ""
		switch {
		case len(missed) > 0:
			ok = "NO (" + strings.Join(missed, ", ") + ")"
		case met:
			ok = "yes"
		}
		t.Row(append(row, strings.Join(tcell, ", "), ok)...)
	}
	_ = t.Write(w)
	for _, n := range r.Notes {
		fmt.Fprintf(w, "- %s\n", n)
	}
}
