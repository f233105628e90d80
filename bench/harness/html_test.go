package harness

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// readReport reads a report.html, checks that every element it opens it closes, in order,
// and parses it.
func readReport(t *testing.T, path string) (raw string, doc *html.Node) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	void := []string{"meta", "br", "hr", "img", "input", "link", "col", "wbr"}
	var open []string
	z := html.NewTokenizer(bytes.NewReader(b))
	for tt := z.Next(); tt != html.ErrorToken; tt = z.Next() {
		name, _ := z.TagName()
		switch tt {
		case html.StartTagToken:
			if !slices.Contains(void, string(name)) {
				open = append(open, string(name))
			}
		case html.EndTagToken:
			if len(open) == 0 || open[len(open)-1] != string(name) {
				t.Fatalf("report.html closes </%s> with %v open", name, open)
			}
			open = open[:len(open)-1]
		}
	}
	if err := z.Err(); !errors.Is(err, io.EOF) {
		t.Fatalf("report.html: %v", err)
	}
	if len(open) > 0 {
		t.Fatalf("report.html leaves %v open", open)
	}
	doc, err = html.Parse(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if doc.FirstChild == nil || doc.FirstChild.Type != html.DoctypeNode || doc.FirstChild.Data != "html" {
		t.Errorf("report.html does not start with <!DOCTYPE html>")
	}
	return string(b), doc
}

// elements is every element of n's tree named name, in document order.
func elements(n *html.Node, name string) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == name {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

// textOf is the text a reader sees in n, its spaces collapsed.
func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
			b.WriteString(" ")
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

// htmlTables is each table's body rows as their cells' text.
func htmlTables(doc *html.Node) [][][]string {
	var tables [][][]string
	for _, tb := range elements(doc, "tbody") {
		var rows [][]string
		for _, tr := range elements(tb, "tr") {
			var cells []string
			for _, td := range elements(tr, "td") {
				cells = append(cells, textOf(td))
			}
			rows = append(rows, cells)
		}
		tables = append(tables, rows)
	}
	return tables
}

// markdownTables is each table of a Markdown file, its rows below the separator as the
// cells' text (code and strong marks taken off).
func markdownTables(md string) [][][]string {
	var tables [][][]string
	var rows [][]string
	inBody := false
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			if rows != nil || inBody {
				tables = append(tables, rows)
			}
			rows, inBody = nil, false
			continue
		}
		if strings.HasPrefix(line, "| --") || strings.HasPrefix(line, "|---") {
			inBody = true
			continue
		}
		if !inBody {
			continue
		}
		line = strings.ReplaceAll(line, `\|`, "\x00")
		parts := strings.Split(strings.Trim(line, "|"), "|")
		cells := make([]string, len(parts))
		for i, p := range parts {
			p = strings.TrimSpace(strings.ReplaceAll(p, "\x00", "|"))
			p = strings.TrimSuffix(strings.TrimPrefix(p, "`"), "`")
			p = strings.TrimSuffix(strings.TrimPrefix(p, "**"), "**")
			cells[i] = strings.Join(strings.Fields(p), " ")
		}
		rows = append(rows, cells)
	}
	return tables
}

// rowOf is the row of a table whose first cells are first.
func rowOf(tables [][][]string, first ...string) []string {
	for _, tb := range tables {
		for _, row := range tb {
			if len(row) >= len(first) && slices.Equal(row[:len(first)], first) {
				return row
			}
		}
	}
	return nil
}

