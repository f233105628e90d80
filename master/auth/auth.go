// Package auth checks API keys sent as "Authorization: Bearer" and the roles they carry.
package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/ffrtmp/ffrtmp/api"
)

// Role is what an API key may do. An admin key may use every route.
type Role string

// The roles a key can have.
const (
	RoleAdmin     Role = "admin"
	RoleSubmitter Role = "submitter"
	RoleWorker    Role = "worker"
	// RoleIngest is a standalone RTMP ingest (ffrtmp ingest): it asks whether publishers and
	// players may in, and reports streams starting, stopping and their counters.
	RoleIngest Role = "ingest"
	// RoleMonitor is Prometheus (or another monitoring system): it reads the scrape targets
	// of service discovery, the farm-wide job summary (the counts /metrics shows) and the
	// read-only documents every key may read, and changes nothing.
	RoleMonitor Role = "monitor"
)

// RoleNames names every role, for messages and help.
const RoleNames = "admin, submitter, worker, ingest or monitor"

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool {
	switch r {
	case RoleAdmin, RoleSubmitter, RoleWorker, RoleIngest, RoleMonitor:
		return true
	}
	return false
}

// Principal is who sent a request: the name of the key that authenticated it, its role and
// the tenant whose jobs, streams and presets it sees.
type Principal struct {
	Name   string
	Role   Role
	Tenant string
}

// Allowed reports whether p may use a route open to roles. Admin may use every route; a
// route with no roles is open to any authenticated key.
func (p Principal) Allowed(roles ...Role) bool {
	if p.Role == RoleAdmin || len(roles) == 0 {
		return true
	}
	for _, r := range roles {
		if p.Role == r {
			return true
		}
	}
	return false
}

type principalKey struct{}

// WithPrincipal returns a copy of ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

type trustedKey struct{}

// WithTrusted marks ctx as authenticated already, as p, by something other than an API key:
// a request the master builds in-process for a caller it authenticated itself (another
// master of the cluster, over the cluster's mutual TLS). Authenticate takes p without looking
// for a key. No HTTP request can carry it: only code in this process sets it.
func WithTrusted(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, trustedKey{}, p)
}

// FromContext returns the Principal that Require stored in ctx.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

const hashPrefix = "sha256:"

// HashKey returns the form in which a key is stored: "sha256:" and the hex SHA-256 of key.
// Keys are long random secrets, so a plain (unsalted, fast) hash is enough: nothing short
// enough to guess is worth protecting with a slow one, and lookups stay a map access.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hashPrefix + hex.EncodeToString(sum[:])
}

// normalizeHash accepts "<64 hex>" or "sha256:<64 hex>" in any case and returns the
// canonical "sha256:<lower hex>".
func normalizeHash(h string) (string, error) {
	h = strings.TrimSpace(h)
	if len(h) >= len(hashPrefix) && strings.EqualFold(h[:len(hashPrefix)], hashPrefix) {
		h = h[len(hashPrefix):]
	}
	if h == "" {
		return "", errors.New("sha256 is empty (want the hex SHA-256 of the key, e.g. from `printf %s KEY | sha256sum`)")
	}
	if len(h) != 2*sha256.Size {
		return "", fmt.Errorf("sha256 has %d characters, want 64 hex digits", len(h))
	}
	if _, err := hex.DecodeString(h); err != nil {
		return "", fmt.Errorf("sha256 %q is not hex", h)
	}
	return hashPrefix + strings.ToLower(h), nil
}

// Entry is one API key as configured: only its hash is ever stored.
type Entry struct {
	Name string `yaml:"name" json:"name"`
	Role Role   `yaml:"role" json:"role"`
	// Hash is "sha256:<hex>" (the "sha256:" prefix is optional in files).
	Hash string `yaml:"sha256" json:"sha256"`
	// Tenant is the team the key acts for; empty means DefaultTenant.
	Tenant string `yaml:"tenant,omitempty" json:"tenant,omitempty"`
}

// StaticKey makes an Entry from a key given in clear on the command line or in the
// environment; the master's --api-key K is StaticKey("api-key", RoleAdmin, K). Static keys
// belong to DefaultTenant.
func StaticKey(name string, role Role, key string) Entry {
	return Entry{Name: name, Role: role, Hash: HashKey(key)}
}

// DefaultTenant owns what keys without a tenant create, and every job stored before
// tenants existed: a farm with one key (--api-key, ffrtmp run) is one tenant.
const DefaultTenant = api.DefaultTenant

var tenantRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// CheckTenant says what is wrong with a tenant name, or returns nil.
func CheckTenant(name string) error {
	if !tenantRe.MatchString(name) {
		return fmt.Errorf("tenant %q: want 1..64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit", name)
	}
	return nil
}

// Tenant is one tenant's share of the farm as the keys file configures it. Zero limits are
// unlimited; a tenant the file does not list has weight 1 and no limits.
type Tenant struct {
	Name string `yaml:"name" json:"name"`
	// Weight is the tenant's share of worker slots against other tenants with work queued
	// at the same priority (default 1).
	Weight int `yaml:"weight,omitempty" json:"weight,omitempty"`
	// MaxQueued bounds the tenant's jobs waiting for a slot (queued or retrying): a submit
	// past it is refused with 429 quota_exceeded.
	MaxQueued int `yaml:"max_queued,omitempty" json:"max_queued,omitempty"`
	// MaxRunning bounds the tenant's jobs on workers (assigned or running): more wait in
	// the queue.
	MaxRunning int `yaml:"max_running,omitempty" json:"max_running,omitempty"`
	// MaxStreams bounds the tenant's live streams: creating one past it is refused.
	MaxStreams int `yaml:"max_streams,omitempty" json:"max_streams,omitempty"`
	// SubmitRate bounds the tenant's job submits per second (burst: twice the rate, at
	// least 1): a submit past it is refused with 429 and Retry-After.
	SubmitRate float64 `yaml:"submit_rate,omitempty" json:"submit_rate,omitempty"`
}

// EffectiveWeight is Weight, or 1 when unset.
func (t Tenant) EffectiveWeight() int {
	if t.Weight <= 0 {
		return 1
	}
	return t.Weight
}
