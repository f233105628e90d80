package api

import (
	"context"
	"net/http"
	"time"
)

// ClusterStatus is what GET /v1/cluster answers: the replicated masters as the answering
// member sees them. A single master (no --cluster-* flags) answers clustered false, no
// leader and no members.
type ClusterStatus struct {
	// Clustered is false for a single master.
	Clustered bool `json:"clustered"`
	// Leader is the member ID of the current leader, "" while there is none (an election, or
	// a member cut off from the majority).
	Leader string `json:"leader"`
	// Member is the ID of the member that answered.
	Member  string          `json:"member"`
	Term    uint64          `json:"term,omitempty"`
	Members []ClusterMember `json:"members"`
}

// ClusterMember is one master of a cluster.
type ClusterMember struct {
	ID string `json:"id"`
	// Address is the member's cluster (raft) address, host:port.
	Address string `json:"address"`
	// Voter is false for a member that replicates but does not vote.
	Voter bool `json:"voter"`
	// State is leader, follower or candidate, or "unreachable" when the answering member
	// could not ask it (its error is in Error).
	State string `json:"state"`
	// APIURL is the member's REST API, as it says itself.
	APIURL string `json:"api_url,omitempty"`
	// AppliedIndex is the last replicated entry the member's database holds.
	AppliedIndex uint64 `json:"applied_index"`
	// CommitIndex is the last entry the member knows is committed.
	CommitIndex uint64 `json:"commit_index,omitempty"`
	// LastContact is when the member last heard from its leader (a follower), nil for the
	// leader itself or a member that never did.
	LastContact *time.Time `json:"last_contact,omitempty"`
	Error       string     `json:"error,omitempty"`
}

// ClusterMemberRequest is the body of POST /v1/cluster/members: a master to add.
type ClusterMemberRequest struct {
	ID      string `json:"id"`
	Address string `json:"address"`
}

// ForwardedByHeader names the member that forwarded a request to the leader.
const ForwardedByHeader = "Ffrtmp-Forwarded-By"

// Cluster states of a member.
const (
	MemberLeader      = "leader"
	MemberFollower    = "follower"
	MemberCandidate   = "candidate"
	MemberUnreachable = "unreachable"
)

// ClusterStatus returns the cluster's members, leader and progress (GET /v1/cluster, admin).
func (c *Client) ClusterStatus(ctx context.Context) (*ClusterStatus, error) {
	return doJSON[ClusterStatus](ctx, c, request{method: http.MethodGet, path: "/v1/cluster"})
}

// AddClusterMember adds a master to the cluster (POST /v1/cluster/members, admin); the new
// master must be running with the same --cluster-* settings and no state of its own.
func (c *Client) AddClusterMember(ctx context.Context, id, address string) (*ClusterStatus, error) {
	return doJSON[ClusterStatus](ctx, c, request{method: http.MethodPost, path: "/v1/cluster/members",
		body: ClusterMemberRequest{ID: id, Address: address}})
}

// RemoveClusterMember removes a master from the cluster (DELETE /v1/cluster/members/{id},
// admin).
func (c *Client) RemoveClusterMember(ctx context.Context, id string) (*ClusterStatus, error) {
	p, err := pathSegment("member ID", id)
	if err != nil {
		return nil, err
	}
	return doJSON[ClusterStatus](ctx, c, request{method: http.MethodDelete, path: "/v1/cluster/members/" + p})
}

// RestoreCluster replaces the whole farm's state, on every master of the cluster, with a
// database backup (POST /v1/cluster/restore, admin): the bytes GET /v1/backup (Backup) wrote,
// of any master, single or clustered. The farm's services restart over the restored state.
func (c *Client) RestoreCluster(ctx context.Context, backup []byte) (*ClusterStatus, error) {
	return doJSON[ClusterStatus](ctx, c, request{method: http.MethodPost, path: "/v1/cluster/restore",
		raw: backup, rawType: "application/octet-stream", timeout: 10 * time.Minute})
}
