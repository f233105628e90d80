package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
)

// Console sessions. A browser logs in once with an API key and gets a cookie that stands
// for the key until it expires, is logged out, or the key is removed or rotated.
//
// The cookie is a token the master signs, not a handle into memory: payload "." MAC, both
// base64url, the payload
//
//	version (1) | session ID (16 random bytes) | issued-at, expires-at (int64 BE unix seconds)
//	| key epoch (uvarint) | key fingerprint (16 bytes) | key name
//
// and the MAC HMAC-SHA256 over a label and the payload with a secret kept in the master's
// replicated store (created at the first login). Any master of a cluster verifies it from
// its own copy of the store, so a session survives restarts and leader changes, and the
// follower that forwards a request and the leader that serves it agree. The key's
// fingerprint is an HMAC of the key's stored hash, so the cookie holds nothing derived from
// the key that could be checked offline, and a rotated key (same name, new hash) no longer
// matches. Each request looks the key up again by name: its current role and tenant apply,
// and a removed key ends its sessions at once. A logout is remembered in the store until the
// session would have expired (SessionStore.RevokeSession).
//
// A cookie is sent by the browser with every request to the master, also those another site
// makes it send; the cookie is SameSite=Strict, and on top of that every state-changing
// request the cookie authenticates must carry the session's CSRF token (an HMAC of the
// session ID, which only the master's own page learns) and come from the master's own
// Origin when the browser names one.

// SessionCookie is the session cookie's name.
const SessionCookie = api.SessionCookie

// DefaultSessionTTL is how long a console session lasts when SessionOptions.TTL is 0.
const DefaultSessionTTL = 12 * time.Hour

const (
	sessionVersion = 1
	sessionIDLen   = 16
	fingerprintLen = 16
	// maxToken bounds the cookie value read: a real one is under 200 bytes plus the key name.
	maxToken = 2048
)

// SessionStore is what sessions need from the master's replicated store.
type SessionStore interface {
	// SessionSecret returns the signing secret, storing fresh when there is none yet.
	SessionSecret(ctx context.Context, fresh []byte) ([]byte, error)
	// SessionCheck returns the signing secret (nil before the first login), whether session
	// id was logged out, and the session epoch of the key named name.
	SessionCheck(id []byte, name string) (secret []byte, revoked bool, epoch uint64, err error)
	// RevokeSession remembers the logout of session id until until; when it cannot (too
	// many remembered), it ends every session of key name and says so.
	RevokeSession(ctx context.Context, id []byte, name string, until, now time.Time) (allOfKey bool, err error)
}

// SessionOptions tune Sessions.
type SessionOptions struct {
	// TTL is how long a session lasts from its login [DefaultSessionTTL].
	TTL time.Duration
	// Secure puts the Secure attribute on the cookie (the master serves TLS). A request that
	// came over TLS gets it anyway.
	Secure bool
	// Now is the clock [time.Now].
	Now func() time.Time
	// OnEvent, if set, is told of each "login" and "logout".
	OnEvent func(event string)
	// Logger [slog.Default()].
	Logger *slog.Logger
}

// Sessions logs keys in to the console and verifies their session cookies.
type Sessions struct {
	keys  *Keyring
	store SessionStore
	opts  SessionOptions
}

