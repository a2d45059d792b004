package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"time"
)

// ClusterStatus is the cluster as one node sees it.
type ClusterStatus struct {
	// Self is the ID of the node that answered.
	Self string
	// Replicas, WriteQuorum and ReadQuorum are the effective N, W and R.
	Replicas, WriteQuorum, ReadQuorum int
	Members                           []MemberStatus
}

// MemberStatus describes one member.
type MemberStatus struct {
	ID         string
	GossipAddr string
	RPCAddr    string
	S3Addr     string
	// State is the member's liveness: alive, suspect or dead.
	State string
	// Lifecycle is active, leaving or removed.
	Lifecycle string
	// Objects (keys whose latest version is not a delete marker), Versions
	// and Bytes are what the member's store holds now; Backlog is what its
	// last anti-entropy pass found missing on other replicas (or could not
	// check, a replica being down) and could not repair yet.
	Objects, Versions, Bytes, Backlog int64
	Healing                           bool
	LastHeal                          time.Time
	// LocalReads: the member answers reads of its keys from its own
	// store, holding read leases from every other member.
	LocalReads bool
	// Error is set when the member's figures could not be fetched.
	Error string `json:",omitempty"`
}

// Status reports every member of the registry with its liveness and the
// figures of its last anti-entropy pass.
func (n *Node) Status(ctx context.Context) ClusterStatus {
	ms := n.reg.list()
	v := n.reg.view()
	nn, w, r := n.cfg.quorums(len(v.active))
	st := ClusterStatus{Self: n.id, Replicas: nn, WriteQuorum: w, ReadQuorum: r}
	out := make([]MemberStatus, len(ms))
	done := make(chan struct{}, len(ms))
	for i, m := range ms {
		out[i] = MemberStatus{ID: m.ID, GossipAddr: m.GossipAddr, RPCAddr: m.RPCAddr, S3Addr: m.S3Addr,
			State: n.state(m.ID), Lifecycle: m.State}
		go func() {
			defer func() { done <- struct{}{} }()
			if m.State == stateRemoved || out[i].State == Dead {
				return
			}
			cctx, cancel := n.rpcCtx(ctx, 0)
			defer cancel()
			s, err := n.replica(m).Stats(cctx, Empty{})
			if err != nil {
				out[i].Error = err.Error()
				return
			}
			out[i].Objects, out[i].Versions, out[i].Bytes, out[i].Backlog = s.Objects, s.Versions, s.Bytes, s.Backlog
			out[i].Healing, out[i].LastHeal, out[i].LocalReads = s.Healing, s.LastHeal, s.LocalReads
		}()
	}
	for range ms {
		<-done
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	st.Members = out
	return st
}

// serveRemove serves POST /_bucketdb/admin/remove?node=ID (signed).
func (n *Node) serveRemove(w http.ResponseWriter, r *http.Request) {
	if err := verify(r, n.secret, time.Now()); err != nil {
		http.Error(w, "admin: "+err.Error(), http.StatusForbidden)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if err := n.Remove(r.Context(), r.URL.Query().Get("node")); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// serveStatus serves GET /_bucketdb/admin/status (signed with the cluster
// secret, like the RPC).
func (n *Node) serveStatus(w http.ResponseWriter, r *http.Request) {
	if err := verify(r, n.secret, time.Now()); err != nil {
		http.Error(w, "admin: "+err.Error(), http.StatusForbidden)
		return
	}
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(n.Status(r.Context()))
}

// Admin endpoints served by Node.Handler, signed with SignAdminRequest:
//
//	GET  /_bucketdb/admin/status          -> ClusterStatus as JSON
//	POST /_bucketdb/admin/remove?node=ID  -> 204 once the removal started
const (
	AdminStatusPath = adminStatusPath
	AdminRemovePath = adminRemovePath
)

// SignAdminRequest signs a request to an admin endpoint with the cluster
// secret (what `bucketdb cluster status` and `cluster remove` use).
func SignAdminRequest(r *http.Request, secret string) {
	sign(r, deriveSecret(secret), time.Now())
}

// Remove takes a member out of the cluster. A reachable member is marked
// leaving: placement stops using it, every key it held is copied to its new
// owners by anti-entropy, and it then marks itself removed and leaves
// gossip. A dead member is marked removed at once (its keys are
// re-replicated from the surviving replicas). Progress shows in Status.
func (n *Node) Remove(ctx context.Context, nodeID string) error {
	m, ok := n.reg.get(nodeID)
	if !ok {
		return fmt.Errorf("cluster: no member %q", nodeID)
	}
	if m.State == stateRemoved {
		return nil
	}
	if m.State == stateActive && len(n.reg.view().active) <= 1 {
		return fmt.Errorf("cluster: %s is the last active member", nodeID)
	}
	if n.state(nodeID) == Dead {
		m.State = stateRemoved
	} else {
		m.State = stateLeaving
	}
	n.reg.set(m)
	n.syncMembers(ctx)
	return nil
}

// finishLeave marks this drained node removed, tells the others and leaves
// gossip.
func (n *Node) finishLeave(ctx context.Context) {
	m, _ := n.reg.get(n.id)
	m.State = stateRemoved
	n.reg.set(m)
	n.syncMembers(ctx)
	n.log.Info("drained and removed from the cluster")
	n.det.leave(2 * time.Second)
}
