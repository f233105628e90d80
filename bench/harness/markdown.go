package harness

import (
	"io"
	"strings"
)

// WriteSummary writes summary.md: the machine, the options, the cases, density, farm and
// baseline sections where they apply, and links to charts (written beside it).
func (r *Results) WriteSummary(w io.Writer, charts []Chart) error {
	var b strings.Builder
	for i, s := range r.sections(charts) {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(strings.Repeat("#", s.Level) + " " + s.Title + "\n")
		for _, bl := range s.Blocks {
			b.WriteString("\n")
			switch {
			case bl.Table != nil:
				writeMarkdownTable(&b, bl.Table)
			case bl.Chart != nil:
				b.WriteString("![" + bl.Chart.Title + "](" + bl.Chart.Name + ")\n")
			default:
				for _, sp := range bl.Text {
					b.WriteString(markdownSpan(sp))
				}
				b.WriteString("\n")
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func markdownSpan(s span) string {
	switch {
	case s.Code:
		return "`" + s.Text + "`"
	case s.Strong:
		return "**" + s.Text + "**"
	}
	return s.Text
}

func writeMarkdownTable(b *strings.Builder, g *grid) {
	writeRow(b, g.Head)
	seps := make([]string, len(g.Head))
	for i := range seps {
		seps[i] = "---"
		if g.Right(i) {
			seps[i] = "--:"
		}
	}
	writeRow(b, seps)
	for _, row := range g.Rows {
		cells := make([]string, len(row.Cells))
		for i, c := range row.Cells {
			cells[i] = markdownSpan(span{Text: c, Code: g.Code(i), Strong: row.Total && c != ""})
		}
		writeRow(b, cells)
	}
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
