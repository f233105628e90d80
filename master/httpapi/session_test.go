package httpapi_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/internal/testpki"
	"github.com/ffrtmp/ffrtmp/internal/tlsconf"
	"github.com/ffrtmp/ffrtmp/master"
	"github.com/ffrtmp/ffrtmp/master/auth"
	"github.com/ffrtmp/ffrtmp/master/mastertest"
)

// browser is what a console page holds: the session cookie and the CSRF token.
type browser struct {
	cookie *http.Cookie
	info   api.SessionInfo
}

// sessionCookie returns the ffrtmp_session cookie an answer sets (nil: none).
func sessionCookie(r resp) *http.Cookie {
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == api.SessionCookie {
			return c
		}
	}
	return nil
}

// login logs in with key, failing the test unless the master answers 200 with a cookie.
func login(t *testing.T, h *mastertest.Harness, key string) browser {
	t.Helper()
	r := call(t, h, "POST", "/v1/session", "", mustJSON(t, api.SessionRequest{APIKey: key}))
	info := decode[api.SessionInfo](t, r, http.StatusOK)
	c := sessionCookie(r)
	if c == nil || c.Value == "" {
		t.Fatalf("login answered no %s cookie: %v", api.SessionCookie, r.Header["Set-Cookie"])
	}
	return browser{cookie: c, info: info}
}

// call sends a request with the session cookie, and the CSRF token when csrf is set.
func (b browser) call(t *testing.T, h *mastertest.Harness, method, path string, csrf bool, body []byte, hdr ...string) resp {
	t.Helper()
	hdr = append(hdr, "Cookie", b.cookie.Name+"="+b.cookie.Value)
	if csrf {
		hdr = append(hdr, api.CSRFHeader, b.info.CSRFToken)
	}
	return call(t, h, method, path, "", body, hdr...)
}

