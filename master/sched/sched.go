// Package sched decides which queued job a node gets: queue class, then priority, then age,
// with waiting jobs gaining priority over time; only jobs whose requirements the node meets;
// within the node's slots and pixel rate; on its least-loaded GPU. Between tenants with
// work of the same queue and priority, the one using the fewest slots for its weight goes
// first (weighted fair share), and a tenant at its running-jobs quota waits.
//
// The scheduler is an in-memory index over the store's queued jobs. Jobs with the same
// requirements share a heap, so a lease looks at one candidate per kind of job the node can
// run instead of scanning the queue.
package sched

import (
	"bytes"
	"fmt"
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
	// Tenant owns the job ("" is a tenant like any other name).
	Tenant string
}

// Policy says a tenant's fair-share weight (at least 1) and how many of its jobs may be on
// nodes at once (0: no limit). It is called under the scheduler's lock on every Pick that
// has a choice to make, so it must be cheap and must not call the scheduler.
type Policy func(tenant string) (weight, maxRunning int)

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
//
// The queue can hold hundreds of thousands of jobs, so its memory holds no pointers: items
// live in one slab, heaps and the ID index refer to them by number, and the garbage
// collector has nothing to scan there (a pointer per job made every collection walk the
// whole queue while requests waited).
type Scheduler struct {
	// Aging is the wait that earns a job one priority point; zero turns aging off.
	aging  time.Duration
	policy Policy

	mu      sync.Mutex
	groups  map[string]*group
	byIndex []*group // group number → group
	items   []item   // slab; free slots are listed in free
	free    []int32
	queued  map[idKey]int32
	active  map[string]activeJob
	load    map[string]*nodeLoad
	changed chan struct{}

	tenants  []tenant // tenant number → its counts
	tenantNo map[string]int32
	// waiting counts tenants with queued jobs: with one, Pick is the plain best-job search.
	waiting int
	cands   []candidate // Pick's scratch when several tenants wait
}

// tenant is what the scheduler counts of one tenant.
type tenant struct {
	name    string
	queued  int
	running int // assigned or running, on any node
}

// candidate is a group's best job that a node could take now.
type candidate struct {
	n   int32
	gpu *int
}

// idKey is a job ID as a map key without a pointer. Job IDs are ULIDs (26 bytes).
type idKey struct {
	n uint8
	b [maxIDLen]byte
}

const maxIDLen = 31

func keyOf(id string) idKey {
	if len(id) > maxIDLen {
		panic(fmt.Sprintf("sched: job ID %q longer than %d bytes", id, maxIDLen))
	}
	k := idKey{n: uint8(len(id))}
	copy(k.b[:], id)
	return k
}

func (k idKey) String() string { return string(k.b[:k.n]) }

// item is a queued job: what ranks it and what rebuilds its Entry.
type item struct {
	id       idKey
	rank     int64
	created  int64 // unix ns
	cost     int64
	priority int32
	queue    int8  // index in api.Queues, -1 for a name not there
	group    int32 // index in byIndex
	pos      int32 // position in its group's heap
}

type activeJob struct {
	node   string
	gpu    *int
	cost   int64
	tenant int32
}

type nodeLoad struct {
	jobs   int
	pixels int64
	gpus   map[int]int
}

// New returns an empty scheduler; aging is the wait that earns one priority point.
func New(aging time.Duration) *Scheduler {
	return &Scheduler{aging: aging, groups: map[string]*group{}, queued: map[idKey]int32{},
		active: map[string]activeJob{}, load: map[string]*nodeLoad{}, changed: make(chan struct{}),
		tenantNo: map[string]int32{}}
}

// SetPolicy sets the tenants' weights and running-jobs quotas (nil: weight 1, no quota for
// every tenant). Set it before the scheduler is used.
func (s *Scheduler) SetPolicy(p Policy) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.policy = p
}

func (s *Scheduler) tenantOf(name string) int32 {
	if t, ok := s.tenantNo[name]; ok {
		return t
	}
	t := int32(len(s.tenants))
	s.tenants = append(s.tenants, tenant{name: name})
	s.tenantNo[name] = t
	return t
}

func (s *Scheduler) limits(t int32) (weight, maxRunning int) {
	if s.policy == nil {
		return 1, 0
	}
	w, m := s.policy(s.tenants[t].name)
	return max(w, 1), m
}

func (s *Scheduler) queuedDelta(t int32, d int) {
	tn := &s.tenants[t]
	before := tn.queued
	tn.queued += d
	switch {
	case before == 0 && tn.queued > 0:
		s.waiting++
	case before > 0 && tn.queued == 0:
		s.waiting--
	}
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
	k := keyOf(e.ID)
	if _, ok := s.queued[k]; ok {
		return
	}
	gk := groupKey(e)
	g := s.groups[gk]
	if g == nil {
		g = &group{key: gk, req: e.Req, usesGPU: e.UsesGPU, num: int32(len(s.byIndex)), tenant: s.tenantOf(e.Tenant)}
		s.groups[gk] = g
		s.byIndex = append(s.byIndex, g)
	}
	it := item{id: k, rank: s.rank(e), created: e.Created.UnixNano(), cost: e.Cost,
		priority: int32(e.Priority), queue: int8(slices.Index(api.Queues, e.Queue)), group: g.num}
	var n int32
	if l := len(s.free); l > 0 {
		n, s.free = s.free[l-1], s.free[:l-1]
		s.items[n] = it
	} else {
		n = int32(len(s.items))
		s.items = append(s.items, it)
	}
	s.queued[k] = n
	s.queuedDelta(g.tenant, 1)
	s.push(g, n)
	close(s.changed)
	s.changed = make(chan struct{})
}

