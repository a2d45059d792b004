package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bucketdb/bucketdb/store"
)

// Conditional writes (If-None-Match: *, If-Match) are made atomic across
// the cluster with a short exclusive lock on the key in its own lock space
// (store.LockSpaceCond, apart from client locks, so a client holding a
// lock can still write conditionally and its fencing token stays current).
// Under that lock the coordinator checks the condition against a quorum
// read of the latest version and commits with the lock's token in
// Conditions.CondLock: a replica that granted a newer conditional-write
// lock refuses the commit, so a slow loser whose lease ran out cannot
// overwrite the winner. Every replica also re-checks the condition itself
// at commit.

const (
	// condLockTTL bounds how long a crashed coordinator can keep other
	// conditional writes of the key waiting.
	condLockTTL = 30 * time.Second
	// condLockWait is how long a conditional write waits for another one
	// on the same key before it answers ConditionalRequestConflict.
	condLockWait = 2 * time.Second
)

// condBegin prepares a conditional write of (bucket, key): it takes the
// key's conditional-write lock, records its token in c and checks the
// condition on a read quorum. The returned func releases the lock; call it
// once the write finished. Writes without If-Match / If-None-Match (and
// single-replica keys, whose store checks atomically) take no lock.
func (n *Node) condBegin(ctx context.Context, bucket, key string, c *store.Conditions) (func(), error) {
	noop := func() {}
	if c.IfMatch == "" && c.IfNoneMatch == "" {
		return noop, nil
	}
	if len(n.place(bucket, key).nodes) == 1 {
		return noop, nil
	}
	// A condition that already fails on a read quorum fails without the
	// lock: losers of a race that the winner already decided answer at once.
	if err := n.precheck(ctx, bucket, key, *c); err != nil {
		return nil, err
	}
	g, err := n.acquire(ctx, bucket, key, store.LockSpaceCond, store.LockOptions{
		Mode: store.LockExclusive, TTL: condLockTTL, Wait: condLockWait, Owner: "conditional write via " + n.id})
	if errors.Is(err, store.ErrLockConflict) {
		return nil, fmt.Errorf("%w: another conditional write of %s/%s is in progress", store.ErrConditionalConflict, bucket, key)
	}
	if err != nil {
		return nil, err
	}
	release := func() {
		bg := context.WithoutCancel(ctx)
		n.goBackground(func(context.Context) {
			cctx, cancel := n.rpcCtx(bg, 0)
			defer cancel()
			n.release(cctx, bucket, key, store.LockSpaceCond, g.Token)
		})
	}
	c.CondLock = g.Fencing
	if err := n.precheck(ctx, bucket, key, *c); err != nil {
		release()
		return nil, err
	}
	return release, nil
}
