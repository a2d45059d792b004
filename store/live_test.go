package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// deleteAllBut fills a versioned bucket with n keys "d/%05d" and deletes
// (delete marker) all but every (n/kept)-th; it returns the kept keys.
func deleteAllBut(t testing.TB, s *Store, bucket string, n, kept int) []string {
	t.Helper()
	ctx := context.Background()
	var live []string
	for i := range n {
		mustPut(t, s, bucket, fmt.Sprintf("d/%05d", i), []byte("x"), PutOptions{})
	}
	for i := range n {
		key := fmt.Sprintf("d/%05d", i)
		if i%(n/kept) == n/kept-1 {
			live = append(live, key)
			continue
		}
		if _, err := s.DeleteObject(ctx, bucket, key, DeleteOptions{Versioned: true}); err != nil {
			t.Fatal(err)
		}
	}
	return live
}

// TestListSkipsDeletedKeys: keys whose latest version is a delete marker
// cost a listing nothing: it visits the live keys only.
func TestListSkipsDeletedKeys(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	mustBucket(t, s, "b", VersioningEnabled)
	live := deleteAllBut(t, s, "b", 500, 5)
	mustPut(t, s, "b", "e/sub/x", nil, PutOptions{})
	for _, tc := range []struct {
		name     string
		opts     ListOptions
		want     []string // objects then prefixes
		maxSteps int64
	}{
		{"max-keys=1000", ListOptions{Prefix: "d/", MaxKeys: 1000}, live, 5},
		{"max-keys=1", ListOptions{Prefix: "d/", MaxKeys: 1}, live[:1], 2},
		{"marker", ListOptions{Prefix: "d/", Marker: live[3], MaxKeys: 1000}, live[4:], 1},
		{"delimiter", ListOptions{Delimiter: "/", MaxKeys: 1000}, []string{"d/", "e/"}, 2},
		{"whole bucket", ListOptions{MaxKeys: 1000}, append(slices.Clone(live), "e/sub/x"), 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := s.listSteps.Load()
			res, err := s.ListObjects(ctx, "b", tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range res.Objects {
				got = append(got, o.Key)
			}
			got = append(got, res.CommonPrefixes...)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("listed %v, want %v", got, tc.want)
			}
			if steps := s.listSteps.Load() - before; steps > tc.maxSteps {
				t.Fatalf("visited %d records, want at most %d", steps, tc.maxSteps)
			}
		})
	}
	// Undeleting (removing the marker) and re-putting make keys live again.
	vs, err := s.ListObjectVersions(ctx, "b", ListVersionsOptions{Prefix: "d/00000", MaxKeys: 10})
	if err != nil || len(vs.Versions) != 2 || !vs.Versions[0].DeleteMarker {
		t.Fatalf("versions of d/00000: %+v %v", vs, err)
	}
	if _, err := s.DeleteObject(ctx, "b", "d/00000", DeleteOptions{VersionID: vs.Versions[0].VersionID}); err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, "b", "d/00001", []byte("again"), PutOptions{})
	got, _ := listKeys(t, s, "b", ListOptions{Prefix: "d/"})
	if want := append([]string{"d/00000", "d/00001"}, live...); !slices.Equal(got, want) {
		t.Fatalf("after undelete and re-put: %v, want %v", got, want)
	}
	checkIndexes(t, s, "b")
}

// TestOpenRebuildsLiveIndex: a store written before the live-key index
// existed (no schema record, no 'A' records) lists correctly after Open,
// which rebuilds the index once; a partial index left by an interrupted
// rebuild is replaced; a store of a newer format is refused.
func TestOpenRebuildsLiveIndex(t *testing.T) {
	cfg := DefaultConfig(t.TempDir())
	cfg.NoSync, cfg.GCInterval, cfg.InlineThreshold, cfg.MinPartSize = true, 0, 1<<10, 100
	s, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mustBucket(t, s, "b", VersioningEnabled)
	live := deleteAllBut(t, s, "b", 100, 5)
	mustPut(t, s, "b", "tagged", []byte("t"), PutOptions{Meta: ObjectMeta{ContentType: "text/x-t"}})
	live = append(live, "tagged")
	// Turn the store into one of the earlier format: no schema record, no
	// live index, but one stray 'A' record (a deleted key) as an
	// interrupted rebuild could not leave, to show the rebuild starts over.
	err = s.update(context.Background(), false, func(txn *badger.Txn) error {
		if err := deletePrefix(txn, []byte{pfxLive}); err != nil {
			return err
		}
		if err := txn.Set(liveKey("b", "d/00000"), []byte(`{"i":"x"}`)); err != nil {
			return err
		}
		return txn.Delete(schemaKey())
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := listKeys(t, s, "b", ListOptions{}); slices.Equal(got, live) {
		t.Fatal("the listing does not walk the live index: the test proves nothing")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if got, _ := listKeys(t, s, "b", ListOptions{}); !slices.Equal(got, live) {
		t.Fatalf("after rebuild: %v, want %v", got, live)
	}
	res, err := s.ListObjects(context.Background(), "b", ListOptions{Prefix: "tagged", MaxKeys: 1})
	if err != nil || len(res.Objects) != 1 || res.Objects[0].ContentType != "text/x-t" {
		t.Fatalf("rebuilt entry: %+v %v", res.Objects, err)
	}
	checkIndexes(t, s, "b")
	if ver, err := readSchema(s.db); err != nil || ver != schemaVersion {
		t.Fatalf("schema after rebuild: %d %v", ver, err)
	}
	// A newer format is refused rather than misread.
	if err := s.update(context.Background(), false, func(txn *badger.Txn) error {
		return txn.Set(schemaKey(), []byte{0, 0, 0, schemaVersion + 1})
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s2, err := Open(cfg); err == nil || !strings.Contains(err.Error(), "newer") {
		if s2 != nil {
			s2.Close()
		}
		t.Fatalf("Open of a newer format: %v", err)
	}
}