// entry rebuilds the Entry of item n.
func (s *Scheduler) entry(n int32) Entry {
	it := &s.items[n]
	g := s.byIndex[it.group]
	q := ""
	if it.queue >= 0 {
		q = api.Queues[it.queue]
	}
	return Entry{ID: it.id.String(), Queue: q, Priority: int(it.priority), Created: time.Unix(0, it.created),
		Req: g.req, Cost: it.cost, UsesGPU: g.usesGPU, Tenant: s.tenants[g.tenant].name}
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
	n, ok := s.queued[keyOf(id)]
	if !ok {
		return false
	}
	s.take(n)
	return true
}

// take removes item n from its heap and the index and frees its slot.
func (s *Scheduler) take(n int32) {
	it := &s.items[n]
	g := s.byIndex[it.group]
	s.remove(g, it.pos)
	s.queuedDelta(g.tenant, -1)
	delete(s.queued, it.id)
	s.free = append(s.free, n)
}

// Changed returns a channel closed at the next Add (for long-polling leases).
func (s *Scheduler) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// Wake tells lease requests waiting on Changed to look again, though the queue did not change
// (a node may lease again).
func (s *Scheduler) Wake() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.changed)
	s.changed = make(chan struct{})
}

// Pick takes the best job n can run now off the queue and counts it against n's load. The
// caller then makes the assignment durable, and calls Requeue if that fails.
//
// The best job is the one of highest rank (class, priority, age). When several tenants have
// jobs queued, a tenant at its running quota is passed over, and among the candidates with
// the same queue and priority as the best one the tenant with the fewest running jobs per
// unit of weight goes first: a tenant that queued 10k jobs does not starve one that queued
// 10. Aging still orders each tenant's own jobs and lifts old jobs past fresher, better ones.
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
	if s.waiting > 1 {
		return s.pickFair(n, l)
	}
	// One tenant waits: every job queued is its, and only its running quota can stop it.
	checked := s.policy == nil
	best := int32(-1)
	var bestGPU *int
	for _, g := range s.byIndex {
		if len(g.h) == 0 {
			continue
		}
		if !checked {
			if _, maxRun := s.limits(g.tenant); maxRun > 0 && s.tenants[g.tenant].running >= maxRun {
				return Placement{}, false
			}
			checked = true
		}
		if !Meets(n, g.req) {
			continue
		}
		top := g.h[0]
		if best >= 0 && !s.before(top, best) {
			continue
		}
		if n.Caps.PixelRate > 0 && l.jobs > 0 && l.pixels+s.items[top].cost > n.Caps.PixelRate {
			continue
		}
		gpu, ok := s.chooseGPU(n, l, g)
		if !ok {
			continue
		}
		best, bestGPU = top, gpu
	}
	return s.place(n, best, bestGPU)
}

// place takes item best (none when negative) off the queue onto node n.
func (s *Scheduler) place(n Node, best int32, gpu *int) (Placement, bool) {
	if best < 0 {
		return Placement{}, false
	}
	e := s.entry(best)
	s.take(best)
	s.activate(e.ID, n.ID, gpu, e.Cost, s.byIndex[s.items[best].group].tenant)
	return Placement{Entry: e, GPU: gpu}, true
}

// pickFair is Pick with tenants to weigh: every group's best job the node could take now
// is a candidate; the best-ranked one sets the queue and priority, and among the
// candidates of that queue and priority the tenant furthest below its weighted share wins
// (ties: rank).
func (s *Scheduler) pickFair(n Node, l *nodeLoad) (Placement, bool) {
	cands := s.cands[:0]
	best := -1
	for _, g := range s.byIndex {
		if len(g.h) == 0 || !Meets(n, g.req) {
			continue
		}
		if _, maxRun := s.limits(g.tenant); maxRun > 0 && s.tenants[g.tenant].running >= maxRun {
			continue
		}
		top := g.h[0]
		if n.Caps.PixelRate > 0 && l.jobs > 0 && l.pixels+s.items[top].cost > n.Caps.PixelRate {
			continue
		}
		gpu, ok := s.chooseGPU(n, l, g)
		if !ok {
			continue
		}
		if best < 0 || s.before(top, cands[best].n) {
			best = len(cands)
		}
		cands = append(cands, candidate{n: top, gpu: gpu})
	}
	s.cands = cands[:0]
	if best < 0 {
		return Placement{}, false
	}
	score := s.score(cands[best].n)
	win := cands[best]
	winT := s.byIndex[s.items[win.n].group].tenant
	winW, _ := s.limits(winT)
	for _, c := range cands {
		t := s.byIndex[s.items[c.n].group].tenant
		if t == winT || s.score(c.n) != score {
			if t == winT && s.before(c.n, win.n) {
				win = c
			}
			continue
		}
		w, _ := s.limits(t)
		// running/weight below the winner's, compared without division.
		a, b := s.tenants[t].running*winW, s.tenants[winT].running*w
		if a < b || (a == b && s.before(c.n, win.n)) {
			win, winT, winW = c, t, w
		}
	}
	return s.place(n, win.n, win.gpu)
}

