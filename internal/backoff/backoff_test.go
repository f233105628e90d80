package backoff

import (
	"testing"
	"time"
)

func TestCeilingDoublesToMax(t *testing.T) {
	p := Policy{Base: time.Second, Max: 10 * time.Second}
	for attempt, want := range map[int]time.Duration{-1: time.Second, 0: time.Second, 1: time.Second, 2: 2 * time.Second,
		3: 4 * time.Second, 4: 8 * time.Second, 5: 10 * time.Second, 1000: 10 * time.Second} {
		if got := p.Ceiling(attempt); got != want {
			t.Errorf("Ceiling(%d) = %v, want %v", attempt, got, want)
		}
	}
	if got := (Policy{Base: time.Second}).Ceiling(4); got != 8*time.Second {
		t.Errorf("without Max: Ceiling(4) = %v, want 8s", got)
	}
}

func TestDelayStaysInItsJitterBand(t *testing.T) {
	for _, tt := range []struct {
		jitter   float64
		low, top time.Duration
	}{
		{0, 4 * time.Second, 4 * time.Second},
		{0.5, 2 * time.Second, 4 * time.Second},
		{1, 0, 4 * time.Second},
		{3, 0, 4 * time.Second}, // clamped to 1
	} {
		p := Policy{Base: time.Second, Max: time.Minute, Jitter: tt.jitter}
		seen := map[time.Duration]bool{}
		for range 1000 {
			d := p.Delay(3)
			if d < tt.low || d > tt.top {
				t.Fatalf("jitter %v: Delay(3) = %v, want in [%v, %v]", tt.jitter, d, tt.low, tt.top)
			}
			seen[d] = true
		}
		if tt.jitter > 0 && len(seen) < 100 {
			t.Errorf("jitter %v: only %d distinct delays in 1000: not jittered", tt.jitter, len(seen))
		}
	}
}
