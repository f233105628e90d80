// Command genfixture writes the database fixture of the store's migration tests: a master
// database as one version of the code writes it, and a manifest of what that code reads back
// from it (jobs as listed, pages, counts, events, nodes, streams, presets, outbox,
// idempotency keys).
//
// It lives under testdata so `go build ./...` skips it: it is meant to run at the commit
// whose database it records, never at a later one. The fixture of schema 2 was written at
// b5588e6 with
//
//	go run ./master/store/testdata/genfixture -out master/store/testdata/schema2
//
// A later layout keeps that fixture and adds its own, written by the code of its time.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/master/store"
)

// Manifest is what the code that wrote the database read back from it.
type Manifest struct {
	Schema string                 `json:"schema"`
	Counts map[api.Status]int     `json:"counts"`
	Jobs   []json.RawMessage      `json:"jobs"` // ListJobsRaw of everything, newest first
	Events map[string][]api.Event `json:"events"`
	Pages  []Paging               `json:"pages"`
	Nodes  []store.NodeRecord     `json:"nodes"`
	Stream []store.StreamRecord   `json:"streams"`
	Keys   map[string]string      `json:"stream_keys"` // hex sha256(key) → stream ID
	Preset []api.Preset           `json:"presets"`
	Outbox int                    `json:"outbox"`
	Idem   []Idem                 `json:"idempotency"`
	Tenant []string               `json:"tenants"`
}

// Paging is one filter's pages, each the IDs listed and the cursor after it.
type Paging struct {
	Filter store.Filter `json:"filter"`
	Pages  []Page       `json:"pages"`
}

// Page is one page of a listing.
type Page struct {
	IDs  []string `json:"ids"`
	Next string   `json:"next"`
}

// Idem is a submit's idempotency key and the job it created.
type Idem struct {
	Key      []byte `json:"key"`
	BodyHash []byte `json:"body_hash"`
	JobID    string `json:"job_id"`
}

func main() {
	out := flag.String("out", "", "folder to write master.db and manifest.json into")
	flag.Parse()
	if *out == "" {
		log.Fatal("-out is required")
	}
	if err := run(context.Background(), *out); err != nil {
		log.Fatal(err)
	}
}

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

