package farm

import (
	"fmt"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/auth"
	"github.com/ffrtmp/ffrtmp/master/fault"
)

// Caller is who asks the farm for something: the key's name (written into events), the
// tenant it acts for, and whether it sees every tenant's jobs, streams and presets (admin
// keys). Another tenant's job, stream or preset is "not found" to a caller that does not:
// the answer does not even tell that it exists.
type Caller struct {
	Name   string
	Tenant string
	All    bool
}

// Admin is a caller that sees every tenant (an admin key, or the master itself), acting
// for the default tenant.
func Admin(name string) Caller {
	return Caller{Name: name, Tenant: api.DefaultTenant, All: true}
}

// Sees reports whether c may see and change what tenant owns.
func (c Caller) Sees(tenant string) bool {
	if tenant == "" {
		tenant = api.DefaultTenant
	}
	return c.All || tenant == c.TenantName()
}

// TenantName is the tenant c acts for (the default tenant when it names none).
func (c Caller) TenantName() string {
	if c.Tenant == "" {
		return api.DefaultTenant
	}
	return c.Tenant
}

// Owner decides the tenant something c creates belongs to: c's own, or the one named in
// the request, which only admins may name.
func (c Caller) Owner(requested string) (string, error) {
	if requested == "" || requested == c.TenantName() {
		return c.TenantName(), nil
	}
	if !c.All {
		return "", &fault.ForbiddenError{Field: "tenant",
			Msg: fmt.Sprintf("API key %q acts for tenant %q: only admin keys create for another tenant", c.Name, c.TenantName())}
	}
	if err := auth.CheckTenant(requested); err != nil {
		return "", badRequest("tenant", "%s", err)
	}
	return requested, nil
}

// tenantCounts is what the farm counts per tenant for quotas (under Service.mu).
type tenantCounts struct {
	waiting  int     // queued or retrying
	reserved int     // submits past the quota check, not yet followed
	tokens   float64 // submit_rate bucket
	refilled time.Time
	tally    *tally // the tenant's job counts for the summary (tallied)
}

func (s *Service) tenantQuota(name string) auth.Tenant {
	if s.cfg.Tenants == nil {
		return auth.Tenant{Name: name}
	}
	return s.cfg.Tenants(name)
}

func (s *Service) counted(tenant string) *tenantCounts {
	tc := s.tenants[tenant]
	if tc == nil {
		tc = &tenantCounts{}
		s.tenants[tenant] = tc
	}
	return tc
}

// quotaErr refuses a request for quota (named as the API names it), which may pass again
// after retryAfter (0: unknown).
func quotaErr(quota string, retryAfter time.Duration, format string, args ...any) error {
	return &fault.QuotaError{Quota: quota, RetryAfter: retryAfter, Msg: fmt.Sprintf(format, args...)}
}

// reservation is a place held for one job between the quota check and the job being
// stored (or refused).
type reservation struct {
	tc   *tenantCounts
	held bool
}

// dropLocked gives the place back (under Service.mu); a nil or spent reservation is a no-op.
func (r *reservation) dropLocked() {
	if r != nil && r.held {
		r.tc.reserved--
		r.held = false
	}
}

// reserveSubmit checks tenant's submit rate, its max_queued quota and the farm's queued
// cap, and holds a place for one job. Checking and holding under one lock keeps racing
// submits from overshooting a quota; handing the place over to the waiting count under
// the same lock (followCreated) keeps them from counting the new job twice and refusing
// one that fits. unreserve gives back a place that was never handed over.
func (s *Service) reserveSubmit(tenant string, now time.Time) (*reservation, error) {
	q := s.tenantQuota(tenant)
	s.mu.Lock()
	defer s.mu.Unlock()
	tc := s.counted(tenant)
	if q.SubmitRate > 0 {
		burst := max(2*q.SubmitRate, 1)
		if tc.refilled.IsZero() {
			tc.tokens = burst
		} else {
			tc.tokens = min(burst, tc.tokens+now.Sub(tc.refilled).Seconds()*q.SubmitRate)
		}
		tc.refilled = now
		if tc.tokens < 1 {
			wait := time.Duration((1 - tc.tokens) / q.SubmitRate * float64(time.Second))
			return nil, quotaErr("submit_rate", wait, "tenant %s submits more than %g jobs per second, its submit_rate quota: retry in %s",
				tenant, q.SubmitRate, wait.Round(time.Millisecond))
		}
	}
	if q.MaxQueued > 0 && tc.waiting+tc.reserved >= q.MaxQueued {
		return nil, quotaErr("max_queued", 0, "tenant %s has %d queued jobs, its max_queued quota: wait for some to finish or ask an admin",
			tenant, tc.waiting+tc.reserved)
	}
	if s.cfg.MaxQueued > 0 {
		all := s.all.byStatus[api.StatusQueued] + s.all.byStatus[api.StatusRetrying]
		for _, c := range s.tenants {
			all += c.reserved
		}
		if all >= s.cfg.MaxQueued {
			return nil, quotaErr("max_queued_jobs", 0, "the farm has %d queued jobs, its --max-queued-jobs cap: wait for some to finish or ask an admin", all)
		}
	}
	if q.SubmitRate > 0 {
		tc.tokens--
	}
	tc.reserved++
	return &reservation{tc: tc, held: true}, nil
}

// unreserve gives back r's place if the job never took it (refused, failed or replayed).
func (s *Service) unreserve(r *reservation) {
	s.mu.Lock()
	r.dropLocked()
	s.mu.Unlock()
}

// policy is the scheduler's view of the tenants' weights and running quotas.
func (s *Service) policy(tenant string) (weight, maxRunning int) {
	q := s.tenantQuota(tenant)
	return q.EffectiveWeight(), q.MaxRunning
}

// waitingDelta is how a change moves a job in or out of the waiting count (queued or
// retrying) of its tenant.
func waitingDelta(before, after api.Status) int {
	w := func(st api.Status) int {
		if st == api.StatusQueued || st == api.StatusRetrying {
			return 1
		}
		return 0
	}
	return w(after) - w(before)
}
