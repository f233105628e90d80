package master_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/internal/testpki"
	"github.com/ffrtmp/ffrtmp/internal/tlsconf"
	"github.com/ffrtmp/ffrtmp/master"
	"github.com/ffrtmp/ffrtmp/master/auth"
	"github.com/ffrtmp/ffrtmp/master/mastertest"
)

// wantCode fails unless err is an API error with code (and, when status is not 0, status).
func wantCode(t *testing.T, what string, err error, status int, code string) {
	t.Helper()
	var ae *api.Error
	if !api.IsCode(err, code) || (status != 0 && (!errorsAs(err, &ae) || ae.Status != status)) {
		t.Fatalf("%s: %v, want %d %s", what, err, status, code)
	}
}

func errorsAs(err error, target **api.Error) bool { return errors.As(err, target) }

// TestNodeSecretBindsWorkerToNode replays the attacks of a worker key that learned another
// node's ID (issue 12, finding 2): none of them reaches the victim's job or drain order.
func TestNodeSecretBindsWorkerToNode(t *testing.T) {
	t.Parallel()
	h := mastertest.Start(t, func(c *master.Config) { c.Farm.MaxLeaseWait = 50 * time.Millisecond })
	ctx := context.Background()
	sub, adm := h.Client(t, auth.RoleSubmitter), h.Client(t, auth.RoleAdmin)
	victim, attacker := h.Client(t, auth.RoleWorker), h.Client(t, auth.RoleWorker)
	caps := api.Capabilities{CPUs: 2, Encoders: []string{"libx264"}, Slots: 1}

	v, err := victim.Register(ctx, api.Registration{ID: "gpu-01", Name: "gpu-01", Capabilities: caps})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(v.Secret, auth.NodeSecretPrefix) || len(v.Secret) < 60 {
		t.Fatalf("registration answered secret %q, want an ffn_ secret", v.Secret)
	}
	if _, err := attacker.Register(ctx, api.Registration{ID: "evil-01", Name: "evil-01", Capabilities: caps}); err != nil {
		t.Fatal(err)
	}
	job, err := sub.SubmitJob(ctx, api.JobRequest{Scenario: "720p30-h264"}, "")
	if err != nil {
		t.Fatal(err)
	}
	l, err := victim.Lease(ctx, "gpu-01", time.Second)
	if err != nil || l == nil || l.Job.ID != job.ID {
		t.Fatalf("victim's lease: %+v, %v", l, err)
	}
	if _, err := victim.ReportProgress(ctx, job.ID, api.ProgressReport{Node: "gpu-01", Phase: api.PhaseTranscoding}); err != nil {
		t.Fatal(err)
	}

	// Without the victim's secret, and with the attacker's own secret sent as the victim's.
	for _, secret := range []string{"", attacker.NodeSecret("evil-01")} {
		status, code := http.StatusUnauthorized, api.CodeNodeSecret
		if secret != "" {
			attacker.SetNodeSecret("gpu-01", secret)
			status, code = http.StatusForbidden, api.CodeNodeForbidden
		}
		_, err := attacker.Complete(ctx, job.ID, api.CompleteReport{Node: "gpu-01", Result: &api.Result{Outputs: []string{"forged"}}})
		wantCode(t, "forged complete", err, status, code)
		_, err = attacker.Fail(ctx, job.ID, api.FailReport{Node: "gpu-01", Error: api.JobError{Code: "x", Message: "forged"}})
		wantCode(t, "forged fail", err, status, code)
		_, err = attacker.ReportProgress(ctx, job.ID, api.ProgressReport{Node: "gpu-01", Log: []string{"forged"}})
		wantCode(t, "forged progress", err, status, code)
		_, err = attacker.Heartbeat(ctx, "gpu-01", api.Heartbeat{RunningJobs: []string{}})
		wantCode(t, "heartbeat as another node", err, status, code)
		_, err = attacker.Lease(ctx, "gpu-01", 0)
		wantCode(t, "lease as another node", err, status, code)
		_, err = attacker.Register(ctx, api.Registration{ID: "gpu-01", Name: "taken", Capabilities: caps})
		wantCode(t, "registering another node's ID", err, status, code)
	}
	got, err := sub.GetJob(ctx, job.ID)
	if err != nil || got.Status != api.StatusRunning || got.Node != "gpu-01" || got.Result != nil {
		t.Fatalf("victim's job after the attacks: %s on %s result %+v (%v); want it running on gpu-01 untouched", got.Status, got.Node, got.Result, err)
	}
	if n, _ := sub.GetNode(ctx, "gpu-01"); n.Name != "gpu-01" {
		t.Fatalf("victim's node renamed to %q", n.Name)
	}

	// An operator's drain survives the node registering again, even with its own secret.
	if _, err := adm.DrainNode(ctx, "gpu-01"); err != nil {
		t.Fatal(err)
	}
	again, err := victim.Register(ctx, api.Registration{ID: "gpu-01", Name: "gpu-01", Capabilities: caps})
	if err != nil || again.Status != api.NodeDraining || again.Secret != "" {
		t.Fatalf("re-registration with the node's secret: %+v, %v; want it draining and no secret echoed", again, err)
	}
	hb, err := victim.Heartbeat(ctx, "gpu-01", api.Heartbeat{RunningJobs: []string{job.ID}})
	if err != nil || !hb.Drain {
		t.Fatalf("heartbeat after re-registration: %+v, %v; want the drain order", hb, err)
	}

	// The secret is never shown again: not in node views, not to an admin.
	for _, c := range []*api.Client{sub, adm} {
		for _, path := range []string{"/v1/nodes", "/v1/nodes/gpu-01"} {
			body := rawBody(t, h.URL+path, c == adm)
			if strings.Contains(body, v.Secret) || strings.Contains(body, "secret") {
				t.Fatalf("GET %s shows the node secret: %s", path, body)
			}
		}
	}

	// An admin may take a node ID over (a replaced machine): a new secret, the old one ends.
	fresh, err := adm.Register(ctx, api.Registration{ID: "gpu-01", Name: "gpu-01b", Capabilities: caps})
	if err != nil || fresh.Secret == "" || fresh.Secret == v.Secret {
		t.Fatalf("admin re-registration: %+v, %v; want a new secret", fresh, err)
	}
	_, err = victim.Heartbeat(ctx, "gpu-01", api.Heartbeat{RunningJobs: []string{job.ID}})
	wantCode(t, "heartbeat with the replaced secret", err, http.StatusForbidden, api.CodeNodeForbidden)
}

