package harness

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// The reports' content is built once, as sections of paragraphs, tables and charts, and
// written twice: as Markdown (summary.md) and as HTML (report.html). Fields are exported for
// html/template.

// section is a heading and what follows it.
type section struct {
	Title string
	// Level is 1 for the report's title, 2 for a part, 3 for a part within a part.
	Level  int
	Blocks []block
}

// block is one of a paragraph (Text), a table or a chart.
type block struct {
	Text  []span
	Table *grid
	Chart *Chart
}

// span is a run of a paragraph's text, shown as code (an identifier, a command) or strong
// where set.
type span struct {
	Text         string
	Code, Strong bool
}

// grid is a table.
type grid struct {
	Head []string
	// Align has an 'r' for each column aligned right (figures), an 'l' for the others.
	Align string
	// IDs says the first column holds identifiers (case IDs), shown as code.
	IDs  bool
	Rows []gridRow
}

// gridRow is a table's row; a Total row (a sum, a mean) is shown strong.
type gridRow struct {
	Cells []string
	Total bool
}

func (g *grid) row(cells ...string) { g.Rows = append(g.Rows, gridRow{Cells: cells}) }

// Right reports whether column i is aligned right.
func (g *grid) Right(i int) bool { return i < len(g.Align) && g.Align[i] == 'r' }

// Code reports whether column i is shown as code.
func (g *grid) Code(i int) bool { return i == 0 && g.IDs }

func plain(format string, args ...any) span { return span{Text: fmt.Sprintf(format, args...)} }
func code(s string) span                    { return span{Text: s, Code: true} }
func strong(s string) span                  { return span{Text: s, Strong: true} }
func paragraph(spans ...span) block         { return block{Text: spans} }
func tableOf(g *grid) block                 { return block{Table: g} }

// sections is the reports' content: the machine, the options, the cases, BD-rates,
// density, farm and baseline where they apply, and the charts.
func (r *Results) sections(charts []Chart) []section {
	var out []section
	for _, s := range []func() []section{
		r.summaryHeader, r.summaryMachine, r.summaryOptions, r.summaryCases, r.summaryQuality,
		r.summaryRenditions, r.summaryBDRates, r.summaryDensity, r.summaryFarm, r.summaryBaseline,
	} {
		out = append(out, s()...)
	}
	if len(charts) > 0 {
		s := section{Title: "Charts", Level: 2}
		for i := range charts {
			s.Blocks = append(s.Blocks, block{Chart: &charts[i]})
		}
		out = append(out, s)
	}
	return out
}

// title is the report's title.
func (r *Results) title() string {
	title := "ffrtmp bench"
	if r.Profile != "" {
		title += " — " + r.Profile + " profile"
	}
	return title
}

func (r *Results) summaryHeader() []section {
	s := section{Title: r.title(), Level: 1}
	var p []span
	if !r.Started.IsZero() {
		when := "Started " + r.Started.UTC().Format(time.RFC3339)
		if !r.Finished.IsZero() {
			when += ", took " + r.Finished.Sub(r.Started).Round(time.Second).String()
		}
		p = append(p, plain("%s.", when))
	}
	if len(r.Command) > 0 {
		p = append(p, plain(" Command: "), code(strings.Join(r.Command, " ")))
	}
	if len(p) > 0 {
		s.Blocks = append(s.Blocks, paragraph(p...))
	}
	return []section{s}
}

