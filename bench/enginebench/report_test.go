package enginebench

import (
	"bytes"
	"strings"
	"testing"
)

// The table's columns line up whatever the labels' lengths, numbers aligned right, and a
// missed target reads NO.
func TestWriteTableAligns(t *testing.T) {
	vs := []VariantResult{{Name: "engine", Median: 1.5, Min: 1.4, Max: 1.6}, {Name: "ffmpeg", Median: 12.25, Min: 12, Max: 13}}
	r := Report{Runs: 5, Cases: []CaseResult{{ID: "1", Variants: vs, Comparisons: []ComparisonResult{
		{ID: "1", Label: "single output", Candidate: "engine", Baseline: "ffmpeg", Ratio: 8.167, Target: 1, Pass: true, PairedRatio: 8.1, CPURatio: 7.9},
		{ID: "2a", Label: "a much longer label for a ladder", Candidate: "engine", Baseline: "ffmpeg", Ratio: 0.9, Target: 1.05, PairedRatio: 0.91, CPURatio: 1},
	}}}}
	var b bytes.Buffer
	r.WriteTable(&b)
	lines := strings.Split(b.String(), "\n")
	t.Logf("\n%s", b.String())
	head, one, two := lines[0], lines[1], lines[2]
	if !strings.HasPrefix(head, "case ") || !strings.HasPrefix(one, "1  single output ") || !strings.HasPrefix(two, "2a  a much longer label") {
		t.Fatalf("rows out of order:\n%s", b.String())
	}
	// Right-aligned: "ratio" and its values end in the same column.
	end := func(line, s string) int { return strings.Index(line, s) + len(s) }
	if end(head, "ratio") != end(one, "8.167") || end(head, "ratio") != end(two, "0.900") {
		t.Errorf("ratio column not aligned right:\n%s", b.String())
	}
	if strings.Index(one, "yes") != strings.Index(two, "NO") {
		t.Errorf("ok column not aligned:\n%s", b.String())
	}
	if !strings.Contains(lines[3], "5 runs per variant") {
		t.Errorf("notes missing after the table:\n%s", b.String())
	}
}
