package store

import (
	"bytes"
	"container/heap"
	"context"

	bolt "go.etcd.io/bbolt"

	"github.com/ffrtmp/ffrtmp/api"
)

// TenantStatus names one tenant's jobs in one status, for counts.
type TenantStatus struct {
	Tenant string
	Status api.Status
}

// CountByTenant counts jobs per tenant and status from the status and tenant indexes,
// without decoding a job. Both indexes hold every job once, under value \x00 id, so
// walking each status's IDs and each tenant's IDs side by side in ID order (a merge over
// one cursor per status and one per tenant) meets every job once in each: the work is one
// step per job in each index. A job the tenant index lacks counts for api.DefaultTenant,
// so the counts add up to CountByStatus's.
func (s *Store) CountByTenant(ctx context.Context) (map[TenantStatus]int, error) {
	out := map[TenantStatus]int{}
	err := s.view(func(tx *bolt.Tx) error {
		statuses := newMerge(tx.Bucket(bByStatus))
		tenants := newMerge(tx.Bucket(bByTenant))
		for n := 0; statuses.Len() > 0; n++ {
			if n%65536 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			st := statuses.heads[0]
			id := st.id
			for tenants.Len() > 0 && bytes.Compare(tenants.heads[0].id, id) < 0 {
				tenants.advance()
			}
			tenant := api.DefaultTenant
			if tenants.Len() > 0 && bytes.Equal(tenants.heads[0].id, id) {
				tenant = tenants.heads[0].value
			}
			out[TenantStatus{Tenant: tenant, Status: api.Status(st.value)}]++
			statuses.advance()
		}
		return nil
	})
	return out, err
}

// merge walks the keys of an index (value \x00 id) in ID order across its values: a heap
// of one cursor per value, keyed by the ID each stands on.
type merge struct{ heads []*indexHead }

type indexHead struct {
	value  string
	prefix []byte
	c      *bolt.Cursor
	id     []byte
}

func newMerge(b *bolt.Bucket) *merge {
	m := &merge{}
	dc := b.Cursor()
	for k, _ := dc.First(); k != nil; {
		name, _, ok := bytes.Cut(k, []byte{0})
		next := append(append([]byte(nil), name...), 1) // past every key of this value
		if ok {
			h := &indexHead{value: string(name), prefix: idxKey(string(name), nil), c: b.Cursor()}
			if h.seek(h.prefix) {
				m.heads = append(m.heads, h)
			}
		}
		k, _ = dc.Seek(next)
	}
	heap.Init(m)
	return m
}

// seek places h on its first key at or after k; false past its value's keys.
func (h *indexHead) seek(k []byte) bool {
	ik, _ := h.c.Seek(k)
	return h.set(ik)
}

func (h *indexHead) set(ik []byte) bool {
	if ik == nil || !bytes.HasPrefix(ik, h.prefix) {
		return false
	}
	h.id = ik[len(h.prefix):]
	return true
}

// advance moves the head with the lowest ID on by one key.
func (m *merge) advance() {
	h := m.heads[0]
	ik, _ := h.c.Next()
	if h.set(ik) {
		heap.Fix(m, 0)
	} else {
		heap.Pop(m)
	}
}

func (m *merge) Len() int           { return len(m.heads) }
func (m *merge) Less(i, j int) bool { return bytes.Compare(m.heads[i].id, m.heads[j].id) < 0 }
func (m *merge) Swap(i, j int)      { m.heads[i], m.heads[j] = m.heads[j], m.heads[i] }
func (m *merge) Push(x any)         { m.heads = append(m.heads, x.(*indexHead)) }
func (m *merge) Pop() any {
	h := m.heads[len(m.heads)-1]
	m.heads = m.heads[:len(m.heads)-1]
	return h
}