func rawBody(t *testing.T, url string, admin bool) string {
	t.Helper()
	key := mastertest.SubmitterKey
	if admin {
		key = mastertest.AdminKey
	}
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %s", url, resp.Status, b)
	}
	return string(b)
}

// TestMTLSCertificateNamesItsNode: with mTLS, a client certificate whose CN names a node may
// act only as that node, even holding another node's secret.
func TestMTLSCertificateNamesItsNode(t *testing.T) {
	t.Parallel()
	pki := testpki.New(t)
	cert, key := pki.Server(t)
	h := mastertest.Start(t, func(c *master.Config) {
		c.TLS = tlsconf.Options{CertFile: cert, KeyFile: key, CAFile: pki.CAFile, MTLS: true}
		c.Farm.MaxLeaseWait = 50 * time.Millisecond
	})
	ctx := context.Background()
	clientAs := func(cn string) *api.Client {
		c, k := pki.Client(t, cn)
		return h.Client(t, auth.RoleWorker, api.WithTLSConfig(clientTLS(t, pki.CAFile, c, k)))
	}
	one, two := clientAs("gpu-01"), clientAs("gpu-02")
	caps := api.Capabilities{CPUs: 2, Encoders: []string{"libx264"}, Slots: 1}
	n1, err := one.Register(ctx, api.Registration{ID: "gpu-01", Capabilities: caps})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := two.Register(ctx, api.Registration{ID: "gpu-02", Capabilities: caps}); err != nil {
		t.Fatal(err)
	}
	// gpu-02's certificate with gpu-01's (stolen) secret.
	two.SetNodeSecret("gpu-01", n1.Secret)
	_, err = two.Heartbeat(ctx, "gpu-01", api.Heartbeat{RunningJobs: []string{}})
	wantCode(t, "certificate of gpu-02 acting as gpu-01", err, http.StatusForbidden, api.CodeNodeForbidden)
	if !strings.Contains(err.Error(), "client certificate names node gpu-02") {
		t.Fatalf("error %q does not say whose certificate it is", err)
	}
	_, err = two.Register(ctx, api.Registration{ID: "gpu-03", Capabilities: caps})
	wantCode(t, "certificate of gpu-02 registering gpu-03", err, http.StatusForbidden, api.CodeNodeForbidden)
	if _, err := one.Heartbeat(ctx, "gpu-01", api.Heartbeat{RunningJobs: []string{}}); err != nil {
		t.Fatalf("gpu-01 as itself: %v", err)
	}
}

