package store

import (
	"context"
	"fmt"

	"github.com/ffrtmp/ffrtmp/api"
)

// PutJobs writes new jobs as they are (any status, with their own times and node), each with
// its index entries and one state event into its status, in one transaction. It fills a
// database no master serves at the moment (imports, the master benchmark's fixtures): a
// farm loads its queues and counts at start, so a running one would not see the jobs. No
// webhooks are queued and no idempotency keys kept. A job whose ID exists already, or
// appears twice, fails the whole call.
func (s *Store) PutJobs(ctx context.Context, jobs []api.Job) error {
	keys := make([][]byte, len(jobs))
	for i, j := range jobs {
		k, ok := key(j.ID)
		if !ok {
			return fmt.Errorf("put jobs: bad id %q", j.ID)
		}
		if !j.Status.Valid() {
			return fmt.Errorf("put jobs: job %s: unknown status %q", j.ID, j.Status)
		}
		keys[i] = k
	}
	return s.update(ctx, func(tx *wtx) error {
		jb := tx.Bucket(bJobs)
		for i, j := range jobs {
			if jb.Get(keys[i]) != nil {
				return fmt.Errorf("put jobs: job %s exists", j.ID)
			}
			at := j.UpdatedAt
			if at.IsZero() {
				at = j.CreatedAt
			}
			r := &record{Job: j}
			ev := api.Event{Time: at, Type: api.EventState, To: j.Status, Node: j.Node, Message: "imported", Error: j.Error}
			w, err := prepare(keys[i], r, nil, []api.Event{ev})
			if err != nil {
				return err
			}
			if err := w.apply(tx); err != nil {
				return err
			}
		}
		return nil
	})
}
