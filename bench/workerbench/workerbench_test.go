package workerbench

import (
	"context"
	"testing"
)

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
