// Package sdnotify tells systemd how a daemon started as a Type=notify service is doing
// (sd_notify(3), through github.com/coreos/go-systemd/v22/daemon): READY=1 once the daemon
// really serves, STATUS= lines that `systemctl status` shows, WATCHDOG=1 pings while the
// daemon's own health check passes (so systemd restarts a daemon that hangs, not only one
// that exits), and STOPPING=1 when it begins to shut down.
//
// Without NOTIFY_SOCKET in the environment (not started by systemd, or not Type=notify)
// nothing is sent and Run only runs the daemon.
package sdnotify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// StatusInterval is how often the status line is refreshed when systemd asks for no
// watchdog (with one, it is refreshed with every ping).
const StatusInterval = 10 * time.Second

// Service is what Run tells systemd about a daemon.
type Service struct {
	// Ready is closed once the daemon serves (its listeners open, registered, ...). Run
	// sends READY=1 after it closes and Health has passed once.
	Ready <-chan struct{}
	// Health reports whether the daemon still works (its server answers, its database
	// reads). It must give up when ctx ends. A failing check withholds the watchdog ping,
	// so systemd kills and restarts a daemon that stays unhealthy for WatchdogSec. It
	// checks liveness, not readiness: a daemon waiting for something outside it (a
	// master, a cluster leader) is healthy, and restarting it would not help.
	Health func(ctx context.Context) error
	// Status is the one-line state shown by `systemctl status` (STATUS=), asked for
	// before and after Ready.
	Status func() string
	Logger *slog.Logger
}

// Enabled reports whether a service manager listens for notifications (NOTIFY_SOCKET).
func Enabled() bool { return os.Getenv("NOTIFY_SOCKET") != "" }

// Run runs the daemon (run) until it returns and tells systemd about it meanwhile: STATUS=
// lines from the start, READY=1 once s.Ready is closed and s.Health passes, WATCHDOG=1 at
// half the WATCHDOG_USEC systemd set while s.Health passes, and STOPPING=1 as soon as ctx
// ends, before run is told to stop (run's context ends right after).
func (s Service) Run(ctx context.Context, run func(context.Context) error) error {
	if !Enabled() {
		return run(ctx)
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	runCtx, stopRun := context.WithCancel(context.Background())
	defer stopRun()
	done := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		s.watch(ctx, done)
		stopRun() // STOPPING=1 went out first
	}()
	err := run(runCtx)
	close(done)
	<-watched
	return err
}

// watch reports the daemon's state until ctx ends (STOPPING=1) or the daemon returns.
func (s Service) watch(ctx context.Context, done <-chan struct{}) {
	wd, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		s.Logger.Warn("systemd watchdog: WATCHDOG_USEC unreadable; sending no pings", "err", err)
	}
	interval := StatusInterval
	if wd > 0 {
		interval = wd / 2
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	ready, last := s.Ready, ""
	for {
		if ready != nil {
			select {
			case <-ready:
				ready = nil
				last = s.becomeReady(ctx, done, interval)
			default:
			}
		}
		if ready == nil && wd > 0 {
			last = s.ping(ctx, interval, last)
		} else if st := s.status(); st != last {
			s.send("STATUS=" + st)
			last = st
		}
		select {
		case <-ctx.Done():
			s.send("STOPPING=1\nSTATUS=stopping")
			return
		case <-done:
			return
		case <-ready:
		case <-t.C:
		}
	}
}

// becomeReady sends READY=1 once Health passes (retried until then, or until ctx ends or
// the daemon returns) and returns the status it sent.
func (s Service) becomeReady(ctx context.Context, done <-chan struct{}, timeout time.Duration) string {
	for {
		err := s.check(ctx, timeout)
		if err == nil {
			st := s.status()
			s.send("READY=1\nSTATUS=" + st)
			return st
		}
		s.Logger.Debug("systemd: serving but not healthy yet", "err", err)
		select {
		case <-ctx.Done():
			return ""
		case <-done:
			return ""
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// ping sends WATCHDOG=1 (with the status when it changed) if Health passes, and the reason
// in the status otherwise; it returns the status sent.
func (s Service) ping(ctx context.Context, timeout time.Duration, last string) string {
	if err := s.check(ctx, timeout); err != nil {
		if ctx.Err() != nil {
			return last
		}
		st := "unhealthy, withholding the watchdog ping: " + oneLine(err.Error())
		s.Logger.Warn("systemd watchdog: health check failed; no ping (systemd restarts this daemon if it stays so for WatchdogSec)", "err", err)
		s.send("STATUS=" + st)
		return st
	}
	msg := "WATCHDOG=1"
	st := s.status()
	if st != last {
		msg += "\nSTATUS=" + st
	}
	s.send(msg)
	return st
}

// check runs Health with a deadline.
func (s Service) check(ctx context.Context, timeout time.Duration) error {
	if s.Health == nil {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := s.Health(cctx)
	if err == nil && cctx.Err() != nil {
		err = cctx.Err()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("no answer within %v: %w", timeout, err)
	}
	return err
}

func (s Service) status() string {
	if s.Status == nil {
		return "running"
	}
	return oneLine(s.Status())
}

func (s Service) send(state string) {
	if _, err := daemon.SdNotify(false, state); err != nil {
		s.Logger.Warn("systemd notification not sent", "state", strings.SplitN(state, "\n", 2)[0], "err", err)
	}
}

// oneLine keeps a status to one line: a newline would start another assignment.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