// sessionClock is a clock the test moves.
type sessionClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *sessionClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *sessionClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestSessionLogin: a good key gets a session cookie with the attributes the console relies
// on and the CSRF token; a wrong key gets 401 without its key echoed, and no cookie. Logins
// and refusals are counted.
func TestSessionLogin(t *testing.T) {
	t.Parallel()
	h := start(t)
	r := call(t, h, "POST", "/v1/session", "", mustJSON(t, api.SessionRequest{APIKey: mastertest.SubmitterKey}))
	info := decode[api.SessionInfo](t, r, http.StatusOK)
	if info.KeyName != "submitter" || info.Role != "submitter" || info.Tenant != api.DefaultTenant || len(info.CSRFToken) < 32 {
		t.Errorf("session %+v, want key submitter, role submitter, tenant default and a CSRF token", info)
	}
	if d := time.Until(info.ExpiresAt); d < 12*time.Hour-time.Minute || d > 12*time.Hour {
		t.Errorf("expires_at %s is %s away, want the default 12h", info.ExpiresAt, d)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	set := r.Header.Values("Set-Cookie")
	c := sessionCookie(r)
	if len(set) != 1 || c == nil {
		t.Fatalf("Set-Cookie %q, want one %s cookie", set, api.SessionCookie)
	}
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.MaxAge != 12*3600 || c.Secure {
		t.Errorf("cookie %q: want HttpOnly, SameSite=Strict, Path=/, Max-Age=43200, not Secure over plain HTTP", set[0])
	}
	for _, secret := range []string{mastertest.SubmitterKey, strings.TrimPrefix(auth.HashKey(mastertest.SubmitterKey), "sha256:")} {
		if strings.Contains(set[0], secret) || strings.Contains(decodeToken(t, c.Value), secret) {
			t.Errorf("the cookie carries the API key or its hash: %q", set[0])
		}
	}

	// The cookie works as the key.
	b := browser{cookie: c, info: info}
	decode[api.JobList](t, b.call(t, h, "GET", "/v1/jobs", false, nil), http.StatusOK)
	if got := decode[api.SessionInfo](t, b.call(t, h, "GET", "/v1/session", false, nil), http.StatusOK); got != info {
		t.Errorf("GET /v1/session: %+v, want %+v", got, info)
	}
	// GET /v1/session is about the cookie: an API key alone has no session.
	call(t, h, "GET", "/v1/session", mastertest.SubmitterKey, nil).wantError(t, http.StatusUnauthorized, api.CodeUnauthorized, "")
	call(t, h, "GET", "/v1/session", "", nil).wantError(t, http.StatusUnauthorized, api.CodeUnauthorized, "")

	// Wrong keys: 401 naming no key, no cookie, counted as a denial.
	const wrong = "ffk_not-a-key-of-this-farm-1234567890"
	const denied = `ffrtmp_master_auth_denied_total{code="unauthorized"}`
	before := metricValue(t, h, denied)
	r = call(t, h, "POST", "/v1/session", "", mustJSON(t, api.SessionRequest{APIKey: wrong}))
	r.wantError(t, http.StatusUnauthorized, api.CodeUnauthorized, "api_key")
	if bytes.Contains(r.Body, []byte(wrong)) || sessionCookie(r) != nil {
		t.Errorf("a wrong key's answer echoes the key or sets a cookie: %s %v", r.Body, r.Header["Set-Cookie"])
	}
	for _, body := range []string{`{"api_key":""}`, `{"api_key":"   "}`} {
		call(t, h, "POST", "/v1/session", "", []byte(body)).wantError(t, http.StatusBadRequest, api.CodeBadRequest, "api_key")
	}
	// Bad bodies say what to send, without quoting them.
	for _, body := range []string{`{"api_key":` + wrong + `}`, `{"api_key":"` + wrong + `"`, `["` + wrong + `"]`, `{"api_key":["` + wrong + `"]}`} {
		r := call(t, h, "POST", "/v1/session", "", []byte(body))
		r.wantError(t, http.StatusBadRequest, api.CodeBadRequest, "-")
		if bytes.Contains(r.Body, []byte(wrong[:8])) {
			t.Errorf("body %s: the answer quotes it: %s", body, r.Body)
		}
	}
	call(t, h, "POST", "/v1/session", "", []byte(`{"api_key":"`+strings.Repeat("k", 5000)+`"}`)).wantError(t, http.StatusRequestEntityTooLarge, api.CodeTooLarge, "")
	call(t, h, "POST", "/v1/session", "", []byte(`{"api_key":"x","user":"y"}`)).wantError(t, http.StatusBadRequest, api.CodeUnknownField, "user")

	if got := metricValue(t, h, denied); got != before+1 {
		t.Errorf("%s went from %v to %v over one failed login", denied, before, got)
	}
	if got := metricValue(t, h, `ffrtmp_master_console_sessions_total{event="login"}`); got != 1 {
		t.Errorf("logins counted: %v, want 1", got)
	}
}

// metricValue reads one sample of the master's metrics (0 when absent).
func metricValue(t *testing.T, h *mastertest.Harness, sample string) float64 {
	t.Helper()
	for _, line := range strings.Split(metrics(t, h), "\n") {
		if v, ok := strings.CutPrefix(line, sample+" "); ok {
			var f float64
			if _, err := fmt.Sscan(v, &f); err != nil {
				t.Fatalf("metric %s: %q: %v", sample, v, err)
			}
			return f
		}
	}
	return 0
}

// decodeToken is the cookie value's payload, as text, for looking for what must not be in it.
func decodeToken(t *testing.T, v string) string {
	t.Helper()
	p, _, _ := strings.Cut(v, ".")
	b, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		t.Fatalf("cookie value %q: %v", v, err)
	}
	return string(b) + fmt.Sprintf("%x", b)
}

