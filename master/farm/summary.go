package farm

import (
	"fmt"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/fault"
	"github.com/ffrtmp/ffrtmp/master/store"
)

// tally is what the farm counts of a set of jobs (the farm's, one tenant's) for the job
// summary, kept up by follow under Service.mu. Only counts: the summary answers from these
// alone, without reading the store.
type tally struct {
	byStatus map[api.Status]int
	byQueue  map[string]*api.QueueCounts // jobs not finished; a queue without any is removed
	finished minutes
}

func newTally() *tally {
	return &tally{byStatus: map[api.Status]int{}, byQueue: map[string]*api.QueueCounts{}}
}

// add counts n (±1) jobs of status st in queue.
func (t *tally) add(st api.Status, queue string, n int) {
	t.byStatus[st] += n
	t.addQueue(st, queue, n)
}

// addQueue counts n jobs of status st in queue by queue only (finished ones are not).
func (t *tally) addQueue(st api.Status, queue string, n int) {
	if st.Terminal() {
		return
	}
	qc := t.byQueue[queue]
	if qc == nil {
		qc = &api.QueueCounts{}
		t.byQueue[queue] = qc
	}
	switch st {
	case api.StatusQueued:
		qc.Queued += n
	case api.StatusAssigned:
		qc.Assigned += n
	case api.StatusRunning:
		qc.Running += n
	case api.StatusRetrying:
		qc.Retrying += n
	}
	if *qc == (api.QueueCounts{}) {
		delete(t.byQueue, queue)
	}
}

// minutes counts the jobs that finished in each of the last api.SummaryMinutes minutes: a
// ring of one slot per minute, a slot still holding an older minute's counts being stale.
type minutes [api.SummaryMinutes]minuteSlot

type minuteSlot struct {
	minute int64 // Unix minute counted
	counts api.FinishedCounts
}

func unixMinute(t time.Time) int64 { return t.Unix() / 60 }

func (m *minutes) add(now time.Time, st api.Status) {
	min := unixMinute(now)
	sl := &m[min%api.SummaryMinutes]
	if sl.minute != min {
		*sl = minuteSlot{minute: min}
	}
	switch st {
	case api.StatusCompleted:
		sl.counts.Completed++
	case api.StatusFailed:
		sl.counts.Failed++
	case api.StatusCanceled:
		sl.counts.Canceled++
	}
}

// read returns the last api.SummaryMinutes minutes up to now's, oldest first, and their sum.
func (m *minutes) read(now time.Time) ([]api.MinuteCounts, api.FinishedCounts) {
	out := make([]api.MinuteCounts, api.SummaryMinutes)
	var sum api.FinishedCounts
	last := unixMinute(now)
	for i := range out {
		min := last - api.SummaryMinutes + 1 + int64(i)
		out[i].Minute = time.Unix(min*60, 0).UTC()
		if sl := m[min%api.SummaryMinutes]; sl.minute == min {
			out[i].Completed, out[i].Failed, out[i].Canceled = sl.counts.Completed, sl.counts.Failed, sl.counts.Canceled
			sum.Completed += sl.counts.Completed
			sum.Failed += sl.counts.Failed
			sum.Canceled += sl.counts.Canceled
		}
	}
	return out, sum
}

// tallied is tenant's tally (under Service.mu).
func (s *Service) tallied(tenant string) *tally {
	tc := s.counted(tenant)
	if tc.tally == nil {
		tc.tally = newTally()
	}
	return tc.tally
}

// countChange counts a committed change of a job in the farm's and its tenant's tallies
// (under Service.mu); before.Status "" is a job being created.
func (s *Service) countChange(tenant string, before, after api.Job, now time.Time) {
	t := s.tallied(tenant)
	if before.Status != "" {
		s.all.add(before.Status, before.Queue, -1)
		t.add(before.Status, before.Queue, -1)
	}
	s.all.add(after.Status, after.Queue, 1)
	t.add(after.Status, after.Queue, 1)
	if after.Status.Terminal() && !before.Status.Terminal() {
		s.all.finished.add(now, after.Status)
		t.finished.add(now, after.Status)
	}
}

// Summary counts the jobs c sees (api.JobSummary): its tenant's, or with c.All the whole
// farm's, or tenant's when it names one (admins only, as for List). It reads memory only.
func (s *Service) Summary(c Caller, tenant string) (api.JobSummary, error) {
	if tenant != "" && !c.Sees(tenant) {
		return api.JobSummary{}, &fault.ForbiddenError{Field: "tenant",
			Msg: fmt.Sprintf("API key %q sees only tenant %q: only admin keys count other tenants' jobs", c.Name, c.TenantName())}
	}
	if !c.All {
		tenant = c.TenantName()
	}
	now := s.now()
	out := api.JobSummary{Tenant: tenant, Time: now, CountingSince: s.start.UTC(),
		ByStatus: make(map[api.Status]int, len(api.Statuses)), ByQueue: map[string]api.QueueCounts{}}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.all
	if tenant != "" {
		t = nil
		if tc := s.tenants[tenant]; tc != nil {
			t = tc.tally
		}
		if t == nil {
			t = newTally() // a tenant without jobs: every count 0
		}
	}
	for _, st := range api.Statuses {
		out.ByStatus[st] = t.byStatus[st]
	}
	for q, qc := range t.byQueue {
		out.ByQueue[q] = *qc
	}
	out.FinishedPerMinute, out.FinishedLastHour = t.finished.read(now)
	return out, nil
}

// loadCounts takes the stored jobs' counts per tenant and status (at start, from the
// store's indexes): the farm's are their sums.
func (s *Service) loadCounts(by map[store.TenantStatus]int) {
	for ts, n := range by {
		s.tallied(ts.Tenant).byStatus[ts.Status] += n
		s.all.byStatus[ts.Status] += n
	}
}

// purged uncounts the jobs the retention purged.
func (s *Service) purged(by map[store.TenantStatus]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ts, n := range by {
		s.tallied(ts.Tenant).byStatus[ts.Status] -= n
		s.all.byStatus[ts.Status] -= n
	}
}
