package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"sort"
	"time"

	"github.com/bucketdb/bucketdb/store"
)

// The lock service. A lock on (bucket, key) is granted by a majority of the
// key's preference list, each replica voting from its store (store/lock.go).
//
// Acquire is two rounds: peek asks every replica for the highest fencing
// token it granted, and the coordinator proposes 1 + the maximum over a
// majority; grant asks every replica to record the holder under that token.
// A replica refuses a token not above the highest it knows, and a holder
// that conflicts with a live one, so two grants that both reached a
// majority share a replica that voted for both: the later one has the
// higher token, and for exclusive locks the earlier lease had ended there.
// An acquire that does not reach a majority releases its partial grants
// and retries with backoff until its wait ends.
//
// Leases are judged by each replica with its own clock from the moment it
// voted; the holder's Expires is measured from before the grant round and
// shortened by a margin, so the holder gives up before any replica does.

// lockMargin is how much earlier than the replicas a holder considers its
// lease over: 1% of the TTL (clock-rate drift) plus a fixed allowance.
func lockMargin(ttl time.Duration) time.Duration {
	return ttl/100 + 100*time.Millisecond
}

// raceRetry is how long an acquire keeps retrying when it lost a race with
// another acquire (no majority-granted holder was in the way), even with
// no wait.
const raceRetry = 500 * time.Millisecond

// lockAnswer is one replica's answer.
type lockAnswer struct {
	m   Member
	st  store.LockState
	err error
}

// lockFanout sends req to every replica of the key and returns their
// answers once all answered, or a majority answered and a short grace
// passed, or the RPC timeout passed.
func (n *Node) lockFanout(ctx context.Context, p placement, req LockRequest) []lockAnswer {
	ch := make(chan lockAnswer, len(p.nodes))
	cctx, cancel := n.rpcCtx(context.WithoutCancel(ctx), 0)
	pending := 0
	for _, m := range p.nodes {
		if n.state(m.ID) == Dead {
			ch <- lockAnswer{m: m, err: fmt.Errorf("%w: %s is dead", errUnreachable, m.ID)}
			pending++
			continue
		}
		pending++
		r := n.lockReplicaOf(m)
		go func() {
			res, err := r.Lock(cctx, req)
			ch <- lockAnswer{m: m, st: res.State, err: err}
		}()
	}
	maj := len(p.nodes)/2 + 1
	var out []lockAnswer
	var grace <-chan time.Time
	timeout := time.NewTimer(n.cfg.RPCTimeout)
	defer timeout.Stop()
	answered := 0
collect:
	for pending > 0 {
		select {
		case a := <-ch:
			pending--
			out = append(out, a)
			if definitive(a.err) {
				answered++
			}
			if answered >= maj && grace == nil && pending > 0 {
				t := time.NewTimer(commitGrace)
				defer t.Stop()
				grace = t.C
			}
		case <-grace:
			break collect
		case <-timeout.C:
			break collect
		case <-ctx.Done():
			break collect
		}
	}
	if pending == 0 {
		cancel()
	} else {
		// Late answers are dropped; their calls end with the timeout.
		n.goBackground(func(context.Context) {
			defer cancel()
			for ; pending > 0; pending-- {
				<-ch
			}
		})
	}
	return out
}

// newLockToken mints a lock token (the holder's secret).
func newLockToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// lockOpts validates and completes acquire options.
func lockOpts(o store.LockOptions) (store.LockOptions, error) {
	if o.Mode == "" {
		o.Mode = store.LockExclusive
	}
	if o.Mode != store.LockExclusive && o.Mode != store.LockShared {
		return o, fmt.Errorf("%w: lock mode %q", store.ErrInvalidArgument, o.Mode)
	}
	if o.TTL < store.MinLockTTL || o.TTL > store.MaxLockTTL {
		return o, fmt.Errorf("%w: lock TTL %v not in [%v, %v]", store.ErrInvalidArgument, o.TTL, store.MinLockTTL, store.MaxLockTTL)
	}
	if o.Wait < 0 || o.Wait > store.MaxLockTTL {
		return o, fmt.Errorf("%w: lock wait %v", store.ErrInvalidArgument, o.Wait)
	}
	if len(o.Owner) > store.MaxLockOwnerLength {
		return o, fmt.Errorf("%w: lock owner longer than %d bytes", store.ErrInvalidArgument, store.MaxLockOwnerLength)
	}
	return o, nil
}

