package fsmount

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
)

// cutBucket is a MemBucket whose next cuts GET bodies end early with
// io.ErrUnexpectedEOF, as net/http reports a response body shorter than
// its Content-Length when the node serving it dies mid-stream.
type cutBucket struct {
	*MemBucket
	cuts atomic.Int32
}

func (b *cutBucket) Get(ctx context.Context, key string, off, n int64, etag string) (io.ReadCloser, error) {
	rc, err := b.MemBucket.Get(ctx, key, off, n, etag)
	if err != nil || b.cuts.Add(-1) < 0 {
		return rc, err
	}
	return cutReader{rc, 1000}, nil
}

type cutReader struct {
	io.ReadCloser
	left int
}

func (r cutReader) Read(p []byte) (int, error) {
	if len(p) > r.left {
		p = p[:r.left]
	}
	n, err := r.ReadCloser.Read(p)
	if err == nil && n == r.left {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// A read whose GET body is cut off mid-stream (the node died while
// sending it) fetches the block again. The short block must not be kept:
// a read of its far half then failed with EIO (and so did every later one
// until the block left the cache).
func TestReadRetriesCutBody(t *testing.T) {
	mb := NewMemBucket()
	want := randBytes(t, 6<<20)
	if _, err := mb.Put(context.Background(), "big.bin", bytes.NewReader(want), int64(len(want)), nil); err != nil {
		t.Fatal(err)
	}
	b := &cutBucket{MemBucket: mb}
	dir, _ := testMount(t, nil, func(c *Config) {
		c.Bucket = b
		c.BlockSize = 2 << 20
	})
	f, err := os.Open(filepath.Join(dir, "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b.cuts.Store(1)
	buf := make([]byte, 4096)
	for _, off := range []int64{3 << 19, 0, 5 << 20} {
		if _, err := f.ReadAt(buf, off); err != nil {
			t.Fatalf("read at %d after a cut body: %v", off, err)
		}
		if !bytes.Equal(buf, want[off:off+int64(len(buf))]) {
			t.Fatalf("read at %d: wrong bytes", off)
		}
	}
	got, err := io.ReadAll(f)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read all: %d bytes, %v", len(got), err)
	}
}