// score is item n's static priority (queue class and priority, no aging).
func (s *Scheduler) score(n int32) int64 {
	it := &s.items[n]
	q := api.QueueBatch
	if it.queue >= 0 {
		q = api.Queues[it.queue]
	}
	return Score(q, int(it.priority))
}

// before reports whether item a runs before item b: higher rank, then the smaller ID.
func (s *Scheduler) before(a, b int32) bool {
	x, y := &s.items[a], &s.items[b]
	if x.rank != y.rank {
		return x.rank > y.rank
	}
	return bytes.Compare(x.id.b[:x.id.n], y.id.b[:y.id.n]) < 0
}

// push, remove, up and down keep a group's heap of item numbers ordered by before.
func (s *Scheduler) push(g *group, n int32) {
	g.h = append(g.h, n)
	s.items[n].pos = int32(len(g.h) - 1)
	s.up(g, len(g.h)-1)
}

func (s *Scheduler) remove(g *group, i int32) {
	last := len(g.h) - 1
	if int(i) != last {
		s.swap(g, int(i), last)
	}
	g.h = g.h[:last]
	if int(i) < last {
		if !s.down(g, int(i)) {
			s.up(g, int(i))
		}
	}
}

func (s *Scheduler) swap(g *group, i, j int) {
	g.h[i], g.h[j] = g.h[j], g.h[i]
	s.items[g.h[i]].pos = int32(i)
	s.items[g.h[j]].pos = int32(j)
}

func (s *Scheduler) up(g *group, j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !s.before(g.h[j], g.h[i]) {
			break
		}
		s.swap(g, i, j)
		j = i
	}
}

func (s *Scheduler) down(g *group, i0 int) bool {
	i, n := i0, len(g.h)
	for {
		j := 2*i + 1
		if j >= n || j < 0 {
			break
		}
		if j2 := j + 1; j2 < n && s.before(g.h[j2], g.h[j]) {
			j = j2
		}
		if !s.before(g.h[j], g.h[i]) {
			break
		}
		s.swap(g, i, j)
		i = j
	}
	return i > i0
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

func (s *Scheduler) activate(id, node string, gpu *int, cost int64, t int32) {
	if old, ok := s.active[id]; ok {
		s.release(id, old)
	}
	s.active[id] = activeJob{node: node, gpu: gpu, cost: cost, tenant: t}
	s.tenants[t].running++
	l := s.nodeLoad(node)
	l.jobs++
	l.pixels += cost
	if gpu != nil {
		l.gpus[*gpu]++
	}
}

// Activate counts a job of tenant already running on node (at startup, from the store).
func (s *Scheduler) Activate(id, tenant, node string, gpu *int, cost int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.activate(id, node, gpu, cost, s.tenantOf(tenant))
}

// Running returns how many jobs of each tenant are on nodes (assigned or running).
func (s *Scheduler) Running() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.tenants))
	for _, t := range s.tenants {
		if t.running > 0 {
			out[t.name] = t.running
		}
	}
	return out
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
	s.tenants[a.tenant].running--
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
	for _, n := range s.queued {
		if q := s.items[n].queue; q >= 0 {
			d[api.Queues[q]]++
		}
	}
	return d
}

// Oldest returns, per queue that holds jobs, when its oldest queued job was created.
func (s *Scheduler) Oldest() map[string]time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	oldest := make([]int64, len(api.Queues))
	for _, n := range s.queued {
		it := &s.items[n]
		if q := it.queue; q >= 0 && (oldest[q] == 0 || it.created < oldest[q]) {
			oldest[q] = it.created
		}
	}
	out := make(map[string]time.Time, len(api.Queues))
	for q, ns := range oldest {
		if ns != 0 {
			out[api.Queues[q]] = time.Unix(0, ns)
		}
	}
	return out
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
	if r.Node != "" && r.Node != n.ID {
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
	b.WriteString(e.Req.Node)
	b.WriteByte('|')
	if e.UsesGPU {
		b.WriteByte('g')
	}
	b.WriteString("|t:") // tenant names are checked: no '|', quotes or '='
	b.WriteString(e.Tenant)
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
	num     int32
	req     api.Requirements
	usesGPU bool
	tenant  int32
	h       []int32 // item numbers, a heap by Scheduler.before
}
