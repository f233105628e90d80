package harness

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/ffrtmp/ffrtmp/internal/stats"
)

// Chart is one rendered SVG chart.
type Chart struct {
	Name  string // file name: "fps.svg"
	Title string
	SVG   []byte
}

// Charts renders the charts the results have data for, in this order:
//   - fps.svg: median fps (min–max error bars) by source resolution, one bar per encoder;
//   - quality-<scenario>-vmaf.svg and quality-<scenario>-psnr.svg: each sweep scenario's
//     rate–quality curves, VMAF (when measured) and PSNR against measured bitrate, one
//     curve per encoder;
//   - density.svg: max concurrent realtime sessions per encoder;
//   - farm.svg: median fps per farm node.
//
// Text is measured with the Liberation fonts gonum/plot embeds, so no system font is
// needed to draw; the SVG names the font family and a viewer without it substitutes a
// metric-compatible one (Times, Arial).
func (r *Results) Charts() ([]Chart, error) {
	builders := []func(*Results) ([]chartPlot, error){
		single("fps.svg", "fps by encoder and resolution", fpsChart),
		rateQualityCharts,
		single("density.svg", "density", densityChart),
		single("farm.svg", "farm: median fps per node", farmChart),
	}
	var charts []Chart
	for _, build := range builders {
		plots, err := build(r)
		if err != nil {
			return nil, err
		}
		for _, c := range plots {
			svg, err := renderSVG(c.plot, c.width, 10*vg.Centimeter)
			if err != nil {
				return nil, fmt.Errorf("chart %s: %w", c.name, err)
			}
			charts = append(charts, Chart{Name: c.name, Title: c.title, SVG: svg})
		}
	}
	return charts, nil
}

// chartPlot is a chart drawn but not yet rendered.
type chartPlot struct {
	name, title string
	plot        *plot.Plot
	width       vg.Length
}

// single is a builder of the one chart name, absent when build returns no plot.
func single(name, title string, build func(*Results, string) (*plot.Plot, vg.Length, error)) func(*Results) ([]chartPlot, error) {
	return func(r *Results) ([]chartPlot, error) {
		p, width, err := build(r, title)
		if err != nil {
			return nil, fmt.Errorf("chart %s: %w", name, err)
		}
		if p == nil {
			return nil, nil
		}
		return []chartPlot{{name: name, title: title, plot: p, width: width}}, nil
	}
}

func renderSVG(p *plot.Plot, w, h vg.Length) (svg []byte, err error) {
	// gonum/plot reports some drawing failures (a font it cannot measure) by panicking.
	defer func() {
		if e := recover(); e != nil {
			err = fmt.Errorf("draw: %v", e)
		}
	}()
	c := vgsvg.New(w, h)
	p.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// newPlot starts a chart with a grid: only horizontal lines for bars, which vertical lines
// would cut through.
func newPlot(title, x, y string, bars bool) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Y.Min = 0
	p.Y.Tick.Marker = plainTicks{}
	p.Legend.Top = true
	grid := plotter.NewGrid()
	if bars {
		grid.Vertical.Color = nil
	}
	p.Add(grid)
	return p
}

// plainTicks are plot.DefaultTicks labelled without padding zeros: "2500", not "2500.00".
type plainTicks struct{}

// Ticks implements plot.Ticker.
func (plainTicks) Ticks(min, max float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = plainNumber(ticks[i].Value)
		}
	}
	return ticks
}

// plainNumber rounds off float noise (0.30000000000000004) and trailing zeros.
func plainNumber(v float64) string {
	s := strconv.FormatFloat(v, 'f', 6, 64)
	s = strings.TrimRight(s, "0")
	s = strings.TrimSuffix(s, ".")
	if s == "-0" {
		return "0"
	}
	return s
}

