package farm

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/auth"
	"github.com/ffrtmp/ffrtmp/master/fault"
	"github.com/ffrtmp/ffrtmp/master/sched"
	"github.com/ffrtmp/ffrtmp/master/store"
)

type nodeState struct {
	node      api.Node
	lastSeen  time.Time
	lastSaved time.Time
	// drainOrdered is an operator's drain (POST /v1/nodes/{id}/drain); the worker's own
	// draining is node.Status. It outlives re-registrations: only an undrain lifts it.
	drainOrdered bool
	// secretHash is sha256 of the node's secret (nil: a node stored before nodes had
	// secrets, which its next registration claims).
	secretHash []byte
	// owner is the name of the API key that registered the node.
	owner string
}

var nodeIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Bounds on what a registration may carry: a node's record is kept in memory and served in
// every node list.
const (
	maxNodeListLen   = 256 // encoders, decoders
	maxNodeNameLen   = 256
	maxLabels        = 64
	maxLabelKeyLen   = 128
	maxLabelValueLen = 256
	maxShortField    = 64 // version, an encoder's or decoder's name, a hardware kind, a GPU UUID
	maxGPUNameLen    = 128
)

// NodeCaller is who makes a node call: the API key's name and whether it is an admin's, the
// node secret it presented ("" none), and the names (CN and DNS SANs) of its verified client
// certificate (none without mTLS).
type NodeCaller struct {
	Key       string
	Admin     bool
	Secret    string
	CertNames []string
}

// Register adds a node or refreshes one that registers again (after a restart, or when the
// master forgot it). A new node gets a secret, returned only here: every later call of the
// node must carry it (AuthNode). Registering an ID that exists needs that node's secret or an
// admin key (an admin's registration issues a new secret). An operator's drain order stays.
func (s *Service) Register(ctx context.Context, reg api.Registration, addr string, who NodeCaller) (api.Registered, error) {
	if reg.ID == "" {
		reg.ID = "node-" + strings.ToLower(store.NewID(s.now()))
	}
	if strings.TrimSpace(reg.Name) == "" {
		reg.Name = reg.ID
	}
	if aerr := checkRegistration(reg); aerr != nil {
		return api.Registered{}, aerr
	}
	c := reg.Capabilities
	if c.Slots == 0 {
		c.Slots = 1
	}
	secret, err := auth.Mint(auth.NodeSecretPrefix)
	if err != nil {
		return api.Registered{}, err
	}
	now := s.now()
	s.mu.Lock()
	ns := s.nodes[reg.ID]
	if aerr := s.mayRegister(ns, reg.ID, who); aerr != nil {
		s.mu.Unlock()
		return api.Registered{}, aerr
	}
	issue := ns == nil || ns.secretHash == nil || who.Secret == ""
	if ns == nil {
		ns = &nodeState{node: api.Node{ID: reg.ID, RegisteredAt: now}, owner: who.Key}
		s.nodes[reg.ID] = ns
	}
	if issue {
		ns.secretHash = hashSecret(secret)
	} else {
		secret = "" // the worker has it: a secret is shown once
	}
	ns.node.Name, ns.node.Version, ns.node.Labels, ns.node.Capabilities = reg.Name, reg.Version, reg.Labels, c
	ns.node.Status, ns.node.Address, ns.node.LastHeartbeat = api.NodeOnline, addr, now
	ns.node.HLSBaseURL, ns.node.MetricsURL = reg.HLSBaseURL, reg.MetricsURL
	ns.lastSeen, ns.lastSaved = now, now
	rec, view := s.nodeRecord(ns), s.nodeView(ns)
	s.mu.Unlock()
	if err := s.st.PutNode(ctx, rec); err != nil {
		return api.Registered{}, fmt.Errorf("store node: %w", err)
	}
	s.nodeChanged(view)
	s.log.Info("node registered", "node_id", rec.ID, "name", rec.Name, "key", who.Key, "new_secret", issue,
		"slots", c.Slots, "encoders", len(c.Encoders), "gpus", len(c.GPUs), "addr", addr, "drain_ordered", rec.DrainOrdered)
	return api.Registered{Node: view, Secret: secret}, nil
}