// NewSessions returns sessions for the keys of k, kept in st.
func NewSessions(k *Keyring, st SessionStore, opts SessionOptions) *Sessions {
	if opts.TTL <= 0 {
		opts.TTL = DefaultSessionTTL
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Sessions{keys: k, store: st, opts: opts}
}

// Session is a verified console session.
type Session struct {
	Principal Principal
	ID        [sessionIDLen]byte
	IssuedAt  time.Time
	ExpiresAt time.Time
	epoch     uint64
	csrf      string
}

// CSRFToken is the token that state-changing requests of this session carry in the
// X-CSRF-Token header.
func (s *Session) CSRFToken() string { return s.csrf }

// Info is the session as the API shows it.
func (s *Session) Info() api.SessionInfo {
	return api.SessionInfo{KeyName: s.Principal.Name, Role: string(s.Principal.Role), Tenant: s.Principal.Tenant,
		CSRFToken: s.csrf, ExpiresAt: s.ExpiresAt.UTC()}
}

// SessionError says why a session cookie was not accepted; the API answers 401.
type SessionError struct{ Reason string }

func (e *SessionError) Error() string {
	return "console session refused: " + e.Reason + "; log in again"
}

func sessionErr(format string, args ...any) error {
	return &SessionError{Reason: fmt.Sprintf(format, args...)}
}

// Login checks apiKey and starts a session for it: the session and the cookie's value. The
// error is ErrNoKey or ErrUnknownKey for a key that is not accepted (neither names the key;
// the keyring's OnDenied counts it).
func (s *Sessions) Login(ctx context.Context, apiKey string) (*Session, string, error) {
	p, hash, err := s.keys.lookupKey(apiKey)
	if errors.Is(err, ErrUnknownKey) {
		s.keys.denied(api.CodeUnauthorized)
	}
	if err != nil {
		return nil, "", err
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, "", err
	}
	secret, err := s.store.SessionSecret(ctx, fresh)
	if err != nil {
		return nil, "", fmt.Errorf("session secret: %w", err)
	}
	sess := &Session{Principal: p}
	if _, err := rand.Read(sess.ID[:]); err != nil {
		return nil, "", err
	}
	if _, _, sess.epoch, err = s.store.SessionCheck(sess.ID[:], p.Name); err != nil {
		return nil, "", fmt.Errorf("session epoch: %w", err)
	}
	now := s.opts.Now()
	sess.IssuedAt = now.Truncate(time.Second)
	sess.ExpiresAt = sess.IssuedAt.Add(s.opts.TTL)
	sess.csrf = csrfToken(secret, sess.ID[:])

	payload := []byte{sessionVersion}
	payload = append(payload, sess.ID[:]...)
	payload = binary.BigEndian.AppendUint64(payload, uint64(sess.IssuedAt.Unix()))
	payload = binary.BigEndian.AppendUint64(payload, uint64(sess.ExpiresAt.Unix()))
	payload = binary.AppendUvarint(payload, sess.epoch)
	payload = append(payload, fingerprint(secret, hash)...)
	payload = append(payload, p.Name...)
	token := b64.EncodeToString(payload) + "." + b64.EncodeToString(sign(secret, payload))
	if s.opts.OnEvent != nil {
		s.opts.OnEvent("login")
	}
	return sess, token, nil
}

// Verify checks a session cookie's value: signed by this farm, not expired, not logged out,
// and its key still there with the same hash. The session acts with the key's role and
// tenant as they are now.
func (s *Sessions) Verify(token string) (*Session, error) {
	if len(token) > maxToken {
		return nil, sessionErr("malformed cookie")
	}
	p64, m64, ok := strings.Cut(token, ".")
	payload, err1 := b64.DecodeString(p64)
	mac, err2 := b64.DecodeString(m64)
	const fixed = 1 + sessionIDLen + 8 + 8
	if !ok || err1 != nil || err2 != nil || len(payload) < fixed+1+fingerprintLen || payload[0] != sessionVersion {
		return nil, sessionErr("malformed cookie")
	}
	sess := &Session{}
	copy(sess.ID[:], payload[1:])
	sess.IssuedAt = time.Unix(int64(binary.BigEndian.Uint64(payload[1+sessionIDLen:])), 0)
	sess.ExpiresAt = time.Unix(int64(binary.BigEndian.Uint64(payload[1+sessionIDLen+8:])), 0)
	epoch, n := binary.Uvarint(payload[fixed:])
	if n <= 0 || len(payload) < fixed+n+fingerprintLen {
		return nil, sessionErr("malformed cookie")
	}
	sess.epoch = epoch
	fp := payload[fixed+n : fixed+n+fingerprintLen]
	name := string(payload[fixed+n+fingerprintLen:])

	secret, revoked, current, err := s.store.SessionCheck(sess.ID[:], name)
	switch {
	case err != nil:
		return nil, fmt.Errorf("check session: %w", err)
	case secret == nil || !hmac.Equal(mac, sign(secret, payload)):
		return nil, sessionErr("the cookie is not one this farm issued")
	case !s.opts.Now().Before(sess.ExpiresAt):
		return nil, sessionErr("the session expired")
	case revoked || epoch != current:
		return nil, sessionErr("the session was logged out")
	}
	p, hash, ok := s.keys.lookupName(name)
	if !ok || !hmac.Equal(fp, fingerprint(secret, hash)) {
		return nil, sessionErr("the session's API key was removed or rotated")
	}
	sess.Principal = p
	sess.csrf = csrfToken(secret, sess.ID[:])
	return sess, nil
}

// Logout ends sess: its cookie is refused from now on, by every master of the cluster.
func (s *Sessions) Logout(ctx context.Context, sess *Session) error {
	all, err := s.store.RevokeSession(ctx, sess.ID[:], sess.Principal.Name, sess.ExpiresAt, s.opts.Now())
	if err != nil {
		return fmt.Errorf("log out: %w", err)
	}
	if all {
		// Too many logouts remembered: the key's other sessions ended too.
		s.opts.Logger.Warn("a console logout ended every session of its API key: too many logged-out sessions are remembered already",
			"key", sess.Principal.Name)
	}
	if s.opts.OnEvent != nil {
		s.opts.OnEvent("logout")
	}
	return nil
}

// SetCookie sets the session cookie on w (Secure when r came over TLS or the master serves
// TLS).
func (s *Sessions) SetCookie(w http.ResponseWriter, r *http.Request, token string, sess *Session) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: token, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: s.opts.Secure || r.TLS != nil, MaxAge: max(1, int(sess.ExpiresAt.Sub(sess.IssuedAt).Seconds()))})
}