// fpsChart groups non-skipped cases by their source resolution ("1080p30"); a ladder
// case, or scenarios that share a resolution, is its own group, named by scenario.
func fpsChart(r *Results, title string) (*plot.Plot, vg.Length, error) {
	var cases []*Case
	for i := range r.Cases {
		if r.Cases[i].Skipped == "" && r.Cases[i].Runs > 0 {
			cases = append(cases, &r.Cases[i])
		}
	}
	if len(cases) == 0 {
		return nil, 0, nil
	}

	// A ladder, or a point of a sweep, is a group of its own, named by its scenario (with the
	// sweep's bitrate).
	named := func(c *Case) (string, bool) {
		name := strings.TrimSuffix(c.ID, "/"+c.Encoder)
		return name, len(c.Outputs) > 1 || name != c.Scenario
	}
	// Other scenarios that would share a resolution label are told apart by their names too.
	scenariosOf := map[string]map[string]bool{}
	for _, c := range cases {
		if _, ok := named(c); ok {
			continue
		}
		l := resolutionLabel(c)
		if scenariosOf[l] == nil {
			scenariosOf[l] = map[string]bool{}
		}
		scenariosOf[l][c.Scenario] = true
	}
	type group struct {
		label  string
		pixels int
		ladder bool
	}
	groupOf := func(c *Case) group {
		l := resolutionLabel(c)
		if name, ok := named(c); ok || len(scenariosOf[l]) > 1 {
			return group{label: name, pixels: c.Source.Width * c.Source.Height, ladder: true}
		}
		return group{label: l, pixels: c.Source.Width * c.Source.Height}
	}

	var groups []group
	var encoders []string
	for _, c := range cases {
		if g := groupOf(c); !slices.ContainsFunc(groups, func(h group) bool { return h.label == g.label }) {
			groups = append(groups, g)
		}
		if e := encoderRan(c); !slices.Contains(encoders, e) {
			encoders = append(encoders, e)
		}
	}
	// Resolutions small to large, then the scenario-named groups.
	slices.SortStableFunc(groups, func(a, b group) int {
		if a.ladder != b.ladder {
			if a.ladder {
				return 1
			}
			return -1
		}
		return cmp.Compare(a.pixels, b.pixels) // then in run order (a sweep low to high)
	})
	index := map[string]int{}
	labels := make([]string, len(groups))
	for i, g := range groups {
		index[g.label] = i
		labels[i] = g.label
	}

	p := newPlot(title, "source resolution or scenario", "fps (median of runs, frames/s)", true)
	barW := vg.Points(14)
	if len(encoders) > 4 {
		barW = vg.Points(9)
	}
	top := 0.0
	for ei, enc := range encoders {
		values := make(plotter.Values, len(groups))
		ranges := &rangeBars{Offset: barOffset(ei, len(encoders), barW), LineStyle: plotter.DefaultLineStyle}
		for _, c := range cases {
			if encoderRan(c) != enc {
				continue
			}
			gi := index[groupOf(c).label]
			values[gi] = c.FPS.Median
			ranges.add(float64(gi), c.FPS.Min, c.FPS.Max)
			top = max(top, c.FPS.Max, c.FPS.Median)
		}
		bars, err := plotter.NewBarChart(values, barW)
		if err != nil {
			return nil, 0, err
		}
		bars.Color = plotutil.Color(ei)
		bars.LineStyle.Width = 0
		bars.Offset = ranges.Offset
		p.Add(bars, ranges)
		p.Legend.Add(enc, bars)
	}
	p.NominalX(labels...)
	if slices.ContainsFunc(labels, func(l string) bool { return len(l) > 8 }) {
		// Scenario names (ladders, sweeps) are longer than a bar group is wide.
		p.X.Tick.Label.Rotation = math.Pi / 6
		p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = draw.XRight, draw.YCenter
	}
	p.X.Min, p.X.Max = -0.5, float64(len(groups))-0.5
	// Room above the bars for the legend, one line per encoder.
	p.Y.Max = top * (1.15 + 0.08*float64(len(encoders)))
	width := max(14*vg.Centimeter, 4*vg.Centimeter+vg.Length(len(groups))*(vg.Length(len(encoders))*barW+vg.Points(24)))
	return p, width, nil
}

// barOffset centres n bars of width w on their group's tick.
func barOffset(i, n int, w vg.Length) vg.Length {
	return (vg.Length(i) - vg.Length(n-1)/2) * w
}

// resolutionLabel is "1080p30": the height of the case's top output (the source's without
// outputs) and the source frame rate.
func resolutionLabel(c *Case) string {
	h := c.Source.Height
	if len(c.Outputs) > 0 && c.Outputs[0].Height > 0 {
		h = c.Outputs[0].Height
	}
	return strconv.Itoa(h) + "p" + strconv.FormatFloat(c.Source.FPS, 'f', -1, 64)
}

// rdMetric is a quality measure a rate–quality chart plots against bitrate.
type rdMetric struct {
	file, name, axis string
	// pad is the headroom above and below the curves, in the metric's units.
	pad   float64
	value func(*Quality) (float64, bool)
}

var rdMetrics = []rdMetric{
	{"vmaf", "VMAF", "VMAF", 3, func(q *Quality) (float64, bool) {
		if q.VMAF == nil {
			return 0, false
		}
		return *q.VMAF, true
	}},
	{"psnr", "PSNR", "PSNR (dB)", 1, func(q *Quality) (float64, bool) { return q.PSNR, q.PSNR > 0 }},
}

