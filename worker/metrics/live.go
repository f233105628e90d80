package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ffrtmp/ffrtmp/engine"
	"github.com/ffrtmp/ffrtmp/worker/executor"
)

// liveCollector exports the latest progress of each live job, labelled by job and output.
// A job's series exist from its first progress to its end (JobEnded), so their number is
// bounded by the running jobs and their outputs.
type liveCollector struct {
	mu   sync.Mutex
	jobs map[string]liveSnapshot
	lat  map[string]map[string]*latency // by job, then output; LiveLatencyBuckets

	realtime, fps, dropped, connected, reconnects, connections, latency *prometheus.Desc
}

type liveSnapshot struct {
	speed     float64
	outputs   []engine.OutputProgress
	elapsed   float64
	restreams map[string]bool
}

func newLiveCollector() *liveCollector {
	return &liveCollector{jobs: map[string]liveSnapshot{}, lat: map[string]map[string]*latency{},
		latency: prometheus.NewDesc("ffrtmp_live_latency_seconds",
			"Pipeline latency of each encoded video packet of a live job, per output: from the read of its source packet from the ingest's relay to the encoded packet.",
			[]string{"job_id", "output"}, nil),
		realtime: prometheus.NewDesc("ffrtmp_live_realtime_ratio",
			"Media seconds produced per wall second of each live job (below 1: it falls behind).", []string{"job_id"}, nil),
		fps: prometheus.NewDesc("ffrtmp_live_output_fps",
			"Video frames encoded per wall second, per output of each live job.", []string{"job_id", "output"}, nil),
		dropped: prometheus.NewDesc("ffrtmp_live_frames_dropped_total",
			"Frames the rate conversion dropped, per output of each live job.", []string{"job_id", "output"}, nil),
		connected: prometheus.NewDesc("ffrtmp_live_restream_connected",
			"1 while a restream output is connected to its destination, else 0.", []string{"job_id", "output"}, nil),
		reconnects: prometheus.NewDesc("ffrtmp_live_restream_reconnects_total",
			"Connection attempts to a restream destination after the first.", []string{"job_id", "output"}, nil),
		connections: prometheus.NewDesc("ffrtmp_live_restream_connections_total",
			"Connections made to a restream destination.", []string{"job_id", "output"}, nil),
	}
}

func (c *liveCollector) set(jobID string, p engine.Progress, restreams map[string]bool) {
	s := liveSnapshot{speed: p.Speed, outputs: append([]engine.OutputProgress(nil), p.Outputs...),
		elapsed: p.Elapsed.Seconds(), restreams: restreams}
	c.mu.Lock()
	c.jobs[jobID] = s
	c.mu.Unlock()
}

// addLatency adds a live job's pipeline latencies (histograms in LiveLatencyBuckets).
func (c *liveCollector) addLatency(jobID string, lat []executor.EncodeLatency) {
	c.mu.Lock()
	defer c.mu.Unlock()
	outs := c.lat[jobID]
	if outs == nil {
		outs = map[string]*latency{}
		c.lat[jobID] = outs
	}
	for _, l := range lat {
		h := outs[l.Output]
		if h == nil {
			h = &latency{buckets: make([]uint64, len(executor.LiveLatencyBuckets)+1)}
			outs[l.Output] = h
		}
		h.add(l)
	}
}

func (c *liveCollector) forget(jobID string) {
	c.mu.Lock()
	delete(c.jobs, jobID)
	delete(c.lat, jobID)
	c.mu.Unlock()
}

func (c *liveCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.realtime, c.fps, c.dropped, c.connected, c.reconnects, c.connections, c.latency} {
		ch <- d
	}
}

func (c *liveCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for job, outs := range c.lat {
		for out, h := range outs {
			ch <- h.metric(c.latency, executor.LiveLatencyBuckets, job, out)
		}
	}
	for job, s := range c.jobs {
		ch <- prometheus.MustNewConstMetric(c.realtime, prometheus.GaugeValue, s.speed, job)
		for _, o := range s.outputs {
			fps := 0.0
			if s.elapsed > 0 {
				fps = float64(o.FramesOut) / s.elapsed
			}
			ch <- prometheus.MustNewConstMetric(c.fps, prometheus.GaugeValue, fps, job, o.Name)
			ch <- prometheus.MustNewConstMetric(c.dropped, prometheus.CounterValue, float64(o.Dropped), job, o.Name)
			if !s.restreams[o.Name] {
				continue
			}
			up := 0.0
			if o.Connected {
				up = 1
			}
			ch <- prometheus.MustNewConstMetric(c.connected, prometheus.GaugeValue, up, job, o.Name)
			ch <- prometheus.MustNewConstMetric(c.reconnects, prometheus.CounterValue, float64(o.Reconnects), job, o.Name)
			ch <- prometheus.MustNewConstMetric(c.connections, prometheus.CounterValue, float64(o.Connections), job, o.Name)
		}
	}
}
