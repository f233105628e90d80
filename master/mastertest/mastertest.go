// Package mastertest starts a real master on loopback for tests: a bbolt file in a temp
// folder, one API key per role, no rate limit unless asked.
package mastertest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master"
	"github.com/ffrtmp/ffrtmp/master/auth"
)

// Keys of the roles every harness accepts.
const (
	AdminKey     = "test-admin-key"
	SubmitterKey = "test-submitter-key"
	WorkerKey    = "test-worker-key"
	IngestKey    = "test-ingest-key"
	MonitorKey   = "test-monitor-key"
	// OtherTenantKey is a submitter of tenant OtherTenant; the other keys are the default
	// tenant's.
	OtherTenantKey = "test-other-tenant-key"
	OtherTenant    = "other-team"
)

// Harness is a running master.
type Harness struct {
	Master *master.Master
	URL    string
	DB     string
	Dir    string
	Config master.Config

	cancel context.CancelFunc
	done   chan error
}

// Start runs a master until the test ends. mutate may change the config (farm intervals,
// TLS, rate limit) before it starts.
func Start(t testing.TB, mutate ...func(*master.Config)) *Harness {
	t.Helper()
	dir := t.TempDir()
	return StartIn(t, dir, mutate...)
}

// StartIn runs a master on the database in dir (dir/master.db), e.g. to restart one.
func StartIn(t testing.TB, dir string, mutate ...func(*master.Config)) *Harness {
	t.Helper()
	keysFile := filepath.Join(dir, "keys.yaml")
	keys := fmt.Sprintf("keys:\n  - {name: submitter, role: submitter, sha256: %q}\n  - {name: worker, role: worker, sha256: %q}\n"+
		"  - {name: ingest, role: ingest, sha256: %q}\n  - {name: monitor, role: monitor, sha256: %q}\n"+
		"  - {name: other-submitter, role: submitter, tenant: %s, sha256: %q}\n",
		auth.HashKey(SubmitterKey), auth.HashKey(WorkerKey), auth.HashKey(IngestKey), auth.HashKey(MonitorKey), OtherTenant, auth.HashKey(OtherTenantKey))
	if err := os.WriteFile(keysFile, []byte(keys), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := master.Config{
		Listen: "127.0.0.1", Port: 0, MetricsAddr: "127.0.0.1:0",
		DB:       filepath.Join(dir, "master.db"),
		APIKeys:  []auth.Entry{auth.StaticKey("admin", auth.RoleAdmin, AdminKey)},
		KeysFile: keysFile, ShutdownTimeout: 5 * time.Second,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	for _, m := range mutate {
		m(&cfg)
	}
	m, err := master.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("start master: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &Harness{Master: m, URL: m.URL(), DB: cfg.DB, Dir: dir, Config: cfg, cancel: cancel, done: make(chan error, 1)}
	go func() { h.done <- m.Run(ctx) }()
	t.Cleanup(func() { h.Stop(t) })
	return h
}

// Stop shuts the master down (idempotent) and returns Run's error.
func (h *Harness) Stop(t testing.TB) error {
	t.Helper()
	if h.cancel == nil {
		return nil
	}
	h.cancel()
	h.cancel = nil
	select {
	case err := <-h.done:
		return err
	case <-time.After(15 * time.Second):
		t.Fatalf("master did not stop within 15 s")
		return nil
	}
}

// Client is an API client with the key of role.
func (h *Harness) Client(t testing.TB, role auth.Role, opts ...api.Option) *api.Client {
	t.Helper()
	key := map[auth.Role]string{auth.RoleAdmin: AdminKey, auth.RoleSubmitter: SubmitterKey, auth.RoleWorker: WorkerKey,
		auth.RoleIngest: IngestKey, auth.RoleMonitor: MonitorKey}[role]
	c, err := api.NewClient(h.URL, key, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// ClientWithKey is an API client with any key ("" sends none).
func (h *Harness) ClientWithKey(t testing.TB, key string, opts ...api.Option) *api.Client {
	t.Helper()
	c, err := api.NewClient(h.URL, key, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// MetricsURL is the master's /metrics URL.
func (h *Harness) MetricsURL() string {
	return "http://" + h.Master.MetricsAddr().String() + "/metrics"
}

// testWriter sends the master's warnings to the test log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

var _ io.Writer = testWriter{}