// rdCurve is one encoder's (and preset's) points over a sweep scenario.
type rdCurve struct {
	encoder, preset string
	points          []*Quality
}

// rateQualityCharts draws, for each sweep scenario in the order the scenarios ran, a chart
// per metric the sweep measured: VMAF (with --vmaf) and PSNR against the measured bitrate,
// one curve per encoder, the points its BD-rate is computed from. An encoder that ran the
// sweep with several presets has a curve per preset.
func rateQualityCharts(r *Results) ([]chartPlot, error) {
	var scenarios []string
	curves := map[string][]*rdCurve{}
	for i := range r.Cases {
		c := &r.Cases[i]
		q := sweepPoint(c)
		if q == nil {
			continue
		}
		if _, ok := curves[c.Scenario]; !ok {
			scenarios = append(scenarios, c.Scenario)
		}
		enc := encoderRan(c)
		k := slices.IndexFunc(curves[c.Scenario], func(rc *rdCurve) bool { return rc.encoder == enc && rc.preset == c.Preset })
		if k < 0 {
			k = len(curves[c.Scenario])
			curves[c.Scenario] = append(curves[c.Scenario], &rdCurve{encoder: enc, preset: c.Preset})
		}
		curves[c.Scenario][k].points = append(curves[c.Scenario][k].points, q)
	}
	var plots []chartPlot
	taken := map[string]bool{}
	for _, sc := range scenarios {
		for _, m := range rdMetrics {
			name := "quality-" + safeName(sc) + "-" + m.file
			for n := 2; taken[name+".svg"]; n++ {
				name = fmt.Sprintf("quality-%s-%d-%s", safeName(sc), n, m.file)
			}
			title := sc + ": " + m.name + " vs bitrate"
			p, err := rateQualityChart(title, m, curves[sc])
			if err != nil {
				return nil, fmt.Errorf("chart %s.svg: %w", name, err)
			}
			if p != nil {
				taken[name+".svg"] = true
				plots = append(plots, chartPlot{name: name + ".svg", title: title, plot: p, width: 16 * vg.Centimeter})
			}
		}
	}
	return plots, nil
}

// rateQualityChart draws m against bitrate, a line per curve; nil when no point has m.
func rateQualityChart(title string, m rdMetric, curves []*rdCurve) (*plot.Plot, error) {
	presets := map[string]map[string]bool{}
	for _, c := range curves {
		if presets[c.encoder] == nil {
			presets[c.encoder] = map[string]bool{}
		}
		presets[c.encoder][c.preset] = true
	}
	p := newPlot(title, "bitrate (kb/s, measured)", m.axis, false)
	p.X.Tick.Marker = plainTicks{}
	lo, hi, right := math.Inf(1), 0.0, 0.0
	lines := 0
	for _, c := range curves {
		var xys plotter.XYs
		for _, q := range c.points {
			if v, ok := m.value(q); ok {
				xys = append(xys, plotter.XY{X: q.Bitrate / 1000, Y: v})
				lo, hi, right = min(lo, v), max(hi, v), max(right, q.Bitrate/1000)
			}
		}
		if len(xys) == 0 {
			continue
		}
		sort.SliceStable(xys, func(a, b int) bool { return xys[a].X < xys[b].X })
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, err
		}
		line.Color = plotutil.Color(lines)
		points.Color = plotutil.Color(lines)
		points.Shape = plotutil.Shape(lines)
		p.Add(line, points)
		label := c.encoder
		if len(presets[c.encoder]) > 1 {
			label += " (preset " + dashIfEmpty(c.preset) + ")"
		}
		p.Legend.Add(label, line, points)
		lines++
	}
	if lines == 0 {
		return nil, nil
	}
	// Quality lives in a narrow band; zero-based it would be a flat line. Above the curves,
	// room for the legend, a line per curve.
	p.Y.Min = max(0, lo-3*m.pad)
	p.Y.Max = hi + m.pad*(1+0.6*float64(lines))
	// Room right of the last point, so its glyph is not cut by the edge.
	p.X.Min, p.X.Max = 0, right*1.08
	// Quality rises with bitrate: the top left is where the curves are not.
	p.Legend.Top, p.Legend.Left = true, true
	return p, nil
}

// fullSize reports whether output name of c is at the source's size: a smaller rung is
// scored after scaling back up, a point on another curve than the encoder's own.
func fullSize(c *Case, name string) bool {
	for _, o := range c.Outputs {
		if o.Name == name {
			return (o.Height == 0 || o.Height == c.Source.Height) && (o.Width == 0 || o.Width == c.Source.Width)
		}
	}
	return false
}

