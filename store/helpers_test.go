package store

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// newTestStore opens a store in a temp dir, closed at cleanup. Tests use a
// small inline threshold and part size so that files and parts stay cheap.
func newTestStore(t testing.TB, mod ...func(*Config)) *Store {
	t.Helper()
	cfg := DefaultConfig(t.TempDir())
	cfg.NoSync = true
	cfg.GCInterval = 0
	cfg.InlineThreshold = 1 << 10
	cfg.MinPartSize = 100
	for _, m := range mod {
		m(&cfg)
	}
	s, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func mustBucket(t testing.TB, s *Store, bucket string, v Versioning) {
	t.Helper()
	ctx := context.Background()
	if err := s.CreateBucket(ctx, bucket); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	if v != VersioningOff {
		if err := s.SetBucketVersioning(ctx, bucket, v); err != nil {
			t.Fatalf("SetBucketVersioning: %v", err)
		}
	}
}

func randBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

func mustPut(t testing.TB, s *Store, bucket, key string, data []byte, opts PutOptions) ObjectInfo {
	t.Helper()
	info, err := s.PutObject(context.Background(), bucket, key, bytes.NewReader(data), int64(len(data)), opts)
	if err != nil {
		t.Fatalf("PutObject %s: %v", key, err)
	}
	return info
}

// readAll gets an object and reads its body.
func readAll(t testing.TB, s *Store, bucket, key string, opts GetOptions) (ObjectInfo, []byte, error) {
	t.Helper()
	info, rc, err := s.GetObject(context.Background(), bucket, key, opts)
	if err != nil {
		return info, nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	return info, b, err
}

func mustGet(t testing.TB, s *Store, bucket, key string, opts GetOptions) (ObjectInfo, []byte) {
	t.Helper()
	info, b, err := readAll(t, s, bucket, key, opts)
	if err != nil {
		t.Fatalf("GetObject %s %+v: %v", key, opts, err)
	}
	return info, b
}

type badgerTxn = badger.Txn

func countPrefix(txn *badger.Txn, p []byte) int {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: p})
	defer it.Close()
	n := 0
	for it.Rewind(); it.Valid(); it.Next() {
		n++
	}
	return n
}
