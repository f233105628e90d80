package worker

import (
	"context"

	"fmt"
	"strings"
	"time"
)

// Registered is closed once the agent has registered with the master (the first time).
func (a *Agent) Registered() <-chan struct{} { return a.registered }

// Health reports whether the agent is alive, for systemd's watchdog: its state answers
// (its lock is free within ctx) and its heartbeat loop has moved within three heartbeat
// intervals and at least two minutes, failed heartbeats included. A master that is away
// does not make the worker unhealthy (restarting it would not bring the master back); a
// heartbeat stuck in telemetry (an NVML call that hangs with a GPU that fell off the bus)
// or in a lock does.
func (a *Agent) Health(ctx context.Context) error {
	got := make(chan time.Duration, 1)
	go func() {
		a.mu.Lock()
		d := a.interval
		a.mu.Unlock()
		got <- d
	}()
	var interval time.Duration
	select {
	case interval = <-got:
	case <-ctx.Done():
		return fmt.Errorf("the agent's state is locked: %w", ctx.Err())
	}
	select {
	case <-a.registered:
	default:
		return nil // still registering: that loop retries with backoff on its own
	}
	limit := max(3*interval, 2*time.Minute)
	if since := time.Since(time.Unix(0, a.beat.Load())); since > limit {
		return fmt.Errorf("the heartbeat loop has not moved for %v (limit %v)", since.Round(time.Second), limit)
	}
	return nil
}

// Status is a one-line summary of the agent for systemd's STATUS=: registering (and why it
// has not yet), or its node ID, jobs running of its slots, draining, and the last error
// talking to the master.
func (a *Agent) Status() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var b strings.Builder
	select {
	case <-a.registered:
		fmt.Fprintf(&b, "node %s: running %d of %d jobs", a.nodeID, len(a.running), a.cfg.Capabilities.Slots)
		if a.draining || a.ordered {
			b.WriteString(", draining")
		}
		if a.lastErr != nil {
			fmt.Fprintf(&b, "; master unreachable: %v", a.lastErr)
		}
	default:
		b.WriteString("registering with the master")
		if a.lastErr != nil {
			fmt.Fprintf(&b, " (retrying: %v)", a.lastErr)
		}
	}
	return b.String()
}