// ClearCookie tells the browser to forget the session cookie.
func (s *Sessions) ClearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: s.opts.Secure || r.TLS != nil, MaxAge: -1})
}

type sessionKey struct{}

// SessionFrom returns the console session that authenticated the request of ctx, if one did.
func SessionFrom(ctx context.Context) (*Session, bool) {
	s, ok := ctx.Value(sessionKey{}).(*Session)
	return s, ok
}

// CheckCrossSite refuses a request from another site: one whose Origin header names another
// origin than the master's own. The master's own is the Host the request was sent to, or
// X-Forwarded-Host when a proxy (another master of the cluster, a load balancer) passed it
// on: a page of another site can make a browser send neither of them.
func CheckCrossSite(r *http.Request) error {
	o := r.Header.Get("Origin")
	if o == "" {
		return nil
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("the request comes from origin %q, not from this master's own pages", clipScheme(o))
	}
	own := []string{r.Host}
	if fh := r.Header.Get("X-Forwarded-Host"); fh != "" {
		first, _, _ := strings.Cut(fh, ",")
		own = append(own, strings.TrimSpace(first))
	}
	for _, h := range own {
		if strings.EqualFold(hostPort(u.Host, u.Scheme), hostPort(h, u.Scheme)) {
			return nil
		}
	}
	return fmt.Errorf("the request comes from origin %s://%s, not from this master's own pages", u.Scheme, u.Host)
}

// hostPort is host with its port, the scheme's default when it names none.
func hostPort(host, scheme string) string {
	if strings.LastIndex(host, ":") > strings.LastIndex(host, "]") {
		return host
	}
	if scheme == "https" {
		return host + ":443"
	}
	return host + ":80"
}

// checkCSRF refuses a state-changing request of sess without its CSRF token, and any
// request of sess from another site.
func checkCSRF(r *http.Request, sess *Session) error {
	if err := CheckCrossSite(r); err != nil {
		return err
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	got := r.Header.Get(api.CSRFHeader)
	if got == "" {
		return errors.New("a request authenticated by the console's session cookie that changes something must carry the session's CSRF token in " + api.CSRFHeader)
	}
	if !hmac.Equal([]byte(got), []byte(sess.csrf)) {
		return errors.New("the " + api.CSRFHeader + " header is not this session's CSRF token")
	}
	return nil
}

var b64 = base64.RawURLEncoding

func sign(secret, payload []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("ffrtmp session v1\x00"))
	m.Write(payload)
	return m.Sum(nil)
}

func fingerprint(secret []byte, hash string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("ffrtmp session key\x00"))
	m.Write([]byte(hash))
	return m.Sum(nil)[:fingerprintLen]
}

func csrfToken(secret, id []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("ffrtmp session csrf\x00"))
	m.Write(id)
	return b64.EncodeToString(m.Sum(nil))
}
