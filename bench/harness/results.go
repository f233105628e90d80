package harness

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// SchemaVersion names the layout of results.json. A reader refuses a file of another major
// version; fields are only ever added within one.
const SchemaVersion = "ffrtmp.bench/v1"

// Results is what one `ffrtmp bench` writes to results.json.
type Results struct {
	Schema   string    `json:"schema"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// Profile is "full", "quick" or "farm".
	Profile string `json:"profile"`
	// Command is the command line that produced the file.
	Command []string `json:"command,omitempty"`
	Machine Machine  `json:"machine"`
	Options Settings `json:"options"`
	// Cases holds one object per case (scenario × encoder), in the order they ran.
	Cases []Case `json:"cases"`
	// Density holds one object per encoder when density mode ran.
	Density []Density `json:"density,omitempty"`
	// Farm is set in farm mode.
	Farm *Farm `json:"farm,omitempty"`
	// Baseline is set when --baseline compared this run against an earlier file.
	Baseline *BaselineCheck `json:"baseline,omitempty"`
	// BDRates compares each encoder of each sweep scenario with the anchor encoder
	// (Bjøntegaard deltas; see BDRate).
	BDRates []BDRate `json:"bd_rates,omitempty"`
}

// Machine says where the numbers came from.
type Machine struct {
	Hostname    string `json:"hostname"`
	CPU         string `json:"cpu"`
	Cores       int    `json:"cores"`
	MemoryBytes int64  `json:"memory_bytes,omitempty"`
	OS          string `json:"os"`
	Arch        string `json:"arch"`
	Kernel      string `json:"kernel,omitempty"`
	// LoadAverage is /proc/loadavg's 1, 5 and 15 minute figures at the start: on a shared
	// machine it says how much noise to expect.
	LoadAverage string `json:"load_average,omitempty"`
	GPUs        []GPU  `json:"gpus,omitempty"`
	// Driver is the NVIDIA driver version, empty without one.
	Driver string `json:"driver,omitempty"`
	// GPUIdleWatts is the sampled GPU's draw with nothing running, measured for a second
	// before the cases.
	GPUIdleWatts float64 `json:"gpu_idle_watts,omitempty"`
	// RAPL says whether CPU energy could be read (/sys/class/powercap).
	RAPL      bool   `json:"rapl"`
	FFmpeg    string `json:"ffmpeg"`
	GoAstiav  string `json:"go_astiav"`
	Ffrtmp    string `json:"ffrtmp"`
	GoVersion string `json:"go_version"`
}

// GPU is one GPU of the machine.
type GPU struct {
	Index    int    `json:"index"`
	Name     string `json:"name"`
	UUID     string `json:"uuid,omitempty"`
	MemoryMB int    `json:"memory_mb"`
}

// Settings are the options the run used.
type Settings struct {
	Runs      int     `json:"runs"`
	Warmup    int     `json:"warmup"`
	VsFFmpeg  bool    `json:"vs_ffmpeg"`
	Quality   bool    `json:"quality"`
	Density   bool    `json:"density"`
	Threshold float64 `json:"regression_threshold,omitempty"`
}

// Stat is a figure over a case's runs.
type Stat struct {
	Min    float64 `json:"min"`
	Median float64 `json:"median"`
	Max    float64 `json:"max"`
}

// Latency is per-frame encode latency in milliseconds, each percentile over a case's runs.
type Latency struct {
	P50 Stat `json:"p50_ms"`
	P95 Stat `json:"p95_ms"`
	P99 Stat `json:"p99_ms"`
}

// Case is one scenario run with one encoder, N times.
type Case struct {
	// ID is scenario/encoder, stable across runs: baselines match cases by it.
	ID       string `json:"id"`
	Scenario string `json:"scenario"`
	// Encoder is the encoder asked for; EncoderUsed what really ran (a hardware encoder
	// may fall back), Decoder the decoder that ran.
	Encoder     string `json:"encoder"`
	EncoderUsed string `json:"encoder_used,omitempty"`
	Decoder     string `json:"decoder,omitempty"`
	// Hardware is the device the scenario decodes and scales on (cuda, qsv, vaapi), and
	// DecoderHardware the one frames really were decoded on.
	Hardware        string      `json:"hardware,omitempty"`
	DecoderHardware string      `json:"decoder_hardware,omitempty"`
	Codec           string      `json:"codec"` // h264, hevc, av1 or vp9
	Preset          string      `json:"preset,omitempty"`
	RateControl     string      `json:"rate_control"` // "cbr 3000k", "crf 23"
	Source          Source      `json:"source"`
	Outputs         []Rendition `json:"outputs"`

	// Skipped says why the case did not run (the encoder does not open here); the
	// figures below are then absent.
	Skipped string `json:"skipped,omitempty"`
	// Error is set when a run failed; the figures are over the runs that succeeded.
	Error string `json:"error,omitempty"`

	Runs       int     `json:"runs"`
	Frames     int64   `json:"frames"` // video frames decoded per run
	FPS        Stat    `json:"fps"`
	Speed      Stat    `json:"speed"` // × realtime
	Latency    Latency `json:"encode_latency"`
	CPUSeconds Stat    `json:"cpu_seconds"`
	PeakRSS    Stat    `json:"peak_rss_bytes"`
	// CPUJoulesPerFrame is from RAPL, when readable (package energy: the whole CPU).
	CPUJoulesPerFrame *Stat     `json:"cpu_joules_per_frame,omitempty"`
	GPU               *GPUUse   `json:"gpu,omitempty"`
	Quality           []Quality `json:"quality,omitempty"`
	FFmpeg            *VsFFmpeg `json:"ffmpeg,omitempty"`

	// Samples are the raw per-run figures the stats come from.
	Samples []Sample `json:"samples,omitempty"`
}

// Source is what a case encodes.
type Source struct {
	// Kind is "synthetic" (testsrc2) or "file".
	Kind     string  `json:"kind"`
	File     string  `json:"file,omitempty"`
	Width    int     `json:"width"`
	Height   int     `json:"height"`
	FPS      float64 `json:"fps"`
	Duration float64 `json:"duration_seconds"`
}

// Rendition is one output of a case.
type Rendition struct {
	Name    string `json:"name"`
	Width   int    `json:"width"`
	Height  int    `json:"height"`
	Bitrate int64  `json:"bitrate,omitempty"` // bits/s asked for; 0 with CRF
	CRF     int    `json:"crf,omitempty"`
	// FPS (its frames ÷ the run's wall time), Speed (its media seconds ÷ that time) and
	// Latency (its own frames' encode time) are this rendition's, over the case's runs: a
	// ladder's rungs run side by side, and the case figures pool them.
	FPS     *Stat    `json:"fps,omitempty"`
	Speed   *Stat    `json:"speed,omitempty"`
	Latency *Latency `json:"encode_latency,omitempty"`
}

// RenditionSample is one run's figures for one rendition.
type RenditionSample struct {
	Name  string  `json:"name"`
	FPS   float64 `json:"fps"`
	Speed float64 `json:"speed"`
	P50ms float64 `json:"p50_ms"`
	P95ms float64 `json:"p95_ms"`
	P99ms float64 `json:"p99_ms"`
}

// GPUUse is NVML's view of a case, sampled while it ran.
type GPUUse struct {
	Utilization        Stat `json:"utilization_pct"`
	EncoderUtilization Stat `json:"encoder_utilization_pct"`
	DecoderUtilization Stat `json:"decoder_utilization_pct"`
	PowerWatts         Stat `json:"power_watts"`
	JoulesPerFrame     Stat `json:"joules_per_frame"`
	// ExcessJoulesPerFrame is the energy above the GPU's idle draw (machine.gpu_idle_watts):
	// what the case itself cost the GPU.
	ExcessJoulesPerFrame Stat `json:"excess_joules_per_frame"`
	MemoryUsedMB         Stat `json:"memory_used_mb"`
}

// Quality is one output compared with the source.
type Quality struct {
	Output string `json:"output"`
	// Bitrate is what the output really came to, bits per second of media.
	Bitrate float64  `json:"bitrate"`
	PSNR    float64  `json:"psnr"`
	PSNRY   float64  `json:"psnr_y"`
	SSIM    float64  `json:"ssim"`
	VMAF    *float64 `json:"vmaf,omitempty"`
	// Error says why the output could not be measured.
	Error string `json:"error,omitempty"`
}

// VsFFmpeg is the same case run through the ffmpeg program of the same FFmpeg build.
type VsFFmpeg struct {
	Command    string `json:"command"`
	FPS        Stat   `json:"fps"`
	CPUSeconds Stat   `json:"cpu_seconds"`
	// Ratio is ffrtmp's median fps ÷ ffmpeg's (above 1: ffrtmp is faster).
	Ratio float64 `json:"ratio"`
	Error string  `json:"error,omitempty"`
}

// Sample is one measured run.
type Sample struct {
	Seconds    float64 `json:"seconds"`
	FPS        float64 `json:"fps"`
	Speed      float64 `json:"speed"`
	CPUSeconds float64 `json:"cpu_seconds"`
	PeakRSS    int64   `json:"peak_rss_bytes"`
	P50ms      float64 `json:"p50_ms"`
	P95ms      float64 `json:"p95_ms"`
	P99ms      float64 `json:"p99_ms"`
	// Outputs are each rendition's own figures in this run.
	Outputs []RenditionSample `json:"outputs,omitempty"`
	// CPUJoules and GPU figures are absent where they cannot be read.
	CPUJoules   *float64 `json:"cpu_joules,omitempty"`
	GPUJoules   *float64 `json:"gpu_joules,omitempty"`
	GPUUtil     *float64 `json:"gpu_utilization_pct,omitempty"`
	GPUEncUtil  *float64 `json:"gpu_encoder_utilization_pct,omitempty"`
	GPUDecUtil  *float64 `json:"gpu_decoder_utilization_pct,omitempty"`
	GPUWatts    *float64 `json:"gpu_power_watts,omitempty"`
	GPUMemoryMB *float64 `json:"gpu_memory_used_mb,omitempty"`
}

// Density is how many concurrent live-paced sessions one encoder sustains.
type Density struct {
	Encoder  string `json:"encoder"`
	Scenario string `json:"scenario"`
	// MaxSessions is the highest count whose worst realtime ratio stayed under Limit (0:
	// not even one).
	MaxSessions int           `json:"max_sessions"`
	Limit       float64       `json:"limit"`
	Steps       []DensityStep `json:"steps"`
	// Error says why the search could not run.
	Error string `json:"error,omitempty"`
}

// DensityStep is one concurrency level tried.
type DensityStep struct {
	Sessions int `json:"sessions"`
	// Ratio is transcode time ÷ media time: the median and the worst over the sessions.
	MedianRatio float64 `json:"median_ratio"`
	WorstRatio  float64 `json:"worst_ratio"`
	OK          bool    `json:"ok"`
	// Error is set when a session failed (the step does not count as sustained).
	Error string `json:"error,omitempty"`
}

// Farm is farm mode's view: the same scenarios on each node.
type Farm struct {
	Master string     `json:"master"`
	Nodes  []FarmNode `json:"nodes"`
	// FPS is the farm's aggregate throughput: frames of all jobs ÷ wall time of the whole
	// run.
	FPS     float64 `json:"aggregate_fps"`
	Seconds float64 `json:"seconds"`
	Jobs    int     `json:"jobs"`
	Failed  int     `json:"failed"`
}

// FarmNode is one worker's results.
type FarmNode struct {
	ID     string            `json:"id"`
	Name   string            `json:"name,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
	GPUs   []string          `json:"gpus,omitempty"`
	Cases  []FarmCase        `json:"cases"`
	// FPS is the node's mean fps over its completed jobs.
	FPS float64 `json:"fps"`
}

