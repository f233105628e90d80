package farm

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/sched"
	"github.com/ffrtmp/ffrtmp/master/store"
)

type nodeState struct {
	node      api.Node
	lastSeen  time.Time
	lastSaved time.Time
	// drainOrdered is an operator's drain (POST /v1/nodes/{id}/drain); the worker's own
	// draining is node.Status.
	drainOrdered bool
}

var nodeIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

const maxNodeListLen = 256

// Register adds a node or refreshes one that registers again (after a restart, or when the
// master forgot it). A re-registration clears an earlier drain order.
func (s *Service) Register(ctx context.Context, reg api.Registration, addr string) (api.Node, error) {
	if reg.ID == "" {
		reg.ID = "node-" + strings.ToLower(store.NewID(time.Now()))
	}
	if !nodeIDRe.MatchString(reg.ID) {
		return api.Node{}, badRequest("id", "node id %q: want 1..64 letters, digits, '.', '_' or '-'", reg.ID)
	}
	if strings.TrimSpace(reg.Name) == "" {
		reg.Name = reg.ID
	}
	if len(reg.Name) > 256 {
		return api.Node{}, badRequest("name", "longer than 256 bytes")
	}
	c := reg.Capabilities
	switch {
	case c.Slots < 0 || c.Slots > 1024:
		return api.Node{}, badRequest("capabilities.slots", "slots %d: want 0..1024", c.Slots)
	case c.PixelRate < 0:
		return api.Node{}, badRequest("capabilities.pixel_rate", "must not be negative")
	case len(c.Encoders) > maxNodeListLen || len(c.Decoders) > maxNodeListLen || len(c.GPUs) > 64 || len(c.Hardware) > 16:
		return api.Node{}, badRequest("capabilities", "too many entries")
	case len(reg.Labels) > 64:
		return api.Node{}, badRequest("labels", "at most 64 labels")
	}
	if err := checkHLSBaseURL(reg.HLSBaseURL); err != nil {
		return api.Node{}, badRequest("hls_base_url", "%v", err)
	}
	if c.Slots == 0 {
		c.Slots = 1
	}
	now := time.Now().UTC()
	s.mu.Lock()
	ns := s.nodes[reg.ID]
	if ns == nil {
		ns = &nodeState{node: api.Node{ID: reg.ID, RegisteredAt: now}}
		s.nodes[reg.ID] = ns
	}
	ns.node.Name, ns.node.Version, ns.node.Labels, ns.node.Capabilities = reg.Name, reg.Version, reg.Labels, c
	ns.node.Status, ns.node.Address, ns.node.LastHeartbeat = api.NodeOnline, addr, now
	ns.node.HLSBaseURL = reg.HLSBaseURL
	ns.drainOrdered = false
	ns.lastSeen, ns.lastSaved = now, now
	n := s.nodeView(ns)
	s.mu.Unlock()
	if err := s.st.PutNode(ctx, n); err != nil {
		return api.Node{}, fmt.Errorf("store node: %w", err)
	}
	s.log.Info("node registered", "node_id", n.ID, "name", n.Name, "slots", c.Slots, "encoders", len(c.Encoders), "gpus", len(c.GPUs), "addr", addr)
	return n, nil
}

// nodeView is the API view of ns; s.mu held.
func (s *Service) nodeView(ns *nodeState) api.Node {
	n := ns.node
	n.LastHeartbeat = ns.lastSeen
	if ns.drainOrdered && n.Status == api.NodeOnline {
		n.Status = api.NodeDraining
	}
	n.RunningJobs = []string{}
	for id, a := range s.active {
		if a.node == n.ID {
			n.RunningJobs = append(n.RunningJobs, id)
		}
	}
	sort.Strings(n.RunningJobs)
	return n
}

// Nodes lists the nodes, by ID.
func (s *Service) Nodes(ctx context.Context) []api.Node {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]api.Node, 0, len(s.nodes))
	for _, ns := range s.nodes {
		out = append(out, s.nodeView(ns))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Node returns node id.
func (s *Service) Node(ctx context.Context, id string) (api.Node, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ns := s.nodes[id]
	if ns == nil {
		return api.Node{}, notFound("node", id)
	}
	return s.nodeView(ns), nil
}

// NodeCounts counts nodes per status.
func (s *Service) NodeCounts() map[api.NodeStatus]int {
	out := map[api.NodeStatus]int{api.NodeOnline: 0, api.NodeDraining: 0, api.NodeOffline: 0}
	for _, n := range s.Nodes(context.Background()) {
		out[n.Status]++
	}
	return out
}

// Drain tells node id to take no new jobs and finish the ones it runs.
func (s *Service) Drain(ctx context.Context, id string) (api.Node, error) {
	s.mu.Lock()
	ns := s.nodes[id]
	if ns == nil {
		s.mu.Unlock()
		return api.Node{}, notFound("node", id)
	}
	ns.drainOrdered = true
	n := s.nodeView(ns)
	s.mu.Unlock()
	stored := n
	if err := s.st.PutNode(ctx, stored); err != nil {
		return api.Node{}, fmt.Errorf("store node: %w", err)
	}
	s.log.Info("node drain ordered", "node_id", id)
	return n, nil
}

// RemoveNode forgets node id. Its jobs go back to the queue (the attempt is not counted);
// if the worker is still alive it is told it is unknown and registers again.
func (s *Service) RemoveNode(ctx context.Context, id string) error {
	s.mu.Lock()
	if s.nodes[id] == nil {
		s.mu.Unlock()
		return notFound("node", id)
	}
	delete(s.nodes, id)
	s.mu.Unlock()
	if err := s.st.DeleteNode(ctx, id); err != nil {
		return fmt.Errorf("delete node: %w", err)
	}
	s.requeueNodeJobs(ctx, id, api.JobError{Code: api.JobErrNodeRemoved, Message: "node " + id + " was removed by an operator", Transient: true}, true)
	s.log.Info("node removed", "node_id", id)
	return nil
}

// requeueNodeJobs fails every job active on node with jerr (retrying them when they may).
func (s *Service) requeueNodeJobs(ctx context.Context, node string, jerr api.JobError, refund bool) {
	for _, id := range s.sched.ActiveOn(node) {
		_, err := s.change(ctx, id, func(j *api.Job, now time.Time) ([]api.Event, *api.Error) {
			if !j.Status.Active() || j.Node != node {
				return nil, nil
			}
			return s.failJob(j, jerr, now, refund)
		})
		if err != nil {
			s.log.Warn("requeue job of lost node", "job_id", id, "node_id", node, "err", err)
		}
	}
}

// schedNode is node id as the scheduler sees it, or false when it may not lease.
func (s *Service) schedNode(id string) (sched.Node, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ns := s.nodes[id]
	if ns == nil {
		return sched.Node{}, false, &api.Error{Status: 404, Code: api.CodeUnknownNode, Message: fmt.Sprintf("node %q is not registered: register again", id)}
	}
	if ns.drainOrdered || ns.node.Status != api.NodeOnline {
		return sched.Node{}, false, nil
	}
	n := sched.Node{ID: id, Labels: ns.node.Labels, Caps: ns.node.Capabilities}
	if t := ns.node.Telemetry; t != nil {
		n.GPUUtil = map[int]float64{}
		for _, g := range t.GPUs {
			n.GPUUtil[g.Index] = g.Utilization
		}
	}
	return n, true, nil
}
