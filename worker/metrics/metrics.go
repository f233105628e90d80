// Package metrics holds the worker's Prometheus metrics (client_golang), served at
// :9091/metrics: the seed's names, per-job progress, the per-frame encode latency per
// encoder, executor crashes, and the machine's and GPUs' readings taken at scrape time.
package metrics

import (
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/engine"
	"github.com/ffrtmp/ffrtmp/worker/executor"
)

// Metrics are the worker's instruments. Create with New.
type Metrics struct {
	reg       *prometheus.Registry
	duration  *prometheus.HistogramVec
	jobs      *prometheus.CounterVec
	crashes   prometheus.Counter
	running   prometheus.Gauge
	fps       *prometheus.GaugeVec
	speed     *prometheus.GaugeVec
	frames    *prometheus.GaugeVec
	available *prometheus.GaugeVec
	live      *liveCollector

	mu     sync.Mutex
	encode map[string]*latency // by encoder
}

// latency is a histogram filled from the executors' bucket counts.
type latency struct {
	buckets []uint64 // per bucket bound, plus the slower ones
	count   uint64
	sum     float64
}

// add adds an executor's counts (same bounds).
func (h *latency) add(l executor.EncodeLatency) {
	for i, n := range l.Buckets {
		if i < len(h.buckets) && n > 0 {
			h.buckets[i] += uint64(n)
		}
	}
	h.count += uint64(l.Frames)
	h.sum += l.Seconds
}

// metric is h as a Prometheus histogram with the given bucket bounds and label values.
func (h *latency) metric(desc *prometheus.Desc, bounds []time.Duration, labels ...string) prometheus.Metric {
	cum := make(map[float64]uint64, len(bounds))
	var run uint64
	for i, b := range bounds {
		run += h.buckets[i]
		cum[b.Seconds()] = run
	}
	return prometheus.MustNewConstHistogram(desc, h.count, h.sum, cum, labels...)
}

// New registers the metrics. encoders are the encoders this worker offers and whether each
// really opened; telemetry is read at every scrape (nil: no machine gauges).
func New(encoders map[string]bool, telemetry func() api.Telemetry) *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{reg: reg, encode: map[string]*latency{}, live: newLiveCollector()}
	reg.MustRegister(m.live)
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ffrtmp_worker_job_duration_seconds",
		Help: "Wall time of jobs on this worker, by how they ended.", Buckets: prometheus.ExponentialBuckets(1, 2, 16)}, []string{"end"})
	m.jobs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ffrtmp_worker_jobs_total",
		Help: "Jobs run by this worker, by how they ended (completed, failed, canceled, stalled, crashed, refused)."}, []string{"end"})
	m.crashes = prometheus.NewCounter(prometheus.CounterOpts{Name: "ffrtmp_worker_executor_crashes_total",
		Help: "Executor processes that died without a result (a signal in libav or a driver)."})
	m.running = prometheus.NewGauge(prometheus.GaugeOpts{Name: "ffrtmp_worker_running_jobs", Help: "Jobs running now."})
	m.fps = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ffrtmp_worker_job_fps", Help: "Frames per second of each running job."}, []string{"job_id"})
	m.speed = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ffrtmp_worker_job_speed", Help: "Speed (× realtime) of each running job."}, []string{"job_id"})
	m.frames = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ffrtmp_worker_job_frames", Help: "Frames decoded so far by each running job."}, []string{"job_id"})
	m.available = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ffrtmp_worker_encoder_available",
		Help: "1 when the encoder really opens on this worker, else 0."}, []string{"encoder"})
	for _, c := range []prometheus.Collector{m.duration, m.jobs, m.crashes, m.running, m.fps, m.speed, m.frames, m.available} {
		reg.MustRegister(c)
	}
	for enc, ok := range encoders {
		v := 0.0
		if ok {
			v = 1
		}
		m.available.WithLabelValues(enc).Set(v)
	}
	reg.MustRegister(&encodeCollector{m: m, desc: prometheus.NewDesc("ffrtmp_worker_frame_encode_seconds",
		"Per-frame encode time, by encoder.", []string{"encoder"}, nil)})
	if telemetry != nil {
		reg.MustRegister(newMachineCollector(telemetry))
	}
	return m
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler { return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}) }

// JobStarted counts a job as running.
func (m *Metrics) JobStarted(jobID string) { m.running.Inc() }

// JobProgress records a running job's numbers.
func (m *Metrics) JobProgress(jobID string, p engine.Progress) {
	m.fps.WithLabelValues(jobID).Set(p.FPS)
	m.speed.WithLabelValues(jobID).Set(p.Speed)
	m.frames.WithLabelValues(jobID).Set(float64(p.Frames))
}

// LiveProgress records a live job's numbers (ffrtmp_live_*): its realtime ratio, and per
// output the fps, dropped frames and, for the outputs named in restreams, the destination's
// connection state, connections and reconnects. JobEnded removes them.
func (m *Metrics) LiveProgress(jobID string, p engine.Progress, restreams map[string]bool) {
	m.live.set(jobID, p, restreams)
}

// JobEncode adds frames' encode latencies; encoderOf names each output's encoder.
func (m *Metrics) JobEncode(lat []executor.EncodeLatency, encoderOf func(output string) string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, l := range lat {
		enc := encoderOf(l.Output)
		e := m.encode[enc]
		if e == nil {
			e = &latency{buckets: make([]uint64, len(executor.LatencyBuckets)+1)}
			m.encode[enc] = e
		}
		e.add(l)
	}
}

