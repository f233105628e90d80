package httpapi_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/master"
	"github.com/ffrtmp/ffrtmp/master/auth"
	"github.com/ffrtmp/ffrtmp/master/mastertest"
)

// tenantKeys are submitter keys of tenants team-a and team-b.
const (
	keyA = "team-a-submitter-key"
	keyB = "team-b-submitter-key"
)

// startTenants runs a master whose keys file has the harness's keys (submitter of the
// default tenant, worker, ingest), a submitter key for team-a and one for team-b, and the
// tenants section given.
func startTenants(t *testing.T, tenants string, mutate ...func(*master.Config)) *mastertest.Harness {
	t.Helper()
	dir := t.TempDir()
	keys := filepath.Join(dir, "tenant-keys.yaml")
	body := fmt.Sprintf(`keys:
  - {name: submitter, role: submitter, sha256: %q}
  - {name: worker, role: worker, sha256: %q}
  - {name: ingest, role: ingest, sha256: %q}
  - {name: ci-a, role: submitter, tenant: team-a, sha256: %q}
  - {name: ci-b, role: submitter, tenant: team-b, sha256: %q}
%s`, auth.HashKey(mastertest.SubmitterKey), auth.HashKey(mastertest.WorkerKey), auth.HashKey(mastertest.IngestKey),
		auth.HashKey(keyA), auth.HashKey(keyB), tenants)
	if err := os.WriteFile(keys, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return mastertest.StartIn(t, dir, append([]func(*master.Config){func(c *master.Config) { c.KeysFile = keys }}, mutate...)...)
}

func listIDs(t *testing.T, c *api.Client, opts api.ListJobsOptions) []string {
	t.Helper()
	opts.Limit = 1000
	page, err := c.ListJobs(ctxT(t), opts)
	if err != nil {
		t.Fatalf("list %+v: %v", opts, err)
	}
	var ids []string
	for _, j := range page.Jobs {
		ids = append(ids, j.ID)
	}
	slices.Sort(ids)
	return ids
}

// TestTenantIsolation: a submitter sees and changes only its tenant's jobs, streams and
// presets; another tenant's answer 404 exactly like ones that do not exist; admins see all,
// filter by tenant and create on a tenant's behalf.
func TestTenantIsolation(t *testing.T) {
	h := startTenants(t, "")
	ctx := ctxT(t)
	a, b := h.ClientWithKey(t, keyA), h.ClientWithKey(t, keyB)
	admin, def := h.Client(t, auth.RoleAdmin), h.Client(t, auth.RoleSubmitter)

	ja := submit(t, a, scenarioJob(api.QueueMedium, 0))
	jb := submit(t, b, scenarioJob(api.QueueMedium, 0))
	jd := submit(t, def, scenarioJob(api.QueueMedium, 0))
	if ja.Tenant != "team-a" || jb.Tenant != "team-b" || jd.Tenant != api.DefaultTenant {
		t.Fatalf("tenants %q %q %q, want team-a, team-b, default", ja.Tenant, jb.Tenant, jd.Tenant)
	}

	// b on a's job: the same 404 as a job that does not exist.
	const missing = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
	for _, id := range []string{ja.ID, missing} {
		want := fmt.Sprintf("no job %q", id)
		_, err := b.GetJob(ctx, id)
		if e := wantAPIError(t, err, 404, api.CodeNotFound, "-"); e.Message != want {
			t.Errorf("get %s: message %q, want %q", id, e.Message, want)
		}
		_, err = b.CancelJob(ctx, id)
		wantAPIError(t, err, 404, api.CodeNotFound, "-")
		_, err = b.RetryJob(ctx, id)
		wantAPIError(t, err, 404, api.CodeNotFound, "-")
		_, err = b.JobEvents(ctx, id, 0, 0)
		wantAPIError(t, err, 404, api.CodeNotFound, "-")
	}
	if got, err := a.GetJob(ctx, ja.ID); err != nil || got.Status != api.StatusQueued {
		t.Fatalf("a's own job after b's cancel: %+v, %v; want it still queued", got, err)
	}
	if got := listIDs(t, b, api.ListJobsOptions{}); !slices.Equal(got, []string{jb.ID}) {
		t.Errorf("b lists %v, want only its job %s", got, jb.ID)
	}
	if got := listIDs(t, def, api.ListJobsOptions{}); !slices.Equal(got, []string{jd.ID}) {
		t.Errorf("the default tenant lists %v, want only its job %s", got, jd.ID)
	}
	_, err := b.ListJobs(ctx, api.ListJobsOptions{Tenant: "team-a"})
	wantAPIError(t, err, 403, api.CodeForbidden, "tenant")
	if got := listIDs(t, b, api.ListJobsOptions{Tenant: "team-b"}); !slices.Equal(got, []string{jb.ID}) {
		t.Errorf("b lists %v with its own tenant named, want %s", got, jb.ID)
	}
	all := []string{ja.ID, jb.ID, jd.ID}
	slices.Sort(all)
	if got := listIDs(t, admin, api.ListJobsOptions{}); !slices.Equal(got, all) {
		t.Errorf("admin lists %v, want every job %v", got, all)
	}
	if got := listIDs(t, admin, api.ListJobsOptions{Tenant: "team-a", Status: []api.Status{api.StatusQueued}}); !slices.Equal(got, []string{ja.ID}) {
		t.Errorf("admin ?tenant=team-a lists %v, want %s", got, ja.ID)
	}
	_, err = admin.ListJobs(ctx, api.ListJobsOptions{Tenant: "Team A"})
	wantAPIError(t, err, 400, api.CodeBadRequest, "tenant")

	// Submitting for another tenant: admins only.
	req := scenarioJob(api.QueueMedium, 0)
	req.Tenant = "team-a"
	_, err = b.SubmitJob(ctx, req, "")
	wantAPIError(t, err, 403, api.CodeForbidden, "tenant")
	onBehalf := submit(t, admin, req)
	if onBehalf.Tenant != "team-a" {
		t.Errorf("admin's job for team-a has tenant %q", onBehalf.Tenant)
	}
	if _, err := a.GetJob(ctx, onBehalf.ID); err != nil {
		t.Errorf("team-a cannot see the job an admin submitted for it: %v", err)
	}
	if _, err := admin.CancelJob(ctx, ja.ID); err != nil {
		t.Errorf("admin cancels a's job: %v", err)
	}

	// Streams.
	sa, err := a.CreateStream(ctx, api.StreamRequest{Name: "cam-a", Preset: "abr-480p"})
	if err != nil {
		t.Fatal(err)
	}
	if sa.Tenant != "team-a" {
		t.Errorf("a's stream has tenant %q", sa.Tenant)
	}
	_, err = b.GetStream(ctx, sa.ID)
	wantAPIError(t, err, 404, api.CodeNotFound, "-")
	_, err = b.RotateStreamKey(ctx, sa.ID)
	wantAPIError(t, err, 404, api.CodeNotFound, "-")
	wantAPIError(t, b.DeleteStream(ctx, sa.ID), 404, api.CodeNotFound, "-")
	if list, err := b.ListStreams(ctx); err != nil || len(list.Streams) != 0 {
		t.Errorf("b lists streams %+v, %v; want none", list, err)
	}
	if list, err := admin.ListStreams(ctx); err != nil || len(list.Streams) != 1 || list.Streams[0].Tenant != "team-a" {
		t.Errorf("admin lists streams %+v, %v; want a's", list, err)
	}
	r := call(t, h, "GET", "/v1/streams?tenant=team-b", mastertest.AdminKey, nil)
	if l := decode[api.StreamList](t, r, 200); len(l.Streams) != 0 {
		t.Errorf("admin ?tenant=team-b lists %+v, want none", l.Streams)
	}
	call(t, h, "GET", "/v1/streams?tenant=team-a", keyB, nil).wantError(t, 403, api.CodeForbidden, "tenant")
	if err := a.DeleteStream(ctx, sa.ID); err != nil {
		t.Errorf("a deletes its stream: %v", err)
	}

	// Presets: a preset an admin stores for team-a is a's alone; one without a tenant is
	// everyone's.
	ladder := []api.Preset{{Name: "team-a-ladder", Tenant: "team-a"}, {Name: "shared-ladder"}}
	for _, p := range ladder {
		p.Container, p.Renditions = "mp4", []spec.Rung{{Name: "small", Height: 360, Bitrate: 800_000}}
		if _, err := admin.PutPreset(ctx, p); err != nil {
			t.Fatalf("put preset %s: %v", p.Name, err)
		}
	}
	_, err = b.GetPreset(ctx, "team-a-ladder")
	wantAPIError(t, err, 404, api.CodeNotFound, "-")
	_, err = b.SubmitJob(ctx, api.JobRequest{Input: "/in/a.mp4", Preset: "team-a-ladder", Output: "/out/a/"}, "")
	wantAPIError(t, err, 400, api.CodeBadRequest, "preset")
	if _, err := a.SubmitJob(ctx, api.JobRequest{Input: "/in/a.mp4", Preset: "team-a-ladder", Output: "/out/a/"}, ""); err != nil {
		t.Errorf("a submits with its preset: %v", err)
	}
	names := func(c *api.Client) []string {
		l, err := c.ListPresets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range l.Presets {
			if !p.BuiltIn {
				out = append(out, p.Name)
			}
		}
		return out
	}
	if got := names(b); !slices.Equal(got, []string{"shared-ladder"}) {
		t.Errorf("b's stored presets %v, want [shared-ladder]", got)
	}
	if got := names(a); !slices.Equal(got, []string{"shared-ladder", "team-a-ladder"}) {
		t.Errorf("a's stored presets %v, want both", got)
	}
}

// TestTenantQuotas: each quota refuses with 429 quota_exceeded naming it and its limit;
// racing submits never overshoot; the farm-wide cap holds across tenants.
func TestTenantQuotas(t *testing.T) {
	h := startTenants(t, `tenants:
  - {name: team-a, max_queued: 5, max_streams: 1}
  - {name: team-b, submit_rate: 1}
`, func(c *master.Config) { c.Farm.MaxQueued = 12 })
	ctx := ctxT(t)
	a, b, def := h.ClientWithKey(t, keyA), h.ClientWithKey(t, keyB), h.Client(t, auth.RoleSubmitter)

	// 20 racing submits against max_queued 5: exactly 5 get in.
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, refused := 0, 0
	var sample error
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := a.SubmitJob(ctx, scenarioJob(api.QueueMedium, 0), "")
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				ok++
			} else if api.IsCode(err, api.CodeQuotaExceeded) {
				refused++
				sample = err
			} else {
				t.Errorf("submit: %v", err)
			}
		}()
	}
	wg.Wait()
	if ok != 5 || refused != 15 {
		t.Fatalf("racing submits: %d accepted, %d refused; want 5 and 15", ok, refused)
	}
	e := wantAPIError(t, sample, 429, api.CodeQuotaExceeded, "max_queued")
	if want := "tenant team-a has 5 queued jobs, its max_queued quota: wait for some to finish or ask an admin"; e.Message != want {
		t.Errorf("message %q, want %q", e.Message, want)
	}
	// A canceled job frees a place.
	page, err := a.ListJobs(ctx, api.ListJobsOptions{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.CancelJob(ctx, page.Jobs[0].ID); err != nil {
		t.Fatal(err)
	}
	submit(t, a, scenarioJob(api.QueueMedium, 0))

	// submit_rate 1 (burst 2): the third at once is refused with Retry-After.
	submit(t, b, scenarioJob(api.QueueMedium, 0))
	submit(t, b, scenarioJob(api.QueueMedium, 0))
	_, err = b.SubmitJob(ctx, scenarioJob(api.QueueMedium, 0), "")
	e = wantAPIError(t, err, 429, api.CodeQuotaExceeded, "submit_rate")
	if e.RetryAfter < 1 {
		t.Errorf("submit_rate refusal: Retry-After %d, want at least 1", e.RetryAfter)
	}

	// The farm's cap: 5 (a) + 2 (b) queued; the default tenant has no quota but the farm
	// holds 12.
	for range 5 {
		submit(t, def, scenarioJob(api.QueueMedium, 0))
	}
	_, err = def.SubmitJob(ctx, scenarioJob(api.QueueMedium, 0), "")
	e = wantAPIError(t, err, 429, api.CodeQuotaExceeded, "max_queued_jobs")
	if want := "the farm has 12 queued jobs, its --max-queued-jobs cap: wait for some to finish or ask an admin"; e.Message != want {
		t.Errorf("message %q, want %q", e.Message, want)
	}

	// max_streams 1.
	if _, err := a.CreateStream(ctx, api.StreamRequest{Name: "cam-1", Preset: "abr-480p"}); err != nil {
		t.Fatal(err)
	}
	_, err = a.CreateStream(ctx, api.StreamRequest{Name: "cam-2", Preset: "abr-480p"})
	e = wantAPIError(t, err, 429, api.CodeQuotaExceeded, "max_streams")
	if want := "tenant team-a has 1 live streams, its max_streams quota: delete one or ask an admin"; e.Message != want {
		t.Errorf("message %q, want %q", e.Message, want)
	}
	if _, err := b.CreateStream(ctx, api.StreamRequest{Name: "cam-b", Preset: "abr-480p"}); err != nil {
		t.Errorf("b's stream refused by a's quota: %v", err)
	}
}

// TestTenantFairShare: through the real master and scheduler, a tenant that queued many
// jobs first does not take every slot from one that queued a few later: the 4 slots of a
// node go 2:2 at weights 1:1 and 3:1 at 3:1, and max_running holds a tenant back.
func TestTenantFairShare(t *testing.T) {
	for _, c := range []struct {
		name    string
		tenants string
		wantA   int
	}{
		{"1:1", "", 2},
		{"3:1", "tenants:\n  - {name: team-a, weight: 3}\n", 3},
		{"max_running", "tenants:\n  - {name: team-a, weight: 3, max_running: 1}\n", 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := startTenants(t, c.tenants)
			a, b := h.ClientWithKey(t, keyA), h.ClientWithKey(t, keyB)
			w := h.Client(t, auth.RoleWorker)
			for range 20 {
				submit(t, a, scenarioJob(api.QueueMedium, 0))
			}
			for range 5 {
				submit(t, b, scenarioJob(api.QueueMedium, 0))
			}
			registerNode(t, w, "n1", 4)
			got := map[string]int{}
			for range 4 {
				got[lease(t, w, "n1").Job.Tenant]++
			}
			if got["team-a"] != c.wantA || got["team-b"] != 4-c.wantA {
				t.Errorf("4 slots went %v, want team-a %d, team-b %d", got, c.wantA, 4-c.wantA)
			}
		})
	}
}

// TestSingleKeyFarmIsOneTenant: with only --api-key style keys, every job is the default
// tenant's and a submitter sees them all, as before tenants.
func TestSingleKeyFarmIsOneTenant(t *testing.T) {
	h := start(t)
	admin, sub := h.Client(t, auth.RoleAdmin), h.Client(t, auth.RoleSubmitter)
	j1 := submit(t, admin, scenarioJob(api.QueueMedium, 0))
	j2 := submit(t, sub, scenarioJob(api.QueueHigh, 0))
	want := []string{j1.ID, j2.ID}
	slices.Sort(want)
	for _, c := range []*api.Client{admin, sub} {
		if got := listIDs(t, c, api.ListJobsOptions{}); !slices.Equal(got, want) {
			t.Errorf("lists %v, want %v", got, want)
		}
	}
	if j1.Tenant != api.DefaultTenant || j2.Tenant != api.DefaultTenant {
		t.Errorf("tenants %q, %q; want default", j1.Tenant, j2.Tenant)
	}
	if _, err := sub.CancelJob(ctxT(t), j1.ID); err != nil {
		t.Errorf("the submitter cancels the admin's job: %v", err)
	}
}
