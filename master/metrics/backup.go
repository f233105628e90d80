package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Backups are the scheduled backups' instruments (ffrtmp_master_backup*): registered by
// Backups when the master takes backups (--backup-dir), absent otherwise.
type Backups struct {
	total       *prometheus.CounterVec
	lastSuccess prometheus.Gauge
	lastSize    prometheus.Gauge
	duration    prometheus.Histogram
}

// Backups registers the backup metrics. interval is --backup-interval, exported so an alert
// can say "no backup for two intervals" without repeating the flag; last is the time of the
// newest backup already in the folder (zero: none), so a restarted master does not look as
// if it never took one.
func (m *Metrics) Backups(interval time.Duration, last time.Time) *Backups {
	b := &Backups{
		total: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ffrtmp_master_backups_total",
			Help: "Scheduled backups by result (success, failure)."}, []string{"result"}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ffrtmp_master_backup_last_success_timestamp_seconds",
			Help: "Unix time of the newest backup in --backup-dir (0: none yet)."}),
		lastSize: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ffrtmp_master_backup_last_size_bytes",
			Help: "Size of the last backup file written (compressed)."}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ffrtmp_master_backup_duration_seconds",
			Help: "Time to take one backup: snapshot, compression, fsync.", Buckets: prometheus.ExponentialBuckets(0.05, 2, 16)}),
	}
	b.total.WithLabelValues("success")
	b.total.WithLabelValues("failure")
	if !last.IsZero() {
		b.lastSuccess.Set(float64(last.Unix()))
	}
	iv := prometheus.NewGauge(prometheus.GaugeOpts{Name: "ffrtmp_master_backup_interval_seconds",
		Help: "The interval between scheduled backups (--backup-interval)."})
	iv.Set(interval.Seconds())
	for _, c := range []prometheus.Collector{b.total, b.lastSuccess, b.lastSize, b.duration, iv} {
		m.reg.MustRegister(c)
	}
	return b
}

// Observe records a backup: its size and time when err is nil, a failure otherwise.
func (b *Backups) Observe(now time.Time, size int64, took time.Duration, err error) {
	if err != nil {
		b.total.WithLabelValues("failure").Inc()
		return
	}
	b.total.WithLabelValues("success").Inc()
	b.lastSuccess.Set(float64(now.Unix()))
	b.lastSize.Set(float64(size))
	b.duration.Observe(took.Seconds())
}
