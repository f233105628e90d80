package farm_test

import (
	"fmt"
	"maps"
	"net/http"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/auth"
	"github.com/ffrtmp/ffrtmp/master/farm"
	"github.com/ffrtmp/ffrtmp/master/mastertest"
)

// summaryModel is what the test knows of its jobs, to work out every caller's summary.
type summaryModel struct {
	jobs     map[string]*modelJob
	finished []modelFinish
}

type modelJob struct {
	tenant, queue string
	status        api.Status
}

type modelFinish struct {
	tenant string
	status api.Status
	at     time.Time
}

// saw records a job as an answer showed it, and its finish when it just finished.
func (m *summaryModel) saw(j api.Job, now time.Time) {
	tenant := j.Tenant
	if tenant == "" {
		tenant = api.DefaultTenant
	}
	mj := m.jobs[j.ID]
	if mj == nil {
		mj = &modelJob{tenant: tenant, queue: j.Queue}
		m.jobs[j.ID] = mj
	}
	if j.Status.Terminal() && !mj.status.Terminal() {
		m.finished = append(m.finished, modelFinish{tenant, j.Status, now})
	}
	mj.status = j.Status
}

// want is the summary of tenant's jobs ("" every tenant's) at now.
func (m *summaryModel) want(tenant string, now time.Time) api.JobSummary {
	s := api.JobSummary{Tenant: tenant, ByStatus: map[api.Status]int{}, ByQueue: map[string]api.QueueCounts{}}
	for _, st := range api.Statuses {
		s.ByStatus[st] = 0
	}
	for _, j := range m.jobs {
		if tenant != "" && j.tenant != tenant {
			continue
		}
		s.ByStatus[j.status]++
		if j.status.Terminal() {
			continue
		}
		qc := s.ByQueue[j.queue]
		switch j.status {
		case api.StatusQueued:
			qc.Queued++
		case api.StatusAssigned:
			qc.Assigned++
		case api.StatusRunning:
			qc.Running++
		case api.StatusRetrying:
			qc.Retrying++
		}
		s.ByQueue[j.queue] = qc
	}
	last := now.Truncate(time.Minute)
	for i := range api.SummaryMinutes {
		mc := api.MinuteCounts{Minute: last.Add(time.Duration(i-api.SummaryMinutes+1) * time.Minute)}
		for _, f := range m.finished {
			if (tenant != "" && f.tenant != tenant) || !f.at.Truncate(time.Minute).Equal(mc.Minute) {
				continue
			}
			switch f.status {
			case api.StatusCompleted:
				mc.Completed++
				s.FinishedLastHour.Completed++
			case api.StatusFailed:
				mc.Failed++
				s.FinishedLastHour.Failed++
			case api.StatusCanceled:
				mc.Canceled++
				s.FinishedLastHour.Canceled++
			}
		}
		s.FinishedPerMinute = append(s.FinishedPerMinute, mc)
	}
	return s
}

// checkSummaries asks GET /v1/jobs/summary as every kind of caller and compares each answer
// with the model: a submitter counts its own tenant's jobs only, admins and monitors the
// farm's, or one tenant's when they name it.
func checkSummaries(t *testing.T, e *env, m *summaryModel, clk *clock, since time.Time, step string) {
	t.Helper()
	other := e.h.ClientWithKey(t, mastertest.OtherTenantKey)
	mon := e.h.Client(t, auth.RoleMonitor)
	for _, c := range []struct {
		who    string
		c      *api.Client
		tenant string // asked for
		counts string // counted
	}{
		{"default submitter", e.sub, "", api.DefaultTenant},
		{"default submitter naming its tenant", e.sub, api.DefaultTenant, api.DefaultTenant},
		{"other tenant's submitter", other, "", mastertest.OtherTenant},
		{"admin", e.adm, "", ""},
		{"monitor", mon, "", ""},
		{"admin for the other tenant", e.adm, mastertest.OtherTenant, mastertest.OtherTenant},
		{"monitor for the default tenant", mon, api.DefaultTenant, api.DefaultTenant},
		{"admin for a tenant without jobs", e.adm, "nobody", "nobody"},
	} {
		got, err := c.c.JobSummary(e.ctx, c.tenant)
		if err != nil {
			t.Fatalf("%s: %s: summary: %v", step, c.who, err)
		}
		want := m.want(c.counts, clk.Now())
		if got.Tenant != want.Tenant || !got.Time.Equal(clk.Now()) || !got.CountingSince.Equal(since) {
			t.Errorf("%s: %s: tenant %q, time %v, counting since %v; want %q, %v, %v", step, c.who, got.Tenant, got.Time, got.CountingSince, want.Tenant, clk.Now(), since)
		}
		if !maps.Equal(got.ByStatus, want.ByStatus) {
			t.Errorf("%s: %s: by_status %v, want %v", step, c.who, got.ByStatus, want.ByStatus)
		}
		if !maps.Equal(got.ByQueue, want.ByQueue) {
			t.Errorf("%s: %s: by_queue %v, want %v", step, c.who, got.ByQueue, want.ByQueue)
		}
		if got.FinishedLastHour != want.FinishedLastHour {
			t.Errorf("%s: %s: finished_last_hour %+v, want %+v", step, c.who, got.FinishedLastHour, want.FinishedLastHour)
		}
		if fmt.Sprint(got.FinishedPerMinute) != fmt.Sprint(want.FinishedPerMinute) {
			t.Errorf("%s: %s: finished_per_minute\n%v\nwant\n%v", step, c.who, got.FinishedPerMinute, want.FinishedPerMinute)
		}
	}
	// A submitter asks for another tenant's figures: refused, as its listing is.
	for _, c := range []struct {
		c      *api.Client
		tenant string
	}{{e.sub, mastertest.OtherTenant}, {other, api.DefaultTenant}} {
		_, err := c.c.JobSummary(e.ctx, c.tenant)
		wantAPIError(t, err, http.StatusForbidden, api.CodeForbidden)
	}
}

