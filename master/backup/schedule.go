package backup

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// MinInterval is the shortest interval between scheduled backups the master accepts.
const MinInterval = time.Minute

// Scheduler takes a backup into Dir every Interval and keeps the Keep newest (0: all).
// The schedule follows the backups in Dir, not the process: the next backup is due Interval
// after the newest one there (at once when there is none), so a master that restarts more
// often than Interval still takes its backups, and one in a crash loop does not take one per
// start and prune the good ones away. A failed backup is retried after RetryDelay.
type Scheduler struct {
	Dir      string
	Interval time.Duration
	Keep     int
	Source   Source
	Log      *slog.Logger
	// Observe is told of every backup taken or failed (metrics); nil: nobody.
	Observe func(Result, error)
	// RetryDelay is the wait after a failure [min(Interval, 5m)].
	RetryDelay time.Duration
}

// Run takes the backups until ctx ends. A cluster runs it on the leader only.
func (s *Scheduler) Run(ctx context.Context) error {
	log := s.Log
	if log == nil {
		log = slog.Default()
	}
	retry := s.RetryDelay
	if retry <= 0 {
		retry = min(s.Interval, 5*time.Minute)
	}
	wait := s.untilDue(log)
	for {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		res, err := WriteDir(s.Dir, time.Now(), s.Keep, s.Source)
		var pe *PruneError
		if errors.As(err, &pe) {
			// Taken: counted as a success; the disk fills up over time if this goes on.
			log.Error("backup taken, but older backups could not be pruned", "file", res.Path, "keep", s.Keep, "err", pe.Err)
			err = nil
		}
		if s.Observe != nil {
			s.Observe(res, err)
		}
		switch {
		case err != nil:
			log.Error("scheduled backup failed; retrying", "dir", s.Dir, "retry_in", retry, "err", err)
			wait = retry
		default:
			log.Info("backup taken", "file", res.Path, "bytes", res.Size, "db_bytes", res.DBBytes,
				"sha256", res.SHA256, "took", res.Duration.Round(time.Millisecond))
			wait = s.Interval
		}
	}
}

// untilDue is how long until the next backup is due: Interval after the newest in Dir, never
// more than Interval from now (a backup named in the future: a clock that was wrong).
func (s *Scheduler) untilDue(log *slog.Logger) time.Duration {
	newest, ok, err := Newest(s.Dir)
	if err != nil {
		log.Warn("cannot list the backups; taking one now", "dir", s.Dir, "err", err)
		return 0
	}
	if !ok {
		return 0
	}
	return min(max(time.Until(newest.Add(s.Interval)), 0), s.Interval)
}