// report.html holds summary.md's tables, cell for cell, its headings, and every chart
// drawn in, and loads nothing from anywhere: it opens offline, sent on its own.
func TestReportHTML(t *testing.T) {
	dir, r, _ := writeSample(t)
	raw, doc := readReport(t, filepath.Join(dir, "report.html"))

	if titles := elements(doc, "title"); len(titles) != 1 || textOf(titles[0]) != "ffrtmp bench — full profile" {
		t.Errorf("title: %v", titles)
	}
	var h2, h3 []string
	for _, h := range elements(doc, "h2") {
		h2 = append(h2, textOf(h))
	}
	for _, h := range elements(doc, "h3") {
		h3 = append(h3, textOf(h))
	}
	if want := []string{"Machine", "Options", "Cases", "Density", "Farm", "Baseline", "Charts"}; !slices.Equal(h2, want) {
		t.Errorf("h2 headings %q, want %q", h2, want)
	}
	if want := []string{"Quality per output", "Speed per output", "BD-rate against libx264"}; !slices.Equal(h3, want) {
		t.Errorf("h3 headings %q, want %q", h3, want)
	}

	// The same tables as summary.md.
	md, err := os.ReadFile(filepath.Join(dir, "summary.md"))
	if err != nil {
		t.Fatal(err)
	}
	tables, mdTables := htmlTables(doc), markdownTables(string(md))
	if len(tables) != len(mdTables) || len(tables) < 8 {
		t.Fatalf("report.html has %d tables, summary.md %d", len(tables), len(mdTables))
	}
	for i := range tables {
		if !slices.EqualFunc(tables[i], mdTables[i], slices.Equal) {
			t.Errorf("table %d:\nreport.html %q\nsummary.md  %q", i, tables[i], mdTables[i])
		}
	}
	// Spot checks on what readers quote.
	for _, tc := range []struct {
		first []string
		want  []string
	}{
		{[]string{"CPU"}, []string{"AMD EPYC 9454 48-Core Processor (96 cores)"}},
		{[]string{"1080p30-cbr/libx264", "libx264"}, []string{"248 [242–251]", "8.28×", "3.20 / 5.75 / 8.25", "41.25", "1.05× (236 fps)"}},
		{[]string{"1080p30-cbr/h264_nvenc", "h264_nvenc"}, []string{"1204 [1180–1220]", "35 / 88"}},
		{[]string{"ladder-720p-3/libx264", "480p", "185"}, []string{"6.17×", "1.25", "2.00", "2.75"}},
		{[]string{"rd-1080p", "libx265", "veryfast", "3"}, []string{"-20.00 %", "+3.38", "+0.97", "23.5"}},
		{[]string{"h264_nvenc", "1080p30-cbr"}, []string{"24"}},
		{[]string{"gpu-node-1", "NVIDIA L4", "node mean"}, []string{"1150"}},
		{[]string{"1080p30-cbr/libx264", "fps"}, []string{"320", "248", "-22.4 %"}},
	} {
		row := rowOf(tables, tc.first...)
		for _, w := range tc.want {
			if !slices.Contains(row, w) {
				t.Errorf("row %q: %q lacks %q", tc.first, row, w)
			}
		}
	}
	if page := textOf(doc); !strings.Contains(page, "aggregate 1650 fps") || !strings.Contains(page, "Not measured in this run: 1080p30-cbr/hevc_nvenc") {
		t.Errorf("report.html lacks the farm or baseline text")
	}

	// Every chart, drawn in.
	charts, err := r.Charts()
	if err != nil {
		t.Fatal(err)
	}
	svgs := elements(doc, "svg")
	if len(svgs) != len(charts) || len(svgs) != 5 {
		t.Fatalf("%d <svg> in report.html, %d charts", len(svgs), len(charts))
	}
	for i, c := range charts {
		if got := textOf(svgs[i]); !strings.HasPrefix(got, c.Title) {
			t.Errorf("svg %d starts %.60q, want chart %s", i, got, c.Name)
		}
	}
	if vmaf := textOf(svgs[1]); !strings.Contains(vmaf, "rd-1080p: VMAF vs bitrate") || !strings.Contains(vmaf, "libx265") {
		t.Errorf("second chart: %q", vmaf)
	}

	// Nothing from elsewhere.
	checkSelfContained(t, doc)
	if strings.Contains(raw, "<?xml") {
		t.Errorf("an XML declaration left inside the page")
	}
}