// TestWorkerInputBounds: what a worker sends is bounded field by field, with the field and
// the limit named (issue 12, finding 4).
func TestWorkerInputBounds(t *testing.T) {
	t.Parallel()
	h := mastertest.Start(t, func(c *master.Config) {
		c.Farm.MaxNodesPerKey = 3
		c.Farm.MaxLeaseWait = 50 * time.Millisecond
	})
	ctx := context.Background()
	wrk, adm, sub := h.Client(t, auth.RoleWorker), h.Client(t, auth.RoleAdmin), h.Client(t, auth.RoleSubmitter)
	caps := api.Capabilities{CPUs: 2, Encoders: []string{"libx264"}, Slots: 1}
	many := map[string]string{}
	for i := range 65 {
		many[strings.Repeat("k", i+1)] = "v"
	}
	for _, tt := range []struct {
		name  string
		reg   api.Registration
		field string
	}{
		{"huge label value", api.Registration{ID: "b1", Labels: map[string]string{"zone": strings.Repeat("x", 900<<10)}}, "labels.zone"},
		{"huge label key", api.Registration{ID: "b1", Labels: map[string]string{strings.Repeat("k", 200): "v"}}, "labels"},
		{"too many labels", api.Registration{ID: "b1", Labels: many}, "labels"},
		{"huge encoder name", api.Registration{ID: "b1", Capabilities: api.Capabilities{Encoders: []string{strings.Repeat("e", 100)}}}, "capabilities.encoders[0]"},
		{"huge version", api.Registration{ID: "b1", Version: strings.Repeat("1", 100)}, "version"},
		{"huge GPU name", api.Registration{ID: "b1", Capabilities: api.Capabilities{GPUs: []api.GPU{{Name: strings.Repeat("g", 200)}}}}, "capabilities.gpus[0].name"},
	} {
		_, err := wrk.Register(ctx, tt.reg)
		var ae *api.Error
		if !errorsAs(err, &ae) || ae.Status != 400 || ae.Field != tt.field {
			t.Errorf("%s: %v, want 400 naming field %s", tt.name, err, tt.field)
		}
	}

	for i := range 3 {
		if _, err := wrk.Register(ctx, api.Registration{ID: "n" + string(rune('1'+i)), Capabilities: caps}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := wrk.Register(ctx, api.Registration{ID: "n4", Capabilities: caps})
	wantCode(t, "4th node of a key limited to 3", err, http.StatusForbidden, api.CodeTooMany)
	if !strings.Contains(err.Error(), "--max-nodes-per-key 3") {
		t.Fatalf("error %q does not name the limit", err)
	}
	if _, err := wrk.Register(ctx, api.Registration{ID: "n1", Capabilities: caps}); err != nil {
		t.Fatalf("a node of the key registering again is not a new node: %v", err)
	}

	job, err := sub.SubmitJob(ctx, api.JobRequest{Scenario: "720p30-h264"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if l, err := wrk.Lease(ctx, "n1", time.Second); err != nil || l == nil {
		t.Fatalf("lease: %+v %v", l, err)
	}
	huge := &api.Result{Details: json.RawMessage(`"` + strings.Repeat("d", 100<<10) + `"`)}
	_, err = wrk.Complete(ctx, job.ID, api.CompleteReport{Node: "n1", Result: huge})
	wantCode(t, "a 100 KiB result", err, http.StatusRequestEntityTooLarge, api.CodeTooLarge)
	if !strings.Contains(err.Error(), "at most 65536") {
		t.Fatalf("error %q does not name the limit", err)
	}
	_, err = wrk.ReportProgress(ctx, job.ID, api.ProgressReport{Node: "n1", Log: make([]string, 21)})
	wantCode(t, "21 log lines", err, http.StatusBadRequest, api.CodeBadRequest)
	if j, err := wrk.Complete(ctx, job.ID, api.CompleteReport{Node: "n1", Result: &api.Result{Frames: 10}}); err != nil || j.Status != api.StatusCompleted {
		t.Fatalf("a bounded result: %v", err)
	}
	if _, err := adm.Register(ctx, api.Registration{ID: "admin-made", Capabilities: caps}); err != nil {
		t.Fatalf("admin keys are not limited: %v", err)
	}
}
