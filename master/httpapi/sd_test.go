package httpapi_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"testing"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/auth"
)

// TestPrometheusServiceDiscovery: workers that register a metrics URL are Prometheus's
// targets in the http_sd_configs format, for a monitor (or admin) key only; a monitor key
// reads nothing else of the farm and changes nothing; a bad metrics URL is the worker's 400.
func TestPrometheusServiceDiscovery(t *testing.T) {
	t.Parallel()
	h := start(t)
	ctx := ctxT(t)
	wc := h.Client(t, auth.RoleWorker)
	if _, err := wc.Register(ctx, api.Registration{ID: "gpu-1", Name: "gpu box", Labels: map[string]string{"rack": "r7", "zone.name": "eu-1"},
		MetricsURL: "https://10.0.0.7:9443/custom/metrics",
		Capabilities: api.Capabilities{CPUs: 8, Encoders: []string{"h264_nvenc"}, Slots: 2,
			GPUs: []api.GPU{{Index: 0, Name: "NVIDIA H100 80GB HBM3"}, {Index: 1, Name: "NVIDIA L4"}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := wc.Register(ctx, api.Registration{ID: "cpu-1", Name: "cpu-1", MetricsURL: "http://cpu-1.farm:9091/metrics",
		Capabilities: api.Capabilities{CPUs: 4, Encoders: []string{"libx264"}, Slots: 1}}); err != nil {
		t.Fatal(err)
	}
	registerNode(t, wc, "no-metrics", 1)

	got, err := h.Client(t, auth.RoleMonitor).ScrapeTargets(ctx)
	if err != nil {
		t.Fatalf("GET /v1/sd/prometheus with a monitor key: %v", err)
	}
	want := api.ScrapeTargets{
		{Targets: []string{"cpu-1.farm:9091"}, Labels: map[string]string{"node": "cpu-1", "node_name": "cpu-1",
			"__scheme__": "http", "__metrics_path__": "/metrics"}},
		{Targets: []string{"10.0.0.7:9443"}, Labels: map[string]string{"node": "gpu-1", "node_name": "gpu box",
			"gpu_model": "NVIDIA H100 80GB HBM3", "__scheme__": "https", "__metrics_path__": "/custom/metrics",
			"label_rack": "r7", "label_zone_name": "eu-1"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("targets:\n got %+v\nwant %+v", got, want)
	}
	if got, err := h.Client(t, auth.RoleAdmin).ScrapeTargets(ctx); err != nil || len(got) != 2 {
		t.Errorf("admin key: %d groups, %v; want 2", len(got), err)
	}

	// Exactly the JSON Prometheus reads: a top-level array of {targets, labels}.
	req, _ := http.NewRequest(http.MethodGet, h.URL+"/v1/sd/prometheus", nil)
	req.Header.Set("Authorization", "Bearer "+roleKey[auth.RoleMonitor])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var raw []map[string]json.RawMessage
	err = json.NewDecoder(resp.Body).Decode(&raw)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || len(raw) != 2 || len(raw[0]) != 2 {
		t.Errorf("raw answer: %d %q, %v, %v", resp.StatusCode, resp.Header.Get("Content-Type"), raw, err)
	}

	var ae *api.Error
	for _, role := range []auth.Role{auth.RoleSubmitter, auth.RoleWorker, auth.RoleIngest} {
		if _, err := h.Client(t, role).ScrapeTargets(ctx); !errors.As(err, &ae) || ae.Status != 403 {
			t.Errorf("%s key: %v, want 403", role, err)
		}
	}
	if _, err := h.ClientWithKey(t, "").ScrapeTargets(ctx); !errors.As(err, &ae) || ae.Status != 401 {
		t.Errorf("no key: %v, want 401", err)
	}

	mon := h.Client(t, auth.RoleMonitor)
	if _, err := mon.SubmitJob(ctx, api.JobRequest{Scenario: "720p30-h264"}, ""); !errors.As(err, &ae) || ae.Status != 403 {
		t.Errorf("a monitor key submits a job: %v, want 403", err)
	}
	if _, err := mon.ListNodes(ctx); !errors.As(err, &ae) || ae.Status != 403 {
		t.Errorf("a monitor key lists nodes: %v, want 403", err)
	}

	for _, bad := range []string{"ftp://h:1/metrics", "http://h/metrics", "http://user:pw@h:1/metrics", "http://h:1/metrics?x=1",
		"http://h:1", "/metrics", "http://h:1/m#f"} {
		_, err := wc.Register(ctx, api.Registration{Name: "bad", MetricsURL: bad,
			Capabilities: api.Capabilities{CPUs: 1, Encoders: []string{"libx264"}, Slots: 1}})
		if !errors.As(err, &ae) || ae.Status != 400 || ae.Field != "metrics_url" {
			t.Errorf("metrics_url %q: %v, want a 400 naming metrics_url", bad, err)
		}
	}
}
