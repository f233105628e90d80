package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
)

// Errors from Authenticate. Require turns both into 401 answers.
var (
	ErrNoKey      = errors.New("no API key: send Authorization: Bearer <api key>")
	ErrUnknownKey = errors.New("the API key is not known to this master")
)

// keyset is one immutable generation of keys, indexed by hash.
type keyset struct {
	byHash  map[string]Principal
	byName  map[string]string // key name → hash, for sessions (which name their key)
	tenants map[string]Tenant
}

// Keyring holds the keys the master accepts: static ones (flags, environment) plus those of
// an optional key file, which Reload re-reads so keys rotate without a restart. It is safe
// for concurrent use; each request sees one whole generation of keys.
type Keyring struct {
	// OnDenied, if set, is called with the error code (api.CodeUnauthorized,
	// api.CodeForbidden or api.CodeCSRF) of every request Require refuses, and of every
	// failed console login, e.g. to count it in a metric. Set it before serving.
	OnDenied func(code string)
	// Sessions, if set, lets the console's session cookie stand for a key (see Sessions).
	// Set it before serving.
	Sessions *Sessions

	static []Entry
	file   string

	reload sync.Mutex // one Reload at a time, so an older read never replaces a newer one
	set    atomic.Pointer[keyset]
}

// NewKeyring checks static (see StaticKey) and, when file is not empty, loads the key file.
// Names and keys must be unique across both.
func NewKeyring(static []Entry, file string) (*Keyring, error) {
	st, err := validate(static, "static keys")
	if err != nil {
		return nil, err
	}
	k := &Keyring{static: st, file: file}
	if err := k.Reload(); err != nil {
		return nil, err
	}
	return k, nil
}

// Reload re-reads the key file. On any error the keys in use stay as they were and the
// error says what is wrong with the file. Without a file it does nothing.
func (k *Keyring) Reload() error {
	k.reload.Lock()
	defer k.reload.Unlock()
	var fromFile []Entry
	var tenants []Tenant
	if k.file != "" {
		var err error
		if fromFile, tenants, err = LoadFile(k.file); err != nil {
			return err
		}
	}
	set, err := k.build(fromFile)
	if err != nil {
		return err
	}
	for _, t := range tenants {
		set.tenants[t.Name] = t
	}
	k.set.Store(set)
	return nil
}

func (k *Keyring) build(fromFile []Entry) (*keyset, error) {
	n := len(k.static) + len(fromFile)
	set := &keyset{byHash: make(map[string]Principal, n), byName: make(map[string]string, n), tenants: map[string]Tenant{}}
	names := make(map[string]bool, len(k.static)+len(fromFile))
	for _, e := range k.static {
		set.byHash[e.Hash] = Principal{Name: e.Name, Role: e.Role, Tenant: e.Tenant}
		set.byName[e.Name] = e.Hash
		names[e.Name] = true
	}
	for i, e := range fromFile {
		if names[e.Name] {
			return nil, fmt.Errorf("API key file %s: keys[%d] (%q): name already used by a static key (flag or environment)", k.file, i, e.Name)
		}
		if p, dup := set.byHash[e.Hash]; dup {
			return nil, fmt.Errorf("API key file %s: keys[%d] (%q): same key as static key %q", k.file, i, e.Name, p.Name)
		}
		set.byHash[e.Hash] = Principal{Name: e.Name, Role: e.Role, Tenant: e.Tenant}
		set.byName[e.Name] = e.Hash
		names[e.Name] = true
	}
	return set, nil
}

// Tenant returns the weights and quotas of tenant name as the key file sets them now (a
// tenant it does not list: weight 1, no limits). Safe to call on every request.
func (k *Keyring) Tenant(name string) Tenant {
	t, ok := k.set.Load().tenants[name]
	if !ok {
		t.Name = name
	}
	return t
}

// Len returns how many keys are accepted now.
func (k *Keyring) Len() int {
	return len(k.set.Load().byHash)
}

// ReloadOn reloads the key file on every value from sig (the master feeds it SIGHUP) until
// ctx ends. A failed reload is logged and the previous keys stay in use. The caller
// registers sig with signal.Notify before it announces it is up, so an early SIGHUP is a
// reload, not the default action (exit).
func (k *Keyring) ReloadOn(ctx context.Context, sig <-chan os.Signal, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-sig:
			if err := k.Reload(); err != nil {
				log.Error("API keys not reloaded; keeping the previous keys", "file", k.file, "err", err)
				continue
			}
			log.Info("API keys reloaded", "file", k.file, "keys", k.Len())
		}
	}
}

// Authenticate returns the Principal of the key in r's "Authorization: Bearer" header or,
// without that header, of the console session in r's cookie (when Sessions is set).
// The error is ErrNoKey (wrapped when the header has another scheme), ErrUnknownKey, or a
// *SessionError.
func (k *Keyring) Authenticate(r *http.Request) (Principal, error) {
	p, _, err := k.authenticate(r)
	return p, err
}

// authenticate is Authenticate, also returning the session when the cookie authenticated r.
func (k *Keyring) authenticate(r *http.Request) (Principal, *Session, error) {
	if p, ok := r.Context().Value(trustedKey{}).(Principal); ok {
		return p, nil, nil
	}
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if h == "" {
		if c, err := r.Cookie(SessionCookie); err == nil && k.Sessions != nil {
			s, err := k.Sessions.Verify(c.Value)
			if err != nil {
				return Principal{}, nil, err
			}
			return s.Principal, s, nil
		}
		return Principal{}, nil, ErrNoKey
	}
	scheme, key, spaced := strings.Cut(h, " ")
	if !spaced && !strings.EqualFold(h, "Bearer") {
		// The header is one word: most likely a key sent without its scheme (Prometheus 2.42's
		// http_sd_configs does that unless authorization.type is set). Never echo it.
		return Principal{}, nil, fmt.Errorf("the Authorization header has no scheme (a bare key?): send \"Bearer <api key>\": %w", ErrNoKey)
	}
	if !strings.EqualFold(scheme, "Bearer") {
		return Principal{}, nil, fmt.Errorf("authorization scheme %q is not supported: %w", clipScheme(scheme), ErrNoKey)
	}
	p, _, err := k.lookupKey(key)
	return p, nil, err
}

// lookupKey returns the Principal and stored hash of key (ErrNoKey when empty, ErrUnknownKey
// when not known).
func (k *Keyring) lookupKey(key string) (Principal, string, error) {
	key = strings.TrimSpace(key)
	if key == "" {
		return Principal{}, "", ErrNoKey
	}
	// The map is keyed by the hash, so lookup timing says nothing useful about the key.
	sum := sha256.Sum256([]byte(key))
	h := hashPrefix + hex.EncodeToString(sum[:])
	p, ok := k.set.Load().byHash[h]
	if !ok {
		return Principal{}, "", ErrUnknownKey
	}
	return p, h, nil
}

// lookupName returns the Principal and stored hash of the key named name, as the keys are
// now.
func (k *Keyring) lookupName(name string) (Principal, string, bool) {
	set := k.set.Load()
	h, ok := set.byName[name]
	if !ok {
		return Principal{}, "", false
	}
	return set.byHash[h], h, true
}

// clipScheme is an Authorization scheme fit to repeat in an error: schemes are short
// tokens ("Basic"); anything longer may be a secret pasted in the wrong place.
func clipScheme(s string) string {
	if len(s) > 16 {
		return s[:4] + "…"
	}
	return s
}
