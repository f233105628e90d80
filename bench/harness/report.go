package harness

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
)

// Names of the report files WriteDir writes; the charts are named by Charts.
const (
	ResultsJSONFile = "results.json"
	ResultsCSVFile  = "results.csv"
	SummaryFile     = "summary.md"
	ReportFile      = "report.html"
)

// mebibyte turns byte counts into the MB of results.csv and summary.md: MiB, as NVML's
// memory figures are.
const mebibyte = 1 << 20

// WriteDir writes the reports into dir, creating it: results.json, results.csv, the SVG
// charts that have data, summary.md, which links them, and report.html, the tables and
// charts in one self-contained page. It returns the paths written.
//
// Each file is written to a temporary name in dir and renamed into place, so a run that is
// interrupted never leaves a half-written file under the final name. r is not changed: an
// empty Schema is written as SchemaVersion.
func (r *Results) WriteDir(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create report directory: %w", err)
	}
	// Render everything before writing anything, so a chart that fails to draw does not
	// leave a directory with a new results.json beside an old summary.md.
	out := *r
	if out.Schema == "" {
		out.Schema = SchemaVersion
	}
	js, err := json.MarshalIndent(&out, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", ResultsJSONFile, err)
	}
	js = append(js, '\n')
	var csvBuf bytes.Buffer
	if err := r.WriteCSV(&csvBuf); err != nil {
		return nil, fmt.Errorf("encode %s: %w", ResultsCSVFile, err)
	}
	charts, err := r.Charts()
	if err != nil {
		return nil, err
	}
	var md bytes.Buffer
	if err := r.WriteSummary(&md, charts); err != nil {
		return nil, fmt.Errorf("write %s: %w", SummaryFile, err)
	}
	var page bytes.Buffer
	if err := r.WriteHTML(&page, charts); err != nil {
		return nil, fmt.Errorf("write %s: %w", ReportFile, err)
	}

	type file struct {
		name string
		data []byte
	}
	files := []file{{ResultsJSONFile, js}, {ResultsCSVFile, csvBuf.Bytes()}}
	for _, c := range charts {
		files = append(files, file{c.Name, c.SVG})
	}
	files = append(files, file{SummaryFile, md.Bytes()}, file{ReportFile, page.Bytes()})

	var written []string
	for _, f := range files {
		path := filepath.Join(dir, f.name)
		if err := writeFileAtomic(path, f.data); err != nil {
			return written, err
		}
		written = append(written, path)
	}
	return written, nil
}

// writeFileAtomic writes data to a temporary file beside path and renames it over path.
func writeFileAtomic(path string, data []byte) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// Flushed before the rename: after a crash the final name holds the old file or the
	// whole new one.
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// CreateTemp makes the file 0600; reports are for sharing.
	if err = tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// csvHeader is results.csv's first row. MB are MiB; latencies are the medians over runs of
// each run's percentile; psnr/ssim/vmaf are the case's first (top) output.
var csvHeader = []string{
	"id", "scenario", "encoder", "encoder_used", "decoder", "codec", "preset", "rate_control",
	"source", "outputs", "runs", "frames",
	"fps_min", "fps_median", "fps_max",
	"speed_min", "speed_median", "speed_max",
	"p50_ms", "p95_ms", "p99_ms",
	"cpu_seconds", "peak_rss_mb", "cpu_j_per_frame",
	"gpu_util_pct", "gpu_enc_pct", "gpu_dec_pct", "gpu_watts", "gpu_j_per_frame", "gpu_excess_j_per_frame",
	"psnr", "ssim", "vmaf",
	"ffmpeg_fps", "ffmpeg_ratio",
	"skipped", "error",
}

// WriteCSV writes results.csv: a header, then one row per case in run order. A figure the
// case does not have (a skipped case's, GPU figures without a GPU) is an empty cell.
func (r *Results) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	for i := range r.Cases {
		if err := cw.Write(csvRow(&r.Cases[i])); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func csvRow(c *Case) []string {
	row := []string{
		c.ID, c.Scenario, c.Encoder, c.EncoderUsed, c.Decoder, c.Codec, c.Preset, c.RateControl,
		sourceString(c.Source), strconv.Itoa(len(c.Outputs)),
	}
	measured := c.Skipped == ""
	fig := func(v float64) string {
		if !measured {
			return ""
		}
		return csvFloat(v)
	}
	if measured {
		row = append(row, strconv.Itoa(c.Runs), strconv.FormatInt(c.Frames, 10))
	} else {
		row = append(row, "", "")
	}
	row = append(row,
		fig(c.FPS.Min), fig(c.FPS.Median), fig(c.FPS.Max),
		fig(c.Speed.Min), fig(c.Speed.Median), fig(c.Speed.Max),
		fig(c.Latency.P50.Median), fig(c.Latency.P95.Median), fig(c.Latency.P99.Median),
		fig(c.CPUSeconds.Median), fig(math.Round(c.PeakRSS.Max/mebibyte*10)/10),
	)
	row = append(row, optional(c.CPUJoulesPerFrame != nil, func() float64 { return c.CPUJoulesPerFrame.Median }))
	g := c.GPU
	row = append(row,
		optional(g != nil, func() float64 { return g.Utilization.Median }),
		optional(g != nil, func() float64 { return g.EncoderUtilization.Median }),
		optional(g != nil, func() float64 { return g.DecoderUtilization.Median }),
		optional(g != nil, func() float64 { return g.PowerWatts.Median }),
		optional(g != nil, func() float64 { return g.JoulesPerFrame.Median }),
		optional(g != nil, func() float64 { return g.ExcessJoulesPerFrame.Median }),
	)
	q := topQuality(c)
	row = append(row,
		optional(q != nil, func() float64 { return q.PSNR }),
		optional(q != nil, func() float64 { return q.SSIM }),
		optional(q != nil && q.VMAF != nil, func() float64 { return *q.VMAF }),
	)
	ff := c.FFmpeg
	ffOK := ff != nil && ff.Error == ""
	row = append(row,
		optional(ffOK, func() float64 { return ff.FPS.Median }),
		optional(ffOK, func() float64 { return ff.Ratio }),
		c.Skipped, c.Error,
	)
	return row
}

func optional(present bool, v func() float64) string {
	if !present {
		return ""
	}
	return csvFloat(v())
}

func csvFloat(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// topQuality is the case's first quality entry: the top rendition of a ladder.
func topQuality(c *Case) *Quality {
	if len(c.Quality) == 0 {
		return nil
	}
	return &c.Quality[0]
}

// sourceString is "1920x1080@30".
func sourceString(s Source) string {
	if s.Width == 0 && s.Height == 0 {
		return ""
	}
	return fmt.Sprintf("%dx%d@%s", s.Width, s.Height, csvFloat(s.FPS))
}
