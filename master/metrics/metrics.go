// Package metrics holds the master's Prometheus metrics (client_golang), served on their own
// port (default :9090) at /metrics.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ffrtmp/ffrtmp/api"
)

// Source is what the gauges read at scrape time.
type Source interface {
	Counts() map[api.Status]int
	NodeCounts() map[api.NodeStatus]int
	QueueDepth() map[string]int
	// QueueOldest is when the oldest queued job of each non-empty queue was submitted.
	QueueOldest() map[string]time.Time
	// Heartbeats is when each node (by ID) was last heard from.
	Heartbeats() map[string]time.Time
}

// Readings are what the gauges read at scrape time besides Source. Every field is optional.
type Readings struct {
	// DBSize is the size of the database file.
	DBSize func() int64
	// DBDir is the database's folder: the free and total space of its filesystem are
	// ffrtmp_master_db_disk_free_bytes and ffrtmp_master_db_disk_size_bytes.
	DBDir string
	// Certs is the expiry (NotAfter) of each certificate the master serves or presents, by
	// name (server, cluster).
	Certs func() map[string]time.Time
}

// Metrics are the master's instruments. Create with New; the zero value is not usable.
type Metrics struct {
	reg *prometheus.Registry

	apiRequests    *prometheus.CounterVec
	apiDuration    *prometheus.HistogramVec
	jobDuration    *prometheus.HistogramVec
	transitions    *prometheus.CounterVec
	leaseWait      *prometheus.HistogramVec
	scheduling     prometheus.Histogram
	webhooks       *prometheus.CounterVec
	webhookLatency prometheus.Histogram
	txDuration     prometheus.Histogram
	txWrites       prometheus.Histogram
	rateLimited    prometheus.Counter
	connsRefused   prometheus.Counter
	authDenied     *prometheus.CounterVec
	sessions       *prometheus.CounterVec
}