func densityChart(r *Results, title string) (*plot.Plot, vg.Length, error) {
	if len(r.Density) == 0 {
		return nil, 0, nil
	}
	scenarios := map[string]bool{}
	for _, d := range r.Density {
		scenarios[d.Scenario] = true
	}
	labels := make([]string, len(r.Density))
	values := make(plotter.Values, len(r.Density))
	for i, d := range r.Density {
		labels[i] = d.Encoder
		if len(scenarios) > 1 {
			labels[i] += " (" + d.Scenario + ")"
		}
		values[i] = float64(d.MaxSessions)
	}
	return simpleBars(title, "encoder", "max concurrent realtime sessions", labels, values)
}

// farmChart shows each node's median fps over its completed jobs.
func farmChart(r *Results, title string) (*plot.Plot, vg.Length, error) {
	if r.Farm == nil {
		return nil, 0, nil
	}
	var labels []string
	var values plotter.Values
	for _, n := range r.Farm.Nodes {
		var fps []float64
		for _, c := range n.Cases {
			if c.Error == "" && c.FPS > 0 {
				fps = append(fps, c.FPS)
			}
		}
		if len(fps) == 0 {
			continue
		}
		labels = append(labels, nodeLabel(n))
		values = append(values, stats.Median(fps))
	}
	if len(values) == 0 {
		return nil, 0, nil
	}
	return simpleBars(title, "node", "fps (median of jobs, frames/s)", labels, values)
}

func simpleBars(title, x, y string, labels []string, values plotter.Values) (*plot.Plot, vg.Length, error) {
	p := newPlot(title, x, y, true)
	bars, err := plotter.NewBarChart(values, vg.Points(24))
	if err != nil {
		return nil, 0, err
	}
	bars.Color = plotutil.Color(0)
	bars.LineStyle.Width = 0
	// The value above each bar: what a reader of a density or farm chart wants to quote.
	onTop := plotter.XYLabels{XYs: make(plotter.XYs, len(values)), Labels: make([]string, len(values))}
	for i, v := range values {
		onTop.XYs[i] = plotter.XY{X: float64(i), Y: v}
		onTop.Labels[i] = fmtNum(v)
		if v == math.Trunc(v) {
			onTop.Labels[i] = strconv.FormatFloat(v, 'f', 0, 64)
		}
	}
	valueLabels, err := plotter.NewLabels(onTop)
	if err != nil {
		return nil, 0, err
	}
	for i := range valueLabels.TextStyle {
		valueLabels.TextStyle[i].XAlign = text.XCenter
		valueLabels.TextStyle[i].YAlign = text.YBottom
	}
	valueLabels.Offset = vg.Point{Y: vg.Points(2)}
	p.Add(bars, valueLabels)
	p.NominalX(labels...)
	p.X.Min, p.X.Max = -0.5, float64(len(labels))-0.5
	p.Y.Max = max(1, slices.Max(values)*1.15)
	return p, max(12*vg.Centimeter, vg.Length(len(labels))*2.5*vg.Centimeter), nil
}

// rangeBars draws min–max whiskers at bar positions. plotter.YErrorBars cannot be shifted
// by a bar's Offset, which grouped bars need.
type rangeBars struct {
	X, Low, High []float64
	Offset       vg.Length
	draw.LineStyle
}

func (b *rangeBars) add(x, low, high float64) {
	b.X = append(b.X, x)
	b.Low = append(b.Low, low)
	b.High = append(b.High, high)
}

// Plot implements plot.Plotter.
func (b *rangeBars) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	capW := vg.Points(3)
	for i := range b.X {
		if b.High[i] <= b.Low[i] {
			continue
		}
		x := trX(b.X[i]) + b.Offset
		lo, hi := trY(b.Low[i]), trY(b.High[i])
		c.StrokeLine2(b.LineStyle, x, lo, x, hi)
		c.StrokeLine2(b.LineStyle, x-capW, lo, x+capW, lo)
		c.StrokeLine2(b.LineStyle, x-capW, hi, x+capW, hi)
	}
}

// DataRange implements plot.DataRanger, so the axis reaches the top whisker.
func (b *rangeBars) DataRange() (xmin, xmax, ymin, ymax float64) {
	if len(b.X) == 0 {
		return 0, 0, 0, 0
	}
	return slices.Min(b.X), slices.Max(b.X), slices.Min(b.Low), slices.Max(b.High)
}
