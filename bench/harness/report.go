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
	"strings"
	"time"
)

// Names of the report files WriteDir writes; the charts are named by Charts.
const (
	ResultsJSONFile = "results.json"
	ResultsCSVFile  = "results.csv"
	SummaryFile     = "summary.md"
)

// mebibyte turns byte counts into the MB of results.csv and summary.md: MiB, as NVML's
// memory figures are.
const mebibyte = 1 << 20

// WriteDir writes the reports into dir, creating it: results.json, results.csv, the SVG
// charts that have data and summary.md, which links them. It returns the paths written.
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

	type file struct {
		name string
		data []byte
	}
	files := []file{{ResultsJSONFile, js}, {ResultsCSVFile, csvBuf.Bytes()}}
	for _, c := range charts {
		files = append(files, file{c.Name, c.SVG})
	}
	files = append(files, file{SummaryFile, md.Bytes()})

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

// WriteSummary writes summary.md: the machine, the options, the cases, density, farm and
// baseline sections where they apply, and links to charts (written beside it).
func (r *Results) WriteSummary(w io.Writer, charts []Chart) error {
	var b strings.Builder
	r.summaryHeader(&b)
	r.summaryMachine(&b)
	r.summaryOptions(&b)
	r.summaryCases(&b)
	r.summaryQuality(&b)
	r.summaryRenditions(&b)
	r.summaryBDRates(&b)
	r.summaryDensity(&b)
	r.summaryFarm(&b)
	r.summaryBaseline(&b)
	if len(charts) > 0 {
		b.WriteString("\n## Charts\n\n")
		for _, c := range charts {
			fmt.Fprintf(&b, "![%s](%s)\n", c.Title, c.Name)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (r *Results) summaryHeader(b *strings.Builder) {
	title := "ffrtmp bench"
	if r.Profile != "" {
		title += " — " + r.Profile + " profile"
	}
	fmt.Fprintf(b, "# %s\n\n", title)
	if !r.Started.IsZero() {
		fmt.Fprintf(b, "Started %s", r.Started.UTC().Format(time.RFC3339))
		if !r.Finished.IsZero() {
			fmt.Fprintf(b, ", took %s", r.Finished.Sub(r.Started).Round(time.Second))
		}
		b.WriteString(".")
	}
	if len(r.Command) > 0 {
		fmt.Fprintf(b, " Command: `%s`", strings.Join(r.Command, " "))
	}
	b.WriteString("\n")
}

func (r *Results) summaryMachine(b *strings.Builder) {
	m := r.Machine
	b.WriteString("\n## Machine\n\n| | |\n|---|---|\n")
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(b, "| %s | %s |\n", k, mdCell(v))
		}
	}
	row("Host", m.Hostname)
	cpu := m.CPU
	if m.Cores > 0 {
		cpu += fmt.Sprintf(" (%d cores)", m.Cores)
	}
	row("CPU", cpu)
	if m.MemoryBytes > 0 {
		row("Memory", fmt.Sprintf("%.1f GiB", float64(m.MemoryBytes)/(1<<30)))
	}
	osArch := strings.Trim(m.OS+"/"+m.Arch, "/")
	if m.Kernel != "" {
		osArch += ", kernel " + m.Kernel
	}
	row("OS", osArch)
	var gpus []string
	for _, g := range m.GPUs {
		gpus = append(gpus, fmt.Sprintf("%d: %s (%d MiB)", g.Index, g.Name, g.MemoryMB))
	}
	row("GPUs", strings.Join(gpus, ", "))
	row("NVIDIA driver", m.Driver)
	if m.GPUIdleWatts > 0 {
		row("GPU idle draw", fmt.Sprintf("%.1f W", m.GPUIdleWatts))
	}
	row("FFmpeg", m.FFmpeg)
	row("go-astiav", m.GoAstiav)
	row("ffrtmp", m.Ffrtmp)
	row("Go", m.GoVersion)
	row("Load average", m.LoadAverage)
	if m.RAPL {
		row("CPU energy", "RAPL readable")
	} else {
		row("CPU energy", "not readable")
	}
}

func (r *Results) summaryOptions(b *strings.Builder) {
	o := r.Options
	fmt.Fprintf(b, "\n## Options\n\n%d runs per case after %d warm-up, vs ffmpeg %s, quality %s, density %s",
		o.Runs, o.Warmup, yesNo(o.VsFFmpeg), yesNo(o.Quality), yesNo(o.Density))
	if o.Threshold > 0 {
		fmt.Fprintf(b, ", regression threshold %s %%", percent(o.Threshold))
	}
	b.WriteString(".\n")
}

// summaryCases writes the table of cases; the energy, VMAF and ffmpeg columns appear only
// when some case has them.
func (r *Results) summaryCases(b *strings.Builder) {
	if len(r.Cases) == 0 {
		return
	}
	var cpuJ, gpuJ, vmaf, ff bool
	for i := range r.Cases {
		c := &r.Cases[i]
		cpuJ = cpuJ || c.CPUJoulesPerFrame != nil
		gpuJ = gpuJ || c.GPU != nil
		ff = ff || c.FFmpeg != nil
		if q := topQuality(c); q != nil && q.VMAF != nil {
			vmaf = true
		}
	}
	head := []string{"Case", "Encoder", "Source", "fps median [min–max]", "Speed", "Latency p50/p95/p99 ms", "CPU s", "Peak RSS MB"}
	if cpuJ {
		head = append(head, "CPU J/frame")
	}
	if gpuJ {
		head = append(head, "GPU util/enc %", "GPU J/frame (above idle)")
	}
	head = append(head, "PSNR dB", "SSIM")
	if vmaf {
		head = append(head, "VMAF")
	}
	if ff {
		head = append(head, "vs ffmpeg")
	}
	head = append(head, "Notes")

	b.WriteString("\n## Cases\n\n")
	writeRow(b, head)
	seps := make([]string, len(head))
	for i := range seps {
		seps[i] = "---"
		if i >= 3 && i < len(head)-1 {
			seps[i] = "--:"
		}
	}
	writeRow(b, seps)

	for i := range r.Cases {
		c := &r.Cases[i]
		src := sourceString(c.Source)
		if c.DecoderHardware != "" {
			src += ", decoded on " + c.DecoderHardware
		}
		row := []string{"`" + c.ID + "`", encoderLabel(c), src}
		if c.Skipped != "" {
			for len(row) < len(head)-1 {
				row = append(row, "—")
			}
			writeRow(b, append(row, "skipped: "+c.Skipped))
			continue
		}
		row = append(row,
			fmt.Sprintf("%s [%s–%s]", fmtNum(c.FPS.Median), fmtNum(c.FPS.Min), fmtNum(c.FPS.Max)),
			fmt.Sprintf("%.2f×", c.Speed.Median),
			fmt.Sprintf("%.2f / %.2f / %.2f", c.Latency.P50.Median, c.Latency.P95.Median, c.Latency.P99.Median),
			fmt.Sprintf("%.1f", c.CPUSeconds.Median),
			fmt.Sprintf("%.0f", c.PeakRSS.Max/mebibyte),
		)
		if cpuJ {
			row = append(row, dashUnless(c.CPUJoulesPerFrame != nil, func() string {
				return fmt.Sprintf("%.3f", c.CPUJoulesPerFrame.Median)
			}))
		}
		if gpuJ {
			g := c.GPU
			row = append(row,
				dashUnless(g != nil, func() string {
					return fmt.Sprintf("%.0f / %.0f", g.Utilization.Median, g.EncoderUtilization.Median)
				}),
				dashUnless(g != nil, func() string {
					return fmt.Sprintf("%.3f (%.3f)", g.JoulesPerFrame.Median, g.ExcessJoulesPerFrame.Median)
				}),
			)
		}
		q := topQuality(c)
		row = append(row,
			dashUnless(q != nil, func() string { return fmt.Sprintf("%.2f", q.PSNR) }),
			dashUnless(q != nil, func() string { return fmt.Sprintf("%.4f", q.SSIM) }),
		)
		if vmaf {
			row = append(row, dashUnless(q != nil && q.VMAF != nil, func() string { return fmt.Sprintf("%.1f", *q.VMAF) }))
		}
		if ff {
			switch {
			case c.FFmpeg == nil:
				row = append(row, "—")
			case c.FFmpeg.Error != "":
				row = append(row, "failed")
			default:
				row = append(row, fmt.Sprintf("%.2f× (%s fps)", c.FFmpeg.Ratio, fmtNum(c.FFmpeg.FPS.Median)))
			}
		}
		var notes []string
		if c.Error != "" {
			notes = append(notes, "error: "+c.Error)
		}
		if c.FFmpeg != nil && c.FFmpeg.Error != "" {
			notes = append(notes, "ffmpeg: "+c.FFmpeg.Error)
		}
		writeRow(b, append(row, strings.Join(notes, "; ")))
	}
	b.WriteString("\nSpeed is × realtime; latency is per-frame encode time, the median over runs of each run's percentile; MB are MiB.\n")
}

// summaryQuality lists every output's quality when some case has more than one (a ladder):
// the cases table shows only the top output.
func (r *Results) summaryQuality(b *strings.Builder) {
	ladder := false
	for i := range r.Cases {
		ladder = ladder || len(r.Cases[i].Quality) > 1
	}
	if !ladder {
		return
	}
	b.WriteString("\n### Quality per output\n\n")
	writeRow(b, []string{"Case", "Output", "Bitrate kb/s", "PSNR dB", "SSIM", "VMAF"})
	writeRow(b, []string{"---", "---", "--:", "--:", "--:", "--:"})
	for i := range r.Cases {
		c := &r.Cases[i]
		for _, q := range c.Quality {
			vmaf := "—"
			if q.VMAF != nil {
				vmaf = fmt.Sprintf("%.1f", *q.VMAF)
			}
			writeRow(b, []string{"`" + c.ID + "`", q.Output, fmt.Sprintf("%.0f", q.Bitrate/1000),
				fmt.Sprintf("%.2f", q.PSNR), fmt.Sprintf("%.4f", q.SSIM), vmaf})
		}
	}
}

// summaryRenditions lists each output's own fps, speed and encode latency when some case has
// more than one (a ladder): the cases table pools a ladder's rungs.
func (r *Results) summaryRenditions(b *strings.Builder) {
	ladder := false
	for i := range r.Cases {
		ladder = ladder || (len(r.Cases[i].Outputs) > 1 && r.Cases[i].Runs > 0)
	}
	if !ladder {
		return
	}
	b.WriteString("\n### Speed per output\n\n")
	writeRow(b, []string{"Case", "Output", "fps", "Speed", "Encode p50 ms", "p95 ms", "p99 ms"})
	writeRow(b, []string{"---", "---", "--:", "--:", "--:", "--:", "--:"})
	for i := range r.Cases {
		c := &r.Cases[i]
		for _, o := range c.Outputs {
			if o.FPS == nil || o.Latency == nil {
				continue
			}
			writeRow(b, []string{"`" + c.ID + "`", o.Name, fmtNum(o.FPS.Median), fmtNum(o.Speed.Median) + "×",
				fmtNum(o.Latency.P50.Median), fmtNum(o.Latency.P95.Median), fmtNum(o.Latency.P99.Median)})
		}
	}
}

// summaryBDRates is the table of Bjøntegaard deltas against the anchor, one row per sweep
// scenario and encoder.
func (r *Results) summaryBDRates(b *strings.Builder) {
	if len(r.BDRates) == 0 {
		return
	}
	fmt.Fprintf(b, "\n### BD-rate against %s\n\nNegative BD-rate: fewer bits than %[1]s for the same quality; positive BD-VMAF or BD-PSNR: better quality at the same bitrate.\n\n", r.BDRates[0].Anchor)
	writeRow(b, []string{"Scenario", "Encoder", "Preset", "Points", "BD-rate (VMAF)", "BD-VMAF", "BD-rate (PSNR)", "BD-PSNR dB", "fps", "Note"})
	writeRow(b, []string{"---", "---", "---", "--:", "--:", "--:", "--:", "--:", "--:", "---"})
	f := func(v *float64, unit string) string {
		if v == nil {
			return "—"
		}
		return fmt.Sprintf("%+.2f%s", *v, unit)
	}
	for _, d := range r.BDRates {
		writeRow(b, []string{d.Scenario, d.Encoder, dashIfEmpty(d.Preset), strconv.Itoa(d.Points), f(d.RateVMAF, " %"), f(d.VMAF, ""),
			f(d.RatePSNR, " %"), f(d.PSNR, ""), fmtNum(d.FPS), d.Error})
	}
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func (r *Results) summaryDensity(b *strings.Builder) {
	if len(r.Density) == 0 {
		return
	}
	b.WriteString("\n## Density\n\n")
	writeRow(b, []string{"Encoder", "Scenario", "Max sessions", "Steps (sessions: median/worst ratio)"})
	writeRow(b, []string{"---", "---", "--:", "---"})
	var limit float64
	for _, d := range r.Density {
		var steps []string
		for _, s := range d.Steps {
			mark := "✓"
			if !s.OK {
				mark = "✗"
			}
			steps = append(steps, fmt.Sprintf("%d %s %.2f/%.2f", s.Sessions, mark, s.MedianRatio, s.WorstRatio))
		}
		writeRow(b, []string{d.Encoder, d.Scenario, strconv.Itoa(d.MaxSessions), strings.Join(steps, ", ")})
		limit = d.Limit
	}
	if limit > 0 {
		fmt.Fprintf(b, "\nA count passes while the worst session's transcode time ÷ media time stays under %s.\n", trimFloat(limit))
	}
}

func (r *Results) summaryFarm(b *strings.Builder) {
	f := r.Farm
	if f == nil {
		return
	}
	fmt.Fprintf(b, "\n## Farm\n\nMaster %s: %d jobs (%d failed) in %.1f s, aggregate **%s fps**.\n\n",
		mdCell(f.Master), f.Jobs, f.Failed, f.Seconds, fmtNum(f.FPS))
	writeRow(b, []string{"Node", "GPUs", "Scenario", "Status", "Encoder", "fps", "Speed", "p95 ms", "Notes"})
	writeRow(b, []string{"---", "---", "---", "---", "---", "--:", "--:", "--:", "---"})
	for _, n := range f.Nodes {
		name := nodeLabel(n)
		gpus := strings.Join(n.GPUs, ", ")
		for _, c := range n.Cases {
			// A job that failed has no figures: a dash, not a zero.
			writeRow(b, []string{name, gpus, c.Scenario, c.Status, c.EncoderUsed,
				dashUnless(c.FPS > 0, func() string { return fmtNum(c.FPS) }),
				dashUnless(c.Speed > 0, func() string { return fmt.Sprintf("%.2f×", c.Speed) }),
				dashUnless(c.P95ms > 0, func() string { return fmt.Sprintf("%.2f", c.P95ms) }),
				c.Error})
		}
		writeRow(b, []string{name, gpus, "**node mean**", "", "", "**" + fmtNum(n.FPS) + "**", "", "", ""})
	}
}

func (r *Results) summaryBaseline(b *strings.Builder) {
	bc := r.Baseline
	if bc == nil {
		return
	}
	b.WriteString("\n## Baseline\n\n")
	if bc.File != "" {
		fmt.Fprintf(b, "Compared with `%s`. ", bc.File)
	}
	if len(bc.Regressions) == 0 {
		fmt.Fprintf(b, "No regressions beyond %s %% (PSNR %.1f dB, SSIM %.3f).\n", percent(bc.Threshold), PSNRDropLimit, SSIMDropLimit)
	} else {
		fmt.Fprintf(b, "**%d regression(s)** beyond %s %% (PSNR %.1f dB, SSIM %.3f):\n\n",
			len(bc.Regressions), percent(bc.Threshold), PSNRDropLimit, SSIMDropLimit)
		writeRow(b, []string{"Case", "Metric", "Baseline", "Current", "Change"})
		writeRow(b, []string{"---", "---", "--:", "--:", "--:"})
		for _, g := range bc.Regressions {
			metric := g.Metric
			if g.Output != "" {
				metric += " (" + g.Output + ")"
			}
			if g.Metric == MetricEncoder {
				writeRow(b, []string{"`" + g.Case + "`", metric, "", "", g.Detail})
				continue
			}
			writeRow(b, []string{"`" + g.Case + "`", metric, valueString(g.Metric, g.Baseline), valueString(g.Metric, g.Current), changeString(g)})
		}
	}
	if len(bc.Missing) > 0 {
		fmt.Fprintf(b, "\nNot measured in this run: %s.\n", "`"+strings.Join(bc.Missing, "`, `")+"`")
	}
}

// changeString shows quality in absolute units, the way its limits are set, and the rest
// relative.
func changeString(g Regression) string {
	switch g.Metric {
	case MetricPSNR, MetricVMAF:
		return fmt.Sprintf("%+.2f", g.Current-g.Baseline)
	case MetricSSIM:
		return fmt.Sprintf("%+.4f", g.Current-g.Baseline)
	}
	return fmt.Sprintf("%+.1f %%", g.Change*100)
}

func valueString(metric string, v float64) string {
	switch metric {
	case MetricSSIM:
		return fmt.Sprintf("%.4f", v)
	case MetricPSNR, MetricVMAF:
		return fmt.Sprintf("%.2f", v)
	case MetricMaxSessions:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return fmtNum(v)
}

// encoderLabel names the encoder asked for and, when it fell back, the one that ran.
func encoderLabel(c *Case) string {
	if c.EncoderUsed != "" && c.EncoderUsed != c.Encoder {
		return c.Encoder + " → " + c.EncoderUsed
	}
	return c.Encoder
}

func nodeLabel(n FarmNode) string {
	if n.Name != "" {
		return n.Name
	}
	return n.ID
}

func writeRow(b *strings.Builder, cells []string) {
	b.WriteString("|")
	for _, c := range cells {
		b.WriteString(" ")
		b.WriteString(mdCell(c))
		b.WriteString(" |")
	}
	b.WriteString("\n")
}

// mdCell keeps a value inside its table cell: a pipe or a newline would end it.
func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.Join(strings.Fields(s), " ")
}

func dashUnless(present bool, v func() string) string {
	if !present {
		return "—"
	}
	return v()
}

// fmtNum shows about three significant figures without an exponent.
func fmtNum(v float64) string {
	switch a := math.Abs(v); {
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func trimFloat(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// percent shows a fraction as a percentage to 0.1, without float noise (0.07 → "7").
func percent(v float64) string { return trimFloat(math.Round(v*1000) / 10) }

func yesNo(v bool) string {
	if v {
		return "yes"
	}
	return "no"
}
