package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
)

// sessionCall sends a request to m with the console's session cookie (and its CSRF token
// when csrf is set) and extra headers as name, value pairs, retrying while m answers 503
// (an election, a member learning who leads) for at most 20 s.
func sessionCall(t *testing.T, m *member, method, path string, cookie *http.Cookie, csrf string, body []byte, hdr ...string) (int, []byte, *http.Response) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		req, err := http.NewRequestWithContext(context.Background(), method, m.p.URL+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if cookie != nil {
			req.AddCookie(cookie)
		}
		if csrf != "" {
			req.Header.Set(api.CSRFHeader, csrf)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s via %s: %v", method, path, m.id, err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusServiceUnavailable || time.Now().After(deadline) {
			return res.StatusCode, b, res
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestClusterConsoleSession: a console session made through one master works through every
// other, follower or leader, also after the leader is killed and another elected (the
// signing secret is replicated state); a logout through one member ends it on all.
func TestClusterConsoleSession(t *testing.T) {
	t.Parallel()
	ms := startCluster(t, 3, nil)
	leader := waitLeader(t, ms)
	var followers []*member
	for _, m := range ms {
		if m != leader {
			followers = append(followers, m)
		}
	}
	in, other := followers[0], followers[1]

	body, _ := json.Marshal(api.SessionRequest{APIKey: adminKey})
	status, b, res := sessionCall(t, in, "POST", "/v1/session", nil, "", body, "Origin", in.p.URL)
	if status != http.StatusOK {
		t.Fatalf("login through follower %s: %d %s", in.id, status, b)
	}
	var info api.SessionInfo
	if err := json.Unmarshal(b, &info); err != nil || info.CSRFToken == "" {
		t.Fatalf("login answer %s: %v", b, err)
	}
	var cookie *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == api.SessionCookie {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly {
		t.Fatalf("login through a follower: Set-Cookie %q", res.Header.Values("Set-Cookie"))
	}
	cookie = &http.Cookie{Name: cookie.Name, Value: cookie.Value}
	job, _ := json.Marshal(api.JobRequest{Scenario: "720p30-h264"})

	for _, m := range ms {
		if status, b, _ := sessionCall(t, m, "GET", "/v1/jobs", cookie, "", nil); status != http.StatusOK {
			t.Errorf("GET /v1/jobs with the session through %s: %d %s", m.id, status, b)
		}
		// A follower answers the cluster's status itself: it verifies the cookie from its own
		// copy of the store, once it has applied the entry that stored the signing secret
		// (the farm's first login).
		eventually(t, m, "/v1/cluster", cookie, http.StatusOK)
		// Forwarded to the leader, the request still comes from the member's own origin.
		if status, b, _ := sessionCall(t, m, "POST", "/v1/jobs", cookie, info.CSRFToken, job, "Origin", m.p.URL); status != http.StatusCreated {
			t.Errorf("POST /v1/jobs with the session through %s: %d %s", m.id, status, b)
		}
		if status, b, _ := sessionCall(t, m, "POST", "/v1/jobs", cookie, "", job); status != http.StatusForbidden || !bytes.Contains(b, []byte(api.CodeCSRF)) {
			t.Errorf("POST /v1/jobs without the CSRF token through %s: %d %s", m.id, status, b)
		}
		if status, b, _ := sessionCall(t, m, "POST", "/v1/jobs", cookie, info.CSRFToken, job, "Origin", "http://evil.example"); status != http.StatusForbidden {
			t.Errorf("POST /v1/jobs from another origin through %s: %d %s", m.id, status, b)
		}
	}

	// The leader dies; the session goes on with the next one.
	leader.p.signal(t, syscall.SIGKILL)
	leader.p.wait(t, 10*time.Second)
	next := waitLeader(t, followers)
	if status, b, _ := sessionCall(t, next, "GET", "/v1/session", cookie, "", nil); status != http.StatusOK {
		t.Fatalf("GET /v1/session through the new leader %s: %d %s", next.id, status, b)
	}

	// A logout through one member ends the session everywhere.
	if status, b, _ := sessionCall(t, other, "DELETE", "/v1/session", cookie, info.CSRFToken, nil, "Origin", other.p.URL); status != http.StatusNoContent {
		t.Fatalf("logout through %s: %d %s", other.id, status, b)
	}
	for _, m := range followers {
		if status, b, _ := sessionCall(t, m, "GET", "/v1/jobs", cookie, "", nil); status != http.StatusUnauthorized {
			t.Errorf("GET /v1/jobs with the ended session through %s: %d %s", m.id, status, b)
		}
		eventually(t, m, "/v1/cluster", cookie, http.StatusUnauthorized)
	}
}

// eventually GETs path from m with cookie until it answers want, for at most 10 s: a
// follower answers some routes from its own copy of the store, which applies what the
// leader committed a moment later.
func eventually(t *testing.T, m *member, path string, cookie *http.Cookie, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, b, _ := sessionCall(t, m, "GET", path, cookie, "", nil)
		if status == want {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("GET %s with the session through %s: %d %s, want %d", path, m.id, status, b, want)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