// New registers every metric; src feeds the job, node and queue gauges, rd the database and
// certificate ones.
func New(src Source, rd Readings) *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{reg: reg}
	f := func(c prometheus.Collector) { reg.MustRegister(c) }
	m.apiRequests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ffrtmp_master_api_requests_total",
		Help: "API requests by route, method and status code."}, []string{"route", "method", "code"})
	m.apiDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ffrtmp_master_api_request_duration_seconds",
		Help: "API request latency by route (lease long-polls included).", Buckets: latencyBuckets}, []string{"route"})
	m.jobDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ffrtmp_master_job_duration_seconds",
		Help:    "Time from submission to the end of a job, by final status and queue.",
		Buckets: prometheus.ExponentialBuckets(1, 2, 18)}, []string{"status", "queue"})
	m.transitions = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ffrtmp_master_job_transitions_total",
		Help: "Job state changes."}, []string{"from", "to"})
	m.leaseWait = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ffrtmp_master_lease_wait_seconds",
		Help:    "How long lease requests waited, by whether they got a job.",
		Buckets: append(latencyBuckets, 5, 10, 20, 30)}, []string{"result"})
	m.scheduling = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ffrtmp_master_scheduling_latency_seconds",
		Help: "Time to pick a job for a node and write the assignment.", Buckets: latencyBuckets})
	m.webhooks = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ffrtmp_master_webhook_deliveries_total",
		Help: "Webhook delivery attempts by result (ok, failed)."}, []string{"result"})
	m.webhookLatency = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ffrtmp_master_webhook_duration_seconds",
		Help: "Webhook POST latency.", Buckets: latencyBuckets})
	m.txDuration = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ffrtmp_master_db_transaction_seconds",
		Help: "bbolt write transaction time, fsync included.", Buckets: latencyBuckets})
	m.txWrites = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ffrtmp_master_db_transaction_writes",
		Help: "Writes folded into one bbolt transaction (group commit).", Buckets: prometheus.ExponentialBuckets(1, 2, 11)})
	m.rateLimited = prometheus.NewCounter(prometheus.CounterOpts{Name: "ffrtmp_master_rate_limited_total",
		Help: "Requests answered 429 by the per-IP rate limit."})
	m.connsRefused = prometheus.NewCounter(prometheus.CounterOpts{Name: "ffrtmp_master_connections_refused_total",
		Help: "API connections closed at once because their client IP held --max-conns-per-ip already."})
	m.authDenied = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ffrtmp_master_auth_denied_total",
		Help: "Requests refused by API key or console session checks, failed console logins included, by code (unauthorized, forbidden, csrf_required)."}, []string{"code"})
	// Every code starts at 0, so rate() and increase() see the first denial.
	m.authDenied.WithLabelValues(api.CodeUnauthorized)
	m.authDenied.WithLabelValues(api.CodeForbidden)
	m.authDenied.WithLabelValues(api.CodeCSRF)
	m.sessions = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ffrtmp_master_console_sessions_total",
		Help: "Console sessions started (login) and ended (logout) on this master; failed logins count in ffrtmp_master_auth_denied_total."}, []string{"event"})
	m.sessions.WithLabelValues("login")
	m.sessions.WithLabelValues("logout")
	for _, c := range []prometheus.Collector{m.apiRequests, m.apiDuration, m.jobDuration, m.transitions, m.leaseWait,
		m.scheduling, m.webhooks, m.webhookLatency, m.txDuration, m.txWrites, m.rateLimited, m.connsRefused, m.authDenied, m.sessions} {
		f(c)
	}
	f(&gauges{src: src, rd: rd, now: time.Now,
		jobs:  prometheus.NewDesc("ffrtmp_master_jobs_total", "Jobs stored, by status.", []string{"status"}, nil),
		nodes: prometheus.NewDesc("ffrtmp_master_nodes_total", "Registered nodes, by status.", []string{"status"}, nil),
		depth: prometheus.NewDesc("ffrtmp_master_queue_depth", "Queued jobs, by queue.", []string{"queue"}, nil),
		oldest: prometheus.NewDesc("ffrtmp_master_queue_oldest_job_age_seconds",
			"Age of the oldest queued job (since its submission), by queue; 0 for an empty queue.", []string{"queue"}, nil),
		heartbeat: prometheus.NewDesc("ffrtmp_master_node_heartbeat_age_seconds",
			"Time since each registered node was last heard from (registration or heartbeat).", []string{"node"}, nil),
		db: prometheus.NewDesc("ffrtmp_master_db_size_bytes", "Size of the bbolt database file.", nil, nil),
		diskFree: prometheus.NewDesc("ffrtmp_master_db_disk_free_bytes",
			"Space left to the master on the database's filesystem.", nil, nil),
		diskSize: prometheus.NewDesc("ffrtmp_master_db_disk_size_bytes",
			"Size of the database's filesystem.", nil, nil),
		certExpiry: prometheus.NewDesc("ffrtmp_master_tls_cert_expiry_timestamp_seconds",
			"When each certificate the master serves (server) or presents to its peers (cluster) expires, in Unix seconds.", []string{"cert"}, nil),
	})
	return m
}

var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .02, .05, .1, .25, .5, 1, 2.5}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry is the registry the metrics live in.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Request counts one API request.
func (m *Metrics) Request(route, method string, code int, d time.Duration) {
	m.apiRequests.WithLabelValues(route, method, strconv.Itoa(code)).Inc()
	m.apiDuration.WithLabelValues(route).Observe(d.Seconds())
}

// Transition counts a job state change.
func (m *Metrics) Transition(from, to api.Status, queue string) {
	if from == "" {
		from = "new"
	}
	m.transitions.WithLabelValues(string(from), string(to)).Inc()
}

// Finished records a finished job's total time.
func (m *Metrics) Finished(status api.Status, queue string, d time.Duration) {
	m.jobDuration.WithLabelValues(string(status), queue).Observe(d.Seconds())
}

