package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/store"
)

func bulkJob(t0 time.Time, i int, status api.Status, node string) api.Job {
	at := t0.Add(time.Duration(i) * time.Second)
	j := api.Job{ID: store.NewID(at), Status: status, Queue: api.QueueBatch, Priority: i,
		Scenario: "1080p30-h264", Node: node, CreatedAt: at, UpdatedAt: at.Add(time.Minute), MaxRetries: 3}
	if status == api.StatusFailed {
		j.Error = &api.JobError{Code: "encoder", Message: "boom"}
	}
	return j
}

func TestPutJobs(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	st, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	jobs := []api.Job{
		bulkJob(t0, 0, api.StatusCompleted, "n1"),
		bulkJob(t0, 1, api.StatusQueued, ""),
		bulkJob(t0, 2, api.StatusFailed, "n2"),
		bulkJob(t0, 3, api.StatusQueued, ""),
	}
	if err := st.PutJobs(ctx, jobs); err != nil {
		t.Fatal(err)
	}

	// A batch with a known ID, or one ID twice, writes nothing.
	fresh := bulkJob(t0, 10, api.StatusQueued, "")
	if err := st.PutJobs(ctx, []api.Job{fresh, jobs[1]}); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("PutJobs with an existing ID: %v, want an error saying it exists", err)
	}
	if err := st.PutJobs(ctx, []api.Job{fresh, fresh}); err == nil {
		t.Fatal("PutJobs with one ID twice: no error")
	}
	if _, err := st.GetJob(ctx, fresh.ID); err != store.ErrNotFound {
		t.Fatalf("job of a refused batch: %v, want ErrNotFound", err)
	}
	for _, bad := range []api.Job{{ID: "nope", Status: api.StatusQueued}, {ID: fresh.ID, Status: "lost"}} {
		if err := st.PutJobs(ctx, []api.Job{bad}); err == nil {
			t.Errorf("PutJobs(%+v): no error", bad)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	// What was written is on disk, indexed and with its event.
	st, err = store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got, err := st.GetJob(ctx, jobs[2].ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != api.StatusFailed || got.Node != "n2" || got.Error == nil || !got.CreatedAt.Equal(jobs[2].CreatedAt) {
		t.Errorf("job read back = %+v, want %+v", got, jobs[2])
	}
	counts, err := st.CountByStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts[api.StatusQueued] != 2 || counts[api.StatusCompleted] != 1 || counts[api.StatusFailed] != 1 {
		t.Errorf("counts = %v, want 2 queued, 1 completed, 1 failed", counts)
	}
	list, _, err := st.ListJobs(ctx, store.Filter{Statuses: []api.Status{api.StatusQueued}, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != jobs[3].ID || list[1].ID != jobs[1].ID {
		t.Errorf("queued jobs newest first = %v, want %s, %s", bulkIDs(list), jobs[3].ID, jobs[1].ID)
	}
	list, _, err = st.ListJobs(ctx, store.Filter{Node: "n1", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != jobs[0].ID {
		t.Errorf("jobs of node n1 = %v, want %s", bulkIDs(list), jobs[0].ID)
	}
	evs, _, err := st.Events(ctx, jobs[2].ID, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Seq != 1 || evs[0].Type != api.EventState || evs[0].To != api.StatusFailed ||
		!evs[0].Time.Equal(jobs[2].UpdatedAt) || evs[0].Error == nil {
		t.Errorf("events = %+v, want one state event into failed at the job's update time", evs)
	}
	var queued []string
	err = st.EachJob(ctx, []api.Status{api.StatusQueued}, func(j api.Job) error {
		queued = append(queued, j.ID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(queued) != 2 || queued[0] != jobs[1].ID {
		t.Errorf("EachJob(queued) = %v, want %s first", queued, jobs[1].ID)
	}
}

func bulkIDs(jobs []api.Job) []string {
	out := make([]string, len(jobs))
	for i, j := range jobs {
		out[i] = j.ID
	}
	return out
}

// Filters on several fields at once (one walked, the others checked against their indexes
// before a job is read) give what checking every job would, page after page.
func TestListJobsCombinedFilters(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(filepath.Join(t.TempDir(), "m.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	statuses := []api.Status{api.StatusQueued, api.StatusRunning, api.StatusCompleted, api.StatusFailed}
	t0 := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	var all []api.Job
	for i := range 300 {
		st := statuses[rng.IntN(len(statuses))]
		node := ""
		if st != api.StatusQueued {
			node = fmt.Sprintf("n%d", rng.IntN(3))
		}
		j := bulkJob(t0, i, st, node)
		j.Queue = api.Queues[rng.IntN(len(api.Queues))]
		all = append(all, j)
	}
	if err := st.PutJobs(ctx, all); err != nil {
		t.Fatal(err)
	}
	for _, f := range []store.Filter{
		{Statuses: []api.Status{api.StatusCompleted}, Queue: api.QueueLive},
		{Statuses: []api.Status{api.StatusFailed, api.StatusQueued}, Queue: api.QueueBatch},
		{Node: "n1", Statuses: []api.Status{api.StatusRunning, api.StatusFailed}},
		{Node: "n2", Queue: api.QueueHigh},
		{Node: "n0", Statuses: []api.Status{api.StatusCompleted}, Queue: api.QueueMedium},
		{Node: "n0", Statuses: []api.Status{api.StatusFailed, api.StatusQueued}, Queue: api.QueueLow},
	} {
		var want []string
		for _, j := range slices.Backward(all) {
			if (f.Node == "" || j.Node == f.Node) && (f.Queue == "" || j.Queue == f.Queue) &&
				(len(f.Statuses) == 0 || slices.Contains(f.Statuses, j.Status)) {
				want = append(want, j.ID)
			}
		}
		if len(want) == 0 {
			t.Fatalf("filter %+v matches none of the jobs: the test proves nothing", f)
		}
		var got []string
		f.Limit = 7
		for page := 0; ; page++ {
			list, next, err := st.ListJobs(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, bulkIDs(list)...)
			if next == "" || page > 100 {
				break
			}
			f.Cursor = next
		}
		if !slices.Equal(got, want) {
			t.Errorf("filter %+v: got %d jobs %v, want %d %v", f, len(got), got, len(want), want)
		}
	}
}
