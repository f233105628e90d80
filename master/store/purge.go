package store

import (
	"bytes"
	"context"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
)

// Purge deletes up to limit finished jobs (completed, failed, canceled) that finished before
// cutoff, with their events, index entries and idempotency key. It returns how many went.
func (s *Store) Purge(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	by, err := s.PurgeByTenant(ctx, cutoff, limit)
	n := 0
	for _, c := range by {
		n += c
	}
	return n, err
}

// PurgeByTenant is Purge, counting the jobs that went per tenant and status.
func (s *Store) PurgeByTenant(ctx context.Context, cutoff time.Time, limit int) (map[TenantStatus]int, error) {
	var by map[TenantStatus]int
	err := s.update(ctx, func(tx *wtx) error {
		by = map[TenantStatus]int{}
		n := 0
		// IDs sort by creation, and a job finishes after it is created: walking each finished
		// status oldest first, stop at the first job created after the cutoff.
		bound := timeBound(cutoff)
		for _, st := range []api.Status{api.StatusCompleted, api.StatusFailed, api.StatusCanceled} {
			prefix := idxKey(string(st), nil)
			var victims [][]byte
			var owners []string
			c := tx.Bucket(bByStatus).Cursor()
			for ik, _ := c.Seek(prefix); ik != nil && bytes.HasPrefix(ik, prefix) && n+len(victims) < limit; ik, _ = c.Next() {
				k := ik[len(prefix):]
				if bytes.Compare(k, bound) >= 0 {
					break
				}
				r, err := getRecord(tx.Bucket(bJobs), k)
				if err != nil {
					return err
				}
				if r.Job.FinishedAt != nil && r.Job.FinishedAt.Before(cutoff) {
					victims = append(victims, append([]byte(nil), k...))
					owners = append(owners, TenantOf(&r.Job))
				}
			}
			for i, k := range victims {
				if err := deleteJob(tx, k); err != nil {
					return err
				}
				n++
				by[TenantStatus{Tenant: owners[i], Status: st}]++
			}
		}
		return nil
	})
	return by, err
}

func deleteJob(tx *wtx, k []byte) error {
	r, err := getRecord(tx.Bucket(bJobs), k)
	if err != nil {
		return err
	}
	j := r.Job
	for _, ix := range []struct {
		b []byte
		v string
	}{{bByStatus, string(j.Status)}, {bByQueue, j.Queue}, {bByNode, j.Node}, {bByTenant, TenantOf(&j)}} {
		if ix.v != "" {
			if err := tx.Bucket(ix.b).Delete(idxKey(ix.v, k)); err != nil {
				return err
			}
		}
	}
	if r.Idem != nil {
		if err := tx.Bucket(bIdem).Delete(r.Idem); err != nil {
			return err
		}
	}
	ev := tx.Bucket(bEvents)
	c := ev.Cursor()
	for ek, _ := c.Seek(k); ek != nil && bytes.HasPrefix(ek, k); ek, _ = c.Seek(k) {
		if err := ev.Delete(ek); err != nil {
			return err
		}
	}
	return tx.Bucket(bJobs).Delete(k)
}
