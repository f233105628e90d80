// Package httpapi is the master's REST API: routes (gorilla/mux), strict JSON, error bodies,
// API key roles, rate limiting and request metrics, over the farm.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/auth"
	"github.com/ffrtmp/ffrtmp/master/events"
)

// Metrics is what the API reports about requests.
type Metrics interface {
	Request(route, method string, code int, d time.Duration)
}

// Options configure the API.
type Options struct {
	Farm    Farm
	Streams Streams     // live streams; nil: the stream routes answer 503
	Events  *events.Hub // the changes GET /v1/events streams; nil: it answers 503
	Cluster Cluster     // the replicated masters; nil: a single master
	Keys    *auth.Keyring
	// Sessions are the console's logins (/v1/session); nil: those routes answer 503. The
	// session cookie itself is checked by Keys (auth.Keyring.Sessions).
	Sessions *auth.Sessions
	Limiter  func(http.Handler) http.Handler // per-IP rate limit; nil: none
	Metrics  Metrics                         // nil: none
	Logger   *slog.Logger
	// Backup streams the database to w, telling size its length first.
	Backup func(w io.Writer, size func(int64)) (int64, error)
	// Ready reports whether the master can serve (store open, not shutting down).
	Ready func() error
	// MaxBody bounds request bodies (default 1 MiB).
	MaxBody int64
	// WriteTimeout bounds each write of a streamed answer (the backup): a client that stops
	// reading for this long is cut off, so it cannot hold the database's read transaction
	// (and the goroutine) forever [30s].
	WriteTimeout time.Duration
	// Tracing starts an OpenTelemetry span per request (with the global tracer provider),
	// continuing a trace the client sent in traceparent.
	Tracing bool
}

// DefaultWriteTimeout is Options.WriteTimeout's default.
const DefaultWriteTimeout = 30 * time.Second

// Server is the API's http.Handler.
type Server struct {
	opts   Options
	router *mux.Router
	routes []Route
	log    *slog.Logger

	// fields are the JSON field names of the request types, for decode's case check.
	fields fieldCache

	hls *hlsProxy // GET /v1/streams/{id}/hls/...

	openapiOnce sync.Once
	openapiJSON []byte
	openapiErr  error
}

// Route is one API route: what the router serves and what the OpenAPI description says.
type Route struct {
	Method, Path string
	Name         string // operationId and metrics label
	Summary      string
	// Roles may call the route; empty means no authentication (/healthz, and the console's
	// login, which takes the key in its body).
	Roles []auth.Role
	// Request and Response are the JSON bodies (nil: none); Status is the success status.
	// OptionalBody says the request body may be left out; Binary names the content type of
	// a response that streams bytes instead of JSON; Also lists other success answers
	// (status → description), with the Response body when SameBody.
	Request, Response any
	// BinaryRequest names the content type of a request body of bytes (not JSON).
	BinaryRequest string
	Status        int
	OptionalBody  bool
	Binary        string
	Also          map[int]string
	SameBody      bool
	// Query lists query parameters and Headers request headers: name → description.
	Query   map[string]string
	Headers map[string]string
	handler http.HandlerFunc
}

var (
	anyRole    = []auth.Role{auth.RoleAdmin, auth.RoleSubmitter, auth.RoleWorker, auth.RoleIngest, auth.RoleMonitor}
	submitters = []auth.Role{auth.RoleAdmin, auth.RoleSubmitter}
	workers    = []auth.Role{auth.RoleAdmin, auth.RoleWorker}
	ingests    = []auth.Role{auth.RoleAdmin, auth.RoleIngest}
	monitors   = []auth.Role{auth.RoleAdmin, auth.RoleMonitor}
	readers    = []auth.Role{auth.RoleAdmin, auth.RoleSubmitter, auth.RoleMonitor}
	admins     = []auth.Role{auth.RoleAdmin}
)

// New builds the API.
func New(opts Options) *Server {
	if opts.MaxBody <= 0 {
		opts.MaxBody = 1 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	s := &Server{opts: opts, log: opts.Logger, hls: newHLSProxy()}
	s.routes = s.table()
	r := mux.NewRouter()
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		writeError(w, &api.Error{Status: 404, Code: api.CodeNotFound, Message: fmt.Sprintf("no route %s %s: see /v1/openapi.json", req.Method, req.URL.Path)})
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		allow := s.allowed(req)
		// RFC 9110: a 405 must say which methods the resource takes.
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, &api.Error{Status: 405, Code: api.CodeMethodNotAllowed,
			Message: fmt.Sprintf("%s is not allowed on %s (allowed: %s)", req.Method, req.URL.Path, strings.Join(allow, ", "))})
	})
	for _, rt := range s.routes {
		h := http.Handler(rt.handler)
		if len(rt.Roles) > 0 {
			h = auth.Require(opts.Keys, rt.Roles...)(h)
		}
		r.Handle(rt.Path, s.instrument(rt.Name, h)).Methods(rt.Method)
	}
	s.router = r
	return s
}

// allowed lists the methods the route table serves at req's path.
func (s *Server) allowed(req *http.Request) []string {
	var out []string
	for _, rt := range s.routes {
		if slices.Contains(out, rt.Method) {
			continue
		}
		probe := &http.Request{Method: rt.Method, URL: req.URL, Host: req.Host, Header: http.Header{}}
		var m mux.RouteMatch
		if s.router.Match(probe, &m) && m.MatchErr == nil {
			out = append(out, rt.Method)
		}
	}
	sort.Strings(out)
	return out
}

// Routes lists the API's routes (for the OpenAPI description and its test).
func (s *Server) Routes() []Route { return s.routes }

// Router is the underlying router (tests walk it).
func (s *Server) Router() *mux.Router { return s.router }

// ServeHTTP applies panic recovery and the rate limit, then routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
			writeError(w, &api.Error{Status: 500, Code: api.CodeInternal, Message: "internal error (logged on the master)"})
		}
	}()
	var h http.Handler = s.router
	if s.opts.Limiter != nil && r.URL.Path != "/healthz" {
		h = s.opts.Limiter(h)
	}
	h.ServeHTTP(w, r)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) instrument(name string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		var span trace.Span
		if s.opts.Tracing {
			ctx := otel.GetTextMapPropagator().Extract(r.Context(), propagation.HeaderCarrier(r.Header))
			ctx, span = otel.Tracer("github.com/ffrtmp/ffrtmp/master").Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer),
				trace.WithAttributes(attribute.String("http.request.method", r.Method), attribute.String("url.path", r.URL.Path)))
			r = r.WithContext(ctx)
		}
		h.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		if span != nil {
			span.SetAttributes(attribute.Int("http.response.status_code", sw.status))
			if sw.status >= 500 {
				span.SetStatus(codes.Error, http.StatusText(sw.status))
			}
			span.End()
		}
		if s.opts.Metrics != nil {
			s.opts.Metrics.Request(name, r.Method, sw.status, time.Since(start))
		}
		if sw.status >= 500 {
			s.log.Warn("request failed", "route", name, "method", r.Method, "path", r.URL.Path, "status", sw.status)
		}
	})
}

// fail answers err: a refusal of the domain (package fault) as apiError maps it, an
// *api.Error as it is, a canceled request quietly, anything else as a 500 (logged; the
// client gets no internals).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	ae := apiError(err)
	switch {
	case ae != nil || errors.As(err, &ae):
		if ae.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(ae.RetryAfter))
		}
		writeError(w, ae)
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The client went away; nobody reads an answer.
	default:
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, &api.Error{Status: 500, Code: api.CodeInternal, Message: "internal error (logged on the master)"})
	}
}
