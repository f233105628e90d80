package sched_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/sched"
)

var t0 = time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)

// entry is a job with no requirements, created at t0+age.
func entry(id, queue string, prio int, at time.Duration) sched.Entry {
	return sched.Entry{ID: id, Queue: queue, Priority: prio, Created: t0.Add(at), Cost: 1}
}

// big is a node that meets any requirement and has room for everything.
var big = sched.Node{ID: "big", Caps: api.Capabilities{Slots: 1 << 20}}

// drain picks from s for n until nothing is left and returns the IDs in pick order.
func drain(t *testing.T, s *sched.Scheduler, n sched.Node) []string {
	t.Helper()
	var out []string
	for {
		p, ok := s.Pick(n)
		if !ok {
			return out
		}
		out = append(out, p.Entry.ID)
		if len(out) > 100000 {
			t.Fatal("Pick never ran dry")
		}
	}
}

func TestPickOrderQueueThenPriorityThenAge(t *testing.T) {
	s := sched.New(0)
	// Added in a scrambled order; the expected order is by queue class, then priority
	// (higher first), then age (older first).
	entries := []sched.Entry{
		entry("batch-hi", api.QueueBatch, 100, 0),
		entry("low-0", api.QueueLow, 0, 0),
		entry("medium-new", api.QueueMedium, 5, 2*time.Second),
		entry("live-lo", api.QueueLive, -100, 5*time.Second),
		entry("high-0", api.QueueHigh, 0, time.Second),
		entry("medium-old", api.QueueMedium, 5, time.Second),
		entry("live-hi", api.QueueLive, 100, 9*time.Second),
		entry("medium-top", api.QueueMedium, 50, 10*time.Second),
	}
	for _, e := range entries {
		s.Add(e)
	}
	want := []string{"live-hi", "live-lo", "high-0", "medium-top", "medium-old", "medium-new", "low-0", "batch-hi"}
	if got := drain(t, s, big); !slices.Equal(got, want) {
		t.Fatalf("pick order\n got %v\nwant %v", got, want)
	}
	if s.Len() != 0 {
		t.Fatalf("Len after draining = %d", s.Len())
	}
}

