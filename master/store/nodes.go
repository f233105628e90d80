package store

import (
	"context"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/ffrtmp/ffrtmp/api"
)

// NodeRecord is a node as stored: its view and what only the master may know of it. The
// view's fields are inline, so records written before the others existed read as they were.
type NodeRecord struct {
	api.Node
	// SecretHash is the SHA-256 of the node's secret (empty: a node registered before nodes
	// had secrets; its next registration claims one).
	SecretHash []byte `json:"secret_hash,omitempty"`
	// Owner is the name of the API key that registered the node (the per-key node limit).
	Owner string `json:"owner,omitempty"`
	// DrainOrdered is an operator's drain order; it outlives the worker's registrations.
	DrainOrdered bool `json:"drain_ordered,omitempty"`
}

// PutNode stores a node (registration, drain, periodic heartbeat snapshot).
func (s *Store) PutNode(ctx context.Context, n NodeRecord) error {
	v, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("encode node: %w", err)
	}
	return s.update(ctx, func(tx *wtx) error { return tx.Bucket(bNodes).Put([]byte(n.ID), v) })
}

// DeleteNode removes a node.
func (s *Store) DeleteNode(ctx context.Context, id string) error {
	return s.update(ctx, func(tx *wtx) error { return tx.Bucket(bNodes).Delete([]byte(id)) })
}

// Nodes returns every stored node.
func (s *Store) Nodes(ctx context.Context) ([]NodeRecord, error) {
	var out []NodeRecord
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bNodes).ForEach(func(k, v []byte) error {
			var n NodeRecord
			if err := json.Unmarshal(v, &n); err != nil {
				return fmt.Errorf("decode node %s: %w", k, err)
			}
			out = append(out, n)
			return nil
		})
	})
	return out, err
}

// PutPreset stores a preset.
func (s *Store) PutPreset(ctx context.Context, p api.Preset) error {
	v, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode preset: %w", err)
	}
	return s.update(ctx, func(tx *wtx) error { return tx.Bucket(bPresets).Put([]byte(p.Name), v) })
}

// DeletePreset removes a preset; ErrNotFound when there is none.
func (s *Store) DeletePreset(ctx context.Context, name string) error {
	var found bool
	err := s.update(ctx, func(tx *wtx) error {
		b := tx.Bucket(bPresets)
		found = b.Get([]byte(name)) != nil
		return b.Delete([]byte(name))
	})
	if err == nil && !found {
		return ErrNotFound
	}
	return err
}

// Presets returns the stored presets by name.
func (s *Store) Presets(ctx context.Context) ([]api.Preset, error) {
	var out []api.Preset
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bPresets).ForEach(func(k, v []byte) error {
			var p api.Preset
			if err := json.Unmarshal(v, &p); err != nil {
				return fmt.Errorf("decode preset %s: %w", k, err)
			}
			out = append(out, p)
			return nil
		})
	})
	return out, err
}
