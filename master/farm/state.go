package farm

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/internal/backoff"
	"github.com/ffrtmp/ffrtmp/master/store"
)

// legal is the job state machine (DESIGN.md): every change a job may make.
var legal = map[api.Status][]api.Status{
	api.StatusQueued:    {api.StatusAssigned, api.StatusCanceled},
	api.StatusAssigned:  {api.StatusRunning, api.StatusRetrying, api.StatusFailed, api.StatusCanceled},
	api.StatusRunning:   {api.StatusCompleted, api.StatusRetrying, api.StatusFailed, api.StatusCanceled},
	api.StatusRetrying:  {api.StatusQueued, api.StatusCanceled},
	api.StatusFailed:    {api.StatusQueued},
	api.StatusCanceled:  {api.StatusQueued},
	api.StatusCompleted: nil,
}

// Legal reports whether a job may go from one status to another.
func Legal(from, to api.Status) bool { return slices.Contains(legal[from], to) }

// move changes j's status to `to` and returns the state event, or refuses the change.
func move(j *api.Job, to api.Status, now time.Time, msg string) (api.Event, error) {
	from := j.Status
	if !Legal(from, to) {
		return api.Event{}, conflict(api.CodeIllegalTransition, "job %s is %s and cannot become %s", j.ID, from, to)
	}
	j.Status = to
	j.UpdatedAt = now
	return api.Event{Time: now, Type: api.EventState, From: from, To: to, Node: j.Node, Message: msg, Error: j.Error}, nil
}

// change runs one job update: fn decides (or refuses) under the job's lock, the store writes
// it with its events in one transaction, and the in-memory state follows.
func (s *Service) change(ctx context.Context, id string, fn func(j *api.Job, now time.Time) ([]api.Event, error)) (api.Job, error) {
	unlock := s.lock(id)
	defer unlock()
	return s.changeLocked(ctx, id, fn)
}

func (s *Service) changeLocked(ctx context.Context, id string, fn func(j *api.Job, now time.Time) ([]api.Event, error)) (api.Job, error) {
	now := s.now()
	var refused error
	wrote := false
	before, after, err := s.st.UpdateJob(ctx, id, func(j *api.Job) store.Change {
		evs, refuse := fn(j, now)
		refused = refuse
		if refuse != nil {
			return store.Change{Refuse: refuse}
		}
		if len(evs) == 0 {
			return store.Change{NoWrite: true}
		}
		wrote = true
		return store.Change{Events: evs}
	})
	if err != nil {
		if refused != nil && err == refused {
			return after, err
		}
		return api.Job{}, storeErr(err, "job", id)
	}
	s.follow(before, after, now)
	if wrote {
		s.published(before, after)
	}
	return after, nil
}

// published tells Hooks.Job of a committed change of a job (before: "" status when it was
// created), keeping the job for later progress news. The caller holds the job's lock, so
// the hook hears of one job's changes in their order.
func (s *Service) published(before, after api.Job) {
	hook := s.cfg.Hooks.Job
	if hook == nil {
		return
	}
	view := after
	s.mu.Lock()
	if a, ok := s.active[after.ID]; ok && a.node == after.Node {
		j := after
		a.job = &j
		view = a.overlay(after)
	}
	s.mu.Unlock()
	hook(view, before.Status == after.Status && before.Node == after.Node)
}

// overlay adds to j what only memory knows of it: its latest progress and phase; s.mu held.
func (a *activeJob) overlay(j api.Job) api.Job {
	if a.progress != nil {
		p := *a.progress
		j.Progress = &p
	}
	if a.phase != "" {
		j.Phase = a.phase
	}
	return j
}

// publishProgress tells Hooks.Job of progress of job id on node that wrote nothing, under
// the job's lock (so it cannot overtake the job's next change).
func (s *Service) publishProgress(id, node string) {
	hook := s.cfg.Hooks.Job
	if hook == nil {
		return
	}
	unlock := s.lock(id)
	defer unlock()
	s.mu.Lock()
	a, ok := s.active[id]
	if !ok || a.node != node || a.job == nil {
		s.mu.Unlock()
		return
	}
	view := a.overlay(*a.job)
	s.mu.Unlock()
	hook(view, true)
}

