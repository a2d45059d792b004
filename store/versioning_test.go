package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestVersioningEnabled(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	mustBucket(t, s, "b", VersioningEnabled)
	v1 := mustPut(t, s, "b", "k", []byte("one"), PutOptions{})
	v2 := mustPut(t, s, "b", "k", randBytes(3000, 1), PutOptions{})
	if v1.VersionID == NullVersionID || v1.VersionID >= v2.VersionID {
		t.Fatalf("version IDs %q, %q: want real and increasing", v1.VersionID, v2.VersionID)
	}
	// Old version still readable and not latest.
	info, got := mustGet(t, s, "b", "k", GetOptions{VersionID: v1.VersionID})
	if string(got) != "one" || info.IsLatest {
		t.Fatalf("v1: %q latest=%v", got, info.IsLatest)
	}
	// Delete without version: a marker.
	del, err := s.DeleteObject(ctx, "b", "k", DeleteOptions{})
	if err != nil || !del.DeleteMarker || del.VersionID <= v2.VersionID {
		t.Fatalf("delete: %+v %v", del, err)
	}
	info, err = s.HeadObject(ctx, "b", "k", GetOptions{})
	if !errors.Is(err, ErrNoSuchKey) || !info.DeleteMarker || info.VersionID != del.VersionID {
		t.Fatalf("head latest marker: %+v %v", info, err)
	}
	_, _, err = s.GetObject(ctx, "b", "k", GetOptions{})
	if !errors.Is(err, ErrNoSuchKey) {
		t.Fatalf("get latest marker: %v", err)
	}
	info, err = s.HeadObject(ctx, "b", "k", GetOptions{VersionID: del.VersionID})
	if !errors.Is(err, ErrMethodNotAllowed) || !info.DeleteMarker {
		t.Fatalf("head named marker: %+v %v", info, err)
	}
	// Listing hides the key; versions show three entries newest first.
	if res, _ := s.ListObjects(ctx, "b", ListOptions{MaxKeys: 10}); len(res.Objects) != 0 {
		t.Fatalf("list shows deleted key: %+v", res.Objects)
	}
	assertVersions(t, s, "b", []string{"k:" + del.VersionID + ":dm:latest", "k:" + v2.VersionID, "k:" + v1.VersionID})
	// Removing the marker undeletes.
	res, err := s.DeleteObject(ctx, "b", "k", DeleteOptions{VersionID: del.VersionID})
	if err != nil || !res.DeleteMarker || res.VersionID != del.VersionID {
		t.Fatalf("delete marker version: %+v %v", res, err)
	}
	if info, err := s.HeadObject(ctx, "b", "k", GetOptions{}); err != nil || info.VersionID != v2.VersionID || !info.IsLatest {
		t.Fatalf("after undelete: %+v %v", info, err)
	}
	// Deleting the latest real version makes v1 latest; deleting v1 empties the key.
	for _, v := range []string{v2.VersionID, v1.VersionID} {
		if _, err := s.DeleteObject(ctx, "b", "k", DeleteOptions{VersionID: v}); err != nil {
			t.Fatal(err)
		}
	}
	if err := headErr(s, "b", "k", ""); !errors.Is(err, ErrNoSuchKey) {
		t.Fatalf("after deleting all: %v", err)
	}
	if _, err := s.DeleteObject(ctx, "b", "k", DeleteOptions{VersionID: v1.VersionID}); !errors.Is(err, ErrNoSuchVersion) {
		t.Fatalf("deleting a gone version: %v", err)
	}
	assertVersions(t, s, "b", nil)
	if dataBytes(t, s) != 0 {
		t.Fatal("data files left after deleting every version")
	}
}