// FarmCase is one scenario's job on one node.
type FarmCase struct {
	Scenario    string `json:"scenario"`
	Job         string `json:"job"`
	Status      string `json:"status"`
	EncoderUsed string `json:"encoder_used,omitempty"`
	Frames      int64  `json:"frames,omitempty"`
	// Runs is how many jobs ran (--runs); the figures are their medians, FPSMin and FPSMax
	// the spread. Job is the last one.
	Runs    int     `json:"runs,omitempty"`
	FPS     float64 `json:"fps,omitempty"`
	FPSMin  float64 `json:"fps_min,omitempty"`
	FPSMax  float64 `json:"fps_max,omitempty"`
	Speed   float64 `json:"speed,omitempty"`
	Seconds float64 `json:"seconds,omitempty"`
	P50ms   float64 `json:"p50_ms,omitempty"`
	P95ms   float64 `json:"p95_ms,omitempty"`
	P99ms   float64 `json:"p99_ms,omitempty"`
	Error   string  `json:"error,omitempty"`
}

// BaselineCheck is the comparison with an earlier results.json.
type BaselineCheck struct {
	File      string  `json:"file"`
	Threshold float64 `json:"threshold"` // relative, 0.1 = 10 %
	// Regressions lists what got worse beyond the threshold; empty means the run passes.
	Regressions []Regression `json:"regressions"`
	// Missing names baseline cases this run did not measure.
	Missing []string `json:"missing,omitempty"`
}

// Regression is one figure that got worse.
type Regression struct {
	Case     string  `json:"case"`
	Metric   string  `json:"metric"` // "fps", "psnr", "ssim", ...
	Baseline float64 `json:"baseline"`
	Current  float64 `json:"current"`
	// Change is relative (current − baseline) ÷ baseline; negative is worse for fps.
	Change float64 `json:"change"`
	// Output names the rendition for the per-output quality metrics (psnr, ssim, vmaf).
	Output string `json:"output,omitempty"`
	// Detail says what the figures cannot: for metric "encoder", "h264_nvenc → libx264".
	Detail string `json:"detail,omitempty"`
}

// ReadResults reads a results.json, refusing another schema.
func ReadResults(path string) (*Results, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: not a results.json: %w", path, err)
	}
	if r.Schema != SchemaVersion {
		return nil, fmt.Errorf("%s: schema %q, this ffrtmp reads %q", path, r.Schema, SchemaVersion)
	}
	return &r, nil
}
