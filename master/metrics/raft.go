package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// RaftGauges is a cluster member's replication state at scrape time.
type RaftGauges struct {
	Leader                                bool
	Term, LastIndex, CommitIndex, Applied uint64
	// LastContact is how long ago a follower last heard from the leader (0 on the leader).
	LastContact time.Duration
	// MemberLag is, on the leader, each member's applied index behind the leader's commit
	// index (a member that did not answer is left out).
	MemberLag map[string]uint64
}

// Raft are a cluster member's instruments (ffrtmp_master_raft_*): registered by Cluster,
// absent on a single master.
type Raft struct {
	leaderChanges prometheus.Counter
	commit        prometheus.Histogram
	apply         prometheus.Histogram
	applyEntries  prometheus.Histogram
	snapshots     prometheus.Counter
	snapshotBytes prometheus.Gauge
	restores      prometheus.Counter
}

// Cluster registers the replication metrics; read is called at every scrape.
func (m *Metrics) Cluster(read func() RaftGauges) *Raft {
	r := &Raft{
		leaderChanges: prometheus.NewCounter(prometheus.CounterOpts{Name: "ffrtmp_master_raft_leader_changes_total",
			Help: "Times this member became or stopped being the cluster's leader."}),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ffrtmp_master_raft_commit_seconds",
			Help: "Time for the leader to commit a write set on a majority and apply it (what a write waits for).", Buckets: latencyBuckets}),
		apply: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ffrtmp_master_raft_apply_seconds",
			Help: "Time to apply a batch of committed entries to the database, fsync included.", Buckets: latencyBuckets}),
		applyEntries: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ffrtmp_master_raft_apply_entries",
			Help: "Entries applied in one database transaction.", Buckets: prometheus.ExponentialBuckets(1, 2, 10)}),
		snapshots: prometheus.NewCounter(prometheus.CounterOpts{Name: "ffrtmp_master_raft_snapshots_total",
			Help: "Snapshots of the database this member wrote (after which its raft log is trimmed)."}),
		snapshotBytes: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ffrtmp_master_raft_snapshot_bytes",
			Help: "Size of the last snapshot this member wrote."}),
		restores: prometheus.NewCounter(prometheus.CounterOpts{Name: "ffrtmp_master_raft_restores_total",
			Help: "Times this member replaced its database with the leader's snapshot (it was too far behind for the log)."}),
	}
	for _, c := range []prometheus.Collector{r.leaderChanges, r.commit, r.apply, r.applyEntries, r.snapshots, r.snapshotBytes, r.restores} {
		m.reg.MustRegister(c)
	}
	m.reg.MustRegister(&raftGauges{read: read,
		leader:  prometheus.NewDesc("ffrtmp_master_raft_leader", "1 while this member is the cluster's leader.", nil, nil),
		term:    prometheus.NewDesc("ffrtmp_master_raft_term", "The raft term this member is in.", nil, nil),
		last:    prometheus.NewDesc("ffrtmp_master_raft_last_index", "The last entry in this member's raft log.", nil, nil),
		commit:  prometheus.NewDesc("ffrtmp_master_raft_commit_index", "The last entry this member knows is committed.", nil, nil),
		applied: prometheus.NewDesc("ffrtmp_master_raft_applied_index", "The last entry this member's database holds.", nil, nil),
		contact: prometheus.NewDesc("ffrtmp_master_raft_last_contact_seconds", "Seconds since this follower last heard from the leader (0 on the leader).", nil, nil),
		lag:     prometheus.NewDesc("ffrtmp_master_raft_member_lag_entries", "On the leader: entries each member's database is behind the leader's commit index.", []string{"member"}, nil),
	})
	return r
}

// LeaderChange counts a change of this member's leadership.
func (r *Raft) LeaderChange() { r.leaderChanges.Inc() }

// Commit records one replicated write (commit on a majority and apply).
func (r *Raft) Commit(d time.Duration) { r.commit.Observe(d.Seconds()) }

// Apply records one database transaction of applied entries.
func (r *Raft) Apply(d time.Duration, entries int) {
	r.apply.Observe(d.Seconds())
	r.applyEntries.Observe(float64(entries))
}

// Snapshot records a snapshot written.
func (r *Raft) Snapshot(bytes int64) {
	r.snapshots.Inc()
	r.snapshotBytes.Set(float64(bytes))
}

// Restore counts a database replaced by the leader's snapshot.
func (r *Raft) Restore() { r.restores.Inc() }

type raftGauges struct {
	read                                              func() RaftGauges
	leader, term, last, commit, applied, contact, lag *prometheus.Desc
}

func (g *raftGauges) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{g.leader, g.term, g.last, g.commit, g.applied, g.contact, g.lag} {
		ch <- d
	}
}

func (g *raftGauges) Collect(ch chan<- prometheus.Metric) {
	s := g.read()
	leader := 0.0
	if s.Leader {
		leader = 1
	}
	ch <- prometheus.MustNewConstMetric(g.leader, prometheus.GaugeValue, leader)
	ch <- prometheus.MustNewConstMetric(g.term, prometheus.GaugeValue, float64(s.Term))
	ch <- prometheus.MustNewConstMetric(g.last, prometheus.GaugeValue, float64(s.LastIndex))
	ch <- prometheus.MustNewConstMetric(g.commit, prometheus.GaugeValue, float64(s.CommitIndex))
	ch <- prometheus.MustNewConstMetric(g.applied, prometheus.GaugeValue, float64(s.Applied))
	ch <- prometheus.MustNewConstMetric(g.contact, prometheus.GaugeValue, s.LastContact.Seconds())
	for member, lag := range s.MemberLag {
		ch <- prometheus.MustNewConstMetric(g.lag, prometheus.GaugeValue, float64(lag), member)
	}
}