// checkSelfContained fails on anything a browser would fetch or run: scripts, external
// style sheets, images, frames, a link to another file or site, a url() in a style.
func checkSelfContained(t *testing.T, doc *html.Node) {
	t.Helper()
	ids := map[string]bool{}
	var links []string
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.DataAtom {
			case atom.Script, atom.Link, atom.Img, atom.Iframe, atom.Object, atom.Embed, atom.Base,
				atom.Audio, atom.Video, atom.Source, atom.Image, atom.Form:
				t.Errorf("report.html has a <%s> element", n.Data)
			case atom.Style:
				if css := textOf(n); strings.Contains(css, "url(") || strings.Contains(css, "@import") {
					t.Errorf("the style sheet loads from elsewhere: %q", css)
				}
			}
			for _, a := range n.Attr {
				switch key := strings.ToLower(a.Key); {
				case key == "id":
					ids[a.Val] = true
				case key == "href" || key == "src" || key == "srcset" || key == "action" || key == "poster" || key == "data":
					if !strings.HasPrefix(a.Val, "#") {
						t.Errorf("<%s %s=%q> points out of the page", n.Data, a.Key, a.Val)
					}
					links = append(links, strings.TrimPrefix(a.Val, "#"))
				case strings.HasPrefix(key, "on"):
					t.Errorf("<%s %s> runs script", n.Data, a.Key)
				case key == "style" && strings.Contains(a.Val, "url("):
					t.Errorf("<%s style=%q> loads from elsewhere", n.Data, a.Val)
				case strings.Contains(a.Val, "://") && !strings.HasPrefix(key, "xmlns") && a.Namespace != "xmlns":
					t.Errorf("<%s %s=%q> names another site", n.Data, a.Key, a.Val)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	for _, l := range links {
		if !ids[l] {
			t.Errorf("link to #%s, which no element has", l)
		}
	}
}

// Names come from scenario files and machines: a hostile one shows as text in the tables
// and charts, and never becomes markup.
func TestReportHTMLEscapesNames(t *testing.T) {
	const script, img = `<script>alert(1)</script>`, `<img src=x onerror=alert(1)>`
	r := sampleResults()
	r.Machine.Hostname = script
	for i := range r.Cases {
		c := &r.Cases[i]
		if c.Scenario == "rd-1080p" {
			c.Scenario = script
			c.ID = strings.Replace(c.ID, "rd-1080p", script, 1)
		}
		if c.Encoder == "libx265" {
			c.ID = strings.TrimSuffix(c.ID, "libx265") + img
			c.Encoder = img
		}
	}
	r.BDRates = BDRates(r, "libx264")
	dir := t.TempDir()
	if _, err := r.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	raw, doc := readReport(t, filepath.Join(dir, "report.html"))
	if strings.Contains(raw, "<script") || strings.Contains(raw, "<img") {
		t.Errorf("a name became markup in report.html")
	}
	checkSelfContained(t, doc)

	tables := htmlTables(doc)
	if row := rowOf(tables, "Host"); !slices.Contains(row, script) {
		t.Errorf("host row %q, want the name as text", row)
	}
	if row := rowOf(tables, script, img); !slices.Contains(row, "-20.00 %") {
		t.Errorf("BD-rate row of the hostile sweep and encoder: %q", row)
	}
	if row := rowOf(tables, script+"@1M/"+img, img); row == nil {
		t.Errorf("no cases row for %s", script+"@1M/"+img)
	}
	var vmaf string
	for _, svg := range elements(doc, "svg") {
		if s := textOf(svg); strings.HasPrefix(s, script+": VMAF vs bitrate") {
			vmaf = s
		}
	}
	if !strings.Contains(vmaf, img) {
		t.Errorf("the VMAF chart does not show the hostile names as text: %q", vmaf)
	}
}
