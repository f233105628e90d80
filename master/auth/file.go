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
//	    sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
type keyFile struct {
	Keys []Entry `yaml:"keys"`
}

// LoadFile reads an API key file (YAML, see keyFile) and checks every entry: known role,
// well-formed hash, unique name and hash. Hashes come back as "sha256:<lower hex>".
func LoadFile(path string) ([]Entry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read API key file: %w", err)
	}
	var f keyFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("API key file %s: %w", path, err)
	}
	entries, err := validate(f.Keys, "keys")
	if err != nil {
		return nil, fmt.Errorf("API key file %s: %w", path, err)
	}
	return entries, nil
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
