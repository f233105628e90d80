package executor

import (
	"math/rand/v2"
	"slices"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/internal/stats"
)

// reservoirSize bounds the encode times kept for a run's percentiles: every frame of a job
// up to about an hour at 30 fps, a uniform sample of a longer one (Vitter's algorithm R).
const reservoirSize = 1 << 17

// reservoir is a uniform sample of a stream of values, in bounded memory.
type reservoir struct {
	seen int64
	vals []float64
}

func (r *reservoir) add(v float64) {
	r.seen++
	if len(r.vals) < reservoirSize {
		r.vals = append(r.vals, v)
		return
	}
	if i := rand.Int64N(r.seen); i < reservoirSize {
		r.vals[i] = v
	}
}

// summary is the sample's p50/p95/p99 (nearest rank); nil when nothing was added.
func (r *reservoir) summary() *api.LatencySummary {
	if len(r.vals) == 0 {
		return nil
	}
	s := slices.Clone(r.vals)
	slices.Sort(s)
	return &api.LatencySummary{Frames: r.seen, P50ms: stats.Percentile(s, 0.50), P95ms: stats.Percentile(s, 0.95),
		P99ms: stats.Percentile(s, 0.99)}
}
