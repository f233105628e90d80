package masterbench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/catalog"
	"github.com/ffrtmp/ffrtmp/master/store"
)

// FillVersion names the layout of the generated jobs and the store's schema. Change it when
// jobMaker changes, so cached list databases are rebuilt (a new store schema does that too).
var FillVersion = fmt.Sprintf("fill1-s%d", store.SchemaVersion)

// jobMaker makes jobs as the master would have stored them: specs resolved by the catalog
// from a mix of scenarios, over the five queues and the priority range.
type jobMaker struct {
	rng       *rand.Rand
	templates []weighted
}

type weighted struct {
	job    api.Job
	weight int
}

// share is one item of a mix and its weight in percent.
type share struct {
	name   string
	weight int
}

// Scenario mix of generated jobs (weights in percent).
var scenarioMix = []share{
	{"1080p30-h264", 45}, {"720p30-h264", 20}, {"1080p60-h264", 10}, {"4k60", 5},
	{"1080p30-nvenc", 10}, {"1080p30-ladder", 10},
}

// Queue mix of generated jobs (weights in percent).
var queueMix = []share{
	{api.QueueBatch, 40}, {api.QueueLow, 20}, {api.QueueMedium, 20}, {api.QueueHigh, 15}, {api.QueueLive, 5},
}

func newJobMaker(seed uint64) (*jobMaker, error) {
	m := &jobMaker{rng: rand.New(rand.NewPCG(seed, 0x6d6173746572))}
	for _, s := range scenarioMix {
		j, aerr := catalog.Resolve(api.JobRequest{Scenario: s.name}, catalog.BuiltinPreset, 3)
		if aerr != nil {
			return nil, fmt.Errorf("resolve scenario %s: %w", s.name, aerr)
		}
		m.templates = append(m.templates, weighted{job: j, weight: s.weight})
	}
	return m, nil
}

// queued returns a queued job created at t.
func (m *jobMaker) queued(t time.Time) api.Job {
	pick := m.rng.IntN(100)
	var j api.Job
	for _, w := range m.templates {
		if pick -= w.weight; pick < 0 {
			j = w.job
			break
		}
	}
	j.Queue = pickShare(queueMix, m.rng.IntN(100))
	j.Priority = m.rng.IntN(api.MaxPriority-api.MinPriority+1) + api.MinPriority
	j.ID = store.NewID(t)
	j.Status = api.StatusQueued
	j.CreatedAt, j.UpdatedAt = t, t
	return j
}

// finished returns a job created at t that ran on one of nodes and ended: mostly completed,
// some failed or canceled, a few still queued.
func (m *jobMaker) finished(t time.Time, nodes int) api.Job {
	j := m.queued(t)
	pick := m.rng.IntN(100)
	if pick < 1 {
		return j
	}
	j.Node = fmt.Sprintf("node-%04d", m.rng.IntN(nodes))
	j.Attempts = 1
	assigned := t.Add(time.Duration(m.rng.IntN(30_000)) * time.Millisecond)
	started := assigned.Add(200 * time.Millisecond)
	run := time.Duration(5+m.rng.IntN(60)) * time.Second
	done := started.Add(run)
	j.AssignedAt, j.StartedAt, j.FinishedAt = &assigned, &started, &done
	j.UpdatedAt = done
	switch {
	case pick < 4:
		j.Status = api.StatusFailed
		j.Error = &api.JobError{Code: "encode_failed", Message: "encode output 0: avcodec_send_frame: Invalid argument"}
	case pick < 6:
		j.Status = api.StatusCanceled
	default:
		j.Status = api.StatusCompleted
		frames := int64(300 + m.rng.IntN(300))
		eta := 0.0
		j.Progress = &api.Progress{Percent: 100, FPS: float64(frames) / run.Seconds(), Speed: 10 / run.Seconds(), ETA: &eta, Frames: frames, OutTime: 10, At: done}
		enc := map[string]string{}
		var outs []string
		for _, o := range j.Spec.Outputs {
			enc[o.Name] = o.Video.Codec
			outs = append(outs, o.Name)
		}
		j.Result = &api.Result{Encoders: enc, Frames: frames, Bytes: int64(m.rng.IntN(20_000_000)),
			Seconds: run.Seconds(), FPS: float64(frames) / run.Seconds(), Speed: 10 / run.Seconds(), Outputs: outs}
	}
	return j
}