func metrics(t *testing.T, h *mastertest.Harness) string {
	t.Helper()
	r, err := http.Get(h.MetricsURL())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSessionCSRF: a state-changing request with the cookie needs the session's CSRF token
// and, when the browser names an origin, the master's own; a bearer key needs neither.
func TestSessionCSRF(t *testing.T) {
	t.Parallel()
	h := start(t)
	b := login(t, h, mastertest.SubmitterKey)
	job := mustJSON(t, scenarioJob("", 0))

	b.call(t, h, "POST", "/v1/jobs", false, job).wantError(t, http.StatusForbidden, api.CodeCSRF, "")
	b.call(t, h, "POST", "/v1/jobs", false, job, api.CSRFHeader, "not-the-token").wantError(t, http.StatusForbidden, api.CodeCSRF, "")
	other := login(t, h, mastertest.SubmitterKey) // another session's token is not this one's
	b.call(t, h, "POST", "/v1/jobs", false, job, api.CSRFHeader, other.info.CSRFToken).wantError(t, http.StatusForbidden, api.CodeCSRF, "")
	created := decode[api.Job](t, b.call(t, h, "POST", "/v1/jobs", true, job), http.StatusCreated)
	decode[api.Job](t, b.call(t, h, "POST", "/v1/jobs/"+created.ID+"/cancel", true, nil, "Origin", h.URL), http.StatusOK)

	// Another site's page: refused whatever it sends, reads included.
	for _, origin := range []string{"http://evil.example", "null", strings.Replace(h.URL, "127.0.0.1", "localhost", 1), "https://" + strings.TrimPrefix(h.URL, "http://") + ".evil.example"} {
		b.call(t, h, "POST", "/v1/jobs", true, job, "Origin", origin).wantError(t, http.StatusForbidden, api.CodeCSRF, "")
		b.call(t, h, "GET", "/v1/jobs", false, nil, "Origin", origin).wantError(t, http.StatusForbidden, api.CodeCSRF, "")
		r := call(t, h, "POST", "/v1/session", "", mustJSON(t, api.SessionRequest{APIKey: mastertest.SubmitterKey}), "Origin", origin)
		r.wantError(t, http.StatusForbidden, api.CodeCSRF, "")
		if sessionCookie(r) != nil {
			t.Errorf("a login from origin %s set a cookie", origin)
		}
	}
	// A proxy in front (a follower of a cluster, a load balancer) says the host it was asked.
	decode[api.JobList](t, b.call(t, h, "GET", "/v1/jobs", false, nil, "Origin", "https://farm.example", "X-Forwarded-Host", "farm.example"), http.StatusOK)

	// Bearer keys: unchanged, no token needed, and a cookie beside the key does not count.
	decode[api.Job](t, call(t, h, "POST", "/v1/jobs", mastertest.SubmitterKey, job), http.StatusCreated)
	call(t, h, "POST", "/v1/jobs", "wrong-key", job, "Cookie", b.cookie.Name+"="+b.cookie.Value).wantError(t, http.StatusUnauthorized, api.CodeUnauthorized, "")

	if n := metricValue(t, h, `ffrtmp_master_auth_denied_total{code="csrf_required"}`); n < 3 {
		t.Errorf("CSRF refusals counted: %v, want at least 3", n)
	}
}

// TestSessionRoles: a session acts with its key's role and tenant, as the key would.
func TestSessionRoles(t *testing.T) {
	t.Parallel()
	h := start(t)
	node := registerNode(t, h.Client(t, auth.RoleWorker), "session-node", 1)
	job := submit(t, h.Client(t, auth.RoleSubmitter), scenarioJob("", 0))

	sub := login(t, h, mastertest.SubmitterKey)
	sub.call(t, h, "POST", "/v1/nodes/"+node.ID+"/drain", true, nil).wantError(t, http.StatusForbidden, api.CodeForbidden, "")
	sub.call(t, h, "GET", "/v1/backup", false, nil).wantError(t, http.StatusForbidden, api.CodeForbidden, "")
	decode[api.Job](t, sub.call(t, h, "GET", "/v1/jobs/"+job.ID, false, nil), http.StatusOK)

	admin := login(t, h, mastertest.AdminKey)
	if admin.info.Role != "admin" {
		t.Errorf("admin session's role %q", admin.info.Role)
	}
	if n := decode[api.Node](t, admin.call(t, h, "POST", "/v1/nodes/"+node.ID+"/drain", true, nil), http.StatusOK); n.Status != api.NodeDraining {
		t.Errorf("drained by an admin session, the node is %s", n.Status)
	}

	other := login(t, h, mastertest.OtherTenantKey)
	if other.info.Tenant != mastertest.OtherTenant {
		t.Errorf("other tenant's session: tenant %q", other.info.Tenant)
	}
	other.call(t, h, "GET", "/v1/jobs/"+job.ID, false, nil).wantError(t, http.StatusNotFound, api.CodeNotFound, "")
	other.call(t, h, "POST", "/v1/jobs/"+job.ID+"/cancel", true, nil).wantError(t, http.StatusNotFound, api.CodeNotFound, "")

	// A worker's or monitor's key may log in too; the session may do what the key may.
	mon := login(t, h, mastertest.MonitorKey)
	mon.call(t, h, "GET", "/v1/jobs", false, nil).wantError(t, http.StatusForbidden, api.CodeForbidden, "")
	decode[api.ScrapeTargets](t, mon.call(t, h, "GET", "/v1/sd/prometheus", false, nil), http.StatusOK)
}

// TestSessionLogout: logging out ends that session for good (its cookie is refused, also
// after a restart), not the key's other sessions; it needs the CSRF token like any change.
func TestSessionLogout(t *testing.T) {
	t.Parallel()
	h := start(t)
	b := login(t, h, mastertest.SubmitterKey)
	second := login(t, h, mastertest.SubmitterKey)

	b.call(t, h, "DELETE", "/v1/session", false, nil).wantError(t, http.StatusForbidden, api.CodeCSRF, "")
	r := b.call(t, h, "DELETE", "/v1/session", true, nil)
	if r.Status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", r.Status, r.Body)
	}
	if c := sessionCookie(r); c == nil || c.MaxAge >= 0 || c.Value != "" {
		t.Errorf("logout's Set-Cookie %q: want the cookie cleared (Max-Age=0)", r.Header.Values("Set-Cookie"))
	}
	for _, p := range []string{"/v1/jobs", "/v1/session"} {
		r := b.call(t, h, "GET", p, false, nil)
		r.wantError(t, http.StatusUnauthorized, api.CodeUnauthorized, "")
		if c := sessionCookie(r); c == nil || c.MaxAge >= 0 {
			t.Errorf("GET %s with an ended session: the answer does not clear the cookie", p)
		}
	}
	b.call(t, h, "DELETE", "/v1/session", true, nil).wantError(t, http.StatusUnauthorized, api.CodeUnauthorized, "")
	decode[api.JobList](t, second.call(t, h, "GET", "/v1/jobs", false, nil), http.StatusOK)
	if n := metricValue(t, h, `ffrtmp_master_console_sessions_total{event="logout"}`); n != 1 {
		t.Errorf("logouts counted: %v, want 1", n)
	}

	// Sessions are tokens the store's secret signs: a restarted master takes the live one
	// and still refuses the ended one.
	_ = h.Stop(t)
	h2 := restart(t, h.Dir)
	decode[api.JobList](t, second.call(t, h2, "GET", "/v1/jobs", false, nil), http.StatusOK)
	b.call(t, h2, "GET", "/v1/jobs", false, nil).wantError(t, http.StatusUnauthorized, api.CodeUnauthorized, "")
}

