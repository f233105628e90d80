package metrics_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/engine"
	"github.com/ffrtmp/ffrtmp/worker/executor"
	"github.com/ffrtmp/ffrtmp/worker/metrics"
)

func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

func TestMetrics(t *testing.T) {
	tel := func() api.Telemetry {
		return api.Telemetry{CPUPercent: 42, MemoryUsed: 1 << 30, GPUs: []api.GPUTelemetry{
			{Index: 0, Utilization: 55, EncoderUtilization: 30, DecoderUtilization: 12, MemoryUsedMB: 2048, PowerWatts: 120.5, TemperatureC: 61, EncoderSessions: 2}}}
	}
	m := metrics.New(map[string]bool{"libx264": true, "h264_nvenc": false}, tel)
	m.JobStarted("j1")
	m.JobProgress("j1", engine.Progress{FPS: 91, Speed: 3, Frames: 120})
	buckets := make([]int64, len(executor.LatencyBuckets)+1)
	buckets[0], buckets[1], buckets[len(buckets)-1] = 1, 2, 1 // ≤0.5 ms, ≤1 ms, slower than the last bound
	m.JobEncode([]executor.EncodeLatency{{Output: "720p", Frames: 4, Seconds: 0.5, Buckets: buckets}},
		func(string) string { return "libx264" })
	mid := scrape(t, m)
	for _, want := range []string{
		`ffrtmp_worker_job_fps{job_id="j1"} 91`, `ffrtmp_worker_running_jobs 1`,
		`ffrtmp_worker_frame_encode_seconds_bucket{encoder="libx264",le="0.0005"} 1`,
		`ffrtmp_worker_frame_encode_seconds_bucket{encoder="libx264",le="0.001"} 3`,
		`ffrtmp_worker_frame_encode_seconds_bucket{encoder="libx264",le="0.25"} 3`,
		`ffrtmp_worker_frame_encode_seconds_bucket{encoder="libx264",le="+Inf"} 4`,
		`ffrtmp_worker_frame_encode_seconds_count{encoder="libx264"} 4`,
		`ffrtmp_worker_encoder_available{encoder="h264_nvenc"} 0`, `ffrtmp_worker_encoder_available{encoder="libx264"} 1`,
		`ffrtmp_worker_cpu_usage_percent 42`, `ffrtmp_worker_gpu_usage_percent{gpu="0"} 55`,
		`ffrtmp_worker_gpu_encoder_sessions{gpu="0"} 2`, `ffrtmp_worker_gpu_power_watts{gpu="0"} 120.5`,
	} {
		if !strings.Contains(mid, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	m.JobEnded("j1", executor.EndCrashed, 3*time.Second)
	end := scrape(t, m)
	for _, want := range []string{`ffrtmp_worker_executor_crashes_total 1`, `ffrtmp_worker_jobs_total{end="crashed"} 1`, `ffrtmp_worker_running_jobs 0`} {
		if !strings.Contains(end, want) {
			t.Errorf("after the crash, metrics lack %s", want)
		}
	}
	if strings.Contains(end, `job_id="j1"`) {
		t.Error("an ended job's gauges are still exported")
	}
}

// The worker's agent looks for this method on its Metrics to export live jobs' numbers.
var _ interface {
	LiveProgress(jobID string, p engine.Progress, restreams map[string]bool)
} = (*metrics.Metrics)(nil)

func TestLiveMetrics(t *testing.T) {
	m := metrics.New(nil, nil)
	m.JobStarted("live1")
	m.JobStarted("vod1")
	m.JobProgress("vod1", engine.Progress{FPS: 200, Speed: 6})
	m.LiveProgress("live1", engine.Progress{Elapsed: 10 * time.Second, Speed: 0.98, Outputs: []engine.OutputProgress{
		{Name: "720p", FramesOut: 300, Dropped: 4},
		{Name: "restream0", FramesOut: 290, Connected: true, Connections: 2, Reconnects: 3},
		{Name: "restream1", FramesOut: 250, Reconnects: 7},
	}}, map[string]bool{"restream0": true, "restream1": true})
	// 0.12 s and 0.4 s, then 2.5 s: cumulative buckets across events.
	liveBuckets := func(ds ...time.Duration) []int64 {
		b := make([]int64, len(executor.LiveLatencyBuckets)+1)
		for _, d := range ds {
			i := 0
			for i < len(executor.LiveLatencyBuckets) && d > executor.LiveLatencyBuckets[i] {
				i++
			}
			b[i]++
		}
		return b
	}
	m.LiveLatency("live1", []executor.EncodeLatency{{Output: "720p", Frames: 2, Seconds: 0.52,
		Buckets: liveBuckets(120*time.Millisecond, 400*time.Millisecond)}})
	m.LiveLatency("live1", []executor.EncodeLatency{{Output: "720p", Frames: 1, Seconds: 2.5,
		Buckets: liveBuckets(2500 * time.Millisecond)}})
	mid := scrape(t, m)
	for _, want := range []string{
		`ffrtmp_live_realtime_ratio{job_id="live1"} 0.98`,
		`ffrtmp_live_output_fps{job_id="live1",output="720p"} 30`,
		`ffrtmp_live_output_fps{job_id="live1",output="restream1"} 25`,
		`ffrtmp_live_frames_dropped_total{job_id="live1",output="720p"} 4`,
		`ffrtmp_live_restream_connected{job_id="live1",output="restream0"} 1`,
		`ffrtmp_live_restream_connected{job_id="live1",output="restream1"} 0`,
		`ffrtmp_live_restream_reconnects_total{job_id="live1",output="restream0"} 3`,
		`ffrtmp_live_restream_reconnects_total{job_id="live1",output="restream1"} 7`,
		`ffrtmp_live_restream_connections_total{job_id="live1",output="restream0"} 2`,
		`ffrtmp_live_latency_seconds_bucket{job_id="live1",output="720p",le="0.1"} 0`,
		`ffrtmp_live_latency_seconds_bucket{job_id="live1",output="720p",le="0.125"} 1`,
		`ffrtmp_live_latency_seconds_bucket{job_id="live1",output="720p",le="0.3"} 1`,
		`ffrtmp_live_latency_seconds_bucket{job_id="live1",output="720p",le="0.5"} 2`,
		`ffrtmp_live_latency_seconds_bucket{job_id="live1",output="720p",le="2"} 2`,
		`ffrtmp_live_latency_seconds_bucket{job_id="live1",output="720p",le="3"} 3`,
		`ffrtmp_live_latency_seconds_count{job_id="live1",output="720p"} 3`,
		`ffrtmp_live_latency_seconds_sum{job_id="live1",output="720p"} 3.02`,
	} {
		if !strings.Contains(mid, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	for _, not := range []string{`ffrtmp_live_realtime_ratio{job_id="vod1"}`, `ffrtmp_live_output_fps{job_id="vod1"`, `ffrtmp_live_restream_connected{job_id="live1",output="720p"}`} {
		if strings.Contains(mid, not) {
			t.Errorf("metrics show %s", not)
		}
	}
	m.JobEnded("live1", executor.EndCanceled, time.Minute)
	if end := scrape(t, m); strings.Contains(end, "ffrtmp_live_") {
		t.Errorf("an ended live job's series are still exported:\n%s", end)
	}
}
