package cluster

import (
	"context"
	"fmt"

	"github.com/bucketdb/bucketdb/store"
)

// Lock vote operations.
const (
	lockPeek    = "peek"
	lockGrant   = "grant"
	lockRenew   = "renew"
	lockRelease = "release"
)

// LockRequest is one replica's part of a lock operation on Bucket/Key.
type LockRequest struct {
	Op     string
	Bucket string
	Key    string
	Vote   store.LockVote
}

// LockResponse is a replica's view of the lock after the operation (also
// sent with a refusal, so a coordinator can name the holders in the way).
type LockResponse struct {
	State store.LockState
}

// lockReplica is the lock capability of a Replica: the local service and
// both transports implement it, so the Replica interface stays unchanged.
type lockReplica interface {
	Lock(ctx context.Context, req LockRequest) (LockResponse, error)
}

var (
	_ lockReplica = (*service)(nil)
	_ lockReplica = (*memReplica)(nil)
	_ lockReplica = (*httpReplica)(nil)
)

// Lock votes on the local store.
func (s *service) Lock(ctx context.Context, req LockRequest) (LockResponse, error) {
	var st store.LockState
	var err error
	switch req.Op {
	case lockPeek:
		st, err = s.st.LockPeek(ctx, req.Bucket, req.Key, req.Vote.Space)
	case lockGrant:
		st, err = s.st.LockGrant(ctx, req.Bucket, req.Key, req.Vote)
	case lockRenew:
		st, err = s.st.LockRenew(ctx, req.Bucket, req.Key, req.Vote)
	case lockRelease:
		st, err = s.st.LockRelease(ctx, req.Bucket, req.Key, req.Vote)
	default:
		err = fmt.Errorf("%w: unknown lock op %q", store.ErrInvalidArgument, req.Op)
	}
	return LockResponse{State: st}, err
}

func (c *memReplica) Lock(ctx context.Context, req LockRequest) (LockResponse, error) {
	return memCall(ctx, c, req, func(r Replica, q LockRequest) (LockResponse, error) {
		return r.(lockReplica).Lock(ctx, q)
	})
}

func (c *httpReplica) Lock(ctx context.Context, req LockRequest) (LockResponse, error) {
	return muxCall[LockResponse](ctx, c, "lock", req, nil)
}

// lockReplicaOf returns m's lock capability.
func (n *Node) lockReplicaOf(m Member) lockReplica {
	return n.replica(m).(lockReplica)
}
