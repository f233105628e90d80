package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/auth"
)

// hashOfTest is the SHA-256 of "test" (printf test | sha256sum).
const hashOfTest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

func TestHashKey(t *testing.T) {
	if got, want := auth.HashKey("test"), "sha256:"+hashOfTest; got != want {
		t.Fatalf("HashKey(test) = %s, want %s", got, want)
	}
	if auth.HashKey("a") == auth.HashKey("b") {
		t.Fatal("different keys hash the same")
	}
	e := auth.StaticKey("api-key", auth.RoleAdmin, "test")
	if e.Name != "api-key" || e.Role != auth.RoleAdmin || e.Hash != "sha256:"+hashOfTest {
		t.Fatalf("StaticKey = %+v", e)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func keyFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keys.yaml")
	writeFile(t, path, content)
	return path
}

// hexOf returns the bare hex hash of key, as an operator would paste it from sha256sum.
func hexOf(key string) string { return strings.TrimPrefix(auth.HashKey(key), "sha256:") }

func TestLoadFile(t *testing.T) {
	path := keyFile(t, `
keys:
  - name: ci
    role: submitter
    sha256: `+hexOf("ci-secret")+`
  - name: gpu-01
    role: worker
    sha256: SHA256:`+strings.ToUpper(hexOf("worker-secret"))+`
  - name: ops
    role: admin
    sha256: `+auth.HashKey("ops-secret")+`
  - name: edge-1
    role: ingest
    tenant: team-a.video_1
    sha256: `+hexOf("ingest-secret")+`
tenants:
  - {name: team-a.video_1, weight: 2, max_queued: 10000, max_running: 20, max_streams: 5, submit_rate: 50}
`)
	got, tenants, err := auth.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []auth.Entry{
		{Name: "ci", Role: auth.RoleSubmitter, Hash: auth.HashKey("ci-secret"), Tenant: auth.DefaultTenant},
		{Name: "gpu-01", Role: auth.RoleWorker, Hash: auth.HashKey("worker-secret"), Tenant: auth.DefaultTenant},
		{Name: "ops", Role: auth.RoleAdmin, Hash: auth.HashKey("ops-secret"), Tenant: auth.DefaultTenant},
		{Name: "edge-1", Role: auth.RoleIngest, Hash: auth.HashKey("ingest-secret"), Tenant: "team-a.video_1"},
	}
	wantT := auth.Tenant{Name: "team-a.video_1", Weight: 2, MaxQueued: 10000, MaxRunning: 20, MaxStreams: 5, SubmitRate: 50}
	if len(tenants) != 1 || tenants[0] != wantT {
		t.Errorf("tenants = %+v, want [%+v]", tenants, wantT)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestLoadFileEmpty(t *testing.T) {
	for _, content := range []string{"", "keys: []\n"} {
		got, _, err := auth.LoadFile(keyFile(t, content))
		if err != nil || len(got) != 0 {
			t.Errorf("LoadFile(%q) = %v, %v; want no entries and no error", content, got, err)
		}
	}
}

func TestLoadFileErrors(t *testing.T) {
	good := hexOf("k")
	tests := []struct {
		name    string
		content string
		want    []string // substrings of the error besides the file name
	}{
		{"unknown role", "keys:\n- {name: ci, role: root, sha256: " + good + "}\n",
			[]string{`keys[0] ("ci")`, `unknown role "root"`, "admin, submitter, worker, ingest or monitor"}},
		{"short hash", "keys:\n- {name: ci, role: admin, sha256: abc}\n",
			[]string{`keys[0] ("ci")`, "64 hex"}},
		{"not hex", "keys:\n- {name: ci, role: admin, sha256: " + strings.Repeat("z", 64) + "}\n",
			[]string{`keys[0] ("ci")`, "not hex"}},
		{"missing hash", "keys:\n- {name: ci, role: admin}\n",
			[]string{`keys[0] ("ci")`, "sha256 is empty"}},
		{"empty name", "keys:\n- {name: a, role: admin, sha256: " + good + "}\n- {role: admin, sha256: " + hexOf("other") + "}\n",
			[]string{"keys[1]", "name is empty"}},
		{"duplicate name", "keys:\n- {name: ci, role: admin, sha256: " + good + "}\n- {name: ci, role: worker, sha256: " + hexOf("other") + "}\n",
			[]string{`keys[1] ("ci")`, "already used by keys[0]"}},
		{"duplicate key", "keys:\n- {name: a, role: admin, sha256: " + good + "}\n- {name: b, role: worker, sha256: sha256:" + good + "}\n",
			[]string{`keys[1] ("b")`, `same key as keys[0] ("a")`}},
		{"unknown field", "keys:\n- {name: ci, role: admin, sha256: " + good + ", key: plaintext}\n",
			[]string{"field key not found"}},
		{"not yaml", "keys: [\n", nil},
		{"bad tenant", "keys:\n- {name: ci, role: submitter, tenant: Team A, sha256: " + good + "}\n",
			[]string{`keys[0] ("ci")`, `tenant "Team A": want 1..64 of a-z`}},
		{"bad tenant section", "tenants:\n- {name: -x}\n", []string{`tenants[0] ("-x")`, "want 1..64"}},
		{"duplicate tenant", "tenants:\n- {name: a}\n- {name: a, weight: 2}\n", []string{`tenants[1] ("a")`, "already listed at tenants[0]"}},
		{"negative quota", "tenants:\n- {name: a, max_queued: -1}\n", []string{`tenants[0] ("a")`, "max_queued -1 is negative"}},
		{"unknown quota", "tenants:\n- {name: a, max_jobs: 5}\n", []string{"field max_jobs not found"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := keyFile(t, tt.content)
			_, _, err := auth.LoadFile(path)
			if err == nil {
				t.Fatal("LoadFile succeeded, want an error")
			}
			for _, s := range append(tt.want, path) {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}

	t.Run("missing file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "nope.yaml")
		_, _, err := auth.LoadFile(path)
		if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), path) {
			t.Fatalf("err = %v, want a not-exist error naming %s", err, path)
		}
	})
}

func mustAuth(t *testing.T, k *auth.Keyring, key string) (auth.Principal, error) {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer "+key)
	return k.Authenticate(r)
}

func TestKeyringStaticAndFile(t *testing.T) {
	path := keyFile(t, "keys:\n- {name: ci, role: submitter, sha256: "+hexOf("ci-secret")+"}\n")
	k, err := auth.NewKeyring([]auth.Entry{auth.StaticKey("api-key", auth.RoleAdmin, "admin-secret")}, path)
	if err != nil {
		t.Fatal(err)
	}
	if k.Len() != 2 {
		t.Fatalf("Len = %d, want 2", k.Len())
	}
	for key, want := range map[string]auth.Principal{
		"admin-secret": {Name: "api-key", Role: auth.RoleAdmin, Tenant: auth.DefaultTenant},
		"ci-secret":    {Name: "ci", Role: auth.RoleSubmitter, Tenant: auth.DefaultTenant},
	} {
		p, err := mustAuth(t, k, key)
		if err != nil || p != want {
			t.Errorf("Authenticate(%s) = %+v, %v; want %+v", key, p, err, want)
		}
	}
	if _, err := mustAuth(t, k, "wrong"); !errors.Is(err, auth.ErrUnknownKey) {
		t.Errorf("unknown key: err = %v, want ErrUnknownKey", err)
	}
}

func TestKeyringConflicts(t *testing.T) {
	static := []auth.Entry{auth.StaticKey("api-key", auth.RoleAdmin, "admin-secret")}
	tests := []struct{ name, content, want string }{
		{"name", "keys:\n- {name: api-key, role: worker, sha256: " + hexOf("x") + "}\n", "name already used by a static key"},
		{"key", "keys:\n- {name: other, role: worker, sha256: " + hexOf("admin-secret") + "}\n", `same key as static key "api-key"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := keyFile(t, tt.content)
			_, err := auth.NewKeyring(static, path)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("err = %v, want one naming %s and saying %q", err, path, tt.want)
			}
		})
	}
	if _, err := auth.NewKeyring([]auth.Entry{{Name: "x", Role: "boss", Hash: auth.HashKey("k")}}, ""); err == nil ||
		!strings.Contains(err.Error(), `static keys[0] ("x"): unknown role "boss"`) {
		t.Fatalf("bad static role: err = %v", err)
	}
}

func TestReloadKeepsKeysOnBrokenFile(t *testing.T) {
	path := keyFile(t, "keys:\n- {name: ci, role: submitter, sha256: "+hexOf("old")+"}\n")
	k, err := auth.NewKeyring(nil, path)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, "keys:\n- {name: ci, role: wizard, sha256: "+hexOf("new")+"}\n")
	if err := k.Reload(); err == nil || !strings.Contains(err.Error(), "wizard") {
		t.Fatalf("Reload of a broken file: err = %v, want the bad role named", err)
	}
	if _, err := mustAuth(t, k, "old"); err != nil {
		t.Fatalf("old key refused after failed reload: %v", err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := k.Reload(); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Reload of a missing file: err = %v", err)
	}
	if _, err := mustAuth(t, k, "old"); err != nil {
		t.Fatalf("old key refused after failed reload: %v", err)
	}

	writeFile(t, path, "keys:\n- {name: ci, role: submitter, sha256: "+hexOf("new")+"}\n")
	if err := k.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, err := mustAuth(t, k, "new"); err != nil {
		t.Fatalf("new key refused after reload: %v", err)
	}
	if _, err := mustAuth(t, k, "old"); !errors.Is(err, auth.ErrUnknownKey) {
		t.Fatalf("old key after rotation: err = %v, want ErrUnknownKey", err)
	}
}

// logMessages is a slog.Handler that hands every message to a channel, so a test can wait
// for the watcher to be listening and for a reload to finish.
type logMessages chan string

func (c logMessages) Enabled(context.Context, slog.Level) bool { return true }
func (c logMessages) Handle(_ context.Context, r slog.Record) error {
	c <- r.Message
	return nil
}
func (c logMessages) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c logMessages) WithGroup(string) slog.Handler      { return c }

func waitLog(t *testing.T, c logMessages, want string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m := <-c:
			if m == want {
				return
			}
		case <-timeout:
			t.Fatalf("no log message %q within 10s", want)
		}
	}
}

func TestReloadOn(t *testing.T) {
	path := keyFile(t, "keys:\n- {name: ci, role: submitter, sha256: "+hexOf("old")+"}\n")
	k, err := auth.NewKeyring(nil, path)
	if err != nil {
		t.Fatal(err)
	}
	logs := make(logMessages, 16)
	sig := make(chan os.Signal)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { k.ReloadOn(ctx, sig, slog.New(logs)) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	hup := func() { sig <- syscall.SIGHUP }

	writeFile(t, path, "keys:\n- {name: ci, role: submitter, sha256: "+hexOf("new")+"}\n")
	hup()
	waitLog(t, logs, "API keys reloaded")
	if _, err := mustAuth(t, k, "new"); err != nil {
		t.Fatalf("new key refused after SIGHUP: %v", err)
	}
	if _, err := mustAuth(t, k, "old"); !errors.Is(err, auth.ErrUnknownKey) {
		t.Fatalf("old key after SIGHUP: err = %v, want ErrUnknownKey", err)
	}

	writeFile(t, path, "keys: {broken\n")
	hup()
	waitLog(t, logs, "API keys not reloaded; keeping the previous keys")
	if _, err := mustAuth(t, k, "new"); err != nil {
		t.Fatalf("key refused after a failed SIGHUP reload: %v", err)
	}

	cancel()
	wg.Wait() // the loop returns when ctx ends
}

func TestAuthenticateHeader(t *testing.T) {
	k, err := auth.NewKeyring([]auth.Entry{auth.StaticKey("api-key", auth.RoleAdmin, "s3cret")}, "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		header string
		want   error
	}{
		{"", auth.ErrNoKey},
		{"Bearer", auth.ErrNoKey},
		{"Bearer   ", auth.ErrNoKey},
		{"Basic czNjcmV0", auth.ErrNoKey},
		{"Bearer wrong", auth.ErrUnknownKey},
		{"Bearer s3cret", nil},
		{"bearer s3cret", nil},
		{"BEARER  s3cret ", nil},
		{"s3cret", auth.ErrNoKey}, // a bare key (Prometheus 2.42's http_sd without authorization.type)
		{"ffk_0123456789abcdef0123456789abcdef extra", auth.ErrNoKey},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if tt.header != "" {
			r.Header.Set("Authorization", tt.header)
		}
		_, err := k.Authenticate(r)
		if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
			t.Errorf("Authorization %q: err = %v, want %v", tt.header, err, tt.want)
		}
		// The answer says what is wrong without repeating a secret sent in the wrong place.
		if err != nil && (strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "0123456789")) {
			t.Errorf("Authorization %q: the error repeats the credential: %v", tt.header, err)
		}
	}
}

func TestRequire(t *testing.T) {
	path := keyFile(t, `keys:
- {name: ci, role: submitter, sha256: `+hexOf("submit-key")+`}
- {name: gpu-01, role: worker, sha256: `+hexOf("worker-key")+`}
`)
	k, err := auth.NewKeyring([]auth.Entry{auth.StaticKey("api-key", auth.RoleAdmin, "admin-key")}, path)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	denied := map[string]int{}
	k.OnDenied = func(code string) { mu.Lock(); denied[code]++; mu.Unlock() }

	whoami := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := auth.FromContext(r.Context())
		if !ok {
			http.Error(w, "no principal", http.StatusInternalServerError)
			return
		}
		_ = json.NewEncoder(w).Encode(p)
	})
	mux := http.NewServeMux()
	mux.Handle("/jobs", auth.Require(k, auth.RoleSubmitter)(whoami))
	mux.Handle("/lease", auth.Require(k, auth.RoleWorker)(whoami))
	mux.Handle("/any", auth.Require(k)(whoami))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	tests := []struct {
		path, key  string
		status     int
		code       string
		msg        string // substring of the error message
		wantWho    string
		authHeader string // WWW-Authenticate
	}{
		{"/jobs", "", 401, api.CodeUnauthorized, "send Authorization: Bearer <api key>", "", `Bearer realm="ffrtmp"`},
		{"/jobs", "nope", 401, api.CodeUnauthorized, "the API key is not known to this master", "", `Bearer realm="ffrtmp"`},
		{"/jobs", "worker-key", 403, api.CodeForbidden, `API key "gpu-01" has role worker; this route needs role submitter or admin`, "", ""},
		{"/lease", "submit-key", 403, api.CodeForbidden, `API key "ci" has role submitter; this route needs role worker or admin`, "", ""},
		{"/jobs", "submit-key", 200, "", "", "ci", ""},
		{"/lease", "worker-key", 200, "", "", "gpu-01", ""},
		{"/jobs", "admin-key", 200, "", "", "api-key", ""},
		{"/lease", "admin-key", 200, "", "", "api-key", ""},
		{"/any", "worker-key", 200, "", "", "gpu-01", ""},
		{"/any", "", 401, api.CodeUnauthorized, "send Authorization", "", `Bearer realm="ffrtmp"`},
	}
	for _, tt := range tests {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+tt.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if tt.key != "" {
			req.Header.Set("Authorization", "Bearer "+tt.key)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		func() {
			defer resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("%s with %q: status %d, want %d", tt.path, tt.key, resp.StatusCode, tt.status)
				return
			}
			if got := resp.Header.Get("WWW-Authenticate"); got != tt.authHeader {
				t.Errorf("%s with %q: WWW-Authenticate %q, want %q", tt.path, tt.key, got, tt.authHeader)
			}
			if tt.status == 200 {
				var p auth.Principal
				if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
					t.Fatal(err)
				}
				if p.Name != tt.wantWho {
					t.Errorf("%s with %q: handler saw principal %+v, want %s", tt.path, tt.key, p, tt.wantWho)
				}
				return
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			var body api.ErrorBody
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Error == nil {
				t.Fatalf("%s with %q: error body: %v", tt.path, tt.key, err)
			}
			if body.Error.Code != tt.code || !strings.Contains(body.Error.Message, tt.msg) {
				t.Errorf("%s with %q: error %+v, want code %s and message containing %q", tt.path, tt.key, body.Error, tt.code, tt.msg)
			}
		}()
	}
	mu.Lock()
	defer mu.Unlock()
	if denied[api.CodeUnauthorized] != 3 || denied[api.CodeForbidden] != 2 {
		t.Errorf("OnDenied counts = %v, want 3 unauthorized and 2 forbidden", denied)
	}
}

func TestRequireRejectsUnknownRole(t *testing.T) {
	k, err := auth.NewKeyring(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Require with an unknown role did not panic")
		}
	}()
	auth.Require(k, "superuser")
}
