package sched_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/sched"
)

// BenchmarkPick: one Pick and one Release against 100k queued jobs in 8 kinds (one tenant),
// the lease path's share of the scheduler.
func BenchmarkPick(b *testing.B) {
	s := sched.New(3 * time.Second)
	encoders := []string{"", "libx264", "h264_nvenc", "libx265"}
	for i := range 100_000 {
		e := entry(fmt.Sprintf("j%07d", i), api.Queues[i%len(api.Queues)], i%7, time.Duration(i)*time.Millisecond)
		e.Req.Encoder = encoders[i%len(encoders)]
		e.UsesGPU = i%8 == 0
		s.Add(e)
	}
	n := sched.Node{ID: "n", Caps: api.Capabilities{Slots: 4, Encoders: encoders[1:]}}
	b.ResetTimer()
	for range b.N {
		p, ok := s.Pick(n)
		if !ok {
			b.Fatal("queue ran dry")
		}
		s.Release(p.Entry.ID)
		s.Add(p.Entry)
	}
}
