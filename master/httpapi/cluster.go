package httpapi

import (
	"context"
	"fmt"
	"io"
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
	// Restore replaces the cluster's state with a backup of size bytes.
	Restore(ctx context.Context, backup io.Reader, size int64) error
}

// MaxRestore bounds a backup sent to POST /v1/cluster/restore.
const MaxRestore = 64 << 30

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

func (s *Server) restoreCluster(w http.ResponseWriter, r *http.Request) {
	if s.opts.Cluster == nil {
		s.fail(w, r, fault.Conflict("", "this master is not part of a cluster: stop it and put the backup in place of its database file"))
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/octet-stream" {
		writeError(w, &api.Error{Status: http.StatusUnsupportedMediaType, Code: api.CodeBadRequest,
			Message: fmt.Sprintf("send the backup as application/octet-stream, not %q", ct)})
		return
	}
	switch {
	case r.ContentLength < 0:
		writeError(w, &api.Error{Status: http.StatusLengthRequired, Code: api.CodeBadRequest, Message: "send the backup with its Content-Length"})
		return
	case r.ContentLength == 0:
		writeError(w, &api.Error{Status: http.StatusBadRequest, Code: api.CodeBadRequest, Message: "the backup is empty"})
		return
	case r.ContentLength > MaxRestore:
		writeError(w, &api.Error{Status: http.StatusRequestEntityTooLarge, Code: api.CodeTooLarge,
			Message: fmt.Sprintf("a backup of %d bytes is over the %d the master takes", r.ContentLength, int64(MaxRestore))})
		return
	}
	if err := s.opts.Cluster.Restore(r.Context(), http.MaxBytesReader(w, r.Body, r.ContentLength), r.ContentLength); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.opts.Cluster.Status(r.Context()))
}

var errNotClustered = fault.Conflict("", "this master is not part of a cluster (start it with --node-id, --cluster-addr and --cluster-peers)")
