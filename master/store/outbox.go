package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/webhook"
)

// WebhookPayload is the JSON body of a job webhook.
type WebhookPayload struct {
	Event string     `json:"event"` // job.<status>
	From  api.Status `json:"from,omitempty"`
	Time  time.Time  `json:"time"`
	Job   api.Job    `json:"job"`
}

type outboxEntry struct {
	JobID     string    `json:"job_id"`
	URL       string    `json:"url"`
	Event     string    `json:"event"`
	Body      []byte    `json:"body"`
	Attempts  int       `json:"attempts"`
	NextAt    time.Time `json:"next_at"`
	CreatedAt time.Time `json:"created_at"`
	LastError string    `json:"last_error,omitempty"`
}

// delivery is the outbox entry for a state event of a job with a callback URL (nil for
// anything else); it is written in the same transaction as the state change.
func delivery(r *record, e api.Event) ([]byte, error) {
	if r.Job.CallbackURL == "" || e.Type != api.EventState {
		return nil, nil
	}
	body, err := json.Marshal(WebhookPayload{Event: "job." + string(e.To), From: e.From, Time: e.Time, Job: r.Job.Redact()})
	if err != nil {
		return nil, fmt.Errorf("encode webhook: %w", err)
	}
	return json.Marshal(outboxEntry{JobID: r.Job.ID, URL: r.Job.CallbackURL, Event: "job." + string(e.To),
		Body: body, NextAt: e.Time, CreatedAt: e.Time})
}

func seqKey(seq uint64) []byte {
	k := make([]byte, 8)
	binary.BigEndian.PutUint64(k, seq)
	return k
}

// Outbox is the store's webhook outbox, as the webhook dispatcher needs it.
func (s *Store) Outbox() webhook.Outbox { return outbox{s} }

type outbox struct{ s *Store }

func (o outbox) Due(ctx context.Context, now time.Time, limit int) ([]webhook.Delivery, error) {
	var out []webhook.Delivery
	err := o.s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bOutbox).Cursor()
		for k, v := c.First(); k != nil && len(out) < limit; k, v = c.Next() {
			var e outboxEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decode outbox entry: %w", err)
			}
			if e.NextAt.After(now) {
				continue
			}
			out = append(out, webhook.Delivery{Seq: binary.BigEndian.Uint64(k), JobID: e.JobID, URL: e.URL,
				Event: e.Event, Body: e.Body, Attempts: e.Attempts, NextAt: e.NextAt, CreatedAt: e.CreatedAt})
		}
		return nil
	})
	return out, err
}

func (o outbox) Delivered(ctx context.Context, seq uint64) error {
	return o.s.update(ctx, func(tx *wtx) error { return tx.Bucket(bOutbox).Delete(seqKey(seq)) })
}

func (o outbox) Retry(ctx context.Context, seq uint64, attempts int, next time.Time, lastErr string) error {
	return o.s.update(ctx, func(tx *wtx) error {
		b := tx.Bucket(bOutbox)
		v := b.Get(seqKey(seq))
		if v == nil {
			return nil
		}
		var e outboxEntry
		if err := json.Unmarshal(v, &e); err != nil {
			return err
		}
		e.Attempts, e.NextAt, e.LastError = attempts, next, lastErr
		nv, err := json.Marshal(e)
		if err != nil {
			return err
		}
		return b.Put(seqKey(seq), nv)
	})
}

// GiveUp drops the delivery and records a warning on its job.
func (o outbox) GiveUp(ctx context.Context, d webhook.Delivery, lastErr string) error {
	return o.s.update(ctx, func(tx *wtx) error {
		if err := tx.Bucket(bOutbox).Delete(seqKey(d.Seq)); err != nil {
			return err
		}
		k, ok := key(d.JobID)
		if !ok {
			return nil
		}
		r, err := getRecord(tx.Bucket(bJobs), k)
		if err != nil {
			return nil // the job was purged meanwhile
		}
		old := r.Job
		// Name the host only: a callback URL may carry a token in its path or query.
		host := "its callback URL"
		if u, err := url.Parse(d.URL); err == nil && u.Host != "" {
			host = u.Scheme + "://" + u.Host
		}
		msg := fmt.Sprintf("webhook %s to %s given up after %d attempts: %s", d.Event, host, d.Attempts, lastErr)
		switch d.Attempts {
		case 1:
			msg = fmt.Sprintf("webhook %s to %s given up after 1 attempt: %s", d.Event, host, lastErr)
		case 0:
			msg = fmt.Sprintf("webhook %s to %s not sent: %s", d.Event, host, lastErr)
		}
		ev := api.Event{Time: time.Now().UTC(), Type: api.EventWarning, Message: msg}
		w, err := prepare(k, r, &old, []api.Event{ev})
		if err != nil {
			return err
		}
		return w.apply(tx)
	})
}

// OutboxLen counts webhook deliveries waiting.
func (s *Store) OutboxLen() int {
	n := 0
	_ = s.view(func(tx *bolt.Tx) error { n = tx.Bucket(bOutbox).Stats().KeyN; return nil })
	return n
}
