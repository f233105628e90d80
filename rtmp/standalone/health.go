package standalone

import (
	"context"
	"fmt"
)

// Serving is closed once Run serves the RTMP listener (bound since New).
func (in *Ingest) Serving() <-chan struct{} { return in.serving }

// Health reports whether the ingest is alive, for systemd's watchdog: the RTMP server's
// state and the queue of news for the master answer (their locks are free) within ctx. A
// master that is away does not make the ingest unhealthy: its news waits in the queue.
func (in *Ingest) Health(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = in.srv.LiveStreams()
		_ = in.rep.pending()
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("the RTMP server's state is locked: %w", ctx.Err())
	}
}

// Status is a one-line summary for systemd's STATUS=: the listener, the live streams and
// the news waiting for the master.
func (in *Ingest) Status() string {
	return fmt.Sprintf("RTMP on %s; %d live streams; %d events waiting for the master",
		in.Addr(), len(in.srv.LiveStreams()), in.rep.pending())
}