// LiveLatency adds a live job's pipeline latencies (ffrtmp_live_latency_seconds); JobEnded
// removes them.
func (m *Metrics) LiveLatency(jobID string, lat []executor.EncodeLatency) {
	m.live.addLatency(jobID, lat)
}

// JobEnded records how a job ended and forgets its per-job gauges.
func (m *Metrics) JobEnded(jobID, end string, d time.Duration) {
	m.running.Dec()
	m.duration.WithLabelValues(end).Observe(d.Seconds())
	m.jobs.WithLabelValues(end).Inc()
	if end == executor.EndCrashed {
		m.crashes.Inc()
	}
	m.fps.DeleteLabelValues(jobID)
	m.speed.DeleteLabelValues(jobID)
	m.frames.DeleteLabelValues(jobID)
	m.live.forget(jobID)
}

// encodeCollector turns the executors' bucket counts into a histogram per encoder.
type encodeCollector struct {
	m    *Metrics
	desc *prometheus.Desc
}

func (c *encodeCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *encodeCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	for enc, l := range c.m.encode {
		ch <- l.metric(c.desc, executor.LatencyBuckets, enc)
	}
}

// machineCollector reads the machine and its GPUs at scrape time.
type machineCollector struct {
	read                                                                        func() api.Telemetry
	cpu, mem, gpuUtil, memUtil, encUtil, decUtil, gpuMem, power, temp, sessions *prometheus.Desc
}

func newMachineCollector(read func() api.Telemetry) *machineCollector {
	g := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, []string{"gpu"}, nil)
	}
	return &machineCollector{read: read,
		cpu:      prometheus.NewDesc("ffrtmp_worker_cpu_usage_percent", "CPU use of the machine since the previous reading.", nil, nil),
		mem:      prometheus.NewDesc("ffrtmp_worker_memory_usage_bytes", "Memory in use on the machine.", nil, nil),
		gpuUtil:  g("ffrtmp_worker_gpu_usage_percent", "GPU utilisation (NVML)."),
		memUtil:  g("ffrtmp_worker_gpu_memory_utilization_percent", "GPU memory controller utilisation (NVML)."),
		encUtil:  g("ffrtmp_worker_gpu_encoder_utilization_percent", "NVENC utilisation (NVML)."),
		decUtil:  g("ffrtmp_worker_gpu_decoder_utilization_percent", "NVDEC utilisation (NVML)."),
		gpuMem:   g("ffrtmp_worker_gpu_memory_used_bytes", "GPU memory in use (NVML)."),
		power:    g("ffrtmp_worker_gpu_power_watts", "GPU power draw (NVML)."),
		temp:     g("ffrtmp_worker_gpu_temperature_celsius", "GPU temperature (NVML)."),
		sessions: g("ffrtmp_worker_gpu_encoder_sessions", "Open NVENC sessions (NVML)."),
	}
}

func (c *machineCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.cpu, c.mem, c.gpuUtil, c.memUtil, c.encUtil, c.decUtil, c.gpuMem, c.power, c.temp, c.sessions} {
		ch <- d
	}
}

func (c *machineCollector) Collect(ch chan<- prometheus.Metric) {
	t := c.read()
	ch <- prometheus.MustNewConstMetric(c.cpu, prometheus.GaugeValue, t.CPUPercent)
	ch <- prometheus.MustNewConstMetric(c.mem, prometheus.GaugeValue, float64(t.MemoryUsed))
	for _, g := range slices.Clone(t.GPUs) {
		idx := strconv.Itoa(g.Index)
		for _, v := range []struct {
			d *prometheus.Desc
			x float64
		}{{c.gpuUtil, g.Utilization}, {c.memUtil, g.MemoryUtilization}, {c.encUtil, g.EncoderUtilization},
			{c.decUtil, g.DecoderUtilization}, {c.gpuMem, float64(g.MemoryUsedMB) * (1 << 20)}, {c.power, g.PowerWatts},
			{c.temp, g.TemperatureC}, {c.sessions, float64(g.EncoderSessions)}} {
			ch <- prometheus.MustNewConstMetric(v.d, prometheus.GaugeValue, v.x, idx)
		}
	}
}

// ClientCert exports ffrtmp_worker_tls_cert_expiry_timestamp_seconds{cert="client"}: when the
// client certificate the worker presents to the master (mTLS) expires, read at scrape time so
// a renewed file shows. notAfter's ok false (no client certificate) exports nothing.
func (m *Metrics) ClientCert(notAfter func() (time.Time, bool)) {
	m.reg.MustRegister(&certCollector{read: notAfter, desc: prometheus.NewDesc("ffrtmp_worker_tls_cert_expiry_timestamp_seconds",
		"When the certificate the worker presents to the master expires, in Unix seconds.", []string{"cert"}, nil)})
}

type certCollector struct {
	read func() (time.Time, bool)
	desc *prometheus.Desc
}

func (c *certCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *certCollector) Collect(ch chan<- prometheus.Metric) {
	if t, ok := c.read(); ok {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(t.Unix()), "client")
	}
}

// GPUs exports ffrtmp_worker_gpu_memory_total_bytes{gpu}: each GPU's memory as the probe found
// it, against which ffrtmp_worker_gpu_memory_used_bytes is read (GPUMemoryNearlyFull).
func (m *Metrics) GPUs(gpus []api.GPU) {
	total := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ffrtmp_worker_gpu_memory_total_bytes",
		Help: "Memory of each GPU (NVML, at start)."}, []string{"gpu"})
	for _, g := range gpus {
		total.WithLabelValues(strconv.Itoa(g.Index)).Set(float64(g.MemoryTotalMB) * (1 << 20))
	}
	m.reg.MustRegister(total)
}
