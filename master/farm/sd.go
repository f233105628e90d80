package farm

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/ffrtmp/ffrtmp/api"
)

// ScrapeTargets lists the nodes that registered a metrics URL in Prometheus's HTTP service
// discovery format: one group per node, by node ID. Offline nodes stay listed, so a worker
// that stopped shows up as a failed scrape (up == 0) until an operator removes it.
//
// Labels: node (the ID, the label the master's own node metrics carry), node_name,
// gpu_model (the first GPU's, absent without one), __scheme__ and __metrics_path__ from the
// URL, and each of the node's labels as label_<key> (characters outside [a-zA-Z0-9_]
// become _).
func (s *Service) ScrapeTargets(ctx context.Context) api.ScrapeTargets {
	nodes := s.Nodes(ctx)
	out := api.ScrapeTargets{}
	for _, n := range nodes {
		if n.MetricsURL == "" {
			continue
		}
		u, err := url.Parse(n.MetricsURL)
		if err != nil { // checked at registration; a database from before the check is not
			continue
		}
		labels := map[string]string{
			"node": n.ID, "node_name": n.Name, "__scheme__": u.Scheme, "__metrics_path__": u.EscapedPath(),
		}
		if len(n.Capabilities.GPUs) > 0 {
			labels["gpu_model"] = n.Capabilities.GPUs[0].Name
		}
		keys := make([]string, 0, len(n.Labels))
		for k := range n.Labels {
			keys = append(keys, k)
		}
		sort.Strings(keys) // two keys that sanitize alike: the later one wins, every time
		for _, k := range keys {
			labels["label_"+labelName.ReplaceAllString(k, "_")] = n.Labels[k]
		}
		out = append(out, api.ScrapeTargetGroup{Targets: []string{u.Host}, Labels: labels})
	}
	return out
}

// labelName matches what a Prometheus label name may not hold.
var labelName = regexp.MustCompile(`[^a-zA-Z0-9_]`)

// checkMetricsURL checks the metrics URL a node registers: empty, or an absolute http(s) URL
// with a host, a port and a path, without credentials, query or fragment (Prometheus's
// service discovery cannot carry them).
func checkMetricsURL(raw string) error {
	u, err := parseNodeURL(raw)
	if u == nil || err != nil {
		return err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.Port() == "" || u.User != nil ||
		u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || !strings.HasPrefix(u.Path, "/") {
		return fmt.Errorf("%q: want http(s)://host:port/metrics", raw)
	}
	return nil
}
