package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// batchReq builds a commit request whose function writes n keys k<tag>-<i>
// and then returns fail.
func batchReq(tag string, n int, fail error) *commitReq {
	return &commitReq{done: make(chan struct{}), fn: func(txn *badger.Txn) error {
		for i := range n {
			if err := txn.Set(fmt.Appendf(nil, "\xfftest/%s-%d", tag, i), []byte(tag)); err != nil {
				return err
			}
		}
		return fail
	}}
}

func hasKey(t *testing.T, s *Store, k string) bool {
	t.Helper()
	var ok bool
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		_, ok, err = getValue(txn, []byte(k))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// A commit that fails after writing is answered with its error and none of
// its writes reach the transaction the others share.
func TestCommitBatchIsolatesFailure(t *testing.T) {
	s := newTestStore(t)
	boom := errors.New("boom")
	reqs := []*commitReq{batchReq("a", 2, nil), batchReq("bad", 2, boom), batchReq("c", 2, nil)}
	s.commitBatch(append([]*commitReq(nil), reqs...))
	for i, r := range reqs {
		<-r.done
		if want := []error{nil, boom, nil}[i]; !errors.Is(r.err, want) || (want == nil && r.err != nil) {
			t.Fatalf("request %d: err %v, want %v", i, r.err, want)
		}
	}
	for k, want := range map[string]bool{"\xfftest/a-1": true, "\xfftest/c-1": true, "\xfftest/bad-0": false, "\xfftest/bad-1": false} {
		if got := hasKey(t, s, k); got != want {
			t.Errorf("%q present %v, want %v", k, got, want)
		}
	}
}

// A batch too big for one Badger transaction is split, not failed.
func TestCommitBatchSplitsTooBig(t *testing.T) {
	s := newTestStore(t, func(c *Config) { c.MemTableSize = 2 << 20 })
	// Each request alone fits; together they exceed Badger's batch count
	// (a fraction of the memtable size: about 3,000 entries here).
	var reqs []*commitReq
	for i := range 4 {
		reqs = append(reqs, batchReq(fmt.Sprint(i), 2000, nil))
	}
	s.commitBatch(append([]*commitReq(nil), reqs...))
	for i, r := range reqs {
		<-r.done
		if r.err != nil {
			t.Fatalf("request %d: %v", i, r.err)
		}
		if !hasKey(t, s, fmt.Sprintf("\xfftest/%d-1999", i)) {
			t.Fatalf("request %d not committed", i)
		}
	}
}

// Concurrent writers of every kind share batches: each outcome is the one
// a serial execution would give, and the indexes stay exact.
func TestGroupCommitConcurrentMix(t *testing.T) {
	s := newTestStore(t, func(c *Config) { c.NoSync = false })
	ctx := context.Background()
	mustBucket(t, s, "v", VersioningEnabled)
	const writers = 24
	var wg sync.WaitGroup
	var mu sync.Mutex
	bodies := map[string][]byte{} // key -> body of a successful fresh-key PUT
	sharedIDs := map[string][]byte{}
	var inmWins, badMatch int
	errs := make(chan error, writers*20)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				body := fmt.Appendf(nil, "w%d-%d", w, i)
				switch i % 4 {
				case 0: // a fresh key
					k := fmt.Sprintf("fresh/%d/%d", w, i)
					if _, err := s.PutObject(ctx, "v", k, bytes.NewReader(body), int64(len(body)), PutOptions{}); err != nil {
						errs <- err
						return
					}
					mu.Lock()
					bodies[k] = body
					mu.Unlock()
				case 1: // a new version of a shared key
					info, err := s.PutObject(ctx, "v", "shared", bytes.NewReader(body), int64(len(body)), PutOptions{})
					if err != nil {
						errs <- err
						return
					}
					mu.Lock()
					sharedIDs[info.VersionID] = body
					mu.Unlock()
				case 2: // everybody races for one create-only key
					_, err := s.PutObject(ctx, "v", "once", bytes.NewReader(body), int64(len(body)), PutOptions{Cond: Conditions{IfNoneMatch: "*"}})
					mu.Lock()
					switch {
					case err == nil:
						inmWins++
					case errors.Is(err, ErrPreconditionFailed), errors.Is(err, ErrConditionalConflict):
					default:
						errs <- err
					}
					mu.Unlock()
				case 3: // a precondition that never holds, batched with the rest
					_, err := s.PutObject(ctx, "v", "shared", bytes.NewReader(body), int64(len(body)), PutOptions{Cond: Conditions{IfMatch: "0000"}})
					if !errors.Is(err, ErrPreconditionFailed) && !errors.Is(err, ErrConditionalConflict) {
						errs <- fmt.Errorf("If-Match on a wrong ETag: %v", err)
						return
					}
					mu.Lock()
					badMatch++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if inmWins != 1 {
		t.Fatalf("%d writers won If-None-Match: *", inmWins)
	}
	if badMatch != writers*5 {
		t.Fatalf("%d failed If-Match writes, want %d", badMatch, writers*5)
	}
	for k, want := range bodies {
		_, rc, err := s.GetObject(ctx, "v", k, GetOptions{})
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: %q, want %q", k, got, want)
		}
	}
	vs, err := s.ListObjectVersions(ctx, "v", ListVersionsOptions{Prefix: "shared", MaxKeys: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs.Versions) != len(sharedIDs) {
		t.Fatalf("shared has %d versions, %d PUTs succeeded", len(vs.Versions), len(sharedIDs))
	}
	for _, v := range vs.Versions {
		if _, ok := sharedIDs[v.VersionID]; !ok {
			t.Fatalf("unknown version %s of shared", v.VersionID)
		}
	}
	checkIndexes(t, s, "v")
}