func (r *Results) summaryMachine() []section {
	m := r.Machine
	g := &grid{Head: []string{"", ""}}
	row := func(k, v string) {
		if v != "" {
			g.row(k, v)
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
	return []section{{Title: "Machine", Level: 2, Blocks: []block{tableOf(g)}}}
}

func (r *Results) summaryOptions() []section {
	o := r.Options
	p := fmt.Sprintf("%d runs per case after %d warm-up, vs ffmpeg %s, quality %s, density %s",
		o.Runs, o.Warmup, yesNo(o.VsFFmpeg), yesNo(o.Quality), yesNo(o.Density))
	if o.Threshold > 0 {
		p += fmt.Sprintf(", regression threshold %s %%", percent(o.Threshold))
	}
	return []section{{Title: "Options", Level: 2, Blocks: []block{paragraph(plain("%s.", p))}}}
}

// summaryCases is the table of cases; the energy, VMAF and ffmpeg columns appear only when
// some case has them.
func (r *Results) summaryCases() []section {
	if len(r.Cases) == 0 {
		return nil
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
	g := &grid{Head: head, IDs: true, Align: "lll" + strings.Repeat("r", len(head)-4) + "l"}

	for i := range r.Cases {
		c := &r.Cases[i]
		src := sourceString(c.Source)
		if c.DecoderHardware != "" {
			src += ", decoded on " + c.DecoderHardware
		}
		row := []string{c.ID, encoderLabel(c), src}
		if c.Skipped != "" {
			for len(row) < len(head)-1 {
				row = append(row, "—")
			}
			g.row(append(row, "skipped: "+c.Skipped)...)
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
			gu := c.GPU
			row = append(row,
				dashUnless(gu != nil, func() string {
					return fmt.Sprintf("%.0f / %.0f", gu.Utilization.Median, gu.EncoderUtilization.Median)
				}),
				dashUnless(gu != nil, func() string {
					return fmt.Sprintf("%.3f (%.3f)", gu.JoulesPerFrame.Median, gu.ExcessJoulesPerFrame.Median)
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
		g.row(append(row, strings.Join(notes, "; "))...)
	}
	return []section{{Title: "Cases", Level: 2, Blocks: []block{tableOf(g),
		paragraph(plain("Speed is × realtime; latency is per-frame encode time, the median over runs of each run's percentile; MB are MiB."))}}}
}

// summaryQuality lists every output's quality when some case has more than one (a ladder):
// the cases table shows only the top output.
func (r *Results) summaryQuality() []section {
	ladder := false
	for i := range r.Cases {
		ladder = ladder || len(r.Cases[i].Quality) > 1
	}
	if !ladder {
		return nil
	}
	g := &grid{Head: []string{"Case", "Output", "Bitrate kb/s", "PSNR dB", "SSIM", "VMAF"}, IDs: true, Align: "llrrrr"}
	for i := range r.Cases {
		c := &r.Cases[i]
		for _, q := range c.Quality {
			vmaf := "—"
			if q.VMAF != nil {
				vmaf = fmt.Sprintf("%.1f", *q.VMAF)
			}
			g.row(c.ID, q.Output, fmt.Sprintf("%.0f", q.Bitrate/1000), fmt.Sprintf("%.2f", q.PSNR), fmt.Sprintf("%.4f", q.SSIM), vmaf)
		}
	}
	return []section{{Title: "Quality per output", Level: 3, Blocks: []block{tableOf(g)}}}
}

// summaryRenditions lists each output's own fps, speed and encode latency when some case has
// more than one (a ladder) that was measured: the cases table pools a ladder's rungs.
func (r *Results) summaryRenditions() []section {
	g := &grid{Head: []string{"Case", "Output", "fps", "Speed", "Encode p50 ms", "p95 ms", "p99 ms"}, IDs: true, Align: "llrrrrr"}
	for i := range r.Cases {
		c := &r.Cases[i]
		if len(c.Outputs) < 2 || c.Runs == 0 {
			continue
		}
		for _, o := range c.Outputs {
			if o.FPS == nil || o.Speed == nil || o.Latency == nil {
				continue
			}
			g.row(c.ID, o.Name, fmtNum(o.FPS.Median), fmtNum(o.Speed.Median)+"×",
				fmtNum(o.Latency.P50.Median), fmtNum(o.Latency.P95.Median), fmtNum(o.Latency.P99.Median))
		}
	}
	if len(g.Rows) == 0 {
		return nil
	}
	return []section{{Title: "Speed per output", Level: 3, Blocks: []block{tableOf(g)}}}
}

// summaryBDRates is the table of Bjøntegaard deltas against the anchor, one row per sweep
// scenario and encoder.
func (r *Results) summaryBDRates() []section {
	if len(r.BDRates) == 0 {
		return nil
	}
	anchor := r.BDRates[0].Anchor
	g := &grid{Head: []string{"Scenario", "Encoder", "Preset", "Points", "BD-rate (VMAF)", "BD-VMAF", "BD-rate (PSNR)", "BD-PSNR dB", "fps", "Note"},
		Align: "lllrrrrrrl"}
	f := func(v *float64, unit string) string {
		if v == nil {
			return "—"
		}
		return fmt.Sprintf("%+.2f%s", *v, unit)
	}
	for _, d := range r.BDRates {
		g.row(d.Scenario, d.Encoder, dashIfEmpty(d.Preset), strconv.Itoa(d.Points), f(d.RateVMAF, " %"), f(d.VMAF, ""),
			f(d.RatePSNR, " %"), f(d.PSNR, ""), fmtNum(d.FPS), d.Error)
	}
	return []section{{Title: "BD-rate against " + anchor, Level: 3, Blocks: []block{
		paragraph(plain("Negative BD-rate: fewer bits than %s for the same quality; positive BD-VMAF or BD-PSNR: better quality at the same bitrate.", anchor)),
		tableOf(g),
	}}}
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func (r *Results) summaryDensity() []section {
	if len(r.Density) == 0 {
		return nil
	}
	g := &grid{Head: []string{"Encoder", "Scenario", "Max sessions", "Steps (sessions: median/worst ratio)"}, Align: "llrl"}
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
		g.row(d.Encoder, d.Scenario, strconv.Itoa(d.MaxSessions), strings.Join(steps, ", "))
		limit = d.Limit
	}
	s := section{Title: "Density", Level: 2, Blocks: []block{tableOf(g)}}
	if limit > 0 {
		s.Blocks = append(s.Blocks, paragraph(plain("A count passes while the worst session's transcode time ÷ media time stays under %s.", trimFloat(limit))))
	}
	return []section{s}
}

func (r *Results) summaryFarm() []section {
	f := r.Farm
	if f == nil {
		return nil
	}
	g := &grid{Head: []string{"Node", "GPUs", "Scenario", "Status", "Encoder", "fps", "Speed", "p95 ms", "Notes"}, Align: "lllllrrrl"}
	for _, n := range f.Nodes {
		name := nodeLabel(n)
		gpus := strings.Join(n.GPUs, ", ")
		for _, c := range n.Cases {
			// A job that failed has no figures: a dash, not a zero.
			g.row(name, gpus, c.Scenario, c.Status, c.EncoderUsed,
				dashUnless(c.FPS > 0, func() string { return fmtNum(c.FPS) }),
				dashUnless(c.Speed > 0, func() string { return fmt.Sprintf("%.2f×", c.Speed) }),
				dashUnless(c.P95ms > 0, func() string { return fmt.Sprintf("%.2f", c.P95ms) }),
				c.Error)
		}
		g.Rows = append(g.Rows, gridRow{Cells: []string{name, gpus, "node mean", "", "", fmtNum(n.FPS), "", "", ""}, Total: true})
	}
	return []section{{Title: "Farm", Level: 2, Blocks: []block{
		paragraph(plain("Master %s: %d jobs (%d failed) in %.1f s, aggregate ", f.Master, f.Jobs, f.Failed, f.Seconds),
			strong(fmtNum(f.FPS)+" fps"), plain(".")),
		tableOf(g),
	}}}
}

func (r *Results) summaryBaseline() []section {
	bc := r.Baseline
	if bc == nil {
		return nil
	}
	s := section{Title: "Baseline", Level: 2}
	var p []span
	if bc.File != "" {
		p = append(p, plain("Compared with "), code(bc.File), plain(". "))
	}
	limits := fmt.Sprintf("beyond %s %% (PSNR %.1f dB, SSIM %.3f)", percent(bc.Threshold), PSNRDropLimit, SSIMDropLimit)
	if len(bc.Regressions) == 0 {
		s.Blocks = append(s.Blocks, paragraph(append(p, plain("No regressions %s.", limits))...))
	} else {
		s.Blocks = append(s.Blocks, paragraph(append(p, strong(fmt.Sprintf("%d regression(s)", len(bc.Regressions))), plain(" %s:", limits))...))
		g := &grid{Head: []string{"Case", "Metric", "Baseline", "Current", "Change"}, IDs: true, Align: "llrrr"}
		for _, reg := range bc.Regressions {
			metric := reg.Metric
			if reg.Output != "" {
				metric += " (" + reg.Output + ")"
			}
			if reg.Metric == MetricEncoder {
				g.row(reg.Case, metric, "", "", reg.Detail)
				continue
			}
			g.row(reg.Case, metric, valueString(reg.Metric, reg.Baseline), valueString(reg.Metric, reg.Current), changeString(reg))
		}
		s.Blocks = append(s.Blocks, tableOf(g))
	}
	if len(bc.Missing) > 0 {
		p := []span{plain("Not measured in this run: ")}
		for i, id := range bc.Missing {
			if i > 0 {
				p = append(p, plain(", "))
			}
			p = append(p, code(id))
		}
		s.Blocks = append(s.Blocks, paragraph(append(p, plain("."))...))
	}
	return []section{s}
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
