package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestNewClientBaseURL(t *testing.T) {
	tests := []struct {
		in, want string
		err      string
	}{
		{in: "http://127.0.0.1:8080", want: "http://127.0.0.1:8080"},
		{in: "https://master.example/ffrtmp/", want: "https://master.example/ffrtmp"},
		{in: " http://h:1/ ", want: "http://h:1"},
		{in: "", err: "empty"},
		{in: "127.0.0.1:8080", err: `did you mean "http://127.0.0.1:8080"`},
		{in: "ftp://h", err: "want http:// or https://"},
		{in: "http://", err: "no host"},
		{in: "http://u:secret@h", err: "credentials"},
		{in: "http://h/?x=1", err: "no query"},
	}
	for _, tt := range tests {
		c, err := NewClient(tt.in, "")
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("NewClient(%q) error = %v, want one containing %q", tt.in, err, tt.err)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("NewClient(%q) error leaks the password: %v", tt.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("NewClient(%q): %v", tt.in, err)
			continue
		}
		if got := c.BaseURL(); got != tt.want {
			t.Errorf("NewClient(%q).BaseURL() = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPathSegment(t *testing.T) {
	for in, want := range map[string]string{"j1": "j1", "a/b c?": "a%2Fb%20c%3F", "x%y": "x%25y"} {
		if got, err := pathSegment("job ID", in); err != nil || got != want {
			t.Errorf("pathSegment(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", ".", ".."} {
		if _, err := pathSegment("job ID", in); err == nil {
			t.Errorf("pathSegment(%q) = nil error, want one", in)
		}
	}
}

func TestListJobsQuery(t *testing.T) {
	after := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600))
	q := ListJobsOptions{
		Status:       []Status{StatusQueued, StatusRunning},
		Queue:        QueueLive,
		CreatedAfter: after,
		Cursor:       "c/1",
		Limit:        50,
	}.query()
	want := "created_after=2026-01-02T02%3A04%3A05Z&cursor=c%2F1&limit=50&queue=live&status=queued&status=running"
	if got := q.Encode(); got != want {
		t.Errorf("query = %s\nwant    %s", got, want)
	}
	if got := (ListJobsOptions{}).query().Encode(); got != "" {
		t.Errorf("zero options query = %q, want empty", got)
	}
}

func TestErrorFromResponse(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		header     http.Header
		body       string
		want       Error
		wantMsgLen int // when the message is a cut body
	}{
		{
			name:   "master error body",
			status: http.StatusBadRequest,
			body:   `{"error":{"code":"unknown_field","message":"unknown field \"fps\"","field":"outputs[0].fps"}}`,
			want:   Error{Status: 400, Code: CodeUnknownField, Message: `unknown field "fps"`, Field: "outputs[0].fps"},
		},
		{
			name:   "rate limited with seconds",
			status: http.StatusTooManyRequests,
			header: http.Header{"Retry-After": {"7"}},
			body:   `{"error":{"code":"rate_limited","message":"slow down"}}`,
			want:   Error{Status: 429, Code: CodeRateLimited, Message: "slow down", RetryAfter: 7},
		},
		{
			name:   "proxy 503 without JSON",
			status: http.StatusServiceUnavailable,
			header: http.Header{"Retry-After": {"Fri, 02 Jan 2026 03:04:35 GMT"}},
			body:   "upstream down\n",
			want:   Error{Status: 503, Code: CodeUnavailable, Message: "upstream down", RetryAfter: 30},
		},
		{
			name:   "401 empty body",
			status: http.StatusUnauthorized,
			want:   Error{Status: 401, Code: CodeUnauthorized, Message: "Unauthorized"},
		},
		{
			name:   "404 other JSON",
			status: http.StatusNotFound,
			body:   `{"message":"nope"}`,
			want:   Error{Status: 404, Code: CodeNotFound, Message: `{"message":"nope"}`},
		},
		{
			name:       "500 long HTML",
			status:     http.StatusInternalServerError,
			body:       "<html>" + strings.Repeat("x", 2000),
			want:       Error{Status: 500, Code: CodeInternal},
			wantMsgLen: maxErrorMessage,
		},
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			for k, v := range tt.header {
				rec.Header()[k] = v
			}
			rec.WriteHeader(tt.status)
			_, _ = io.WriteString(rec, tt.body)
			resp := rec.Result()
			e := decodeError(resp.StatusCode, mustRead(t, resp.Body))
			e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), now)
			if tt.wantMsgLen != 0 {
				if len(e.Message) != tt.wantMsgLen {
					t.Errorf("message length = %d, want %d", len(e.Message), tt.wantMsgLen)
				}
				e.Message = ""
			}
			if *e != tt.want {
				t.Errorf("error = %+v\nwant    %+v", *e, tt.want)
			}
		})
	}
}