// TestSessionKeyRemovedOrRotated: a session lasts only as long as its key: rotating the key
// (same name, new secret) or removing it from the keys file ends the session at the reload.
func TestSessionKeyRemovedOrRotated(t *testing.T) {
	t.Parallel()
	h := start(t)
	sub := login(t, h, mastertest.SubmitterKey)
	mon := login(t, h, mastertest.MonitorKey)
	wk := login(t, h, mastertest.WorkerKey)
	keysFile := filepath.Join(h.Dir, "keys.yaml")
	const newSubmitterKey = "rotated-submitter-key"
	// submitter rotated, monitor removed, worker kept.
	keys := fmt.Sprintf("keys:\n  - {name: submitter, role: submitter, sha256: %q}\n  - {name: worker, role: worker, sha256: %q}\n",
		auth.HashKey(newSubmitterKey), auth.HashKey(mastertest.WorkerKey))
	if err := os.WriteFile(keysFile, []byte(keys), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := h.Master.ReloadKeys(); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string]browser{"rotated": sub, "removed": mon} {
		r := b.call(t, h, "GET", "/v1/presets", false, nil)
		e := r.wantError(t, http.StatusUnauthorized, api.CodeUnauthorized, "")
		if !strings.Contains(e.Message, "removed or rotated") {
			t.Errorf("%s key's session: %q, want it to say the key was removed or rotated", name, e.Message)
		}
	}
	decode[api.PresetList](t, wk.call(t, h, "GET", "/v1/presets", false, nil), http.StatusOK)
	// The new key logs in as the same name.
	if b := login(t, h, newSubmitterKey); b.info.KeyName != "submitter" {
		t.Errorf("rotated key's session names %q", b.info.KeyName)
	}
	call(t, h, "POST", "/v1/session", "", mustJSON(t, api.SessionRequest{APIKey: mastertest.SubmitterKey})).
		wantError(t, http.StatusUnauthorized, api.CodeUnauthorized, "api_key")
}

