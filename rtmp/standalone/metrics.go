package standalone

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ffrtmp/ffrtmp/api"
)

// metrics are the ingest's own collectors, next to the RTMP server's ffrtmp_rtmp_*.
type metrics struct {
	delivered  *prometheus.CounterVec
	dropped    *prometheus.CounterVec
	retries    prometheus.Counter
	queued     prometheus.Gauge
	authErrors *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ffrtmp_ingest_events_delivered_total", Help: "Stream events the master took, by type."}, []string{"type"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ffrtmp_ingest_events_dropped_total", Help: "Stream events given up: refused by the master, stats it did not take, or lost to a full queue, by type."}, []string{"type"}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ffrtmp_ingest_event_retries_total", Help: "Deliveries of a stream event that failed and are retried."}),
		queued: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ffrtmp_ingest_events_queued", Help: "Stream events waiting for the master."}),
		authErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ffrtmp_ingest_authorize_errors_total", Help: "Publishes and plays refused because the master did not answer (or refused this ingest's key), by action."}, []string{"action"}),
	}
	for _, t := range api.IngestEventTypes {
		m.delivered.WithLabelValues(string(t))
		m.dropped.WithLabelValues(string(t))
	}
	m.authErrors.WithLabelValues("publish")
	m.authErrors.WithLabelValues("play")
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.delivered, m.dropped, m.retries, m.queued, m.authErrors} {
		if err := reg.Register(c); err != nil {
			return nil, errors.Join(errors.New("ingest metrics"), err)
		}
	}
	return m, nil
}
