package harness

import (
	"bytes"
	_ "embed"
	"html/template"
	"io"
	"strings"
)

// reportHTML lays out report.html; its <style> is the page's only styling.
//
//go:embed report.html.tmpl
var reportHTML string

var reportTemplate = template.Must(template.New("report.html").Funcs(template.FuncMap{
	"anchor": anchor,
	"svg":    inlineSVG,
}).Parse(reportHTML))

// WriteHTML writes report.html: summary.md's sections with the charts drawn in, one file
// that opens offline and can be sent on its own: no script, and nothing (style, font, image)
// loaded from elsewhere.
func (r *Results) WriteHTML(w io.Writer, charts []Chart) error {
	sections := r.sections(charts)
	var buf bytes.Buffer
	err := reportTemplate.Execute(&buf, struct {
		Head  section
		Parts []section
	}{sections[0], sections[1:]})
	if err != nil {
		return err
	}
	_, err = buf.WriteTo(w)
	return err
}

// Headed reports whether the table has a header to show (the machine's has none).
func (g *grid) Headed() bool {
	for _, h := range g.Head {
		if h != "" {
			return true
		}
	}
	return false
}

// anchor is a heading's id: "BD-rate against libx264" → "bd-rate-against-libx264".
func anchor(title string) string {
	return strings.Trim(strings.ToLower(safeName(strings.ReplaceAll(title, " ", "-"))), "-_.")
}

// inlineSVG is a chart as an element of the page: its XML declaration, which belongs to a
// file of its own, left off. The text gonum/plot draws is escaped (vgsvg escapes every
// string it writes), so the chart is markup as it stands.
func inlineSVG(c *Chart) template.HTML {
	svg := string(c.SVG)
	if i := strings.Index(svg, "<svg"); i >= 0 {
		svg = svg[i:]
	}
	return template.HTML(svg)
}