// checkRegistration bounds every field of a registration, naming the first that is off.
func checkRegistration(reg api.Registration) error {
	if !nodeIDRe.MatchString(reg.ID) {
		return badRequest("id", "node id %q: want 1..64 letters, digits, '.', '_' or '-'", clipID(reg.ID))
	}
	c := reg.Capabilities
	switch {
	case len(reg.Name) > maxNodeNameLen:
		return badRequest("name", "longer than %d bytes", maxNodeNameLen)
	case len(reg.Version) > maxShortField:
		return badRequest("version", "longer than %d bytes", maxShortField)
	case c.Slots < 0 || c.Slots > 1024:
		return badRequest("capabilities.slots", "slots %d: want 0..1024", c.Slots)
	case c.CPUs < 0 || c.CPUs > 1<<16:
		return badRequest("capabilities.cpus", "cpus %d: want 0..65536", c.CPUs)
	case c.MemoryBytes < 0:
		return badRequest("capabilities.memory_bytes", "must not be negative")
	case c.PixelRate < 0:
		return badRequest("capabilities.pixel_rate", "must not be negative")
	case len(c.Encoders) > maxNodeListLen:
		return badRequest("capabilities.encoders", "at most %d entries", maxNodeListLen)
	case len(c.Decoders) > maxNodeListLen:
		return badRequest("capabilities.decoders", "at most %d entries", maxNodeListLen)
	case len(c.GPUs) > 64:
		return badRequest("capabilities.gpus", "at most 64 entries")
	case len(c.Hardware) > 16:
		return badRequest("capabilities.hardware", "at most 16 entries")
	case len(reg.Labels) > maxLabels:
		return badRequest("labels", "at most %d labels", maxLabels)
	}
	for field, list := range map[string][]string{"capabilities.encoders": c.Encoders, "capabilities.decoders": c.Decoders, "capabilities.hardware": c.Hardware} {
		for i, v := range list {
			if len(v) > maxShortField {
				return badRequest(fmt.Sprintf("%s[%d]", field, i), "longer than %d bytes", maxShortField)
			}
		}
	}
	for i, g := range c.GPUs {
		switch {
		case len(g.Name) > maxGPUNameLen:
			return badRequest(fmt.Sprintf("capabilities.gpus[%d].name", i), "longer than %d bytes", maxGPUNameLen)
		case len(g.UUID) > maxShortField:
			return badRequest(fmt.Sprintf("capabilities.gpus[%d].uuid", i), "longer than %d bytes", maxShortField)
		}
	}
	for k, v := range reg.Labels {
		switch {
		case k == "" || len(k) > maxLabelKeyLen:
			return badRequest("labels", "label key %q: want 1..%d bytes", clipID(k), maxLabelKeyLen)
		case len(v) > maxLabelValueLen:
			return badRequest("labels."+clipID(k), "label value longer than %d bytes", maxLabelValueLen)
		}
	}
	if err := checkHLSBaseURL(reg.HLSBaseURL); err != nil {
		return badRequest("hls_base_url", "%v", err)
	}
	if err := checkMetricsURL(reg.MetricsURL); err != nil {
		return badRequest("metrics_url", "%v", err)
	}
	return nil
}

// clipID shortens a client's string for an error message.
func clipID(s string) string {
	if len(s) > 64 {
		return strings.ToValidUTF8(s[:64], "") + "…"
	}
	return s
}

// mayRegister decides whether who may register node id (ns: its state, nil when new); s.mu
// held.
func (s *Service) mayRegister(ns *nodeState, id string, who NodeCaller) error {
	if aerr := s.certAllows(id, who.CertNames); aerr != nil {
		return aerr
	}
	if ns == nil {
		if s.cfg.MaxNodesPerKey > 0 && !who.Admin {
			n := 0
			for _, o := range s.nodes {
				if o.owner == who.Key {
					n++
				}
			}
			if n >= s.cfg.MaxNodesPerKey {
				return &fault.ForbiddenError{Code: api.CodeTooMany, Field: "id", Msg: fmt.Sprintf(
					"API key %q has registered %d nodes, its limit (--max-nodes-per-key %d): remove nodes that are gone (ffrtmp nodes remove) or raise the limit",
					who.Key, n, s.cfg.MaxNodesPerKey)}
			}
		}
		return nil
	}
	switch {
	case ns.secretHash == nil: // stored before nodes had secrets: this registration claims one
		return nil
	case who.Secret == "" && who.Admin: // an operator re-registers it; the old secret ends
		return nil
	case who.Secret == "":
		return &fault.UnauthenticatedError{Code: api.CodeNodeSecret, Field: "id", Msg: fmt.Sprintf(
			"node %s is registered already: registering it again needs its node secret (header %s, kept in the worker's --data-dir) or an admin key",
			id, api.NodeSecretHeader)}
	}
	return checkSecret(ns, id, who.Secret)
}

