package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// TestReadsSeeAnsweredWrites: while writers overwrite their keys, a read
// that starts after a write was answered never returns an older value,
// whichever goroutine reads (the published snapshot only moves forward).
func TestReadsSeeAnsweredWrites(t *testing.T) {
	s := newTestStore(t)
	mustBucket(t, s, "b", VersioningOff)
	const writers, rounds = 4, 60
	var acked [writers]atomic.Int64
	ctx := context.Background()
	var wg sync.WaitGroup
	errc := make(chan error, 2*writers)
	for w := range writers {
		wg.Go(func() { // writer: put round i, then read it back
			key := fmt.Sprintf("k%d", w)
			for i := 1; i <= rounds; i++ {
				data := []byte(strconv.Itoa(i))
				if _, err := s.PutObject(ctx, "b", key, bytes.NewReader(data), int64(len(data)), PutOptions{}); err != nil {
					errc <- err
					return
				}
				acked[w].Store(int64(i))
				if got := getInt(ctx, s, key); got != i {
					errc <- fmt.Errorf("%s: read %d right after writing %d", key, got, i)
					return
				}
			}
		})
		wg.Go(func() { // reader of another writer's key
			o := (w + 1) % writers
			key := fmt.Sprintf("k%d", o)
			for acked[o].Load() < rounds {
				floor := acked[o].Load()
				if got := getInt(ctx, s, key); int64(got) < floor {
					errc <- fmt.Errorf("%s: read %d after %d was answered", key, got, floor)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
}

// TestViewKeepsItsSnapshot: a read holds the state it started with while
// writes are answered and published around it, and reads that start later
// see those writes.
func TestViewKeepsItsSnapshot(t *testing.T) {
	s := newTestStore(t)
	mustBucket(t, s, "b", VersioningOff)
	mustPut(t, s, "b", "k", []byte("1"), PutOptions{})
	ctx := context.Background()
	inView, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.view(func(txn *badger.Txn) error {
			close(inView)
			<-release
			l, err := getLatest(txn, "b", "k")
			if err != nil {
				return err
			}
			if l == nil || l.Size != 1 {
				return fmt.Errorf("held snapshot lost its state: %+v", l)
			}
			_, ok, err := getValue(txn, latestKey("b", "k2"))
			if err == nil && ok {
				return fmt.Errorf("held snapshot sees a key written after it started")
			}
			return err
		})
	}()
	<-inView
	mustPut(t, s, "b", "k", []byte("22"), PutOptions{})
	mustPut(t, s, "b", "k2", []byte("x"), PutOptions{})
	if got := getInt(ctx, s, "k"); got != 22 {
		t.Fatalf("a read after the overwrite got %d", got)
	}
	close(release)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the held view did not finish")
	}
	if _, err := s.HeadObject(ctx, "b", "k2", GetOptions{}); err != nil {
		t.Fatalf("k2 after the held view ended: %v", err)
	}
}

// TestSnapshotNeverGoesBack: a snapshot taken before a write and installed
// after that write's own one (two writers finishing out of order) does not
// replace it.
func TestSnapshotNeverGoesBack(t *testing.T) {
	s := newTestStore(t)
	mustBucket(t, s, "b", VersioningOff)
	early := s.db.NewTransaction(false)
	mustPut(t, s, "b", "k", []byte("7"), PutOptions{})
	s.install(early)
	if got := getInt(context.Background(), s, "k"); got != 7 {
		t.Fatalf("after a stale install a read got %d, want 7", got)
	}
}

// BenchmarkGetWhilePutting: GETs of a small object while 8 writers put
// 4 KiB objects with fsync on. Reads use the published snapshot, so they
// do not wait for the batch being synced.
func BenchmarkGetWhilePutting(b *testing.B) {
	s := newTestStore(b, func(c *Config) { c.NoSync, c.InlineThreshold = false, 128<<10 })
	mustBucket(b, s, "b", VersioningOff)
	mustPut(b, s, "b", "read", []byte("hello"), PutOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var puts atomic.Int64
	data := randBytes(4<<10, 7)
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				key := fmt.Sprintf("w%d/%d", w, i%64)
				if _, err := s.PutObject(ctx, "b", key, bytes.NewReader(data), int64(len(data)), PutOptions{}); err == nil {
					puts.Add(1)
				}
			}
		})
	}
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	p0 := puts.Load()
	for b.Loop() {
		_, rc, err := s.GetObject(ctx, "b", "read", GetOptions{})
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, rc)
		rc.Close()
	}
	b.ReportMetric(float64(puts.Load()-p0)/time.Since(start).Seconds(), "puts/s")
	cancel()
	wg.Wait()
}

// getInt reads b/key as a number: 0 if it does not exist, -1 on an error.
func getInt(ctx context.Context, s *Store, key string) int {
	_, rc, err := s.GetObject(ctx, "b", key, GetOptions{})
	if errors.Is(err, ErrNoSuchKey) {
		return 0
	}
	if err != nil {
		return -1
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	n, _ := strconv.Atoi(string(b))
	return n
}
