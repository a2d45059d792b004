package store

import (
	"bytes"
	"context"
	"testing"
)

// TestRecordCache: reads of a multipart object share one decoded record,
// and a record rewritten in place (a tag stamp) or replaced by a new
// version is never served from the cache.
func TestRecordCache(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	mustBucket(t, s, "b", VersioningEnabled)
	p1, p2 := randBytes(3000, 1), randBytes(2000, 2)
	up, cps := uploadParts(t, s, "b", "k", p1, p2)
	if _, err := s.CompleteMultipartUpload(ctx, "b", "k", up.UploadID, cps, CompleteOptions{}); err != nil {
		t.Fatal(err)
	}
	rng := &Range{Start: 2500, Length: 1000}
	for i := 0; i < 3; i++ {
		if _, got := mustGet(t, s, "b", "k", GetOptions{Range: rng}); !bytes.Equal(got, append(p1[2500:], p2[:500]...)) {
			t.Fatalf("read %d: wrong bytes", i)
		}
	}
	if n := len(s.records.byKey); n != 1 {
		t.Fatalf("cached records: %d, want 1", n)
	}
	var first *versionRecord
	for _, el := range s.records.byKey {
		first = el.Value.(*cachedRecord).rec
	}

	// A tag stamp rewrites the record under the same key.
	if _, err := s.SetObjectTagsAt(ctx, "b", "k", "", map[string]string{"x": "y"}, 7); err != nil {
		t.Fatal(err)
	}
	if info, _ := mustGet(t, s, "b", "k", GetOptions{Range: rng}); info.TagsStamp != 7 {
		t.Fatalf("tags stamp after the rewrite: %d", info.TagsStamp)
	}
	for _, el := range s.records.byKey {
		if el.Value.(*cachedRecord).rec == first {
			t.Fatal("the record rewritten in place is still cached")
		}
	}

	// A new version of the key is read as such.
	p3 := randBytes(4000, 3)
	up, cps = uploadParts(t, s, "b", "k", p3, p1)
	if _, err := s.CompleteMultipartUpload(ctx, "b", "k", up.UploadID, cps, CompleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, got := mustGet(t, s, "b", "k", GetOptions{Range: rng}); !bytes.Equal(got, p3[2500:3500]) {
		t.Fatal("read after a new version: wrong bytes")
	}

	// The cache stays within its bound.
	big := &versionRecord{Parts: make([]PartInfo, maxCachedParts/2+1)}
	s.records.put("x1", 1, big)
	s.records.put("x2", 1, big)
	if s.records.parts > maxCachedParts || s.records.get("x1", 1) != nil || s.records.get("x2", 1) != big {
		t.Fatalf("bound: %d parts held", s.records.parts)
	}
}