// follow brings the scheduler and the in-memory tables in line with a committed change.
func (s *Service) follow(before, after api.Job, now time.Time) {
	s.followWith(before, after, now, nil)
}

// followCreated follows a job just stored, handing its submit's reservation over to the
// waiting count in the same critical section.
func (s *Service) followCreated(job api.Job, now time.Time, res *reservation) {
	s.followWith(api.Job{ID: job.ID, Status: ""}, job, now, res)
}

func (s *Service) followWith(before, after api.Job, now time.Time, res *reservation) {
	if before.Status == after.Status && before.Node == after.Node {
		return
	}
	s.mu.Lock()
	res.dropLocked()
	tenant := store.TenantOf(&after)
	s.countChange(tenant, before, after, now)
	if d := waitingDelta(before.Status, after.Status); d != 0 {
		s.counted(tenant).waiting += d
	}
	if before.Status == api.StatusRetrying {
		delete(s.retrying, after.ID)
	}
	if after.Status == api.StatusRetrying && after.RetryAt != nil {
		s.retrying[after.ID] = *after.RetryAt
	}
	if before.Status.Active() && !after.Status.Active() {
		delete(s.active, after.ID)
	}
	if after.Status.Active() {
		if a, ok := s.active[after.ID]; !ok || a.node != after.Node {
			s.active[after.ID] = s.newActive(after, now)
		}
	}
	s.mu.Unlock()

	if before.Status == api.StatusQueued && after.Status != api.StatusQueued {
		s.sched.Remove(after.ID)
	}
	if before.Status.Active() && !after.Status.Active() {
		s.sched.Release(after.ID)
	}
	if after.Status == api.StatusQueued && before.Status != api.StatusQueued {
		s.sched.Add(entryOf(after))
	}
	h := s.cfg.Hooks
	if h.Transition != nil {
		h.Transition(before.Status, after.Status, after.Queue)
	}
	if after.Status.Terminal() && h.Finished != nil {
		h.Finished(after.Status, after.Queue, now.Sub(after.CreatedAt))
	}
	if after.CallbackURL != "" && h.Webhook != nil {
		h.Webhook()
	}
}

// failJob records a failure of an active job: transient errors with retries left go to
// retrying (back to the queue after a backoff), the rest fail. refund does not count the
// attempt (the node, not the job, was at fault: drained, removed).
func (s *Service) failJob(j *api.Job, jerr api.JobError, now time.Time, refund bool) ([]api.Event, error) {
	if refund && j.Attempts > 0 {
		j.Attempts--
	}
	j.Error = &jerr
	j.Phase = ""
	if jerr.Transient && j.Attempts <= j.MaxRetries {
		delay := time.Duration(0)
		if !refund {
			// RetryBackoff·2^(attempt-1), capped, drawn from the top half of that.
			delay = backoff.Policy{Base: s.cfg.RetryBackoff, Max: s.cfg.RetryBackoffMax, Jitter: 0.5}.Delay(j.Attempts)
		}
		at := now.Add(delay)
		j.RetryAt = &at
		ev, err := move(j, api.StatusRetrying, now, fmt.Sprintf("%s; retry %d of %d in %s", jerr.Message, j.Attempts, j.MaxRetries, delay.Round(time.Second)))
		return []api.Event{ev}, err
	}
	if jerr.Transient {
		j.Error = &api.JobError{Code: jerr.Code, Transient: true,
			Message: fmt.Sprintf("%s (gave up after %d attempts)", jerr.Message, j.Attempts)}
	}
	j.FinishedAt = &now
	ev, err := move(j, api.StatusFailed, now, j.Error.Message)
	return []api.Event{ev}, err
}
