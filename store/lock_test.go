package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestLockVotes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := newTestStore(t, func(c *Config) { c.Dir = dir })
	mustBucket(t, s, "b", VersioningOff)

	if _, err := s.LockPeek(ctx, "nob", "k", ""); !errors.Is(err, ErrNoSuchBucket) {
		t.Fatalf("peek on missing bucket: %v", err)
	}
	if _, err := s.LockGrant(ctx, "nob", "k", LockVote{Token: "t", Mode: LockExclusive, Fencing: 1, TTL: time.Minute}); !errors.Is(err, ErrNoSuchBucket) {
		t.Fatalf("grant on missing bucket: %v", err)
	}
	ex := LockVote{Token: "a", Owner: "alice", Mode: LockExclusive, Fencing: 1, TTL: time.Minute}
	st, err := s.LockGrant(ctx, "b", "k", ex)
	if err != nil || st.MaxToken != 1 || len(st.Holders) != 1 {
		t.Fatalf("grant: %+v %v", st, err)
	}
	if st, err := s.LockGrant(ctx, "b", "k", ex); err != nil || len(st.Holders) != 1 {
		t.Fatalf("repeated grant of the same token: %+v %v", st, err)
	}
	for _, mode := range []string{LockExclusive, LockShared} {
		v := LockVote{Token: "b", Mode: mode, Fencing: 2, TTL: time.Minute}
		if st, err := s.LockGrant(ctx, "b", "k", v); !errors.Is(err, ErrLockConflict) || st.Holders[0].Owner != "alice" {
			t.Fatalf("%s over exclusive: %+v %v", mode, st, err)
		}
	}
	// The grant raised the key's fencing record: older write tokens fail.
	if hi, err := s.FencingToken(ctx, "b", "k"); err != nil || hi != 1 {
		t.Fatalf("fence after grant: %d %v", hi, err)
	}
	if _, err := s.LockRelease(ctx, "b", "k", LockVote{Token: "a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LockRelease(ctx, "b", "k", LockVote{Token: "a"}); !errors.Is(err, ErrNoSuchLock) {
		t.Fatalf("second release: %v", err)
	}
	// Tokens only grow: a vote not above the highest is refused.
	if _, err := s.LockGrant(ctx, "b", "k", LockVote{Token: "c", Mode: LockShared, Fencing: 1, TTL: time.Minute}); !errors.Is(err, ErrStaleFencingToken) {
		t.Fatalf("stale token: %v", err)
	}
	for i, tok := range []string{"s1", "s2"} {
		if _, err := s.LockGrant(ctx, "b", "k", LockVote{Token: tok, Mode: LockShared, Fencing: uint64(2 + i), TTL: time.Minute}); err != nil {
			t.Fatalf("shared %s: %v", tok, err)
		}
	}
	if _, err := s.LockGrant(ctx, "b", "k", LockVote{Token: "x", Mode: LockExclusive, Fencing: 9, TTL: time.Minute}); !errors.Is(err, ErrLockConflict) {
		t.Fatalf("exclusive over shared: %v", err)
	}
	if _, err := s.LockRenew(ctx, "b", "k", LockVote{Token: "nope", TTL: time.Minute}); !errors.Is(err, ErrLockLost) {
		t.Fatalf("renew unknown: %v", err)
	}
	// Expiry: a short lease is free again after its TTL.
	if _, err := s.LockGrant(ctx, "b", "short", LockVote{Token: "e", Mode: LockExclusive, Fencing: 1, TTL: 20 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(40 * time.Millisecond)
	if _, err := s.LockRenew(ctx, "b", "short", LockVote{Token: "e", TTL: time.Minute}); !errors.Is(err, ErrLockLost) {
		t.Fatalf("renew expired: %v", err)
	}
	if st, err := s.LockGrant(ctx, "b", "short", LockVote{Token: "f", Mode: LockExclusive, Fencing: 2, TTL: time.Minute}); err != nil || len(st.Holders) != 1 {
		t.Fatalf("grant after expiry: %+v %v", st, err)
	}

	// Votes survive a restart.
	s.Close()
	s2 := newTestStore(t, func(c *Config) { c.Dir = dir })
	st, err = s2.LockPeek(ctx, "b", "k", "")
	if err != nil || st.MaxToken != 3 || len(st.Holders) != 2 {
		t.Fatalf("after restart: %+v %v", st, err)
	}
}

func TestCondLockFencesCommit(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	mustBucket(t, s, "b", VersioningOff)
	for _, tok := range []uint64{1, 2} {
		v := LockVote{Space: LockSpaceCond, Token: "t", Mode: LockExclusive, Fencing: tok, TTL: time.Millisecond}
		if _, err := s.LockGrant(ctx, "b", "k", v); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
		v.Token = "u"
	}
	// The conditional space leaves the client fencing record alone.
	if hi, _ := s.FencingToken(ctx, "b", "k"); hi != 0 {
		t.Fatalf("cond lock raised the client fence to %d", hi)
	}
	_, err := s.PutObject(ctx, "b", "k", strings.NewReader("x"), 1, PutOptions{Cond: Conditions{IfNoneMatch: "*", CondLock: 1}})
	if !errors.Is(err, ErrConditionalConflict) {
		t.Fatalf("superseded cond lock: %v", err)
	}
	if _, err := s.PutObject(ctx, "b", "k", strings.NewReader("x"), 1, PutOptions{Cond: Conditions{IfNoneMatch: "*", CondLock: 2}}); err != nil {
		t.Fatal(err)
	}
}
