// Package sched decides which queued job a node gets: queue class, then priority, then age,
// with waiting jobs gaining priority over time; only jobs whose requirements the node meets;
// within the node's slots and pixel rate; on its least-loaded GPU.
//
// The scheduler is an in-memory index over the store's queued jobs. Jobs with the same
// requirements share a heap, so a lease looks at one candidate per kind of job the node can
// run instead of scanning the queue.
package sched

import (
	"container/heap"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
)

// ClassGap is the priority points between two queue classes: a fresh job in a better queue
// outranks any fresh job in a worse one, since priorities span less than this.
const ClassGap = 1000

// Entry is a queued job as the scheduler sees it.
type Entry struct {
	ID       string
	Queue    string
	Priority int
	Created  time.Time
	Req      api.Requirements
	Cost     int64
	// UsesGPU asks for a GPU slot (hardware decoding/encoding or a GPU memory requirement).
	UsesGPU bool
}

// Node is what a lease knows about the node asking.
type Node struct {
	ID     string
	Labels map[string]string
	Caps   api.Capabilities
	// GPUUtil is the latest utilisation per GPU index, from heartbeats.
	GPUUtil map[int]float64
}

// Placement is where a picked job goes.
type Placement struct {
	Entry Entry
	GPU   *int
}

// Scheduler holds the queued jobs and the load each node carries. Safe for concurrent use.
type Scheduler struct {
	// Aging is the wait that earns a job one priority point; zero turns aging off.
	aging time.Duration

	mu      sync.Mutex
	groups  map[string]*group
	queued  map[string]*item
	active  map[string]activeJob
	load    map[string]*nodeLoad
	changed chan struct{}
}

type activeJob struct {
	node string
	gpu  *int
	cost int64
}

type nodeLoad struct {
	jobs   int
	pixels int64
	gpus   map[int]int
}

// New returns an empty scheduler; aging is the wait that earns one priority point.
func New(aging time.Duration) *Scheduler {
	return &Scheduler{aging: aging, groups: map[string]*group{}, queued: map[string]*item{},
		active: map[string]activeJob{}, load: map[string]*nodeLoad{}, changed: make(chan struct{})}
}

// classRank: live 4 … batch 0.
func classRank(queue string) int {
	i := slices.Index(api.Queues, queue)
	if i < 0 {
		i = len(api.Queues) - 1
	}
	return len(api.Queues) - 1 - i
}

// Score is the job's static priority in points: its queue class and its own priority.
func Score(queue string, priority int) int64 {
	return int64(classRank(queue)*ClassGap + priority)
}

// EffectivePriority is the score a job has at now, aging included (shown to operators).
func (s *Scheduler) EffectivePriority(e Entry, now time.Time) float64 {
	p := float64(Score(e.Queue, e.Priority))
	if s.aging > 0 {
		p += float64(now.Sub(e.Created)) / float64(s.aging)
	}
	return p
}

// Add queues e (again). Waiting leases are woken.
func (s *Scheduler) Add(e Entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.queued[e.ID]; ok {
		return
	}
	gk := groupKey(e)
	g := s.groups[gk]
	if g == nil {
		g = &group{key: gk, req: e.Req, usesGPU: e.UsesGPU}
		s.groups[gk] = g
	}
	it := &item{e: e, g: g, rank: s.rank(e)}
	heap.Push(&g.h, it)
	s.queued[e.ID] = it
	close(s.changed)
	s.changed = make(chan struct{})
}

// rank orders jobs: a larger rank runs first. With aging, a job's effective priority at any
// instant t is score + (t-created)/aging; the order between two jobs does not depend on t,
// so score*aging - created is a rank that never needs recomputing.
func (s *Scheduler) rank(e Entry) int64 {
	if s.aging <= 0 {
		return Score(e.Queue, e.Priority)<<42 - e.Created.UnixMilli() // ms fit in 42 bits until 2109
	}
	return Score(e.Queue, e.Priority)*int64(s.aging) - e.Created.UnixNano()
}

// Remove drops a queued job (canceled). It reports whether the job was queued.
func (s *Scheduler) Remove(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.queued[id]
	if !ok {
		return false
	}
	heap.Remove(&it.g.h, it.index)
	delete(s.queued, id)
	s.dropEmpty(it.g)
	return true
}

func (s *Scheduler) dropEmpty(g *group) {
	if len(g.h) == 0 {
		delete(s.groups, g.key)
	}
}

// Changed returns a channel closed at the next Add (for long-polling leases).
func (s *Scheduler) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// Pick takes the best job n can run now off the queue and counts it against n's load. The
// caller then makes the assignment durable, and calls Requeue if that fails.
func (s *Scheduler) Pick(n Node) (Placement, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	slots := n.Caps.Slots
	if slots <= 0 {
		slots = 1
	}
	l := s.nodeLoad(n.ID)
	if l.jobs >= slots {
		return Placement{}, false
	}
	var best *item
	var bestGPU *int
	for _, g := range s.groups {
		if len(g.h) == 0 || !Meets(n, g.req) {
			continue
		}
		top := g.h[0]
		if best != nil && !top.before(best) {
			continue
		}
		if n.Caps.PixelRate > 0 && l.jobs > 0 && l.pixels+top.e.Cost > n.Caps.PixelRate {
			continue
		}
		gpu, ok := s.chooseGPU(n, l, g)
		if !ok {
			continue
		}
		best, bestGPU = top, gpu
	}
	if best == nil {
		return Placement{}, false
	}
	heap.Remove(&best.g.h, best.index)
	delete(s.queued, best.e.ID)
	s.dropEmpty(best.g)
	s.activate(best.e.ID, n.ID, bestGPU, best.e.Cost)
	return Placement{Entry: best.e, GPU: bestGPU}, true
}

