package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/auth"
	"github.com/ffrtmp/ffrtmp/master/farm"
	"github.com/ffrtmp/ffrtmp/master/fault"
	"github.com/ffrtmp/ffrtmp/master/httpapi"
	"github.com/ffrtmp/ffrtmp/master/mastertest"
)

// refusingFarm is a job service whose Get refuses with err; the rest of httpapi.Farm is
// left nil (this test calls nothing else).
type refusingFarm struct {
	httpapi.Farm
	err error
}

func (f refusingFarm) Get(context.Context, farm.Caller, string) (api.Job, error) {
	return api.Job{}, f.err
}

// refusingStreams is live streams whose Stream refuses with err.
type refusingStreams struct {
	httpapi.Streams
	err error
}

func (s refusingStreams) Stream(context.Context, farm.Caller, string) (api.Stream, error) {
	return api.Stream{}, s.err
}

// TestDomainErrorAnswers: every kind of refusal the domain (package fault) returns, bare or
// wrapped, is answered with its status, the API's code, its message and field, and a
// Retry-After where a quota says when; anything else is a 500 that tells nothing. The server
// runs over fakes of the farm and the streams: the API needs only its interfaces.
func TestDomainErrorAnswers(t *testing.T) {
	keys, err := auth.NewKeyring([]auth.Entry{auth.StaticKey("admin", auth.RoleAdmin, mastertest.AdminKey)}, "")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		err        error
		status     int
		want       api.Error
		retryAfter string
	}{
		{"not found", fault.NotFound("job", "j1"), 404, api.Error{Code: api.CodeNotFound, Message: `no job "j1"`}, ""},
		{"unregistered", &fault.UnregisteredError{Node: "n1"}, 404,
			api.Error{Code: api.CodeUnknownNode, Message: `node "n1" is not registered: register again`}, ""},
		{"invalid", fault.Invalid("outputs[0].video.codec", "codec %q: unknown", "h999"), 400,
			api.Error{Code: api.CodeBadRequest, Field: "outputs[0].video.codec", Message: `codec "h999": unknown`}, ""},
		{"conflict", fault.Conflict(api.CodeIllegalTransition, "job j1 is already completed"), 409,
			api.Error{Code: api.CodeIllegalTransition, Message: "job j1 is already completed"}, ""},
		{"conflict without a code", &fault.ConflictError{Field: "name", Msg: "taken"}, 409,
			api.Error{Code: api.CodeConflict, Field: "name", Message: "taken"}, ""},
		{"forbidden", &fault.ForbiddenError{Field: "tenant", Msg: "not yours"}, 403,
			api.Error{Code: api.CodeForbidden, Field: "tenant", Message: "not yours"}, ""},
		{"forbidden with a code", &fault.ForbiddenError{Code: api.CodeNodeForbidden, Msg: "another node's secret"}, 403,
			api.Error{Code: api.CodeNodeForbidden, Message: "another node's secret"}, ""},
		{"unauthenticated", &fault.UnauthenticatedError{Code: api.CodeNodeSecret, Field: "id", Msg: "needs its secret"}, 401,
			api.Error{Code: api.CodeNodeSecret, Field: "id", Message: "needs its secret"}, ""},
		{"quota", &fault.QuotaError{Quota: "submit_rate", RetryAfter: 1200 * time.Millisecond, Msg: "slow down"}, 429,
			api.Error{Code: api.CodeQuotaExceeded, Field: "submit_rate", Message: "slow down"}, "2"},
		{"quota without a retry time", &fault.QuotaError{Quota: "max_queued", Msg: "full"}, 429,
			api.Error{Code: api.CodeQuotaExceeded, Field: "max_queued", Message: "full"}, ""},
		{"too large", &fault.TooLargeError{Field: "result", Msg: "too much"}, 413,
			api.Error{Code: api.CodeTooLarge, Field: "result", Message: "too much"}, ""},
		{"wrapped", fmt.Errorf("read job: %w", fault.NotFound("job", "j2")), 404,
			api.Error{Code: api.CodeNotFound, Message: `no job "j2"`}, ""},
		{"anything else", errors.New("disk on fire at /var/lib/secret"), 500,
			api.Error{Code: api.CodeInternal, Message: "internal error (logged on the master)"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(httpapi.New(httpapi.Options{Farm: refusingFarm{err: c.err}, Streams: refusingStreams{err: c.err},
				Keys: keys, Logger: slog.New(slog.DiscardHandler)}))
			defer srv.Close()
			for _, path := range []string{"/v1/jobs/j1", "/v1/streams/s1"} {
				req, err := http.NewRequestWithContext(ctxT(t), http.MethodGet, srv.URL+path, nil)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Authorization", "Bearer "+mastertest.AdminKey)
				r, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, err := io.ReadAll(r.Body)
				r.Body.Close()
				if err != nil {
					t.Fatal(err)
				}
				var got struct{ Error *api.Error }
				if err := json.Unmarshal(body, &got); err != nil || got.Error == nil {
					t.Fatalf("GET %s: %d %s: not an error body (%v)", path, r.StatusCode, body, err)
				}
				if r.StatusCode != c.status || *got.Error != c.want || r.Header.Get("Retry-After") != c.retryAfter {
					t.Errorf("GET %s: %d %+v Retry-After %q\nwant %d %+v Retry-After %q", path, r.StatusCode, *got.Error,
						r.Header.Get("Retry-After"), c.status, c.want, c.retryAfter)
				}
			}
		})
	}
}
