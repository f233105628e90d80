package stats

import (
	"slices"
	"testing"
	"time"
)

func TestPercentileIsNearestRank(t *testing.T) {
	ten := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	hundred := make([]float64, 100)
	for i := range hundred {
		hundred[i] = float64(i + 1)
	}
	for _, tc := range []struct {
		name   string
		sorted []float64
		q      float64
		want   float64
	}{
		{"none", nil, 0.5, 0},
		{"one sample is every percentile", []float64{7}, 0.99, 7},
		{"q 0 is the smallest", ten, 0, 1},
		{"q below the first rank is the smallest", ten, 0.01, 1},
		{"median of ten is the fifth, not interpolated", ten, 0.5, 5},
		{"a rank just past a sample takes the next", ten, 0.51, 6},
		{"p90 of ten", ten, 0.9, 9},
		{"p95 of ten rounds the rank up", ten, 0.95, 10},
		{"q 1 is the largest", ten, 1, 10},
		{"q above 1 is the largest", ten, 1.5, 10},
		{"p95 of a hundred", hundred, 0.95, 95},
		{"p99 of a hundred", hundred, 0.99, 99},
		{"p99.9 of a hundred", hundred, 0.999, 100},
		{"odd count: half of three is the second", []float64{1, 2, 3}, 0.5, 2},
	} {
		if got := Percentile(tc.sorted, tc.q); got != tc.want {
			t.Errorf("%s: Percentile(%v, %v) = %v, want %v", tc.name, tc.sorted, tc.q, got, tc.want)
		}
	}
}

func TestPercentileOfDurations(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	ds := []time.Duration{ms(1), ms(2), ms(3), ms(4), ms(5), ms(6), ms(7), ms(8), ms(9), ms(10)}
	if got := Percentile(ds, 0.9); got != ms(9) {
		t.Errorf("p90 = %v, want 9ms", got)
	}
	if got := Percentile([]time.Duration(nil), 0.5); got != 0 {
		t.Errorf("p50 of nothing = %v, want 0", got)
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{-1, 1}, 0},
	} {
		in := slices.Clone(tc.in)
		if got := Median(in); got != tc.want {
			t.Errorf("Median(%v) = %v, want %v", tc.in, got, tc.want)
		}
		if !slices.Equal(in, tc.in) {
			t.Errorf("Median reordered its input: %v, was %v", in, tc.in)
		}
	}
	if got := Median([]time.Duration{3, 1, 4, 2}); got != 2 {
		t.Errorf("median of durations 1..4 = %v, want 2 (integer mean of the middle two)", got)
	}
}
