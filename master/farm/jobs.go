package farm

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/catalog"
	"github.com/ffrtmp/ffrtmp/master/fault"
	"github.com/ffrtmp/ffrtmp/master/store"
	"github.com/ffrtmp/ffrtmp/master/webhook"
)

// Submit validates req, resolves its preset or scenario and stores it queued, owned by the
// caller's tenant (or, for an admin, the tenant req names) within that tenant's quotas and
// the farm's queued cap. With an idempotency key (scoped by the caller's name), a repeat of
// the same request returns the job created the first time, and replay is true. The job is
// on disk when Submit returns.
func (s *Service) Submit(ctx context.Context, c Caller, req api.JobRequest, idemKey string) (job api.Job, replay bool, err error) {
	return s.submit(ctx, c, req, idemKey, nil, true)
}

// SubmitTuned stores a job for c as Submit does, with tune, when not nil, adjusting the
// resolved job before it is stored, and without holding it to the queued quotas: the caller
// bounds those (live streams: a stream's live job counts against the stream quota).
func (s *Service) SubmitTuned(ctx context.Context, c Caller, req api.JobRequest, tune func(*api.Job)) (api.Job, error) {
	job, _, err := s.submit(ctx, c, req, "", tune, false)
	return job, err
}

// submit is Submit with tune, when not nil, adjusting the resolved job before it is stored
// (a live stream's job gets a sliding HLS window). Without quota the job is not held to
// the queued quotas (a stream's live job: the stream quota bounds those).
func (s *Service) submit(ctx context.Context, c Caller, req api.JobRequest, idemKey string, tune func(*api.Job), quota bool) (job api.Job, replay bool, err error) {
	tenant, aerr := c.Owner(req.Tenant)
	if aerr != nil {
		return api.Job{}, false, aerr
	}
	job, aerr = catalog.Resolve(req, s.PresetsOf(tenant), s.cfg.MaxRetries)
	if aerr != nil {
		return api.Job{}, false, aerr
	}
	job.Tenant = tenant
	if job.CallbackURL != "" {
		if err := webhook.CheckCallback(ctx, s.cfg.Callbacks, job.CallbackURL); err != nil {
			if ctx.Err() != nil {
				return api.Job{}, false, fmt.Errorf("check callback_url: %w", err)
			}
			return api.Job{}, false, badRequest("callback_url", "%s", err)
		}
	}
	if tune != nil {
		tune(&job)
	}
	now := s.now()
	var res *reservation
	if quota {
		res, aerr = s.reserveSubmit(tenant, now)
		if aerr != nil {
			return api.Job{}, false, aerr
		}
		defer s.unreserve(res)
	}
	// Known as an owner before the job is stored: a list that ran between the two would
	// otherwise skip the tenant filter and show the job to another tenant.
	s.mu.Lock()
	s.owners[tenant] = true
	s.mu.Unlock()
	caller := c.Name
	job.ID = store.NewID(now)
	job.Status = api.StatusQueued
	job.CreatedAt, job.UpdatedAt = now, now
	var idem *store.Idempotency
	if idemKey != "" {
		if len(idemKey) > 255 {
			return api.Job{}, false, badRequest("Idempotency-Key", "longer than 255 bytes")
		}
		k := sha256.Sum256([]byte(caller + "\x00" + idemKey))
		body, err := json.Marshal(req) // canonical: field order fixed, map keys sorted
		if err != nil {
			return api.Job{}, false, fmt.Errorf("hash request: %w", err)
		}
		h := sha256.Sum256(body)
		idem = &store.Idempotency{Key: k[:], BodyHash: h[:]}
	}
	ev := api.Event{Time: now, Type: api.EventState, To: api.StatusQueued, Message: "submitted by " + caller}
	job, replay, err = s.st.CreateJob(ctx, job, ev, idem)
	if errors.Is(err, store.ErrIdempotencyReused) {
		return api.Job{}, false, conflict(api.CodeIdempotencyReuse, "Idempotency-Key %q was used for a different request: use a new key", idemKey)
	}
	if err != nil {
		return api.Job{}, false, fmt.Errorf("store job: %w", err)
	}
	if !replay {
		// Under the job's lock: a node may lease it the moment the scheduler has it, and
		// its assignment must be heard of after its creation.
		unlock := s.lock(job.ID)
		s.followCreated(job, now, res)
		s.published(api.Job{}, job)
		unlock()
	}
	return s.view(job), replay, nil
}

// Get returns job id with its live progress; another tenant's job is not found.
func (s *Service) Get(ctx context.Context, c Caller, id string) (api.Job, error) {
	j, err := s.st.GetJob(ctx, id)
	if err != nil {
		return api.Job{}, storeErr(err, "job", id)
	}
	if !c.Sees(j.Tenant) {
		return api.Job{}, notFound("job", id)
	}
	return s.view(j), nil
}

