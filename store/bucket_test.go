package store

import (
	"context"
	"errors"
	"testing"
)

func TestBuckets(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	for _, b := range []string{"zeta", "alpha", "mid"} {
		if err := s.CreateBucket(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateBucket(ctx, "mid"); !errors.Is(err, ErrBucketExists) {
		t.Fatalf("create existing: %v", err)
	}
	bs, err := s.ListBuckets(ctx)
	if err != nil || len(bs) != 3 || bs[0].Name != "alpha" || bs[2].Name != "zeta" || bs[0].Created.IsZero() {
		t.Fatalf("list: %+v %v", bs, err)
	}
	if _, err := s.GetBucket(ctx, "nope"); !errors.Is(err, ErrNoSuchBucket) {
		t.Fatalf("get missing: %v", err)
	}
	// Configuration documents.
	if _, err := s.GetBucketConfig(ctx, "mid", "cors"); !errors.Is(err, ErrNoSuchConfig) {
		t.Fatalf("missing config: %v", err)
	}
	if err := s.PutBucketConfig(ctx, "mid", "cors", []byte("<x/>")); err != nil {
		t.Fatal(err)
	}
	if doc, err := s.GetBucketConfig(ctx, "mid", "cors"); err != nil || string(doc) != "<x/>" {
		t.Fatalf("config: %q %v", doc, err)
	}
	if err := s.DeleteBucketConfig(ctx, "mid", "cors"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetBucketConfig(ctx, "mid", "cors"); !errors.Is(err, ErrNoSuchConfig) {
		t.Fatalf("deleted config: %v", err)
	}
	if err := s.PutBucketConfig(ctx, "nope", "cors", nil); !errors.Is(err, ErrNoSuchBucket) {
		t.Fatalf("config of missing bucket: %v", err)
	}
	// A delete marker alone keeps a bucket non-empty.
	if err := s.SetBucketVersioning(ctx, "mid", VersioningEnabled); err != nil {
		t.Fatal(err)
	}
	if b, _ := s.GetBucket(ctx, "mid"); b.Versioning != VersioningEnabled {
		t.Fatalf("versioning %q", b.Versioning)
	}
	res, err := s.DeleteObject(ctx, "mid", "k", DeleteOptions{})
	if err != nil || !res.DeleteMarker {
		t.Fatal(res, err)
	}
	if err := s.DeleteBucket(ctx, "mid"); !errors.Is(err, ErrBucketNotEmpty) {
		t.Fatalf("delete with marker: %v", err)
	}
	if _, err := s.DeleteObject(ctx, "mid", "k", DeleteOptions{VersionID: res.VersionID}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutBucketConfig(ctx, "mid", "policy", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	// Documents are cached: what a caller does with its copy changes nothing.
	for range 2 {
		doc, err := s.GetBucketConfig(ctx, "mid", "policy")
		if err != nil || string(doc) != "{}" {
			t.Fatalf("policy: %q %v", doc, err)
		}
		doc[0] = 'X'
	}
	if err := s.DeleteBucket(ctx, "mid"); err != nil {
		t.Fatal(err)
	}
	// A recreated bucket starts clean.
	if err := s.CreateBucket(ctx, "mid"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetBucketConfig(ctx, "mid", "policy"); !errors.Is(err, ErrNoSuchConfig) {
		t.Fatalf("config survived bucket deletion: %v", err)
	}
	if b, _ := s.GetBucket(ctx, "mid"); b.Versioning != VersioningOff {
		t.Fatal("versioning survived bucket deletion")
	}
	if err := s.DeleteBucket(ctx, "nope"); !errors.Is(err, ErrNoSuchBucket) {
		t.Fatalf("delete missing: %v", err)
	}
}
