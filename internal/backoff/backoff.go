// Package backoff is the farm's one exponential backoff: a wait that doubles with every
// failed attempt from a base up to a cap, with jitter, so that clients failing together (the
// workers of a restarted master, the restreams of a dead destination) do not come back
// together. Job retries, worker reconnects, webhook deliveries, restream reconnects, an
// ingest's news and the RTMP server's accept loop all wait through it.
package backoff

import (
	"math/rand/v2"
	"time"
)

// Policy is a backoff: after the n-th failure the ceiling is Base·2^(n-1), at most Max, and the
// wait is drawn uniformly from the top Jitter share of it: 0 waits the ceiling exactly, 0.5
// between half of it and all of it, 1 anywhere from nothing to all of it ("full jitter").
type Policy struct {
	Base, Max time.Duration
	Jitter    float64
}

// Delay is the wait after the attempt-th failed attempt (1 for the first; less counts as 1).
func (p Policy) Delay(attempt int) time.Duration {
	d := p.Ceiling(attempt)
	j := time.Duration(float64(d) * min(max(p.Jitter, 0), 1))
	if j <= 0 {
		return d
	}
	return d - j + rand.N(j+1)
}

// Ceiling is the longest wait after the attempt-th failed attempt: Base·2^(attempt-1),
// at most Max (when Max is set).
func (p Policy) Ceiling(attempt int) time.Duration {
	d := p.Base
	for i := 1; i < attempt && (p.Max <= 0 || d < p.Max); i++ {
		d *= 2
	}
	if p.Max > 0 {
		d = min(d, p.Max)
	}
	return max(d, 0)
}
