package httpapi

import (
	"context"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/fault"
)

// Cluster is the replicated masters' membership (package cluster's Node); nil for a single
// master.
type Cluster interface {
	Status(ctx context.Context) api.ClusterStatus
	Add(ctx context.Context, id, addr string) error
	Remove(ctx context.Context, id string) error
}

func (s *Server) clusterStatus(w http.ResponseWriter, r *http.Request) {
	if s.opts.Cluster == nil {
		writeJSON(w, http.StatusOK, api.ClusterStatus{Members: []api.ClusterMember{}})
		return
	}
	writeJSON(w, http.StatusOK, s.opts.Cluster.Status(r.Context()))
}

func (s *Server) addClusterMember(w http.ResponseWriter, r *http.Request) {
	var req api.ClusterMemberRequest
	if e := s.decode(w, r, &req, false); e != nil {
		writeError(w, e)
		return
	}
	if s.opts.Cluster == nil {
		s.fail(w, r, errNotClustered)
		return
	}
	if err := s.opts.Cluster.Add(r.Context(), req.ID, req.Address); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.opts.Cluster.Status(r.Context()))
}

func (s *Server) removeClusterMember(w http.ResponseWriter, r *http.Request) {
	if s.opts.Cluster == nil {
		s.fail(w, r, errNotClustered)
		return
	}
	if err := s.opts.Cluster.Remove(r.Context(), mux.Vars(r)["id"]); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.opts.Cluster.Status(r.Context()))
}

var errNotClustered = fault.Conflict("", "this master is not part of a cluster (start it with --node-id, --cluster-addr and --cluster-peers)")
