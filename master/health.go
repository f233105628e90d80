package master

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/store"
)

// serving is what Run hands the service manager's checks once it serves: taken before
// Serving is closed and never changed, so the checks read it without a lock while Run
// shuts down.
type serving struct {
	handler http.Handler
	store   *store.Store
}

// Serving is closed once Run serves the API (and metrics); on a cluster member raft runs by
// then (New starts it), whether or not there is a leader yet.
func (m *Master) Serving() <-chan struct{} { return m.servingCh }

// Health reports whether the master is alive, for systemd's watchdog: the API's handler
// answers GET /healthz and the database answers a read transaction, within ctx. It is a
// liveness check: a cluster member without a leader is healthy (restarting it would not
// bring one).
func (m *Master) Health(ctx context.Context) error {
	select {
	case <-m.servingCh:
	default:
		return errors.New("not serving yet")
	}
	if m.stopping.Load() {
		return errors.New("shutting down")
	}
	done := make(chan error, 1)
	go func() {
		rec := httptest.NewRecorder()
		req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/healthz", nil)
		req.RemoteAddr = "127.0.0.1:0"
		m.served.handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			done <- fmt.Errorf("GET /healthz answered %d", rec.Code)
			return
		}
		if _, err := m.served.store.Empty(); err != nil {
			done <- fmt.Errorf("database read: %w", err)
			return
		}
		done <- nil
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("API handler or database: %w", ctx.Err())
	}
}

// Status is a one-line summary of the master for systemd's STATUS=: where it serves, its
// role in a cluster, and the jobs queued and running when it runs the farm.
func (m *Master) Status() string {
	var b strings.Builder
	fmt.Fprintf(&b, "serving %s", m.URL())
	if m.node != nil {
		id, _ := m.node.Leader()
		switch {
		case !m.node.Member():
			b.WriteString("; not a cluster member yet (ffrtmp cluster add)")
		case id == "":
			b.WriteString("; cluster member waiting for a leader")
		case id == m.cfg.Cluster.NodeID:
			b.WriteString("; cluster leader")
		default:
			fmt.Fprintf(&b, "; cluster follower of %s", id)
		}
	}
	if f := m.Farm(); f != nil {
		c := f.Counts()
		fmt.Fprintf(&b, "; jobs queued %d, running %d", c[api.StatusQueued]+c[api.StatusRetrying], c[api.StatusAssigned]+c[api.StatusRunning])
	}
	return b.String()
}