// TestJobSummary follows the counts of GET /v1/jobs/summary through jobs of two tenants in
// two queues submitted, leased, run, completed, failed, retried by the farm and by hand,
// canceled, across a restart of the master and a purge.
func TestJobSummary(t *testing.T) {
	clk := newClock()
	e := start(t, withClock(clk), func(c *farm.Config) {
		c.Retention = 30 * time.Minute
		c.RetryBackoff = time.Minute
		c.RetryBackoffMax = time.Minute
	})
	since := clk.Now()
	other := e.h.ClientWithKey(t, mastertest.OtherTenantKey)
	m := &summaryModel{jobs: map[string]*modelJob{}}
	check := func(step string) { t.Helper(); checkSummaries(t, e, m, clk, since, step) }
	get := func(id string) api.Job {
		t.Helper()
		j, err := e.adm.GetJob(e.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return *j
	}
	check("empty farm")

	for _, q := range []string{api.QueueBatch, api.QueueBatch, api.QueueLive, api.QueueBatch} {
		m.saw(e.submit(api.JobRequest{Queue: q}), clk.Now())
	}
	for _, q := range []string{api.QueueBatch, api.QueueLive} {
		j, err := other.SubmitJob(e.ctx, api.JobRequest{Scenario: "720p30-h264", Queue: q}, "")
		if err != nil {
			t.Fatal(err)
		}
		m.saw(*j, clk.Now())
	}
	check("submitted")

	n := e.node(api.Capabilities{Slots: 8}, nil)
	var leased []string
	for range 4 {
		l := e.mustLease(n)
		m.saw(l.Job, clk.Now())
		leased = append(leased, l.Job.ID)
	}
	e.progress(leased[0], n, 10)
	m.saw(get(leased[0]), clk.Now())
	check("leased")

	m.saw(e.complete(leased[0], n), clk.Now())
	check("completed")

	clk.Add(2*time.Minute + 17*time.Second)
	m.saw(e.fail(leased[1], n, "bad_input", false), clk.Now())
	m.saw(e.fail(leased[2], n, "node_busy", true), clk.Now())
	check("failed and retrying")

	clk.Add(40 * time.Second)
	for id, j := range m.jobs {
		if j.status != api.StatusQueued {
			continue
		}
		c := e.sub
		if j.tenant == mastertest.OtherTenant {
			c = other
		}
		got, err := c.CancelJob(e.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		m.saw(*got, clk.Now())
		break
	}
	c, err := e.adm.CancelJob(e.ctx, leased[3])
	if err != nil {
		t.Fatal(err)
	}
	m.saw(*c, clk.Now())
	check("canceled")

	clk.Add(time.Minute)
	r, err := e.adm.RetryJob(e.ctx, leased[1])
	if err != nil {
		t.Fatal(err)
	}
	m.saw(*r, clk.Now())
	e.tick() // the retrying job's backoff is over
	m.saw(get(leased[2]), clk.Now())
	if m.jobs[leased[2]].status != api.StatusQueued {
		t.Fatalf("retrying job is %s after its backoff", m.jobs[leased[2]].status)
	}
	check("retried")

	// A restart counts the stored jobs again; what finished before it is not known.
	clk.Add(time.Minute)
	e = e.restart()
	since = clk.Now()
	m.finished = nil
	check("restarted")

	// Jobs finished after the restart count; an hour on, they no longer do, and the purge
	// takes the finished jobs out of the counts.
	l := e.mustLease(n)
	m.saw(l.Job, clk.Now())
	m.saw(e.complete(l.Job.ID, n), clk.Now())
	check("completed after the restart")
	clk.Add(time.Hour)
	e.farm().Purge(e.ctx)
	for id, j := range m.jobs {
		if j.status.Terminal() {
			delete(m.jobs, id)
		}
	}
	check("an hour later, purged")
}
