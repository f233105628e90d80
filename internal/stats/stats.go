// Package stats is the farm's one way to summarise samples: nearest-rank percentiles and
// medians, for the benchmarks' reports and a job's encode-time summary.
package stats

import (
	"math"
	"slices"
)

// Number is what can be summarised: float samples and durations.
type Number interface {
	~int64 | ~float64
}

// Percentile is the nearest-rank q-quantile (0 ≤ q ≤ 1) of sorted: the smallest sample with at
// least a share q of the samples at or below it (the first for q 0); 0 when there are none.
// No interpolation: the answer is always a sample that was measured.
func Percentile[T Number](sorted []T, q float64) T {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(q * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// Median is the middle of xs (the mean of the middle two for an even count); 0 when there
// are none. xs is not modified.
func Median[T Number](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
