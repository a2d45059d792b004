package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bucketdb/bucketdb/store"
)

func lockCluster(t *testing.T) *testCluster {
	t.Helper()
	tc := startCluster(t, 3)
	if err := tc.nodes[0].CreateBucket(context.Background(), "b"); err != nil {
		t.Fatal(err)
	}
	return tc
}

func TestLockMutualExclusion(t *testing.T) {
	tc := lockCluster(t)
	ctx := context.Background()
	var inside atomic.Int32
	var mu sync.Mutex
	var tokens []uint64
	var wg sync.WaitGroup
	for w := range 9 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nd := tc.nodes[w%3]
			for range 5 {
				g, err := nd.AcquireLock(ctx, "b", "k", store.LockOptions{TTL: 10 * time.Second, Wait: 20 * time.Second, Owner: fmt.Sprint(w)})
				if err != nil {
					t.Errorf("acquire via %s: %v", nd.id, err)
					return
				}
				if inside.Add(1) != 1 {
					t.Errorf("two exclusive holders at once")
				}
				mu.Lock()
				tokens = append(tokens, g.Fencing)
				mu.Unlock()
				time.Sleep(time.Millisecond)
				inside.Add(-1)
				if err := tc.nodes[(w+1)%3].ReleaseLock(ctx, "b", "k", g.Token); err != nil {
					t.Errorf("release: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	if len(tokens) != 45 {
		t.Fatalf("%d grants, want 45", len(tokens))
	}
	for i := 1; i < len(tokens); i++ {
		if tokens[i] <= tokens[i-1] {
			t.Fatalf("fencing tokens not increasing in grant order: %v", tokens)
		}
	}
}

func TestLockSharedAndExclusive(t *testing.T) {
	tc := lockCluster(t)
	ctx := context.Background()
	opt := func(mode, owner string) store.LockOptions {
		return store.LockOptions{Mode: mode, TTL: time.Minute, Owner: owner}
	}
	s1, err := tc.nodes[0].AcquireLock(ctx, "b", "k", opt(store.LockShared, "r1"))
	if err != nil {
		t.Fatal(err)
	}
	s2, err := tc.nodes[1].AcquireLock(ctx, "b", "k", opt(store.LockShared, "r2"))
	if err != nil {
		t.Fatal(err)
	}
	if s2.Fencing <= s1.Fencing {
		t.Fatalf("tokens %d then %d", s1.Fencing, s2.Fencing)
	}
	_, err = tc.nodes[2].AcquireLock(ctx, "b", "k", opt(store.LockExclusive, "w"))
	var ce *store.LockConflictError
	if !errors.As(err, &ce) || len(ce.Holders) != 2 {
		t.Fatalf("exclusive over two shared: %v", err)
	}
	info, err := tc.nodes[2].InspectLock(ctx, "b", "k")
	if err != nil || len(info.Holders) != 2 || info.Holders[0].Owner != "r1" || info.Holders[0].Token != "" {
		t.Fatalf("inspect: %+v %v", info, err)
	}
	for _, g := range []store.LockGrant{s1, s2} {
		if err := tc.nodes[2].ReleaseLock(ctx, "b", "k", g.Token); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tc.nodes[0].InspectLock(ctx, "b", "k"); !errors.Is(err, store.ErrNoSuchLock) {
		t.Fatalf("inspect free lock: %v", err)
	}
	x, err := tc.nodes[2].AcquireLock(ctx, "b", "k", opt(store.LockExclusive, "w"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tc.nodes[0].AcquireLock(ctx, "b", "k", opt(store.LockShared, "r3")); !errors.Is(err, store.ErrLockConflict) {
		t.Fatalf("shared over exclusive: %v", err)
	}
	if err := tc.nodes[1].ReleaseLock(ctx, "b", "k", "unknown"); !errors.Is(err, store.ErrNoSuchLock) {
		t.Fatalf("release unknown token: %v", err)
	}
	if _, err := tc.nodes[1].RenewLock(ctx, "b", "k", "unknown", time.Minute); !errors.Is(err, store.ErrLockLost) {
		t.Fatalf("renew unknown token: %v", err)
	}
	if g, err := tc.nodes[1].RenewLock(ctx, "b", "k", x.Token, time.Minute); err != nil || g.Fencing != x.Fencing {
		t.Fatalf("renew: %+v %v", g, err)
	}
	if _, err := tc.nodes[1].AcquireLock(ctx, "nob", "k", opt(store.LockExclusive, "w")); !errors.Is(err, store.ErrNoSuchBucket) {
		t.Fatalf("lock in a missing bucket: %v", err)
	}
	for _, o := range []store.LockOptions{{TTL: 0}, {TTL: 2 * time.Hour}, {TTL: time.Minute, Mode: "weird"}, {TTL: time.Minute, Wait: -1}} {
		if _, err := tc.nodes[1].AcquireLock(ctx, "b", "k2", o); !errors.Is(err, store.ErrInvalidArgument) {
			t.Fatalf("options %+v: %v", o, err)
		}
	}
}

func TestLockExpiryAndFencing(t *testing.T) {
	tc := lockCluster(t)
	ctx := context.Background()
	g1, err := tc.nodes[0].AcquireLock(ctx, "b", "k", store.LockOptions{TTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if !g1.Expires.Before(time.Now().Add(time.Second)) {
		t.Fatalf("holder's expiry %v is not before the replicas'", g1.Expires)
	}
	// Held: a second client waits until the lease ends, then gets it.
	g2, err := tc.nodes[1].AcquireLock(ctx, "b", "k", store.LockOptions{TTL: time.Minute, Wait: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if g2.Fencing <= g1.Fencing {
		t.Fatalf("tokens %d then %d", g1.Fencing, g2.Fencing)
	}
	if _, err := tc.nodes[0].RenewLock(ctx, "b", "k", g1.Token, time.Minute); !errors.Is(err, store.ErrLockLost) {
		t.Fatalf("renew of an expired lease: %v", err)
	}
	body := []byte("late")
	_, err = tc.nodes[2].PutObject(ctx, "b", "k", bytes.NewReader(body), 4, store.PutOptions{Cond: store.Conditions{FencingToken: g1.Fencing}})
	if !errors.Is(err, store.ErrStaleFencingToken) {
		t.Fatalf("write with the old token: %v", err)
	}
	_, err = tc.nodes[2].PutObject(ctx, "b", "k", bytes.NewReader(body), 4, store.PutOptions{Cond: store.Conditions{FencingToken: g2.Fencing}})
	if err != nil {
		t.Fatalf("write with the current token: %v", err)
	}
	if _, err := tc.nodes[2].DeleteObject(ctx, "b", "k", store.DeleteOptions{Cond: store.Conditions{FencingToken: g1.Fencing}}); !errors.Is(err, store.ErrStaleFencingToken) {
		t.Fatalf("delete with the old token: %v", err)
	}
	// Every replica persisted the newest token.
	for i, st := range tc.stores {
		if hi, err := st.FencingToken(ctx, "b", "k"); err != nil || hi != g2.Fencing {
			t.Errorf("replica %d fence %d %v, want %d", i, hi, err, g2.Fencing)
		}
	}
}

func TestLockSurvivesRestartAndMinorityLoss(t *testing.T) {
	tc := lockCluster(t)
	ctx := context.Background()
	g1, err := tc.nodes[0].AcquireLock(ctx, "b", "k", store.LockOptions{TTL: time.Minute, Owner: "one"})
	if err != nil {
		t.Fatal(err)
	}
	// A restarted node remembers the grant it voted for.
	tc.stop(1)
	tc.restart(1)
	if _, err := tc.nodes[1].AcquireLock(ctx, "b", "k", store.LockOptions{TTL: time.Minute}); !errors.Is(err, store.ErrLockConflict) {
		t.Fatalf("acquire after a voter restarted: %v", err)
	}
	// Losing a minority keeps the lock held, and still nobody else gets it.
	tc.stop(0)
	if _, err := tc.nodes[2].AcquireLock(ctx, "b", "k", store.LockOptions{TTL: time.Minute}); !errors.Is(err, store.ErrLockConflict) {
		t.Fatalf("acquire after a node loss: %v", err)
	}
	if err := tc.nodes[1].ReleaseLock(ctx, "b", "k", g1.Token); err != nil {
		t.Fatal(err)
	}
	g2, err := tc.nodes[2].AcquireLock(ctx, "b", "k", store.LockOptions{TTL: time.Minute})
	if err != nil {
		t.Fatalf("acquire with a minority down: %v", err)
	}
	if g2.Fencing <= g1.Fencing {
		t.Fatalf("tokens %d then %d", g1.Fencing, g2.Fencing)
	}
	if _, err := tc.nodes[1].RenewLock(ctx, "b", "k", g2.Token, time.Minute); err != nil {
		t.Fatalf("renew with a minority down: %v", err)
	}
	// Back with the old node, tokens keep growing.
	tc.restart(0)
	if err := tc.nodes[0].ReleaseLock(ctx, "b", "k", g2.Token); err != nil {
		t.Fatal(err)
	}
	g3, err := tc.nodes[0].AcquireLock(ctx, "b", "k", store.LockOptions{TTL: time.Minute})
	if err != nil || g3.Fencing <= g2.Fencing {
		t.Fatalf("after restart: %+v %v (previous token %d)", g3, err, g2.Fencing)
	}
	// A majority down: no lock at all.
	tc.stop(1)
	tc.stop(2)
	if _, err := tc.nodes[0].AcquireLock(ctx, "b", "k2", store.LockOptions{TTL: time.Minute}); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("acquire without a majority: %v", err)
	}
}

func TestConditionalPutRace(t *testing.T) {
	tc := lockCluster(t)
	ctx := context.Background()
	for round := range 3 {
		key := fmt.Sprintf("k%d", round)
		var wins atomic.Int32
		var winner atomic.Value
		var wg sync.WaitGroup
		for w := range 12 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body := fmt.Sprintf("writer %d", w)
				_, err := tc.nodes[w%3].PutObject(ctx, "b", key, bytes.NewReader([]byte(body)), int64(len(body)),
					store.PutOptions{Cond: store.Conditions{IfNoneMatch: "*"}})
				switch {
				case err == nil:
					wins.Add(1)
					winner.Store(body)
				case errors.Is(err, store.ErrPreconditionFailed), errors.Is(err, store.ErrConditionalConflict):
				default:
					t.Errorf("writer %d: %v", w, err)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("round %d: %d winners", round, wins.Load())
		}
		for _, nd := range tc.nodes {
			mustGet(t, nd, "b", key, winner.Load().(string))
		}
	}
	// Compare-and-swap with If-Match.
	info := put(t, tc.nodes[0], "b", "cas", "0")
	if _, err := tc.nodes[1].PutObject(ctx, "b", "cas", bytes.NewReader([]byte("1")), 1,
		store.PutOptions{Cond: store.Conditions{IfMatch: "nope"}}); !errors.Is(err, store.ErrPreconditionFailed) {
		t.Fatalf("If-Match mismatch: %v", err)
	}
	if _, err := tc.nodes[1].PutObject(ctx, "b", "cas", bytes.NewReader([]byte("1")), 1,
		store.PutOptions{Cond: store.Conditions{IfMatch: info.ETag}}); err != nil {
		t.Fatalf("If-Match: %v", err)
	}
	if _, err := tc.nodes[2].DeleteObject(ctx, "b", "cas", store.DeleteOptions{Cond: store.Conditions{IfMatch: info.ETag}}); !errors.Is(err, store.ErrPreconditionFailed) {
		t.Fatalf("delete If-Match on a replaced version: %v", err)
	}
}

// A stale holder's write must not surface even on a replica that never saw
// the newer grant: the majority that voted for it refuses to prepare it.
func TestStaleFencedWriteRefusedByVoters(t *testing.T) {
	tc := lockCluster(t)
	ctx := context.Background()
	// Replicas 0 and 1 (a majority) voted for token 7; replica 2 missed it.
	for _, st := range tc.stores[:2] {
		if err := st.ObserveFencingToken(ctx, "b", "fenced", 7); err != nil {
			t.Fatal(err)
		}
	}
	body := []byte("stale")
	_, err := tc.nodes[2].PutObject(ctx, "b", "fenced", bytes.NewReader(body), int64(len(body)),
		store.PutOptions{Cond: store.Conditions{FencingToken: 3}})
	if !errors.Is(err, store.ErrStaleFencingToken) {
		t.Fatalf("write with token 3 after 7 was issued: %v, want StaleFencingToken", err)
	}
	for i, st := range tc.stores {
		if _, err := st.HeadObject(ctx, "b", "fenced", store.GetOptions{}); !errors.Is(err, store.ErrNoSuchKey) {
			t.Errorf("replica %d holds the refused write (err %v)", i, err)
		}
	}
	if _, err := tc.nodes[2].PutObject(ctx, "b", "fenced", bytes.NewReader(body), int64(len(body)),
		store.PutOptions{Cond: store.Conditions{FencingToken: 7}}); err != nil {
		t.Fatalf("write with the current token: %v", err)
	}
}
