package rtmp

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Reasons a connection is refused, the label values of ffrtmp_rtmp_connections_refused_total.
const (
	ReasonAuth      = "auth"      // the Authorizer said no
	ReasonDuplicate = "duplicate" // a publisher is already live on the stream
	ReasonLimit     = "limit"     // MaxConns connections are already open
	ReasonNotLive   = "not_live"  // a player asked for a stream that did not start in time
	ReasonProtocol  = "protocol"  // handshake, command or track setup failed or timed out
)

// metrics are the server's Prometheus collectors. Per-stream series carry a stream label
// (the stream ID, never the key) and are deleted when the stream ends, so cardinality is
// bounded by the streams live at once.
type metrics struct {
	publishers  prometheus.Gauge
	players     prometheus.Gauge
	connections prometheus.Gauge
	refused     *prometheus.CounterVec
	slowPlayers prometheus.Counter
	bytes       *prometheus.CounterVec
	bitrate     *prometheus.GaugeVec
	fps         *prometheus.GaugeVec
	dropped     *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		publishers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ffrtmp_rtmp_publishers", Help: "Publishers live now."}),
		players: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ffrtmp_rtmp_players", Help: "Players receiving a stream now."}),
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ffrtmp_rtmp_connections", Help: "RTMP connections open now, in any state."}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ffrtmp_rtmp_connections_refused_total",
			Help: "Connections refused, by reason (auth, duplicate, limit, not_live, protocol)."}, []string{"reason"}),
		slowPlayers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ffrtmp_rtmp_slow_players_disconnected_total",
			Help: "Players disconnected because they fell behind their queue or blocked a write."}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ffrtmp_rtmp_received_bytes_total", Help: "Bytes received from each live stream's publisher."}, []string{"stream"}),
		bitrate: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ffrtmp_rtmp_input_bitrate_bps", Help: "Input bitrate of each live stream over the last second or so."}, []string{"stream"}),
		fps: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ffrtmp_rtmp_input_fps", Help: "Input video frames per second of each live stream."}, []string{"stream"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ffrtmp_rtmp_dropped_frames_total", Help: "Frames of each live stream that slow players lost."}, []string{"stream"}),
	}
	for _, r := range []string{ReasonAuth, ReasonDuplicate, ReasonLimit, ReasonNotLive, ReasonProtocol} {
		m.refused.WithLabelValues(r) // export zeros so rates work from the start
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.publishers, m.players, m.connections, m.refused, m.slowPlayers,
		m.bytes, m.bitrate, m.fps, m.dropped} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return nil, fmt.Errorf("register rtmp metrics: %w (one Registerer per Server)", err)
			}
			return nil, fmt.Errorf("register rtmp metrics: %w", err)
		}
	}
	return m, nil
}

// forget deletes a stream's series when it ends.
func (m *metrics) forget(streamID string) {
	m.bytes.DeleteLabelValues(streamID)
	m.bitrate.DeleteLabelValues(streamID)
	m.fps.DeleteLabelValues(streamID)
	m.dropped.DeleteLabelValues(streamID)
}