func TestPickOrderSameMillisecondFallsBackToID(t *testing.T) {
	s := sched.New(0)
	s.Add(entry("B", api.QueueMedium, 0, 0))
	s.Add(entry("A", api.QueueMedium, 0, 0))
	s.Add(entry("C", api.QueueMedium, 0, 0))
	if got, want := drain(t, s, big), []string{"A", "B", "C"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestAgingLetsAnOldBatchJobOvertakeLive(t *testing.T) {
	// Live outranks batch by 4 classes (4*ClassGap points) plus 200 priority points here.
	gap := time.Duration(4*sched.ClassGap+200) * time.Millisecond
	old := entry("batch-old", api.QueueBatch, -100, 0)
	fresh := entry("live-new", api.QueueLive, 100, gap+time.Second)
	younger := entry("batch-younger", api.QueueBatch, -100, 2*time.Second) // not old enough

	t.Run("aging on", func(t *testing.T) {
		s := sched.New(time.Millisecond)
		s.Add(fresh)
		s.Add(younger)
		s.Add(old)
		want := []string{"batch-old", "live-new", "batch-younger"}
		if got := drain(t, s, big); !slices.Equal(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
		now := t0.Add(gap + time.Second)
		if po, pl := s.EffectivePriority(old, now), s.EffectivePriority(fresh, now); po <= pl {
			t.Fatalf("effective priority of the old batch job %v ≤ the new live job's %v", po, pl)
		}
	})
	t.Run("aging off", func(t *testing.T) {
		s := sched.New(0)
		s.Add(fresh)
		s.Add(younger)
		s.Add(old)
		want := []string{"live-new", "batch-old", "batch-younger"}
		if got := drain(t, s, big); !slices.Equal(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
		if p := s.EffectivePriority(old, t0.Add(1000*time.Hour)); p != float64(sched.Score(api.QueueBatch, -100)) {
			t.Fatalf("without aging the effective priority grew to %v", p)
		}
	})
}

// TestPickOrderMatchesBruteForce compares the heap order with a sort by effective priority
// for random jobs spread over several requirement groups.
func TestPickOrderMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, aging := range []time.Duration{0, time.Millisecond, 3 * time.Second} {
		t.Run(fmt.Sprint("aging=", aging), func(t *testing.T) {
			s := sched.New(aging)
			var all []sched.Entry
			for i := range 400 {
				e := sched.Entry{
					ID:       fmt.Sprintf("%04d", i),
					Queue:    api.Queues[rng.IntN(len(api.Queues))],
					Priority: rng.IntN(201) - 100,
					Created:  t0.Add(time.Duration(rng.Int64N(int64(time.Hour)))),
					Cost:     1,
				}
				switch rng.IntN(3) {
				case 1:
					e.Req.Encoder = "h264_nvenc"
				case 2:
					e.Req.Labels = map[string]string{"zone": "a"}
				}
				all = append(all, e)
				s.Add(e)
			}
			now := t0.Add(2 * time.Hour)
			sort.Slice(all, func(i, j int) bool {
				a, b := all[i], all[j]
				if aging == 0 { // queue class and priority, then age in milliseconds
					if sa, sb := sched.Score(a.Queue, a.Priority), sched.Score(b.Queue, b.Priority); sa != sb {
						return sa > sb
					}
					if ma, mb := a.Created.UnixMilli(), b.Created.UnixMilli(); ma != mb {
						return ma < mb
					}
				} else if pa, pb := s.EffectivePriority(a, now), s.EffectivePriority(b, now); pa != pb {
					return pa > pb
				}
				return a.ID < b.ID
			})
			var want []string
			for _, e := range all {
				want = append(want, e.ID)
			}
			n := sched.Node{ID: "n", Labels: map[string]string{"zone": "a"},
				Caps: api.Capabilities{Slots: 1000, Encoders: []string{"libx264", "h264_nvenc"}}}
			if got := drain(t, s, n); !slices.Equal(got, want) {
				t.Fatalf("pick order differs from brute force\n got %v\nwant %v", got, want)
			}
		})
	}
}

func TestRemoveRequeueDepth(t *testing.T) {
	s := sched.New(0)
	s.Add(entry("a", api.QueueLive, 0, 0))
	s.Add(entry("b", api.QueueLive, 0, time.Second))
	s.Add(entry("c", api.QueueBatch, 0, 0))
	s.Add(entry("a", api.QueueLive, 0, 0)) // a second Add of a queued job is ignored
	want := map[string]int{api.QueueLive: 2, api.QueueHigh: 0, api.QueueMedium: 0, api.QueueLow: 0, api.QueueBatch: 1}
	if d := s.Depth(); !mapsEqual(d, want) {
		t.Fatalf("Depth = %v, want %v", d, want)
	}
	if s.Len() != 3 {
		t.Fatalf("Len = %d, want 3", s.Len())
	}

	if !s.Remove("a") {
		t.Fatal("Remove(a) = false for a queued job")
	}
	if s.Remove("a") {
		t.Fatal("Remove(a) twice = true")
	}
	if s.Remove("nope") {
		t.Fatal("Remove of an unknown job = true")
	}
	if d := s.Depth(); d[api.QueueLive] != 1 || d[api.QueueBatch] != 1 {
		t.Fatalf("Depth after Remove = %v", d)
	}

	one := sched.Node{ID: "one", Caps: api.Capabilities{Slots: 1}}
	p, ok := s.Pick(one)
	if !ok || p.Entry.ID != "b" {
		t.Fatalf("Pick = %v %v, want b", p.Entry.ID, ok)
	}
	if _, ok := s.Pick(one); ok {
		t.Fatal("a one-slot node got a second job")
	}
	if got := s.ActiveOn("one"); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("ActiveOn = %v", got)
	}
	// The assignment could not be written: the job goes back, first in line again, and the
	// slot is free.
	s.Requeue(p)
	if got := s.ActiveOn("one"); len(got) != 0 {
		t.Fatalf("ActiveOn after Requeue = %v", got)
	}
	if d := s.Depth(); d[api.QueueLive] != 1 {
		t.Fatalf("Depth after Requeue = %v", d)
	}
	if got := drain(t, s, big); !slices.Equal(got, []string{"b", "c"}) {
		t.Fatalf("after Requeue got %v, want [b c]", got)
	}
}

func TestChangedIsClosedByAdd(t *testing.T) {
	s := sched.New(0)
	ch := s.Changed()
	select {
	case <-ch:
		t.Fatal("Changed closed before any Add")
	default:
	}
	s.Add(entry("a", api.QueueLow, 0, 0))
	select {
	case <-ch:
	default:
		t.Fatal("Changed not closed by Add")
	}
	select {
	case <-s.Changed():
		t.Fatal("the next Changed is already closed")
	default:
	}
}

func TestSlotsAndRelease(t *testing.T) {
	s := sched.New(0)
	for i := range 5 {
		s.Add(entry(fmt.Sprint(i), api.QueueMedium, 0, time.Duration(i)*time.Second))
	}
	n := sched.Node{ID: "n", Caps: api.Capabilities{Slots: 2}}
	if got := drain(t, s, n); !slices.Equal(got, []string{"0", "1"}) {
		t.Fatalf("a 2-slot node got %v", got)
	}
	zero := sched.Node{ID: "z"} // Slots 0 means 1
	if got := drain(t, s, zero); !slices.Equal(got, []string{"2"}) {
		t.Fatalf("a node with Slots 0 got %v, want one job", got)
	}
	s.Release("0")
	s.Release("0") // twice is harmless
	if got := drain(t, s, n); !slices.Equal(got, []string{"3"}) {
		t.Fatalf("after one release got %v, want [3]", got)
	}
	// Activate counts a job found running at startup.
	s.Release("1")
	s.Activate("x", "", "n", nil, 0)
	if _, ok := s.Pick(n); ok {
		t.Fatal("Activate did not take a slot")
	}
}

func TestPixelRate(t *testing.T) {
	s := sched.New(0)
	for i, cost := range []int64{400, 300, 200, 100} {
		e := entry(fmt.Sprint("j", i), api.QueueMedium, 0, time.Duration(i)*time.Second)
		e.Cost = cost
		s.Add(e)
	}
	n := sched.Node{ID: "n", Caps: api.Capabilities{Slots: 10, PixelRate: 700}}
	// 400+300 = 700 fits exactly; 200 more does not; the heap's top blocks its group, so the
	// 100 behind it waits too.
	if got := drain(t, s, n); !slices.Equal(got, []string{"j0", "j1"}) {
		t.Fatalf("got %v, want [j0 j1]", got)
	}
	s.Release("j0")
	if got := drain(t, s, n); !slices.Equal(got, []string{"j2", "j3"}) {
		t.Fatalf("after releasing 400: got %v, want [j2 j3]", got)
	}

	// An idle node takes a job larger than its whole rate (it would never run otherwise).
	s2 := sched.New(0)
	e := entry("huge", api.QueueMedium, 0, 0)
	e.Cost = 10_000
	s2.Add(e)
	if got := drain(t, s2, sched.Node{ID: "m", Caps: api.Capabilities{Slots: 4, PixelRate: 700}}); !slices.Equal(got, []string{"huge"}) {
		t.Fatalf("an idle node did not take a job above its pixel rate: %v", got)
	}
}

func TestMeets(t *testing.T) {
	n := sched.Node{ID: "n", Labels: map[string]string{"zone": "eu", "tier": "gold"},
		Caps: api.Capabilities{Encoders: []string{"libx264", "h264_nvenc"}, Hardware: []string{"cuda"},
			GPUs: []api.GPU{{Index: 0, MemoryTotalMB: 8192}, {Index: 1, MemoryTotalMB: 24576}}}}
	cases := []struct {
		name string
		req  api.Requirements
		want bool
	}{
		{"nothing", api.Requirements{}, true},
		{"encoder present", api.Requirements{Encoder: "h264_nvenc"}, true},
		{"encoder missing", api.Requirements{Encoder: "hevc_nvenc"}, false},
		{"hardware present", api.Requirements{Hardware: "cuda"}, true},
		{"hardware missing", api.Requirements{Hardware: "qsv"}, false},
		{"memory on one GPU", api.Requirements{MinGPUMemoryMB: 24576}, true},
		{"memory nowhere", api.Requirements{MinGPUMemoryMB: 24577}, false},
		{"labels subset", api.Requirements{Labels: map[string]string{"zone": "eu"}}, true},
		{"label other value", api.Requirements{Labels: map[string]string{"zone": "us"}}, false},
		{"label missing", api.Requirements{Labels: map[string]string{"rack": "1"}}, false},
		{"all at once", api.Requirements{Encoder: "h264_nvenc", Hardware: "cuda", MinGPUMemoryMB: 16000, Labels: map[string]string{"tier": "gold"}}, true},
	}
	for _, c := range cases {
		if got := sched.Meets(n, c.req); got != c.want {
			t.Errorf("%s: Meets = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestPickHonoursRequirements(t *testing.T) {
	s := sched.New(0)
	nv := entry("nvenc", api.QueueLive, 0, 0)
	nv.Req.Encoder = "h264_nvenc"
	s.Add(nv)
	s.Add(entry("plain", api.QueueBatch, 0, 0))
	cpu := sched.Node{ID: "cpu", Caps: api.Capabilities{Slots: 4, Encoders: []string{"libx264"}}}
	// The better job needs NVENC: the CPU node gets the batch job instead.
	if got := drain(t, s, cpu); !slices.Equal(got, []string{"plain"}) {
		t.Fatalf("cpu node got %v, want [plain]", got)
	}
	gpu := sched.Node{ID: "gpu", Caps: api.Capabilities{Slots: 4, Encoders: []string{"h264_nvenc"}}}
	if got := drain(t, s, gpu); !slices.Equal(got, []string{"nvenc"}) {
		t.Fatalf("gpu node got %v, want [nvenc]", got)
	}
}

func TestLeastLoadedGPU(t *testing.T) {
	gpus := []api.GPU{{Index: 0, MemoryTotalMB: 8192}, {Index: 1, MemoryTotalMB: 24576}, {Index: 2, MemoryTotalMB: 24576}}
	gpuJob := func(id string, at time.Duration, mem int) sched.Entry {
		e := entry(id, api.QueueMedium, 0, at)
		e.UsesGPU, e.Req.MinGPUMemoryMB = true, mem
		return e
	}
	picks := func(s *sched.Scheduler, n sched.Node) []int {
		var out []int
		for {
			p, ok := s.Pick(n)
			if !ok {
				return out
			}
			if p.GPU == nil {
				t.Fatalf("job %s uses a GPU but got none", p.Entry.ID)
			}
			out = append(out, *p.GPU)
		}
	}

	t.Run("memory and load", func(t *testing.T) {
		s := sched.New(0)
		for i := range 4 {
			s.Add(gpuJob(fmt.Sprint(i), time.Duration(i)*time.Second, 16000))
		}
		n := sched.Node{ID: "n", Caps: api.Capabilities{Slots: 8, GPUs: gpus}}
		// GPU 0 is too small; 1 and 2 share the jobs, lower index first on a tie.
		if got := picks(s, n); !slices.Equal(got, []int{1, 2, 1, 2}) {
			t.Fatalf("GPUs %v, want [1 2 1 2]", got)
		}
		// A job without a memory need goes to the least-loaded GPU: the idle GPU 0.
		s.Add(gpuJob("small", 10*time.Second, 0))
		if got := picks(s, n); !slices.Equal(got, []int{0}) {
			t.Fatalf("small job on GPU %v, want [0]", got)
		}
	})
	t.Run("utilisation breaks ties", func(t *testing.T) {
		s := sched.New(0)
		s.Add(gpuJob("a", 0, 0))
		s.Add(gpuJob("b", time.Second, 0))
		n := sched.Node{ID: "n", Caps: api.Capabilities{Slots: 8, GPUs: gpus},
			GPUUtil: map[int]float64{0: 90, 1: 50, 2: 10}}
		if got := picks(s, n); !slices.Equal(got, []int{2, 1}) {
			t.Fatalf("GPUs %v, want [2 1]", got)
		}
	})
	t.Run("releasing frees the GPU", func(t *testing.T) {
		s := sched.New(0)
		s.Add(gpuJob("a", 0, 16000))
		n := sched.Node{ID: "n", Caps: api.Capabilities{Slots: 8, GPUs: gpus}}
		if got := picks(s, n); !slices.Equal(got, []int{1}) {
			t.Fatalf("GPUs %v", got)
		}
		s.Release("a")
		s.Add(gpuJob("b", time.Second, 16000))
		if got := picks(s, n); !slices.Equal(got, []int{1}) {
			t.Fatalf("after release GPUs %v, want [1]", got)
		}
	})
	t.Run("no GPU on the node", func(t *testing.T) {
		s := sched.New(0)
		s.Add(gpuJob("auto", 0, 0)) // e.g. hardware auto: falls back to software
		p, ok := s.Pick(sched.Node{ID: "cpu", Caps: api.Capabilities{Slots: 1}})
		if !ok || p.GPU != nil {
			t.Fatalf("Pick = %v, GPU %v; want the job without a GPU", ok, p.GPU)
		}
	})
	t.Run("jobs without a GPU get none", func(t *testing.T) {
		s := sched.New(0)
		s.Add(entry("cpu", api.QueueMedium, 0, 0))
		p, ok := s.Pick(sched.Node{ID: "n", Caps: api.Capabilities{Slots: 1, GPUs: gpus}})
		if !ok || p.GPU != nil {
			t.Fatalf("Pick = %v, GPU %v; want no GPU", ok, p.GPU)
		}
	})
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestFairShare: tenant a queues 1000 jobs, then b queues 20 of the same queue and priority;
// 8 slots turn over oldest-first. While both wait, the slots go to them in proportion to
// their weights (a alone by age would take every slot until its 1000 ran).
func TestFairShare(t *testing.T) {
	for _, c := range []struct {
		name   string
		wa, wb int
		aging  time.Duration
	}{{"1:1", 1, 1, 0}, {"2:1", 2, 1, 0}, {"1:3", 1, 3, 0}, {"1:1 aging", 1, 1, time.Millisecond}} {
		t.Run(c.name, func(t *testing.T) {
			s := sched.New(c.aging)
			s.SetPolicy(func(tenant string) (int, int) {
				if tenant == "b" {
					return c.wb, 0
				}
				return c.wa, 0
			})
			for i := range 1000 {
				e := entry(fmt.Sprintf("a%04d", i), api.QueueMedium, 0, time.Duration(i)*time.Second)
				e.Tenant = "a"
				s.Add(e)
			}
			for i := range 20 {
				e := entry(fmt.Sprintf("b%04d", i), api.QueueMedium, 0, time.Hour+time.Duration(i)*time.Second)
				e.Tenant = "b"
				s.Add(e)
			}
			node := sched.Node{ID: "n", Caps: api.Capabilities{Slots: 8}}
			var running []string // oldest first
			got := map[byte]int{}
			bLeft := 20
			for bLeft > 0 {
				for {
					p, ok := s.Pick(node)
					if !ok {
						break
					}
					running = append(running, p.Entry.ID)
					got[p.Entry.ID[0]]++
					if p.Entry.ID[0] == 'b' {
						bLeft--
					}
				}
				s.Release(running[0])
				running = running[1:]
			}
			share := float64(got['a']) / float64(got['a']+got['b'])
			want := float64(c.wa) / float64(c.wa+c.wb)
			if share < want-0.1 || share > want+0.1 {
				t.Errorf("while both waited a got %d slots, b %d: a's share %.2f, want %.2f±0.1", got['a'], got['b'], share, want)
			}
		})
	}
}

// TestFairShareKeepsPriorities: fair share only weighs tenants within one queue and
// priority; a better job of the tenant with more slots still goes first, and so does an
// aged one.
func TestFairShareKeepsPriorities(t *testing.T) {
	s := sched.New(0)
	busy := sched.Node{ID: "busy", Caps: api.Capabilities{Slots: 10}}
	for i := range 3 {
		e := entry(fmt.Sprintf("a-run%d", i), api.QueueMedium, 0, 0)
		e.Tenant = "a"
		s.Add(e)
	}
	if got := drain(t, s, busy); len(got) != 3 {
		t.Fatalf("picked %v", got)
	}
	hi := entry("a-high", api.QueueHigh, 0, time.Minute)
	hi.Tenant = "a"
	lo := entry("b-medium", api.QueueMedium, 0, 0)
	lo.Tenant = "b"
	s.Add(hi)
	s.Add(lo)
	n := sched.Node{ID: "n", Caps: api.Capabilities{Slots: 10}}
	if got := drain(t, s, n); !slices.Equal(got, []string{"a-high", "b-medium"}) {
		t.Errorf("picked %v, want a's high-queue job before b's medium one although a has 3 running", got)
	}
}

// TestMaxRunning: a tenant at its running quota waits while free slots go to others; a
// release lets it run again. With one tenant alone the quota holds too.
func TestMaxRunning(t *testing.T) {
	s := sched.New(0)
	s.SetPolicy(func(tenant string) (int, int) {
		if tenant == "a" {
			return 1, 2
		}
		return 1, 0
	})
	for i := range 5 {
		e := entry(fmt.Sprintf("a%d", i), api.QueueMedium, 0, time.Duration(i))
		e.Tenant = "a"
		s.Add(e)
	}
	if got := drain(t, s, big); !slices.Equal(got, []string{"a0", "a1"}) {
		t.Fatalf("a alone: picked %v, want its first 2 (max_running 2)", got)
	}
	b := entry("b0", api.QueueLow, 0, time.Hour)
	b.Tenant = "b"
	s.Add(b)
	if got := drain(t, s, big); !slices.Equal(got, []string{"b0"}) {
		t.Fatalf("picked %v, want only b's job while a is at its quota", got)
	}
	s.Release("a0")
	if got := drain(t, s, big); !slices.Equal(got, []string{"a2"}) {
		t.Fatalf("after a release: picked %v, want a2", got)
	}
	if r := s.Running(); r["a"] != 2 || r["b"] != 1 {
		t.Errorf("Running() = %v, want a:2 b:1", r)
	}
}
