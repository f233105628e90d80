package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/api/redact"
	"github.com/ffrtmp/ffrtmp/master/farm"
)

// Job views for submitters and admins hide the secrets a job carries (api.Job.Redact, by the
// rule of package redact): restream destinations' stream keys, the live job's play token,
// URL passwords, credentials in options, errors and log lines. What workers report is
// stored redacted already (farm); views redact again for what was stored before. Only the
// lease answer, which the worker runs the job from, has the full spec.

// writeJob writes a redacted view of j.
func writeJob(w http.ResponseWriter, status int, j api.Job) {
	writeJSON(w, status, j.Redact())
}

// redactPage redacts the jobs of a page. Stored jobs are passed through as their JSON; only
// those that mention an rtmp URL or a secret-looking parameter are decoded and encoded again.
func redactPage(p farm.Page) (farm.Page, error) {
	for i, raw := range p.Jobs {
		if !mayHoldSecret(raw) {
			continue
		}
		var j api.Job
		if err := json.Unmarshal(raw, &j); err != nil {
			return p, err
		}
		b, err := json.Marshal(j.Redact())
		if err != nil {
			return p, err
		}
		p.Jobs[i] = b
	}
	return p, nil
}

// redactEvents redacts a page of events in place.
func redactEvents(l *api.EventList) {
	for i := range l.Events {
		l.Events[i] = l.Events[i].Redact()
	}
}

// mayHoldSecret reports whether a job's JSON may hold something Redact changes: engine
// options, or anything redact.Text could hide. It errs towards yes.
func mayHoldSecret(b []byte) bool {
	return bytes.Contains(b, []byte(`"options"`)) || redact.Maybe(b)
}
