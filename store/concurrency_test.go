package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
)

// TestConcurrentWritersReaders overwrites, deletes and reads one key from
// several goroutines: every successful read returns a complete body that
// matches its ETag (never a torn or mixed object), and no data file leaks.
func TestConcurrentWritersReaders(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	mustBucket(t, s, "b", VersioningOff)
	bodies := make([][]byte, 4)
	for i := range bodies {
		bodies[i] = randBytes(blockSize+1000*i, uint64(i)) // file-backed
	}
	var wg sync.WaitGroup
	errc := make(chan error, 100)
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 15 {
				body := bodies[(w+i)%len(bodies)]
				if _, err := s.PutObject(ctx, "b", "k", bytes.NewReader(body), int64(len(body)), PutOptions{}); err != nil {
					errc <- err
				}
				if i%5 == 4 {
					if _, err := s.DeleteObject(ctx, "b", "k", DeleteOptions{}); err != nil {
						errc <- err
					}
				}
			}
		}()
	}
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 30 {
				info, rc, err := s.GetObject(ctx, "b", "k", GetOptions{})
				if errors.Is(err, ErrNoSuchKey) {
					continue
				}
				if err != nil {
					errc <- err
					continue
				}
				got, err := io.ReadAll(rc)
				rc.Close()
				if err != nil {
					errc <- err
				} else if md5hex(got) != info.ETag || int64(len(got)) != info.Size {
					errc <- fmt.Errorf("torn read: %d bytes, etag %s", len(got), info.ETag)
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Versions != st.DataFiles || st.Versions > 1 {
		t.Fatalf("%d versions but %d data files", st.Versions, st.DataFiles)
	}
}

// TestConcurrentBucketDelete races DeleteBucket against writers: either the
// bucket goes and every later write fails, or it stays with the objects.
func TestConcurrentBucketDelete(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	for round := range 5 {
		bucket := fmt.Sprintf("b%d", round)
		mustBucket(t, s, bucket, VersioningOff)
		var wg sync.WaitGroup
		var delErr error
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := range 10 {
				s.PutObject(ctx, bucket, fmt.Sprint(i), bytes.NewReader([]byte("x")), 1, PutOptions{})
			}
		}()
		go func() {
			defer wg.Done()
			delErr = s.DeleteBucket(ctx, bucket)
		}()
		wg.Wait()
		_, berr := s.GetBucket(ctx, bucket)
		res, lerr := s.ListObjectVersions(ctx, bucket, ListVersionsOptions{MaxKeys: 100})
		switch {
		case delErr == nil && (!errors.Is(berr, ErrNoSuchBucket) || !errors.Is(lerr, ErrNoSuchBucket)):
			t.Fatalf("round %d: bucket deleted but still there: %v %v", round, berr, lerr)
		case delErr == nil:
			var n int
			s.db.View(func(txn *badgerTxn) error { n = countPrefix(txn, versionBucketPrefix(bucket)); return nil })
			if n != 0 {
				t.Fatalf("round %d: %d versions orphaned in a deleted bucket", round, n)
			}
		case !errors.Is(delErr, ErrBucketNotEmpty) || berr != nil || len(res.Versions) == 0:
			t.Fatalf("round %d: delete %v, bucket %v, %d versions", round, delErr, berr, len(res.Versions))
		}
	}
}
