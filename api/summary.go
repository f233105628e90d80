package api

import "time"

// JobSummary is GET /v1/jobs/summary: exact job counts for a dashboard, read from what the
// master keeps in memory (no walk over the stored jobs, so it costs the same on a farm of a
// million jobs as on an empty one).
//
// Every figure is tenant-scoped: a submitter's key counts only its own tenant's jobs (Tenant
// names it); an admin's or a monitor's counts the whole farm (Tenant empty), or one tenant's
// with the tenant query parameter. Nothing of another tenant's jobs reaches a submitter.
type JobSummary struct {
	// Tenant is the tenant counted; empty for the whole farm.
	Tenant string `json:"tenant,omitempty"`
	// Time is the master's time of the answer.
	Time time.Time `json:"time"`
	// ByStatus counts jobs per status, every status present (0 when none); finished jobs
	// count until the retention purges them.
	ByStatus map[Status]int `json:"by_status"`
	// ByQueue counts the jobs that have not finished per queue; a queue without such jobs
	// is absent.
	ByQueue map[string]QueueCounts `json:"by_queue"`
	// FinishedLastHour sums FinishedPerMinute.
	FinishedLastHour FinishedCounts `json:"finished_last_hour"`
	// FinishedPerMinute counts the jobs that finished in each of the last 60 minutes, oldest
	// first; the last entry is the current minute, still counting. A job finished again after
	// a retry counts each time.
	FinishedPerMinute []MinuteCounts `json:"finished_per_minute"`
	// CountingSince is when this master began counting finished jobs: its start, or when it
	// became the cluster's leader. The master keeps these counts in memory only, so minutes
	// before this time show 0 whatever finished then.
	CountingSince time.Time `json:"counting_since"`
}

// QueueCounts are one queue's jobs that have not finished, per status.
type QueueCounts struct {
	Queued   int `json:"queued"`
	Assigned int `json:"assigned"`
	Running  int `json:"running"`
	Retrying int `json:"retrying"`
}

// FinishedCounts are jobs that finished, per final status.
type FinishedCounts struct {
	Completed int `json:"completed"`
	Failed    int `json:"failed"`
	Canceled  int `json:"canceled"`
}

// MinuteCounts are the jobs that finished in one minute.
type MinuteCounts struct {
	// Minute is the minute's start (UTC).
	Minute    time.Time `json:"minute"`
	Completed int       `json:"completed"`
	Failed    int       `json:"failed"`
	Canceled  int       `json:"canceled"`
}

// SummaryMinutes is how many minutes JobSummary.FinishedPerMinute covers.
const SummaryMinutes = 60