// view adds what only memory knows (the latest progress of an active job).
func (s *Service) view(j api.Job) api.Job {
	if !j.Status.Active() {
		return j
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.active[j.ID]; ok && a.node == j.Node {
		return a.overlay(j)
	}
	return j
}

// Limits of GET /v1/jobs.
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

// Page is a page of jobs as the API writes it: each job's JSON as stored (the API view),
// except active jobs, which carry their live progress.
type Page struct {
	Jobs       []json.RawMessage
	NextCursor string
}

// List returns a page of the jobs c sees, newest first: its tenant's, or for an admin
// every tenant's (f.Tenant narrows it to one; from anyone else f.Tenant must be its own).
// Stored jobs are passed through as their JSON, not decoded: a page of a million-job store
// costs a copy per job.
func (s *Service) List(ctx context.Context, c Caller, f store.Filter) (Page, error) {
	if f.Tenant != "" && !c.Sees(f.Tenant) {
		return Page{}, &fault.ForbiddenError{Field: "tenant",
			Msg: fmt.Sprintf("API key %q sees only tenant %q: only admin keys list other tenants", c.Name, c.TenantName())}
	}
	if !c.All {
		f.Tenant = c.TenantName()
	}
	if f.Tenant != "" {
		s.mu.Lock()
		only := len(s.owners) == 1 && s.owners[f.Tenant] || len(s.owners) == 0
		s.mu.Unlock()
		if only {
			f.Tenant = "" // every stored job is that tenant's: the index walk would only cost
		}
	}
	if f.Limit <= 0 {
		f.Limit = DefaultPageSize
	}
	if f.Limit > MaxPageSize {
		return Page{}, badRequest("limit", "limit %d: at most %d", f.Limit, MaxPageSize)
	}
	raw, next, err := s.st.ListJobsRaw(ctx, f)
	if errors.Is(err, store.ErrNotFound) {
		return Page{}, badRequest("cursor", "cursor %q is not a job ID from a previous page", f.Cursor)
	}
	if err != nil {
		return Page{}, err
	}
	p := Page{Jobs: make([]json.RawMessage, len(raw)), NextCursor: next}
	for i, r := range raw {
		p.Jobs[i] = r.JSON
		if !s.isActive(r.ID) {
			continue
		}
		var j api.Job
		if err := json.Unmarshal(r.JSON, &j); err != nil {
			return Page{}, fmt.Errorf("decode job %s: %w", r.ID, err)
		}
		if p.Jobs[i], err = json.Marshal(s.view(j)); err != nil {
			return Page{}, err
		}
	}
	return p, nil
}

func (s *Service) isActive(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.active[id]
	return ok
}

// Cancel stops a job that has not finished. A running job's node is told at its next
// heartbeat or progress report.
func (s *Service) Cancel(ctx context.Context, c Caller, id string) (api.Job, error) {
	j, err := s.change(ctx, id, func(j *api.Job, now time.Time) ([]api.Event, error) {
		if !c.Sees(j.Tenant) {
			return nil, notFound("job", id)
		}
		if j.Status.Terminal() {
			return nil, conflict(api.CodeIllegalTransition, "job %s is already %s", j.ID, j.Status)
		}
		j.FinishedAt, j.RetryAt, j.Phase = &now, nil, ""
		ev, err := move(j, api.StatusCanceled, now, "canceled by "+c.Name)
		return []api.Event{ev}, err
	})
	return s.view(j), err
}

// Abandon cancels job id for why (written in its history) unless it has ended, or, with
// onlyWaiting, unless a node took it (such a job ends with its input). It is not the API's
// cancel: nobody asked, the job's reason to run went away (a live stream's session ended).
func (s *Service) Abandon(ctx context.Context, id, why string, onlyWaiting bool) error {
	_, err := s.change(ctx, id, func(j *api.Job, now time.Time) ([]api.Event, error) {
		if j.Status.Terminal() || (onlyWaiting && j.Status != api.StatusQueued && j.Status != api.StatusRetrying) {
			return nil, nil
		}
		j.FinishedAt, j.RetryAt, j.Phase = &now, nil, ""
		ev, err := move(j, api.StatusCanceled, now, why)
		return []api.Event{ev}, err
	})
	return err
}

// Retry queues a failed or canceled job again with a fresh retry budget.
func (s *Service) Retry(ctx context.Context, c Caller, id string) (api.Job, error) {
	j, err := s.change(ctx, id, func(j *api.Job, now time.Time) ([]api.Event, error) {
		if !c.Sees(j.Tenant) {
			return nil, notFound("job", id)
		}
		if j.Status != api.StatusFailed && j.Status != api.StatusCanceled {
			return nil, conflict(api.CodeIllegalTransition, "job %s is %s: only failed or canceled jobs can be retried", j.ID, j.Status)
		}
		j.Attempts, j.Error, j.FinishedAt, j.RetryAt = 0, nil, nil, nil
		j.Node, j.GPU, j.AssignedAt, j.StartedAt, j.Progress, j.Result, j.Phase = "", nil, nil, nil, nil, nil, ""
		ev, err := move(j, api.StatusQueued, now, "retried by "+c.Name)
		return []api.Event{ev}, err
	})
	return s.view(j), err
}

// Events returns a page of job id's history; another tenant's job is not found.
func (s *Service) Events(ctx context.Context, c Caller, id string, after int64, limit int) (api.EventList, error) {
	if !c.All {
		if _, err := s.Get(ctx, c, id); err != nil {
			return api.EventList{}, err
		}
	}
	if limit <= 0 {
		limit = 100
	}
	if limit > MaxPageSize {
		return api.EventList{}, badRequest("limit", "limit %d: at most %d", limit, MaxPageSize)
	}
	evs, next, err := s.st.Events(ctx, id, after, limit)
	if err != nil {
		return api.EventList{}, storeErr(err, "job", id)
	}
	if evs == nil {
		evs = []api.Event{}
	}
	return api.EventList{Events: evs, Next: next}, nil
}