// AcquireLock takes the lock on (bucket, key) for opts.TTL, waiting up to
// opts.Wait while it is held (a *store.LockConflictError once the wait is
// over). The key need not exist; the bucket must.
func (n *Node) AcquireLock(ctx context.Context, bucket, key string, opts store.LockOptions) (store.LockGrant, error) {
	opts, err := lockOpts(opts)
	if err != nil {
		return store.LockGrant{}, err
	}
	g, err := n.acquire(ctx, bucket, key, "", opts)
	if obs := n.cfg.Locks; obs != nil {
		switch {
		case err == nil:
			obs.LockGranted()
		case errors.Is(err, store.ErrLockConflict):
			obs.LockConflict()
		}
	}
	return g, err
}

func (n *Node) acquire(ctx context.Context, bucket, key, space string, opts store.LockOptions) (store.LockGrant, error) {
	start := time.Now()
	deadline := start.Add(opts.Wait)
	raceDeadline := start.Add(max(opts.Wait, raceRetry))
	backoff := 2 * time.Millisecond
	for {
		g, held, err := n.tryAcquire(ctx, bucket, key, space, opts)
		if err == nil || !errors.Is(err, store.ErrLockConflict) {
			return g, err
		}
		now := time.Now()
		if now.After(raceDeadline) || held && now.After(deadline) {
			return g, err
		}
		d := backoff/2 + mrand.N(backoff)
		backoff = min(2*backoff, 100*time.Millisecond)
		limit := raceDeadline
		if held {
			limit = deadline
		}
		if left := time.Until(limit); d > left {
			d = max(left, time.Millisecond)
		}
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return g, err
		}
	}
}

// tryAcquire makes one attempt. held reports that the conflict came from a
// holder that a majority granted (not from a race between acquires).
func (n *Node) tryAcquire(ctx context.Context, bucket, key, space string, opts store.LockOptions) (store.LockGrant, bool, error) {
	p := n.place(bucket, key)
	maj := len(p.nodes)/2 + 1
	peek := n.lockFanout(ctx, p, LockRequest{Op: lockPeek, Bucket: bucket, Key: key, Vote: store.LockVote{Space: space}})
	var maxTok uint64
	var errs []error
	oks := 0
	for _, a := range peek {
		if a.err != nil {
			errs = append(errs, a.err)
			continue
		}
		oks++
		maxTok = max(maxTok, a.st.MaxToken)
	}
	if oks < maj {
		return store.LockGrant{}, false, quorumError("lock", oks, maj, errs)
	}
	if held := conflicting(peek, len(p.nodes), opts.Mode, true); len(held) > 0 {
		return store.LockGrant{}, true, &store.LockConflictError{Holders: held}
	}
	vote := store.LockVote{Space: space, Token: newLockToken(), Owner: opts.Owner, Mode: opts.Mode,
		Fencing: maxTok + 1, TTL: opts.TTL}
	start := time.Now()
	answers := n.lockFanout(ctx, p, LockRequest{Op: lockGrant, Bucket: bucket, Key: key, Vote: vote})
	var granted []Member
	errs = nil
	for _, a := range answers {
		if a.err == nil {
			granted = append(granted, a.m)
		} else {
			errs = append(errs, a.err)
		}
	}
	if len(granted) >= maj {
		return store.LockGrant{Token: vote.Token, Fencing: vote.Fencing, Mode: opts.Mode, Owner: opts.Owner,
			Expires: start.Add(opts.TTL - lockMargin(opts.TTL))}, false, nil
	}
	if len(granted) > 0 {
		n.releaseOn(ctx, granted, bucket, key, store.LockVote{Space: space, Token: vote.Token})
	}
	for _, e := range errs {
		if errors.Is(e, store.ErrLockConflict) || errors.Is(e, store.ErrStaleFencingToken) {
			held := conflicting(answers, len(p.nodes), opts.Mode, true)
			if len(held) > 0 {
				return store.LockGrant{}, true, &store.LockConflictError{Holders: held}
			}
			return store.LockGrant{}, false, &store.LockConflictError{Holders: conflicting(answers, len(p.nodes), opts.Mode, false)}
		}
	}
	return store.LockGrant{}, false, quorumError("lock", len(granted), maj, errs)
}

// quorumError is the most common definitive error, or ErrUnavailable.
func quorumError(what string, got, need int, errs []error) error {
	if err := commonDefinitive(errs); err != nil {
		return err
	}
	return unavailable(what, got, need, errs)
}

// conflicting lists the holders in the answers that a mode-request meets.
// With majority set, only holders that may hold a majority (listed by
// enough answers given the replicas that did not answer) are returned.
func conflicting(as []lockAnswer, nodes int, mode string, majority bool) []store.LockHolder {
	count := map[string]int{}
	byTok := map[string]store.LockHolder{}
	answered := 0
	for _, a := range as {
		if !definitive(a.err) {
			continue
		}
		answered++
		for _, h := range a.st.Holders {
			if mode == store.LockExclusive || h.Mode == store.LockExclusive {
				count[h.Token]++
				if old, ok := byTok[h.Token]; !ok || h.Expires.After(old.Expires) {
					byTok[h.Token] = h
				}
			}
		}
	}
	maj := nodes/2 + 1
	var out []store.LockHolder
	for tok, c := range count {
		if majority && c+(nodes-answered) < maj {
			continue
		}
		h := byTok[tok]
		h.Token = ""
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Fencing < out[j].Fencing })
	return out
}