// AuthNode checks that who may act as node id (heartbeat, lease, progress, complete, fail):
// it carries the node's secret, and its client certificate, if it names a node, names this
// one. A node the master does not know is an unknown_node error (the worker registers again);
// so is one stored before nodes had secrets, whose registration then claims one.
func (s *Service) AuthNode(id string, who NodeCaller) error {
	if id == "" {
		return badRequest("node", "node is empty: want the ID of the node making the call")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ns := s.nodes[id]
	if ns == nil || ns.secretHash == nil {
		return unknownNode(id)
	}
	if aerr := s.certAllows(id, who.CertNames); aerr != nil {
		return aerr
	}
	if who.Secret == "" {
		return &fault.UnauthenticatedError{Code: api.CodeNodeSecret, Msg: fmt.Sprintf(
			"a call as node %s needs its node secret (header %s), issued when it registered", id, api.NodeSecretHeader)}
	}
	if aerr := checkSecret(ns, id, who.Secret); aerr != nil {
		return aerr
	}
	return nil
}

func checkSecret(ns *nodeState, id, secret string) error {
	if len(secret) > 256 || subtle.ConstantTimeCompare(hashSecret(secret), ns.secretHash) != 1 {
		return &fault.ForbiddenError{Code: api.CodeNodeForbidden, Msg: fmt.Sprintf("the node secret is not node %s's", id)}
	}
	return nil
}

// certAllows refuses a client certificate that names another registered node than id (a
// certificate naming no node, e.g. one shared by every worker, passes); s.mu held.
func (s *Service) certAllows(id string, names []string) error {
	if len(names) == 0 || slices.Contains(names, id) {
		return nil
	}
	for _, n := range names {
		if s.nodes[n] != nil {
			return &fault.ForbiddenError{Code: api.CodeNodeForbidden, Msg: fmt.Sprintf(
				"the client certificate names node %s: it may act only as that node, not as %s", n, id)}
		}
	}
	return nil
}

func unknownNode(id string) error {
	return &fault.UnregisteredError{Node: id}
}

// nodeRecord is ns as stored; s.mu held.
func (s *Service) nodeRecord(ns *nodeState) store.NodeRecord {
	n := s.nodeView(ns)
	n.Status = ns.node.Status // the worker's own; a drain order is DrainOrdered
	return store.NodeRecord{Node: n, SecretHash: ns.secretHash, Owner: ns.owner, DrainOrdered: ns.drainOrdered}
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

// nodeChanged tells Hooks.Node of node n's change.
func (s *Service) nodeChanged(n api.Node) {
	if h := s.cfg.Hooks.Node; h != nil {
		h(n)
	}
}

// publishNode tells Hooks.Node of node id as it is now (when it is still there).
func (s *Service) publishNode(ctx context.Context, id string) {
	if s.cfg.Hooks.Node == nil {
		return
	}
	if n, err := s.Node(ctx, id); err == nil {
		s.nodeChanged(n)
	}
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

// Heartbeats returns when each node was last heard from, by node ID.
func (s *Service) Heartbeats() map[string]time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]time.Time, len(s.nodes))
	for id, ns := range s.nodes {
		out[id] = ns.lastSeen
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
	rec, view := s.nodeRecord(ns), s.nodeView(ns)
	s.mu.Unlock()
	if err := s.st.PutNode(ctx, rec); err != nil {
		return api.Node{}, fmt.Errorf("store node: %w", err)
	}
	s.nodeChanged(view)
	s.log.Info("node drain ordered", "node_id", id)
	return view, nil
}

// Undrain lifts an operator's drain order from node id: it takes jobs again.
func (s *Service) Undrain(ctx context.Context, id string) (api.Node, error) {
	s.mu.Lock()
	ns := s.nodes[id]
	if ns == nil {
		s.mu.Unlock()
		return api.Node{}, notFound("node", id)
	}
	was := ns.drainOrdered
	ns.drainOrdered = false
	rec, view := s.nodeRecord(ns), s.nodeView(ns)
	s.mu.Unlock()
	if err := s.st.PutNode(ctx, rec); err != nil {
		return api.Node{}, fmt.Errorf("store node: %w", err)
	}
	s.nodeChanged(view)
	if was {
		s.log.Info("node drain lifted", "node_id", id)
		s.sched.Wake()
	}
	return view, nil
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
	if h := s.cfg.Hooks.NodeRemoved; h != nil {
		h(id)
	}
	s.log.Info("node removed", "node_id", id)
	return nil
}

// requeueNodeJobs fails every job active on node with jerr (retrying them when they may).
func (s *Service) requeueNodeJobs(ctx context.Context, node string, jerr api.JobError, refund bool) {
	for _, id := range s.sched.ActiveOn(node) {
		_, err := s.change(ctx, id, func(j *api.Job, now time.Time) ([]api.Event, error) {
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
		return sched.Node{}, false, unknownNode(id)
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

// HLSBaseURL is where the node job id is assigned to or running on serves HLS: "" when the
// job is not active or its node serves none.
func (s *Service) HLSBaseURL(jobID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	aj := s.active[jobID]
	if aj == nil {
		return ""
	}
	ns := s.nodes[aj.node]
	if ns == nil {
		return ""
	}
	return ns.node.HLSBaseURL
}

// checkHLSBaseURL checks the HLS base URL a node registers: empty, or an absolute http(s) URL
// without query, fragment or credentials.
func checkHLSBaseURL(raw string) error {
	u, err := parseNodeURL(raw)
	if u == nil || err != nil {
		return err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q: want http(s)://host:port/path/", raw)
	}
	return nil
}

// parseNodeURL parses a URL a node registers: nil and no error for an empty one, an error
// for one over 1024 bytes or that does not parse.
func parseNodeURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, nil
	}
	if len(raw) > 1024 {
		return nil, errors.New("longer than 1024 bytes")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", raw, err)
	}
	return u, nil
}

// hashSecret is how a node secret is kept: its SHA-256.
func hashSecret(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}
