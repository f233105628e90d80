// Package table writes aligned text tables, the one way the CLI's listings and the
// benchmarks' reports lay out columns.
package table

import (
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// gap is the space between two columns.
const gap = 2

// Table is a header and rows of cells, written in columns two spaces apart, each as wide as
// its widest cell. A row shorter than the header ends in a note (a failure, say) that runs on
// past its column instead of widening it. Lines carry no trailing spaces.
type Table struct {
	Header []string
	Rows   [][]string
	// Right lists the columns aligned right (numbers); the others align left.
	Right []int
	// Width, when above 0, is the most runes a line may take: while the table is wider, its
	// widest column loses a rune, down to 4, and cells cut to fit end in "…".
	Width int
}

// New is a table with this header.
func New(header ...string) *Table { return &Table{Header: header} }

// Row appends a row.
func (t *Table) Row(cells ...string) { t.Rows = append(t.Rows, cells) }

// Write writes the header and the rows.
func (t *Table) Write(w io.Writer) error {
	widths := t.widths()
	var b strings.Builder
	t.line(&b, widths, t.Header)
	for _, r := range t.Rows {
		t.line(&b, widths, r)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// widths is each column's width: its widest cell's (a short row's note aside), cut down while
// the table is wider than Width.
func (t *Table) widths() []int {
	widths := Widths(t.Header, t.Rows)
	if t.Width <= 0 {
		return widths
	}
	total := gap * (len(widths) - 1)
	for _, n := range widths {
		total += n
	}
	for ; total > t.Width; total-- {
		widest := 0
		for i := range widths {
			if widths[i] > widths[widest] {
				widest = i
			}
		}
		if widths[widest] <= 4 {
			break
		}
		widths[widest]--
	}
	return widths
}

func (t *Table) line(b *strings.Builder, widths []int, cells []string) {
	var l strings.Builder
	for i, width := range widths {
		if i >= len(cells) {
			break
		}
		if i == len(cells)-1 && len(cells) < len(widths) {
			l.WriteString(cells[i]) // a note: it runs on
			break
		}
		cell := Fit(cells[i], width)
		pad := strings.Repeat(" ", width-utf8.RuneCountInString(cell))
		if slices.Contains(t.Right, i) {
			l.WriteString(pad + cell)
		} else {
			l.WriteString(cell + pad)
		}
		l.WriteString(strings.Repeat(" ", gap))
	}
	b.WriteString(strings.TrimRight(l.String(), " "))
	b.WriteByte('\n')
}

// Widths is each column's natural width in runes: the widest of its header and cells, where
// a row shorter than the header does not count its last cell (its note runs on).
func Widths(header []string, rows [][]string) []int {
	widths := make([]int, len(header))
	for i, h := range header {
		widths[i] = utf8.RuneCountInString(h)
	}
	for _, r := range rows {
		n := min(len(r), len(widths))
		if len(r) < len(widths) {
			n--
		}
		for i := range max(n, 0) {
			widths[i] = max(widths[i], utf8.RuneCountInString(r[i]))
		}
	}
	return widths
}

// Fit is s in at most n runes, ending in "…" when cut, with its newlines made spaces so that
// it stays on its line.
func Fit(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