// releaseOn drops a grant on the given replicas in the background.
func (n *Node) releaseOn(ctx context.Context, ms []Member, bucket, key string, v store.LockVote) {
	bg := context.WithoutCancel(ctx)
	for _, m := range ms {
		n.goBackground(func(context.Context) {
			cctx, cancel := n.rpcCtx(bg, 0)
			defer cancel()
			n.lockReplicaOf(m).Lock(cctx, LockRequest{Op: lockRelease, Bucket: bucket, Key: key, Vote: v})
		})
	}
}

// RenewLock extends the lease of token to ttl from now (ErrLockLost if a
// majority no longer holds it).
func (n *Node) RenewLock(ctx context.Context, bucket, key, token string, ttl time.Duration) (store.LockGrant, error) {
	if _, err := lockOpts(store.LockOptions{TTL: ttl}); err != nil {
		return store.LockGrant{}, err
	}
	if token == "" {
		return store.LockGrant{}, fmt.Errorf("%w: empty lock token", store.ErrInvalidArgument)
	}
	p := n.place(bucket, key)
	maj := len(p.nodes)/2 + 1
	start := time.Now()
	answers := n.lockFanout(ctx, p, LockRequest{Op: lockRenew, Bucket: bucket, Key: key,
		Vote: store.LockVote{Token: token, TTL: ttl}})
	var errs []error
	var g store.LockGrant
	oks := 0
	for _, a := range answers {
		if a.err != nil {
			errs = append(errs, a.err)
			continue
		}
		oks++
		for _, h := range a.st.Holders {
			if h.Token == token {
				g = store.LockGrant{Token: token, Fencing: h.Fencing, Mode: h.Mode, Owner: h.Owner}
			}
		}
	}
	if oks >= maj {
		g.Expires = start.Add(ttl - lockMargin(ttl))
		return g, nil
	}
	for _, e := range errs {
		if errors.Is(e, store.ErrLockLost) {
			return store.LockGrant{}, fmt.Errorf("%w: renewed on %d of %d replicas", store.ErrLockLost, oks, maj)
		}
	}
	return store.LockGrant{}, quorumError("renew lock", oks, maj, errs)
}

// ReleaseLock drops the lease of token (ErrNoSuchLock if no replica holds
// it).
func (n *Node) ReleaseLock(ctx context.Context, bucket, key, token string) error {
	return n.release(ctx, bucket, key, "", token)
}

func (n *Node) release(ctx context.Context, bucket, key, space, token string) error {
	if token == "" {
		return fmt.Errorf("%w: empty lock token", store.ErrInvalidArgument)
	}
	p := n.place(bucket, key)
	maj := len(p.nodes)/2 + 1
	answers := n.lockFanout(ctx, p, LockRequest{Op: lockRelease, Bucket: bucket, Key: key,
		Vote: store.LockVote{Space: space, Token: token}})
	var errs []error
	oks, unknown := 0, 0
	for _, a := range answers {
		switch {
		case a.err == nil:
			oks++
		case errors.Is(a.err, store.ErrNoSuchLock):
			unknown++
		default:
			errs = append(errs, a.err)
		}
	}
	if oks > 0 {
		return nil
	}
	if unknown >= maj {
		return fmt.Errorf("%w: token not held", store.ErrNoSuchLock)
	}
	return quorumError("release lock", oks+unknown, maj, errs)
}

// InspectLock lists the live holders of the lock (ErrNoSuchLock if none).
func (n *Node) InspectLock(ctx context.Context, bucket, key string) (store.LockInfo, error) {
	p := n.place(bucket, key)
	maj := len(p.nodes)/2 + 1
	answers := n.lockFanout(ctx, p, LockRequest{Op: lockPeek, Bucket: bucket, Key: key})
	var errs []error
	oks := 0
	for _, a := range answers {
		if a.err != nil {
			errs = append(errs, a.err)
		} else {
			oks++
		}
	}
	if oks < maj {
		return store.LockInfo{}, quorumError("inspect lock", oks, maj, errs)
	}
	info := store.LockInfo{Bucket: bucket, Key: key,
		Holders: conflicting(answers, len(p.nodes), store.LockExclusive, true)}
	if len(info.Holders) == 0 {
		return info, fmt.Errorf("%w: %s/%s", store.ErrNoSuchLock, bucket, key)
	}
	return info, nil
}
