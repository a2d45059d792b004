package s3

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/bucketdb/bucketdb/store"
	"github.com/minio/minio-go/v7"
)

// lookupCounter counts the per-object reads a handler makes.
type lookupCounter struct {
	Backend
	n atomic.Int64
}

func (c *lookupCounter) HeadObject(ctx context.Context, bucket, key string, opts store.GetOptions) (store.ObjectInfo, error) {
	c.n.Add(1)
	return c.Backend.HeadObject(ctx, bucket, key, opts)
}

func (c *lookupCounter) GetObject(ctx context.Context, bucket, key string, opts store.GetOptions) (store.ObjectInfo, io.ReadCloser, error) {
	c.n.Add(1)
	return c.Backend.GetObject(ctx, bucket, key, opts)
}

// TestListWithMetadataNoLookups: ListObjectsV2 with metadata=true returns
// every entry's user metadata and content type, in the form minio-go
// parses, from the listing itself: no HEAD per object.
func TestListWithMetadataNoLookups(t *testing.T) {
	counter := &lookupCounter{}
	e := newTestServer(t, withBackend(func(b Backend) Backend { counter.Backend = b; return counter }))
	b := e.bucket("lsmeta")
	const n = 25
	for i := range n {
		opts := minio.PutObjectOptions{ContentType: fmt.Sprintf("text/x-%d", i),
			UserMetadata: map[string]string{"Mode": fmt.Sprintf("0100%03o", i), "Mtime": fmt.Sprint(1700000000 + i)}}
		e.put(b, fmt.Sprintf("dir/f%02d", i), "body", opts)
	}
	e.put(b, "dir/zbare", "x", minio.PutObjectOptions{})
	counter.n.Store(0)
	seen := 0
	for o := range e.mc.ListObjects(e.ctx, b, minio.ListObjectsOptions{Prefix: "dir/", WithMetadata: true, MaxKeys: 10}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		if o.Key == "dir/zbare" {
			if len(o.UserMetadataStripped) != 0 {
				t.Errorf("%s: user metadata %v", o.Key, o.UserMetadata)
			}
			seen++
			continue
		}
		var i int
		if _, err := fmt.Sscanf(o.Key, "dir/f%02d", &i); err != nil {
			t.Fatalf("key %q", o.Key)
		}
		seen++
		um := o.UserMetadata
		if um["X-Amz-Meta-Mode"] != fmt.Sprintf("0100%03o", i) || um["X-Amz-Meta-Mtime"] != fmt.Sprint(1700000000+i) ||
			um["content-type"] != fmt.Sprintf("text/x-%d", i) {
			t.Errorf("%s: UserMetadata %v", o.Key, um)
		}
		if o.UserMetadataStripped["Mode"] != fmt.Sprintf("0100%03o", i) || o.UserMetadataStripped["Mtime"] != fmt.Sprint(1700000000+i) {
			t.Errorf("%s: UserMetadataStripped %v", o.Key, o.UserMetadataStripped)
		}
	}
	if seen != n+1 {
		t.Fatalf("listed %d objects, want %d", seen, n+1)
	}
	if got := counter.n.Load(); got != 0 {
		t.Fatalf("listing with metadata made %d object lookups, want 0", got)
	}
	// The XML as minio-go's StringMap reads it: one element per entry.
	rr := e.do("GET", "/lsmeta?list-type=2&metadata=true&prefix=dir/f00", nil)
	if want := "<UserMetadata><content-type>text/x-0</content-type><X-Amz-Meta-Mode>0100000</X-Amz-Meta-Mode>" +
		"<X-Amz-Meta-Mtime>1700000000</X-Amz-Meta-Mtime></UserMetadata>"; !strings.Contains(string(rr.body), want) {
		t.Fatalf("XML %s\nwant it to contain %s", rr.body, want)
	}
}