// TestSessionExpiresAndTampered: a session ends at its TTL (the cookie's Max-Age), and a
// cookie changed by a byte, made by another farm or cut short is refused.
func TestSessionExpiresAndTampered(t *testing.T) {
	t.Parallel()
	clk := &sessionClock{now: time.Now()}
	h := start(t, func(c *master.Config) { c.SessionTTL = time.Hour; c.SessionClock = clk.Now })
	b := login(t, h, mastertest.SubmitterKey)
	if b.cookie.MaxAge != 3600 {
		t.Errorf("Max-Age %d, want the TTL (3600)", b.cookie.MaxAge)
	}
	clk.Add(59 * time.Minute)
	decode[api.JobList](t, b.call(t, h, "GET", "/v1/jobs", false, nil), http.StatusOK)
	clk.Add(time.Minute)
	e := b.call(t, h, "GET", "/v1/jobs", false, nil).wantError(t, http.StatusUnauthorized, api.CodeUnauthorized, "")
	if !strings.Contains(e.Message, "expired") {
		t.Errorf("expired session: %q", e.Message)
	}

	fresh := login(t, h, mastertest.AdminKey)
	payload, mac, _ := strings.Cut(fresh.cookie.Value, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(payload)
	flip := func(i int) string {
		p := bytes.Clone(raw)
		p[i] ^= 1
		return base64.RawURLEncoding.EncodeToString(p) + "." + mac
	}
	elsewhere := login(t, start(t), mastertest.AdminKey) // the same key on another farm
	for name, v := range map[string]string{
		"expiry moved":       flip(1 + 16 + 8 + 7),
		"key name changed":   flip(len(raw) - 1),
		"MAC changed":        payload + "." + flipChar(mac[:1]) + mac[1:],
		"no MAC":             payload,
		"cut short":          fresh.cookie.Value[:20],
		"garbage":            "%%%.***",
		"another farm's":     elsewhere.cookie.Value,
		"huge":               strings.Repeat("A", 3000) + "." + mac,
		"empty":              "",
		"version changed":    flip(0),
		"session ID changed": flip(3),
	} {
		r := call(t, h, "GET", "/v1/jobs", "", nil, "Cookie", api.SessionCookie+"="+v)
		r.wantError(t, http.StatusUnauthorized, api.CodeUnauthorized, "")
		if r.Status != http.StatusUnauthorized {
			t.Errorf("%s cookie: %d", name, r.Status)
		}
	}
	decode[api.JobList](t, fresh.call(t, h, "GET", "/v1/jobs", false, nil), http.StatusOK)
}

// TestSessionSecureUnderTLS: a master serving TLS marks the cookie Secure.
func TestSessionSecureUnderTLS(t *testing.T) {
	t.Parallel()
	pki := testpki.New(t)
	cert, key := pki.Server(t)
	h := start(t, func(c *master.Config) { c.TLS = tlsconf.Options{CertFile: cert, KeyFile: key} })
	tc, err := tlsconf.Client(pki.CAFile, "", "")
	if err != nil {
		t.Fatal(err)
	}
	cl := &http.Client{Transport: &http.Transport{TLSClientConfig: tc.Clone(), ForceAttemptHTTP2: true}}
	req, err := http.NewRequestWithContext(ctxT(t), "POST", h.URL+"/v1/session", bytes.NewReader(mustJSON(t, api.SessionRequest{APIKey: mastertest.AdminKey})))
	if err != nil {
		t.Fatal(err)
	}
	res, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var c *http.Cookie
	for _, ck := range res.Cookies() {
		if ck.Name == api.SessionCookie {
			c = ck
		}
	}
	if res.StatusCode != http.StatusOK || c == nil || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
		t.Fatalf("login over TLS: %d, Set-Cookie %q: want Secure, HttpOnly, SameSite=Strict", res.StatusCode, res.Header.Values("Set-Cookie"))
	}
}

// flipChar swaps a base64url character for another one (A for anything but A), so the
// value surely changes.
func flipChar(c string) string {
	if c == "A" {
		return "B"
	}
	return "A"
}