// fillBatch is how many jobs one PutJobs transaction carries.
const fillBatch = 5000

// fill writes n jobs made by mk (the i-th created at times[i]) into st. Jobs are made in
// one goroutine (IDs must grow with time) and written by two, so making the next batch
// overlaps writing the last.
func fill(ctx context.Context, st *store.Store, n int, mk func(i int) api.Job) error {
	g, ctx := errgroup.WithContext(ctx)
	batches := make(chan []api.Job, 2)
	g.Go(func() error {
		defer close(batches)
		for i := 0; i < n; i += fillBatch {
			b := make([]api.Job, 0, min(fillBatch, n-i))
			for k := i; k < i+cap(b); k++ {
				b = append(b, mk(k))
			}
			select {
			case batches <- b:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	for range 2 {
		g.Go(func() error {
			for b := range batches {
				if err := st.PutJobs(ctx, b); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return g.Wait()
}

// FillQueued creates database path with n queued jobs created over the last hour, one in
// ten for nodes labelled pool=gpu only.
func FillQueued(ctx context.Context, path string, n int) error {
	mk, err := newJobMaker(1)
	if err != nil {
		return err
	}
	st, err := store.Open(path, store.Options{})
	if err != nil {
		return err
	}
	base := time.Now().UTC().Add(-time.Hour)
	step := time.Hour / time.Duration(max(n, 1))
	err = fill(ctx, st, n, func(i int) api.Job {
		j := mk.queued(base.Add(time.Duration(i) * step))
		if i%10 == 0 {
			// Some jobs only a part of the nodes may run: the scheduler skips their group
			// for the others.
			j.Requirements.Labels = map[string]string{"pool": "gpu"}
		}
		return j
	})
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	return err
}

// ListDB is a database of finished jobs cached between runs.
type ListDB struct {
	Path string `json:"-"`
	// Version and Jobs identify the contents; a cache that differs is rebuilt.
	Version string `json:"version"`
	Jobs    int    `json:"jobs"`
	// Built is when it was made and BuildSeconds how long that took.
	Built        time.Time `json:"built"`
	BuildSeconds float64   `json:"build_seconds"`
	// Bytes is the file's size, checked when the cache is found again.
	Bytes int64 `json:"bytes"`
	// Cached is true when this run found it rather than building it.
	Cached bool `json:"-"`
}

// listNodes is how many nodes the jobs of a list database ran on.
const listNodes = 200

// EnsureListDB returns dir's cached database of n jobs (mostly finished, created over the
// 30 days before it was built), building it when it is missing, has changed or was made by
// another version of this generator. A master started on it must keep jobs forever
// (--retention 0) so the cache stays as built. RemoveListDB drops it (e.g. when the store's
// schema moved on and the master refuses it).
func EnsureListDB(ctx context.Context, dir string, n int) (ListDB, error) {
	base := listBase(dir, n)
	want := ListDB{Path: base + ".db", Version: FillVersion, Jobs: n}
	// Not opened here: opening a large bbolt file reads all of it (see StartMaster's time).
	if got, err := readListMeta(base + ".json"); err == nil && got.Version == want.Version && got.Jobs == want.Jobs {
		if fi, err := os.Stat(want.Path); err == nil && fi.Size() == got.Bytes {
			got.Path, got.Cached = want.Path, true
			return got, nil
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return want, err
	}
	os.Remove(base + ".json")
	os.Remove(want.Path)
	tmp := fmt.Sprintf("%s.db.partial-%d", base, os.Getpid())
	defer os.Remove(tmp)
	start := time.Now()
	if err := buildListDB(ctx, tmp, n); err != nil {
		return want, fmt.Errorf("build list database: %w", err)
	}
	if err := syncFile(tmp); err != nil {
		return want, err
	}
	if err := os.Rename(tmp, want.Path); err != nil {
		return want, err
	}
	want.Built, want.BuildSeconds = time.Now().UTC(), time.Since(start).Seconds()
	fi, err := os.Stat(want.Path)
	if err != nil {
		return want, err
	}
	want.Bytes = fi.Size()
	b, _ := json.MarshalIndent(want, "", "  ")
	if err := os.WriteFile(base+".json", append(b, '\n'), 0o644); err != nil {
		return want, err
	}
	return want, nil
}

func listBase(dir string, n int) string {
	return filepath.Join(dir, fmt.Sprintf("master-list-%s-%d", FillVersion, n))
}

// RemoveListDB deletes dir's cached database of n jobs.
func RemoveListDB(dir string, n int) error {
	base := listBase(dir, n)
	os.Remove(base + ".json")
	if err := os.Remove(base + ".db"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

func buildListDB(ctx context.Context, path string, n int) error {
	mk, err := newJobMaker(2)
	if err != nil {
		return err
	}
	// No fsync per transaction while building: the file is synced once before it is renamed
	// into place, and a build cut short is never used.
	st, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		return err
	}
	span := 30 * 24 * time.Hour
	base := time.Now().UTC().Add(-span)
	step := span / time.Duration(max(n, 1))
	err = fill(ctx, st, n, func(i int) api.Job { return mk.finished(base.Add(time.Duration(i)*step), listNodes) })
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	return err
}

func readListMeta(path string) (ListDB, error) {
	var m ListDB
	b, err := os.ReadFile(path)
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, err
	}
	if m.Version == "" {
		return m, errors.New("no version")
	}
	return m, nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// SubmitQueued queues n jobs through the API at url, from clients concurrent connections:
// the same mix as FillQueued (scenarios, queues, priorities, one in ten for nodes labelled
// pool=gpu), for a master whose database cannot be written beforehand (a cluster member's
// is the raft log's). Every job must be accepted.
func SubmitQueued(ctx context.Context, url string, n, clients int) error {
	bodies := make([][]byte, 100)
	for i := range bodies {
		req := api.JobRequest{Scenario: pickShare(scenarioMix, i), Queue: pickShare(queueMix, (i*37)%100),
			Priority: api.MinPriority + i%(api.MaxPriority-api.MinPriority+1)}
		if i%10 == 0 {
			req.Requirements.Labels = map[string]string{"pool": "gpu"}
		}
		b, err := json.Marshal(req)
		if err != nil {
			return err
		}
		bodies[i] = b
	}
	conns, err := newWireConns(url, clients)
	if err != nil {
		return err
	}
	defer conns.Close()
	var next atomic.Int64
	g, ctx := errgroup.WithContext(ctx)
	for c := range clients {
		g.Go(func() error {
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return nil
				}
				code, err := conns[c].do(http.MethodPost, "/v1/jobs", bodies[i%int64(len(bodies))], nil)
				if err != nil {
					return fmt.Errorf("submit queued job %d: %w", i, err)
				}
				if code != http.StatusCreated {
					return fmt.Errorf("submit queued job %d: answer %d, want 201", i, code)
				}
			}
			return ctx.Err()
		})
	}
	return g.Wait()
}

// pickShare returns the name of the share a pick in [0, 100) falls on.
func pickShare(mix []share, pick int) string {
	for _, s := range mix {
		if pick -= s.weight; pick < 0 {
			return s.name
		}
	}
	return mix[len(mix)-1].name
}