// LeaseWait records a lease request's wait.
func (m *Metrics) LeaseWait(d time.Duration, got bool) {
	r := "empty"
	if got {
		r = "job"
	}
	m.leaseWait.WithLabelValues(r).Observe(d.Seconds())
}

// Schedule records the time to pick and assign a job.
func (m *Metrics) Schedule(d time.Duration) { m.scheduling.Observe(d.Seconds()) }

// Webhook records a delivery attempt.
func (m *Metrics) Webhook(ok bool, status int, d time.Duration) {
	r := "failed"
	if ok {
		r = "ok"
	}
	m.webhooks.WithLabelValues(r).Inc()
	m.webhookLatency.Observe(d.Seconds())
}

// Commit records a bbolt write transaction.
func (m *Metrics) Commit(d time.Duration, writes int) {
	m.txDuration.Observe(d.Seconds())
	m.txWrites.Observe(float64(writes))
}

// RateLimited counts a 429.
func (m *Metrics) RateLimited() { m.rateLimited.Inc() }

// ConnRefused counts a connection closed for being over the per-IP cap.
func (m *Metrics) ConnRefused() { m.connsRefused.Inc() }

// AuthDenied counts a 401 or 403.
func (m *Metrics) AuthDenied(code string) { m.authDenied.WithLabelValues(code).Inc() }

// Session counts a console session's event: "login" or "logout".
func (m *Metrics) Session(event string) { m.sessions.WithLabelValues(event).Inc() }

// gauges read the farm's counters at scrape time, so they are never stale.
type gauges struct {
	src                                   Source
	rd                                    Readings
	now                                   func() time.Time
	jobs, nodes, depth, oldest, heartbeat *prometheus.Desc
	db, diskFree, diskSize, certExpiry    *prometheus.Desc
}

func (g *gauges) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{g.jobs, g.nodes, g.depth, g.oldest, g.heartbeat, g.db, g.diskFree, g.diskSize, g.certExpiry} {
		ch <- d
	}
}

func (g *gauges) Collect(ch chan<- prometheus.Metric) {
	for st, n := range g.src.Counts() {
		ch <- prometheus.MustNewConstMetric(g.jobs, prometheus.GaugeValue, float64(n), string(st))
	}
	for st, n := range g.src.NodeCounts() {
		ch <- prometheus.MustNewConstMetric(g.nodes, prometheus.GaugeValue, float64(n), string(st))
	}
	now := g.now()
	oldest := g.src.QueueOldest()
	for q, n := range g.src.QueueDepth() {
		ch <- prometheus.MustNewConstMetric(g.depth, prometheus.GaugeValue, float64(n), q)
		age := 0.0
		if t, ok := oldest[q]; ok {
			age = max(now.Sub(t).Seconds(), 0)
		}
		ch <- prometheus.MustNewConstMetric(g.oldest, prometheus.GaugeValue, age, q)
	}
	for id, t := range g.src.Heartbeats() {
		ch <- prometheus.MustNewConstMetric(g.heartbeat, prometheus.GaugeValue, max(now.Sub(t).Seconds(), 0), id)
	}
	if g.rd.DBSize != nil {
		ch <- prometheus.MustNewConstMetric(g.db, prometheus.GaugeValue, float64(g.rd.DBSize()))
	}
	if g.rd.DBDir != "" {
		if free, size, ok := diskSpace(g.rd.DBDir); ok {
			ch <- prometheus.MustNewConstMetric(g.diskFree, prometheus.GaugeValue, float64(free))
			ch <- prometheus.MustNewConstMetric(g.diskSize, prometheus.GaugeValue, float64(size))
		}
	}
	if g.rd.Certs != nil {
		for name, t := range g.rd.Certs() {
			ch <- prometheus.MustNewConstMetric(g.certExpiry, prometheus.GaugeValue, float64(t.Unix()), name)
		}
	}
}
