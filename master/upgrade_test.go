package master_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/internal/syncbuf"
	"github.com/ffrtmp/ffrtmp/master"
	"github.com/ffrtmp/ffrtmp/master/auth"
	"github.com/ffrtmp/ffrtmp/master/mastertest"
)

// TestUpgradeSchema2Farm: a master started on a database written by a schema-2 master (the
// store's fixture) migrates it, logs each step with its duration, and serves its jobs, nodes
// and streams.
func TestUpgradeSchema2Farm(t *testing.T) {
	dir := t.TempDir()
	db, err := os.ReadFile(filepath.Join("store", "testdata", "schema2", "master.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "master.db"), db, 0o600); err != nil {
		t.Fatal(err)
	}
	var logs syncbuf.Buffer
	h := mastertest.StartIn(t, dir, func(c *master.Config) {
		// The fixture's jobs finished in November 2026: keep them, or the first maintenance
		// pass may purge them while the test lists them.
		c.Farm.Retention = -1
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	var step string
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, `msg="migrated database schema"`) {
			step = line
		}
	}
	if !strings.Contains(step, `to=3 step="index jobs by tenant"`) || !strings.Contains(step, " duration=") {
		t.Errorf("no migration step logged with its duration:\n%s", logs.String())
	}

	ctx := context.Background()
	c := h.Client(t, auth.RoleAdmin)
	for tenant, want := range map[string]int{api.DefaultTenant: 14, "team-a": 7} {
		list, err := c.ListJobs(ctx, api.ListJobsOptions{Tenant: tenant, Limit: 100})
		if err != nil || len(list.Jobs) != want {
			t.Errorf("jobs of tenant %s: %v; want %d", tenant, err, want)
		}
	}
	if nodes, err := c.ListNodes(ctx); err != nil || len(nodes.Nodes) != 3 {
		t.Errorf("nodes: %v, %v; want the fixture's 3", nodes, err)
	}
	if streams, err := c.ListStreams(ctx); err != nil || len(streams.Streams) != 2 {
		t.Errorf("streams: %v, %v; want the fixture's 2", streams, err)
	}
}