// chooseGPU picks the least-loaded GPU with enough memory: fewest jobs placed by the master,
// then lowest utilisation, then lowest index. Jobs that use no GPU get none.
func (s *Scheduler) chooseGPU(n Node, l *nodeLoad, g *group) (*int, bool) {
	if !g.usesGPU {
		return nil, true
	}
	best := -1
	for _, gpu := range n.Caps.GPUs {
		if gpu.MemoryTotalMB < g.req.MinGPUMemoryMB {
			continue
		}
		if best < 0 {
			best = gpu.Index
			continue
		}
		a, b := l.gpus[gpu.Index], l.gpus[best]
		if a < b || (a == b && (n.GPUUtil[gpu.Index] < n.GPUUtil[best] ||
			(n.GPUUtil[gpu.Index] == n.GPUUtil[best] && gpu.Index < best))) {
			best = gpu.Index
		}
	}
	if best < 0 {
		// No GPU on the node: fine unless the job demands one (Meets checked hardware and
		// memory requirements), e.g. hardware "auto" that will fall back to software.
		return nil, g.req.MinGPUMemoryMB == 0
	}
	return &best, true
}

func (s *Scheduler) nodeLoad(id string) *nodeLoad {
	l := s.load[id]
	if l == nil {
		l = &nodeLoad{gpus: map[int]int{}}
		s.load[id] = l
	}
	return l
}

func (s *Scheduler) activate(id, node string, gpu *int, cost int64) {
	if old, ok := s.active[id]; ok {
		s.release(id, old)
	}
	s.active[id] = activeJob{node: node, gpu: gpu, cost: cost}
	l := s.nodeLoad(node)
	l.jobs++
	l.pixels += cost
	if gpu != nil {
		l.gpus[*gpu]++
	}
}

// Activate counts a job already running on node (at startup, from the store).
func (s *Scheduler) Activate(id, node string, gpu *int, cost int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.activate(id, node, gpu, cost)
}

// Release stops counting an active job against its node (finished, failed, canceled, lost).
func (s *Scheduler) Release(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.active[id]; ok {
		s.release(id, a)
	}
}

func (s *Scheduler) release(id string, a activeJob) {
	delete(s.active, id)
	l := s.nodeLoad(a.node)
	l.jobs--
	l.pixels -= a.cost
	if a.gpu != nil {
		if l.gpus[*a.gpu]--; l.gpus[*a.gpu] <= 0 {
			delete(l.gpus, *a.gpu)
		}
	}
	if l.jobs <= 0 {
		delete(s.load, a.node)
	}
}

// Requeue undoes a Pick whose assignment could not be written.
func (s *Scheduler) Requeue(p Placement) {
	s.Release(p.Entry.ID)
	s.Add(p.Entry)
}

// ActiveOn lists the jobs counted against node.
func (s *Scheduler) ActiveOn(node string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for id, a := range s.active {
		if a.node == node {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// Depth counts queued jobs per queue.
func (s *Scheduler) Depth() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := make(map[string]int, len(api.Queues))
	for _, q := range api.Queues {
		d[q] = 0
	}
	for _, it := range s.queued {
		d[it.e.Queue]++
	}
	return d
}

// Len counts queued jobs.
func (s *Scheduler) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queued)
}

// Meets reports whether node n satisfies requirements r.
func Meets(n Node, r api.Requirements) bool {
	if r.Encoder != "" && !slices.Contains(n.Caps.Encoders, r.Encoder) {
		return false
	}
	if r.Hardware != "" && !slices.Contains(n.Caps.Hardware, r.Hardware) {
		return false
	}
	if r.MinGPUMemoryMB > 0 && !slices.ContainsFunc(n.Caps.GPUs, func(g api.GPU) bool { return g.MemoryTotalMB >= r.MinGPUMemoryMB }) {
		return false
	}
	for k, v := range r.Labels {
		if got, ok := n.Labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

func groupKey(e Entry) string {
	var b strings.Builder
	b.WriteString(e.Req.Encoder)
	b.WriteByte('|')
	b.WriteString(e.Req.Hardware)
	b.WriteByte('|')
	b.WriteString(strconv.Itoa(e.Req.MinGPUMemoryMB))
	b.WriteByte('|')
	if e.UsesGPU {
		b.WriteByte('g')
	}
	keys := make([]string, 0, len(e.Req.Labels))
	for k := range e.Req.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString("|" + strconv.Quote(k) + "=" + strconv.Quote(e.Req.Labels[k]))
	}
	return b.String()
}

// group is the heap of queued jobs with one set of requirements.
type group struct {
	key     string
	req     api.Requirements
	usesGPU bool
	h       itemHeap
}

type item struct {
	e     Entry
	g     *group
	rank  int64
	index int
}

// before reports whether it runs before o: higher rank, then the older ID.
func (it *item) before(o *item) bool {
	if it.rank != o.rank {
		return it.rank > o.rank
	}
	return it.e.ID < o.e.ID
}

type itemHeap []*item

func (h itemHeap) Len() int           { return len(h) }
func (h itemHeap) Less(i, j int) bool { return h[i].before(h[j]) }
func (h itemHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *itemHeap) Push(x any) {
	it := x.(*item)
	it.index = len(*h)
	*h = append(*h, it)
}
func (h *itemHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return it
}
