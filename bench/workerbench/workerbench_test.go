package workerbench

import (
	"context"
	"testing"
)

func TestPercentile(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	for _, tc := range []struct{ p, want float64 }{{0.5, 5}, {0.9, 9}, {1, 10}, {0.01, 1}} {
		if got := percentile(xs, tc.p); got != tc.want {
			t.Errorf("percentile(%v) = %v, want %v", tc.p, got, tc.want)
		}
	}
}

// The start-up measurement runs end to end against a freshly built ffrtmp-worker.
func TestMeasureStartup(t *testing.T) {
	if testing.Short() {
		t.Skip("builds ffrtmp-worker and starts executor processes")
	}
	ctx := context.Background()
	bin, err := BuildWorker(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s, err := MeasureStartup(ctx, bin, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Executor.Samples) != 2 || len(s.InProcess.Samples) != 2 || len(s.Overhead.Samples) != 2 {
		t.Fatalf("want 2 samples each way, got %+v", s)
	}
	if s.Executor.Median <= 0 || s.InProcess.Median <= 0 || s.Noop.Median <= 0 {
		t.Fatalf("non-positive timings: %+v", s)
	}
}
