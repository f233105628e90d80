package store

import (
	"bytes"
	"context"

	bolt "go.etcd.io/bbolt"

	"github.com/ffrtmp/ffrtmp/api"
)

// TenantOf is the tenant that owns j: jobs stored before tenants existed carry none and
// belong to api.DefaultTenant, so no stored job needs rewriting.
func TenantOf(j *api.Job) string {
	if j.Tenant == "" {
		return api.DefaultTenant
	}
	return j.Tenant
}

// Tenants lists the tenants that own at least one stored job, from the tenant index (a
// seek per tenant, not a walk over jobs).
func (s *Store) Tenants(ctx context.Context) ([]string, error) {
	var out []string
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bByTenant).Cursor()
		for k, _ := c.First(); k != nil; {
			name, _, ok := bytes.Cut(k, []byte{0})
			if !ok {
				k, _ = c.Next()
				continue
			}
			out = append(out, string(name))
			// Past every key of this tenant: name \x01 sorts after name \x00 id16.
			k, _ = c.Seek(append(append([]byte(nil), name...), 1))
		}
		return nil
	})
	return out, err
}
