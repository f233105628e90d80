package auth

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"go.yaml.in/yaml/v3"
)

// keyFile is the layout of an API key file:
//
//	keys:
//	  - name: ci
//	    role: submitter
//	    tenant: team-a        # optional; default "default"
//	    sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
//	tenants:                 # optional: weights and quotas (see Tenant)
//	  - {name: team-a, weight: 2, max_queued: 10000, max_running: 20, max_streams: 5, submit_rate: 50}
type keyFile struct {
	Keys    []Entry  `yaml:"keys"`
	Tenants []Tenant `yaml:"tenants"`
}

// LoadFile reads an API key file (YAML, see keyFile) and checks every entry: known role,
// well-formed hash and tenant, unique name and hash; and every tenant: well-formed unique
// name, no negative limit. Hashes come back as "sha256:<lower hex>".
func LoadFile(path string) ([]Entry, []Tenant, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read API key file: %w", err)
	}
	var f keyFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, fmt.Errorf("API key file %s: %w", path, err)
	}
	entries, err := validate(f.Keys, "keys")
	if err != nil {
		return nil, nil, fmt.Errorf("API key file %s: %w", path, err)
	}
	tenants, err := validateTenants(f.Tenants)
	if err != nil {
		return nil, nil, fmt.Errorf("API key file %s: %w", path, err)
	}
	return entries, tenants, nil
}

func validateTenants(in []Tenant) ([]Tenant, error) {
	seen := make(map[string]int, len(in))
	for i, t := range in {
		at := fmt.Sprintf("tenants[%d]", i)
		if t.Name != "" {
			at = fmt.Sprintf("%s (%q)", at, t.Name)
		}
		if err := CheckTenant(t.Name); err != nil {
			return nil, fmt.Errorf("%s: %w", at, err)
		}
		if j, dup := seen[t.Name]; dup {
			return nil, fmt.Errorf("%s: tenant already listed at tenants[%d]", at, j)
		}
		seen[t.Name] = i
		for _, f := range []struct {
			name string
			v    float64
		}{{"weight", float64(t.Weight)}, {"max_queued", float64(t.MaxQueued)}, {"max_running", float64(t.MaxRunning)},
			{"max_streams", float64(t.MaxStreams)}, {"submit_rate", t.SubmitRate}} {
			if f.v < 0 {
				return nil, fmt.Errorf("%s: %s %v is negative (0 or absent: unlimited)", at, f.name, f.v)
			}
		}
		if t.Weight > 1000 {
			return nil, fmt.Errorf("%s: weight %d: at most 1000", at, t.Weight)
		}
	}
	return in, nil
}

// validate checks entries and returns them with canonical hashes. where names the list in
// error messages ("keys" for a file, "static keys" for flags).
func validate(in []Entry, where string) ([]Entry, error) {
	out := make([]Entry, 0, len(in))
	names := make(map[string]int, len(in))
	hashes := make(map[string]int, len(in))
	for i, e := range in {
		at := fmt.Sprintf("%s[%d]", where, i)
		if e.Name != "" {
			at = fmt.Sprintf("%s (%q)", at, e.Name)
		}
		if e.Name == "" {
			return nil, fmt.Errorf("%s: name is empty", at)
		}
		if !e.Role.Valid() {
			return nil, fmt.Errorf("%s: unknown role %q (want %s)", at, e.Role, RoleNames)
		}
		if e.Tenant == "" {
			e.Tenant = DefaultTenant
		}
		if err := CheckTenant(e.Tenant); err != nil {
			return nil, fmt.Errorf("%s: %w", at, err)
		}
		h, err := normalizeHash(e.Hash)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", at, err)
		}
		if j, dup := names[e.Name]; dup {
			return nil, fmt.Errorf("%s: name already used by %s[%d]", at, where, j)
		}
		if j, dup := hashes[h]; dup {
			return nil, fmt.Errorf("%s: same key as %s[%d] (%q); give each client its own key", at, where, j, in[j].Name)
		}
		names[e.Name] = i
		hashes[h] = i
		e.Hash = h
		out = append(out, e)
	}
	return out, nil
}