// assertVersions lists all versions of a bucket as "key:version[:dm][:latest]".
func assertVersions(t *testing.T, s *Store, bucket string, want []string) {
	t.Helper()
	res, err := s.ListObjectVersions(context.Background(), bucket, ListVersionsOptions{MaxKeys: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range res.Versions {
		e := v.Key + ":" + v.VersionID
		if v.DeleteMarker {
			e += ":dm"
		}
		if v.IsLatest {
			e += ":latest"
		}
		got = append(got, e)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("versions:\n got %v\nwant %v", got, want)
	}
}

func TestVersioningSuspended(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	mustBucket(t, s, "b", VersioningOff)
	n0 := mustPut(t, s, "b", "k", randBytes(2000, 1), PutOptions{}) // null, in a file
	if err := s.SetBucketVersioning(ctx, "b", VersioningEnabled); err != nil {
		t.Fatal(err)
	}
	v1 := mustPut(t, s, "b", "k", []byte("v1"), PutOptions{})
	if err := s.SetBucketVersioning(ctx, "b", VersioningSuspended); err != nil {
		t.Fatal(err)
	}
	n1 := mustPut(t, s, "b", "k", []byte("n1"), PutOptions{})
	if n0.VersionID != NullVersionID || n1.VersionID != NullVersionID {
		t.Fatalf("null versions: %q %q", n0.VersionID, n1.VersionID)
	}
	// n1 replaced n0: only v1 and the new null remain, and n0's file is gone.
	assertVersions(t, s, "b", []string{"k:null:latest", "k:" + v1.VersionID})
	if dataBytes(t, s) != 0 {
		t.Fatal("replaced null version's data file not removed")
	}
	if _, got := mustGet(t, s, "b", "k", GetOptions{VersionID: NullVersionID}); string(got) != "n1" {
		t.Fatalf("null version: %q", got)
	}
	// Delete without version id: a null delete marker replacing n1.
	del, err := s.DeleteObject(ctx, "b", "k", DeleteOptions{})
	if err != nil || del.VersionID != NullVersionID || !del.DeleteMarker {
		t.Fatalf("suspended delete: %+v %v", del, err)
	}
	assertVersions(t, s, "b", []string{"k:null:dm:latest", "k:" + v1.VersionID})
	// Delete the null marker by id: v1 is latest again.
	if _, err := s.DeleteObject(ctx, "b", "k", DeleteOptions{VersionID: NullVersionID}); err != nil {
		t.Fatal(err)
	}
	assertVersions(t, s, "b", []string{"k:" + v1.VersionID + ":latest"})
	if err := s.SetBucketVersioning(ctx, "b", VersioningOff); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("turning versioning off: %v", err)
	}
}

func TestVersioningNever(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	mustBucket(t, s, "b", VersioningOff)
	mustPut(t, s, "b", "k", []byte("a"), PutOptions{})
	mustPut(t, s, "b", "k", []byte("b"), PutOptions{})
	assertVersions(t, s, "b", []string{"k:null:latest"})
	res, err := s.DeleteObject(ctx, "b", "k", DeleteOptions{})
	if err != nil || res.DeleteMarker {
		t.Fatalf("delete: %+v %v", res, err)
	}
	assertVersions(t, s, "b", nil)
	if _, err := s.DeleteObject(ctx, "b", "k", DeleteOptions{}); err != nil {
		t.Fatalf("deleting a missing key must succeed: %v", err)
	}
	if _, err := s.DeleteObject(ctx, "nob", "k", DeleteOptions{}); !errors.Is(err, ErrNoSuchBucket) {
		t.Fatalf("no bucket: %v", err)
	}
}

func TestPinnedDecisions(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	mustBucket(t, s, "b", VersioningOff) // the caller's pins override the bucket state
	clk := s.Clock()
	older, newer := NewVersionID(clk.Now()), NewVersionID(clk.Now())
	// Replicas may receive versions out of order: the newest stays latest.
	mustPut(t, s, "b", "k", []byte("new"), PutOptions{VersionID: newer})
	put := mustPut(t, s, "b", "k", []byte("old"), PutOptions{VersionID: older})
	if put.IsLatest {
		t.Fatal("older pinned version reported as latest")
	}
	if info, got := mustGet(t, s, "b", "k", GetOptions{}); string(got) != "new" || info.VersionID != newer {
		t.Fatalf("latest: %q %s", got, info.VersionID)
	}
	// Writing the same version again is idempotent.
	mustPut(t, s, "b", "k", []byte("new"), PutOptions{VersionID: newer})
	assertVersions(t, s, "b", []string{"k:" + newer + ":latest", "k:" + older})
	// A pinned marker, and a pinned null version.
	mid := NewVersionID(clk.Now())
	res, err := s.DeleteObject(ctx, "b", "k", DeleteOptions{MarkerVersionID: mid, Versioned: true})
	if err != nil || res.VersionID != mid {
		t.Fatalf("pinned marker: %+v %v", res, err)
	}
	n1, n2 := NewVersionID(clk.Now()), NewVersionID(clk.Now())
	mustPut(t, s, "b", "k", []byte("n2"), PutOptions{VersionID: n2, Null: true})
	mustPut(t, s, "b", "k", []byte("n1"), PutOptions{VersionID: n1, Null: true}) // stale: dropped
	info, got := mustGet(t, s, "b", "k", GetOptions{VersionID: NullVersionID})
	if string(got) != "n2" || info.InternalVersionID != n2 {
		t.Fatalf("null version: %q %s", got, info.InternalVersionID)
	}
	assertVersions(t, s, "b", []string{"k:null:latest", "k:" + mid + ":dm", "k:" + newer, "k:" + older})
	// The null version is also reachable by its internal ID (replicas use it).
	if info, err := s.HeadObject(ctx, "b", "k", GetOptions{VersionID: n2}); err != nil || info.VersionID != NullVersionID {
		t.Fatalf("head null by internal ID: %+v %v", info, err)
	}
	if res, err := s.DeleteObject(ctx, "b", "k", DeleteOptions{VersionID: n2}); err != nil || res.VersionID != NullVersionID {
		t.Fatalf("delete null by internal ID: %+v %v", res, err)
	}
	if err := headErr(s, "b", "k", NullVersionID); !errors.Is(err, ErrNoSuchVersion) {
		t.Fatalf("null pointer left behind: %v", err)
	}
	assertVersions(t, s, "b", []string{"k:" + mid + ":dm:latest", "k:" + newer, "k:" + older})
}

func TestListVersionsPaging(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	mustBucket(t, s, "b", VersioningEnabled)
	var all []string
	for _, k := range []string{"a", "b/1", "b/2", "c"} {
		var ids []string
		for i := 0; i < 3; i++ {
			ids = append(ids, mustPut(t, s, "b", k, []byte(k), PutOptions{}).VersionID)
		}
		for i := len(ids) - 1; i >= 0; i-- {
			all = append(all, k+":"+ids[i])
		}
	}
	for _, page := range []int{1, 2, 4, 5, 12, 13} {
		var got []string
		opts := ListVersionsOptions{MaxKeys: page}
		for i := 0; ; i++ {
			res, err := s.ListObjectVersions(ctx, "b", opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Versions) > page {
				t.Fatalf("page %d: %d entries", page, len(res.Versions))
			}
			for _, v := range res.Versions {
				got = append(got, v.Key+":"+v.VersionID)
			}
			if !res.IsTruncated {
				break
			}
			opts.KeyMarker, opts.VersionIDMarker = res.NextKeyMarker, res.NextVersionIDMarker
		}
		if fmt.Sprint(got) != fmt.Sprint(all) {
			t.Fatalf("page size %d:\n got %v\nwant %v", page, got, all)
		}
	}
	// Key marker alone skips every version of that key; delimiter rolls up.
	res, err := s.ListObjectVersions(ctx, "b", ListVersionsOptions{KeyMarker: "a", Delimiter: "/", MaxKeys: 100})
	if err != nil || fmt.Sprint(res.CommonPrefixes) != "[b/]" || len(res.Versions) != 3 || res.Versions[0].Key != "c" {
		t.Fatalf("key marker + delimiter: %+v %v", res, err)
	}
	if !res.Versions[0].IsLatest || res.Versions[1].IsLatest {
		t.Fatalf("IsLatest flags wrong: %+v", res.Versions)
	}
	res, err = s.ListObjectVersions(ctx, "b", ListVersionsOptions{Prefix: "b/", MaxKeys: 100})
	if err != nil || len(res.Versions) != 6 {
		t.Fatalf("prefix: %d versions, %v", len(res.Versions), err)
	}
}
