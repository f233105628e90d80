package master

import (
	"fmt"
	"io"
	"time"

	"github.com/ffrtmp/ffrtmp/master/backup"
)

// checkBackups checks the scheduled backups' folder at start (a master that cannot write
// its backups should say so now, not at the first one, hours later) and registers their
// metrics.
func (m *Master) checkBackups() error {
	bc := m.cfg.Backup
	if bc == nil {
		return nil
	}
	if bc.Interval < backup.MinInterval {
		return fmt.Errorf("--backup-interval %s: want %s or more", bc.Interval, backup.MinInterval)
	}
	if bc.Keep < 0 {
		return fmt.Errorf("--backup-keep %d: want 0 (keep all) or more", bc.Keep)
	}
	if err := backup.CheckDir(bc.Dir); err != nil {
		return fmt.Errorf("--backup-dir: %w", err)
	}
	newest, _, err := backup.Newest(bc.Dir)
	if err != nil {
		return fmt.Errorf("--backup-dir: %w", err)
	}
	m.backups = m.metrics.Backups(bc.Interval, newest)
	m.log.Info("scheduled backups", "dir", bc.Dir, "interval", bc.Interval, "keep", bc.Keep, "newest", newest)
	return nil
}

// backupScheduler is the term's scheduled backups, nil without --backup-dir: the farm's
// services run it, so in a cluster only the leader takes backups.
func (m *Master) backupScheduler() *backup.Scheduler {
	bc := m.cfg.Backup
	if bc == nil {
		return nil
	}
	return &backup.Scheduler{Dir: bc.Dir, Interval: bc.Interval, Keep: bc.Keep, Log: m.log,
		Source: func(w io.Writer) (int64, error) { return m.st.Backup(w, nil) },
		Observe: func(res backup.Result, err error) {
			m.backups.Observe(time.Now(), res.Size, res.Duration, err)
		}}
}