func mustRead(t *testing.T, r io.Reader) []byte {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// roundTripFunc answers requests without a network.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func fakeClient(t *testing.T, fn func(w http.ResponseWriter, r *http.Request), opts ...Option) *Client {
	t.Helper()
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		rec := httptest.NewRecorder()
		fn(rec, r)
		resp := rec.Result()
		resp.Request = r
		return resp, nil
	})
	opts = append([]Option{WithHTTPClient(&http.Client{Transport: rt})}, opts...)
	c, err := NewClient("http://master:8080/", "k3y", opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClientRequestShape(t *testing.T) {
	var got *http.Request
	var body string
	c := fakeClient(t, func(w http.ResponseWriter, r *http.Request) {
		got = r
		if r.Body != nil {
			body = string(mustRead(t, r.Body))
		}
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"id":"j/1","status":"queued","queue":"live","extra":"ignored"}`)
	}, WithUserAgent("test/1"))

	job, err := c.SubmitJob(context.Background(), JobRequest{Scenario: "4k60", Queue: QueueLive}, "idem-1")
	if err != nil {
		t.Fatal(err)
	}
	if job.ID != "j/1" || job.Status != StatusQueued {
		t.Errorf("job = %+v", job)
	}
	for k, want := range map[string]string{
		"Authorization":   "Bearer k3y",
		"Idempotency-Key": "idem-1",
		"Content-Type":    "application/json",
		"User-Agent":      "test/1",
	} {
		if v := got.Header.Get(k); v != want {
			t.Errorf("header %s = %q, want %q", k, v, want)
		}
	}
	if got.Method != http.MethodPost || got.URL.String() != "http://master:8080/v1/jobs" {
		t.Errorf("request = %s %s", got.Method, got.URL)
	}
	if want := `{"scenario":"4k60","queue":"live"}`; body != want {
		t.Errorf("body = %s, want %s", body, want)
	}

	if _, err := c.CancelJob(context.Background(), "j/1"); err != nil {
		t.Fatal(err)
	}
	if want := "/v1/jobs/j%2F1/cancel"; got.URL.EscapedPath() != want {
		t.Errorf("cancel path = %s, want %s", got.URL.EscapedPath(), want)
	}
}

func TestLeaseNoContent(t *testing.T) {
	var body string
	c := fakeClient(t, func(w http.ResponseWriter, r *http.Request) {
		body = string(mustRead(t, r.Body))
		w.WriteHeader(http.StatusNoContent)
	})
	lease, err := c.Lease(context.Background(), "n1", 20*time.Second)
	if lease != nil || err != nil {
		t.Fatalf("Lease = %v, %v; want nil, nil", lease, err)
	}
	if want := `{"wait":"20s"}`; body != want {
		t.Errorf("lease body = %s, want %s", body, want)
	}
}

func TestClientErrors(t *testing.T) {
	c := fakeClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"error":{"code":"unknown_node","message":"node n1 is not registered"}}`)
	})
	_, err := c.Heartbeat(context.Background(), "n1", Heartbeat{})
	if !IsCode(err, CodeUnknownNode) || !IsNotFound(err) {
		t.Errorf("Heartbeat error = %v, want unknown_node 404", err)
	}

	// A transport failure names the method and URL once.
	down, err := NewClient("http://master:8080", "", WithHTTPClient(&http.Client{Transport: roundTripFunc(
		func(*http.Request) (*http.Response, error) { return nil, errors.New("connection refused") })}))
	if err != nil {
		t.Fatal(err)
	}
	err = down.Health(context.Background())
	if want := "GET http://master:8080/healthz: connection refused"; err == nil || err.Error() != want {
		t.Errorf("Health error = %v, want %q", err, want)
	}
	var apiErr *Error
	if errors.As(err, &apiErr) {
		t.Errorf("transport error is an *Error: %v", err)
	}
}

func TestClientTimeout(t *testing.T) {
	c, err := NewClient("http://master:8080", "", WithTimeout(20*time.Millisecond),
		WithHTTPClient(&http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			<-r.Context().Done()
			return nil, r.Context().Err()
		})}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetJob(context.Background(), "j1")
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no answer within 20ms") {
		t.Errorf("GetJob error = %v, want a timeout naming 20ms", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.Lease(ctx, "n1", time.Second)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Lease with a canceled context = %v, want context.Canceled", err)
	}
}
