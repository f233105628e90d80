package api

import (
	"crypto/tls"
	"log/slog"
	"net/http"
	"time"
)

// DefaultTimeout bounds one request of a Client unless WithTimeout says otherwise.
const DefaultTimeout = 30 * time.Second

// DefaultUserAgent is the User-Agent a Client sends unless WithUserAgent says otherwise.
const DefaultUserAgent = "ffrtmp-client"

// leaseSlack is added to a lease's wait to bound the long poll: the master holds the request
// up to wait, then still has to answer and the answer has to travel.
const leaseSlack = 15 * time.Second

// Option configures a Client in NewClient.
type Option func(*clientConfig)

type clientConfig struct {
	httpClient *http.Client
	tlsConfig  *tls.Config
	userAgent  string
	timeout    time.Duration
	logger     *slog.Logger
}

// WithHTTPClient makes the Client send its requests through hc. The Client copies hc and never
// changes it; with WithTLSConfig as well, hc's Transport must be nil or an *http.Transport
// (it is cloned, not modified). A Timeout set on hc applies on top of the Client's own, and
// cuts lease long polls and backups that run longer than it: leave it zero. A Client of
// several masters keeps hc's Transport, when set, as it is: without the short connect timeout
// (5 s) it gives a Transport of its own.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *clientConfig) { c.httpClient = hc }
}

// WithTLSConfig sets the TLS configuration for https masters: the CA to trust (RootCAs) and,
// for mTLS, the worker's certificate (Certificates or GetClientCertificate).
func WithTLSConfig(cfg *tls.Config) Option {
	return func(c *clientConfig) { c.tlsConfig = cfg }
}

// WithUserAgent sets the User-Agent header ("ffrtmp-worker/1.2.0").
func WithUserAgent(ua string) Option {
	return func(c *clientConfig) { c.userAgent = ua }
}

// WithTimeout bounds each request, from sending it to reading the whole answer (default
// DefaultTimeout). A lease long poll gets at least its wait plus 15 s; a backup gets d of
// silence at most, however long the whole download takes. Zero or less: no bound but the
// caller's context.
func WithTimeout(d time.Duration) Option {
	return func(c *clientConfig) { c.timeout = d }
}

// WithLogger sets where a Client of several masters logs its moves from one master to
// another (at Info; default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(c *clientConfig) { c.logger = l }
}