func sum(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

func run(ctx context.Context, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "genfixture")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	s, err := store.Open(filepath.Join(work, "master.db"), store.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	m := Manifest{Schema: fmt.Sprint(store.SchemaVersion), Events: map[string][]api.Event{}, Keys: map[string]string{}}

	statuses := []api.Status{api.StatusQueued, api.StatusAssigned, api.StatusRunning, api.StatusRetrying,
		api.StatusCompleted, api.StatusFailed, api.StatusCanceled}
	tenants := []string{"", api.DefaultTenant, "team-a"}
	nodes := []string{"gpu-1", "cpu-1"}
	n := 0
	for round := 0; round < 3; round++ {
		for _, st := range statuses {
			at := t0.Add(time.Duration(n) * time.Minute)
			j := api.Job{ID: store.NewID(at), Tenant: tenants[n%len(tenants)], Status: api.StatusQueued,
				Queue: api.Queues[n%len(api.Queues)], Priority: n%7 - 3, Scenario: "720p30-h264",
				Spec: spec.Spec{
					Input: spec.Input{Synthetic: &spec.Synthetic{Width: 1280, Height: 720, Duration: 10}},
					Outputs: []spec.Output{{Name: "main", Container: "mp4", Target: fmt.Sprintf("file:///srv/out/%d.mp4", n),
						Video: &spec.Video{Codec: "libx264", Width: 1280, Height: 720}}},
				},
				MaxRetries: 3, CreatedAt: at, UpdatedAt: at,
			}
			if n%4 == 0 {
				j.Labels = map[string]string{"team": "video", "n": fmt.Sprint(n)}
				j.Requirements = api.Requirements{Encoder: "libx264"}
			}
			if n%3 == 1 {
				j.CallbackURL = fmt.Sprintf("https://hooks.example.com/ffrtmp/%d?token=s3cret", n)
			}
			var idem *store.Idempotency
			if n%5 == 2 {
				idem = &store.Idempotency{Key: []byte(fmt.Sprintf("key-%d\x00scope", n)), BodyHash: sum(fmt.Sprint("body", n))}
			}
			created, _, err := s.CreateJob(ctx, j, api.Event{Time: at, Type: api.EventState, To: api.StatusQueued}, idem)
			if err != nil {
				return err
			}
			if idem != nil {
				m.Idem = append(m.Idem, Idem{Key: idem.Key, BodyHash: idem.BodyHash, JobID: created.ID})
			}
			if err := advance(ctx, s, created.ID, st, nodes[n%len(nodes)], at); err != nil {
				return err
			}
			n++
		}
	}

	for _, nr := range []store.NodeRecord{
		{Node: api.Node{ID: "gpu-1", Name: "gpu-1", Version: "0.9.0", Status: api.NodeOnline,
			Labels:       map[string]string{"rack": "a"},
			Capabilities: api.Capabilities{CPUs: 32, Encoders: []string{"libx264", "h264_nvenc"}, Hardware: []string{"cuda"}, Slots: 4},
			Telemetry:    &api.Telemetry{CPUPercent: 41.5}, RunningJobs: []string{}, Address: "10.0.0.11",
			RegisteredAt: t0, LastHeartbeat: t0.Add(time.Hour)},
			SecretHash: sum("node-secret-gpu-1"), Owner: "workers"},
		{Node: api.Node{ID: "cpu-1", Name: "cpu-1", Status: api.NodeOffline,
			Capabilities: api.Capabilities{CPUs: 8, Encoders: []string{"libx264"}, Slots: 2},
			RunningJobs:  []string{}, RegisteredAt: t0, LastHeartbeat: t0.Add(time.Minute)}}, // from before node secrets
		{Node: api.Node{ID: "cpu-2", Name: "cpu-2", Status: api.NodeDraining,
			Capabilities: api.Capabilities{CPUs: 16, Encoders: []string{"libx264", "libx265"}, Slots: 3},
			RunningJobs:  []string{}, HLSBaseURL: "http://10.0.0.13:8081/hls/", RegisteredAt: t0, LastHeartbeat: t0.Add(2 * time.Minute)},
			SecretHash: sum("node-secret-cpu-2"), Owner: "admin", DrainOrdered: true},
	} {
		if err := s.PutNode(ctx, nr); err != nil {
			return err
		}
	}

	for _, sr := range []store.StreamRecord{
		{Stream: api.Stream{ID: "st_0001", Name: "cam-lobby", Preset: "hls-720p", HLS: true, Queue: api.QueueLive,
			CreatedAt: t0, UpdatedAt: t0}, KeyHash: sum("key-lobby")},
		{Stream: api.Stream{ID: "st_0002", Tenant: "team-a", Name: "studio", Preset: "hls-1080p", HLS: true,
			Destinations: []string{"rtmp://a.rtmp.youtube.com/live2/yt-key"}, Queue: api.QueueLive,
			Input:     &api.StreamInput{VideoCodec: "h264", Width: 1920, Height: 1080, FPS: 30, AudioCodec: "aac"},
			LiveSince: ptr(t0.Add(30 * time.Minute)), JobID: "01KB00000000000000000000AA", LastJobID: "01KB00000000000000000000AB",
			CreatedAt: t0, UpdatedAt: t0.Add(30 * time.Minute)},
			KeyHash: sum("key-studio"), PlayTokenHash: sum("play-studio"), Ingest: "edge-ingest"},
	} {
		if err := s.CreateStream(ctx, sr); err != nil {
			return err
		}
		m.Keys[fmt.Sprintf("%x", sr.KeyHash)] = sr.Stream.ID
	}

	for _, p := range []api.Preset{
		{Name: "house-720p", Description: "the house ladder", Container: "hls",
			Video:      &spec.Video{Codec: "libx264"},
			Renditions: []spec.Rung{{Name: "720p", Height: 720, Bitrate: 3_000_000}, {Name: "360p", Height: 360, Bitrate: 800_000}}},
		{Name: "team-a-mp4", Tenant: "team-a", Container: "mp4", Renditions: []spec.Rung{{Name: "1080p", Height: 1080, Bitrate: 6_000_000}}},
	} {
		if err := s.PutPreset(ctx, p); err != nil {
			return err
		}
	}

	// One delivery has been tried once already.
	due, err := s.Outbox().Due(ctx, t0.Add(1000*time.Hour), 1)
	if err != nil || len(due) == 0 {
		return fmt.Errorf("outbox: %v (%d due)", err, len(due))
	}
	if err := s.Outbox().Retry(ctx, due[0].Seq, 1, t0.Add(2*time.Hour), "503 Service Unavailable"); err != nil {
		return err
	}

	if err := record(ctx, s, &m, dir); err != nil {
		return err
	}
	// A backup is the database without the 16 MiB the file grows by at a time.
	f, err := os.Create(filepath.Join(dir, "master.db"))
	if err != nil {
		return err
	}
	if _, err := s.Backup(f, nil); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// advance takes job id from queued to st the way the farm would, with its events.
func advance(ctx context.Context, s *store.Store, id string, st api.Status, node string, at time.Time) error {
	path := map[api.Status][]api.Status{
		api.StatusQueued:    nil,
		api.StatusAssigned:  {api.StatusAssigned},
		api.StatusRunning:   {api.StatusAssigned, api.StatusRunning},
		api.StatusRetrying:  {api.StatusAssigned, api.StatusRunning, api.StatusRetrying},
		api.StatusCompleted: {api.StatusAssigned, api.StatusRunning, api.StatusCompleted},
		api.StatusFailed:    {api.StatusAssigned, api.StatusRunning, api.StatusFailed},
		api.StatusCanceled:  {api.StatusCanceled},
	}[st]
	for i, to := range path {
		t := at.Add(time.Duration(i+1) * time.Second)
		_, _, err := s.UpdateJob(ctx, id, func(j *api.Job) store.Change {
			from := j.Status
			j.Status, j.UpdatedAt = to, t
			evs := []api.Event{{Time: t, Type: api.EventState, From: from, To: to, Node: j.Node}}
			switch to {
			case api.StatusAssigned:
				j.Node, j.AssignedAt, j.Attempts = node, ptr(t), j.Attempts+1
				evs[0].Node = node
			case api.StatusRunning:
				j.StartedAt = ptr(t)
				j.Progress = &api.Progress{Percent: 42.5, FPS: 120, Speed: 4, ETA: ptr(3.5), Frames: 127, At: t}
				evs = append(evs, api.Event{Time: t, Type: api.EventLog, Node: node, Message: "encoder opened: libx264"})
			case api.StatusRetrying:
				j.Node, j.RetryAt = "", ptr(t.Add(30*time.Second))
				j.Error = &api.JobError{Code: "input", Message: "connection reset", Transient: true}
			case api.StatusCompleted:
				j.FinishedAt = ptr(t)
				j.Result = &api.Result{Encoders: map[string]string{"main": "libx264"}, Frames: 300, Bytes: 1 << 20,
					Seconds: 2.5, FPS: 120, Speed: 4, Outputs: []string{"file:///srv/out/x.mp4"}}
			case api.StatusFailed:
				j.FinishedAt = ptr(t)
				j.Error = &api.JobError{Code: "encode", Message: "encoder rejected the frame size"}
			case api.StatusCanceled:
				j.FinishedAt = ptr(t)
			}
			return store.Change{Events: evs}
		})
		if err != nil {
			return fmt.Errorf("advance %s to %s: %w", id, to, err)
		}
	}
	return nil
}

// record reads everything back with this code and writes the manifest.
func record(ctx context.Context, s *store.Store, m *Manifest, dir string) error {
	var err error
	if m.Counts, err = s.CountByStatus(ctx); err != nil {
		return err
	}
	raw, next, err := s.ListJobsRaw(ctx, store.Filter{Limit: 1000})
	if err != nil || next != "" {
		return fmt.Errorf("list everything: %v (next %q)", err, next)
	}
	for _, r := range raw {
		m.Jobs = append(m.Jobs, r.JSON)
		evs, _, err := s.Events(ctx, r.ID, 0, 1000)
		if err != nil {
			return err
		}
		m.Events[r.ID] = evs
	}
	all, _, err := s.ListJobs(ctx, store.Filter{Limit: 1000})
	if err != nil {
		return err
	}
	mid := all[len(all)/2].CreatedAt
	for _, f := range []store.Filter{
		{Limit: 4},
		{Statuses: []api.Status{api.StatusQueued}, Limit: 2},
		{Statuses: []api.Status{api.StatusCompleted, api.StatusFailed, api.StatusCanceled}, Limit: 4},
		{Queue: api.QueueLive, Limit: 2},
		{Node: "gpu-1", Limit: 3},
		{Node: "cpu-1", Statuses: []api.Status{api.StatusRunning}, Limit: 3},
		{Tenant: api.DefaultTenant, Limit: 5},
		{Tenant: "team-a", Limit: 5},
		{Tenant: "team-a", Statuses: []api.Status{api.StatusFailed, api.StatusQueued}, Limit: 2},
		{Tenant: api.DefaultTenant, Queue: api.QueueBatch, Limit: 2},
		{CreatedAfter: mid, Limit: 4},
		{CreatedBefore: mid, Statuses: []api.Status{api.StatusRunning, api.StatusRetrying}, Limit: 4},
	} {
		p := Paging{Filter: f}
		for {
			jobs, next, err := s.ListJobs(ctx, f)
			if err != nil {
				return err
			}
			pg := Page{IDs: []string{}, Next: next}
			for _, j := range jobs {
				pg.IDs = append(pg.IDs, j.ID)
			}
			p.Pages = append(p.Pages, pg)
			if next == "" {
				break
			}
			f.Cursor = next
		}
		m.Pages = append(m.Pages, p)
	}
	if m.Nodes, err = s.Nodes(ctx); err != nil {
		return err
	}
	if m.Stream, err = s.Streams(ctx); err != nil {
		return err
	}
	if m.Preset, err = s.Presets(ctx); err != nil {
		return err
	}
	m.Outbox = s.OutboxLen()
	if m.Tenant, err = s.Tenants(ctx); err != nil {
		return err
	}
	js, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "manifest.json"), append(js, '\n'), 0o644)
}
