package auth_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/ffrtmp/ffrtmp/master/auth"
)

var canonicalHash = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// FuzzLoadFile feeds the key file parser any bytes. A file either loads or gives an error
// naming the file; a file that loads has only named keys with known roles, canonical and
// unique hashes and unique names, builds a keyring with as many keys, and loads the same
// again when written back.
func FuzzLoadFile(f *testing.F) {
	h1, h2 := auth.HashKey("one"), auth.HashKey("two")
	for _, s := range []string{
		"keys:\n  - name: ci\n    role: submitter\n    sha256: " + h1 + "\n",
		"keys:\n  - {name: w1, role: worker, sha256: " + strings.ToUpper(h1[len("sha256:"):]) + "}\n  - {name: in, role: ingest, sha256: " + h2 + "}\n",
		"keys: []\n",
		"",
		"keys:\n  - {name: a, role: root, sha256: " + h1 + "}\n",
		"keys:\n  - {name: a, role: admin, sha256: " + h1 + "}\n  - {name: b, role: admin, sha256: " + h1 + "}\n",
		"keys:\n  - {name: a, role: admin, sha256: abc}\n",
		"keys:\n  - {name: a, role: admin, sha256: " + h1 + ", extra: 1}\n",
		"a: &a [*a, *a]\nkeys: *a\n",
		"keys:\n  - name: [1, 2]\n",
	} {
		f.Add([]byte(s))
	}
	path := filepath.Join(f.TempDir(), "keys.yaml") // a worker runs one input at a time
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		entries, tenants, err := auth.LoadFile(path)
		if err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q does not name the file %s", err, path)
			}
			return
		}
		names, hashes := map[string]bool{}, map[string]bool{}
		for i, e := range entries {
			if e.Name == "" || !e.Role.Valid() || !canonicalHash.MatchString(e.Hash) {
				t.Fatalf("keys[%d] loaded as %+v: want a name, a known role and sha256:<64 lower hex>", i, e)
			}
			if names[e.Name] || hashes[e.Hash] {
				t.Fatalf("keys[%d] (%q): a repeated name or key was loaded", i, e.Name)
			}
			names[e.Name], hashes[e.Hash] = true, true
		}
		k, err := auth.NewKeyring(nil, path)
		if err != nil {
			t.Fatalf("the file loads but no keyring can be built from it: %v", err)
		}
		if k.Len() != len(entries) {
			t.Fatalf("keyring has %d keys, the file %d", k.Len(), len(entries))
		}
		for i, tn := range tenants {
			if auth.CheckTenant(tn.Name) != nil {
				t.Fatalf("tenants[%d] loaded with a bad name %q", i, tn.Name)
			}
		}
		doc := map[string]any{"keys": entries}
		if len(tenants) > 0 {
			doc["tenants"] = tenants
		}
		out, err := yaml.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, out, 0o600); err != nil {
			t.Fatal(err)
		}
		again, againTenants, err := auth.LoadFile(path)
		if err != nil {
			t.Fatalf("the loaded keys, written back, do not load: %v\n%s", err, out)
		}
		if len(again) != len(entries) || len(againTenants) != len(tenants) {
			t.Fatalf("written back, %d keys and %d tenants load as %d and %d", len(entries), len(tenants), len(again), len(againTenants))
		}
		for i := range entries {
			if again[i] != entries[i] {
				t.Fatalf("keys[%d]: %+v written back loads as %+v", i, entries[i], again[i])
			}
		}
	})
}
