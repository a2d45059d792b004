package cluster

import (
	"context"
	"errors"
	"testing"

	"github.com/bucketdb/bucketdb/store"
)

func TestSmoke(t *testing.T) {
	for _, size := range []int{1, 3} {
		tc := startCluster(t, size)
		ctx := context.Background()
		a := tc.nodes[0]
		b := tc.nodes[size-1]
		if err := a.CreateBucket(ctx, "b"); err != nil {
			t.Fatal(err)
		}
		if err := b.CreateBucket(ctx, "b"); !errors.Is(err, store.ErrBucketExists) {
			t.Fatalf("second create: %v", err)
		}
		put(t, a, "b", "k", "hello")
		mustGet(t, b, "b", "k", "hello")
		put(t, b, "b", "k", "world")
		mustGet(t, a, "b", "k", "world")
		for i := range tc.nodes {
			if n := len(tc.localVersions(i, "b", "k")); n != 1 {
				t.Fatalf("node %d holds %d versions", i, n)
			}
		}
		if _, err := a.DeleteObject(ctx, "b", "k", store.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := get(t, b, "b", "k", store.GetOptions{}); !errors.Is(err, store.ErrNoSuchKey) {
			t.Fatalf("get after delete: %v", err)
		}
	}
}
