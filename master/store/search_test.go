package store_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/master/store"
)

// A text search finds jobs by what an operator remembers of them (a file name, an error, a
// label, an ID), ignoring case, page after page, and never by a secret the API hides.
func TestListJobsText(t *testing.T) {
	s, _ := openStore(t, store.Options{NoSync: true})
	base := time.Now().UTC().Add(-time.Hour)
	at := func(i int) time.Time { return base.Add(time.Duration(i) * time.Second) }

	input := testJob(at(0), api.StatusCompleted, api.QueueBatch, "n1")
	input.Input, input.Output = "/media/Holiday.MOV", "/out/h1.mp4"

	specOut := testJob(at(1), api.StatusRunning, api.QueueBatch, "n2")
	specOut.Scenario = ""
	specOut.Spec = spec.Spec{Input: spec.Input{URL: "/media/b.mkv"},
		Outputs: []spec.Output{{Container: "hls", Target: "/srv/hls/holiday-ladder"}}}

	failed := testJob(at(2), api.StatusFailed, api.QueueHigh, "n1")
	failed.Error = &api.JobError{Code: "input", Message: "moov atom not found"}

	labelled := testJob(at(3), api.StatusQueued, api.QueueLow, "")
	labelled.Labels = map[string]string{"customer": "Acme", "parent": input.ID}

	secret := testJob(at(4), api.StatusCompleted, api.QueueLive, "n2")
	secret.Input = "rtmp://user:s3cretpw@ingest.example/live/streamkey42"
	secret.Output = "https://bucket.example/out.mp4?X-Amz-Signature=deadbeefsig"

	unicode := testJob(at(5), api.StatusCompleted, api.QueueBatch, "n1")
	unicode.Input = "/media/Café & Bar <live>.mov"

	for _, j := range []api.Job{input, specOut, failed, labelled, secret, unicode} {
		mustCreate(t, s, j, nil)
	}
	// Jobs that match nothing below, before and after, so a search must skip some.
	for i := range 40 {
		mustCreate(t, s, testJob(at(10+i), api.StatusCompleted, api.QueueBatch, "n3"), nil)
	}

	for _, c := range []struct {
		name string
		f    store.Filter
		want []api.Job // newest first
	}{
		{"a file name in the input or a spec output, any case", store.Filter{Text: "HOLIDAY"}, []api.Job{specOut, input}},
		{"an error message", store.Filter{Text: "Moov Atom"}, []api.Job{failed}},
		{"an error code", store.Filter{Text: "input"}, []api.Job{failed}},
		{"a label", store.Filter{Text: "customer=acme"}, []api.Job{labelled}},
		{"a preset or scenario", store.Filter{Text: "720p30", Queue: api.QueueHigh}, []api.Job{failed}},
		{"with other filters", store.Filter{Text: "holiday", Statuses: []api.Status{api.StatusCompleted}}, []api.Job{input}},
		{"a whole job ID finds that job alone (not the job labelled with it)", store.Filter{Text: input.ID}, []api.Job{input}},
		{"a job ID in lower case", store.Filter{Text: strings.ToLower(failed.ID)}, []api.Job{failed}},
		{"a job ID outside the created range", store.Filter{Text: input.ID, CreatedAfter: at(1)}, nil},
		{"part of an ID", store.Filter{Text: input.ID[10:20]}, []api.Job{labelled, input}},
		{"an rtmp URL's host, which the API shows", store.Filter{Text: "ingest.example/live"}, []api.Job{secret}},
		{"a URL password the API hides", store.Filter{Text: "s3cretpw"}, nil},
		{"a stream key the API hides", store.Filter{Text: "streamkey42"}, nil},
		{"a signature the API hides", store.Filter{Text: "deadbeef"}, nil},
		{"not a field's name", store.Filter{Text: "max_retries"}, nil},
		{"non-ASCII, any case", store.Filter{Text: "CAFÉ"}, []api.Job{unicode}},
		{"characters JSON escapes", store.Filter{Text: "& bar <live>"}, []api.Job{unicode}},
		{"nothing", store.Filter{Text: "no such thing"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, limit := range []int{1, 50} {
				f := c.f
				f.Limit = limit
				got := ids(listAll(t, s, f))
				if want := ids(c.want); !slices.Equal(got, want) {
					t.Errorf("limit %d: %+v found %v, want %v", limit, c.f, got, want)
				}
			}
		})
	}
}
