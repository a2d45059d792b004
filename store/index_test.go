package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

func listKeys(t *testing.T, s *Store, bucket string, opts ListOptions) (keys, prefixes []string) {
	t.Helper()
	if opts.MaxKeys == 0 {
		opts.MaxKeys = -1 // the default page
	}
	for {
		res, err := s.ListObjects(context.Background(), bucket, opts)
		if err != nil {
			t.Fatalf("ListObjects %+v: %v", opts, err)
		}
		for _, o := range res.Objects {
			keys = append(keys, o.Key)
		}
		prefixes = append(prefixes, res.CommonPrefixes...)
		if !res.IsTruncated {
			return keys, prefixes
		}
		opts.Marker = res.NextMarker
	}
}

func TestTagIndexListing(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	mustBucket(t, s, "b", VersioningEnabled)
	var red, redBig []string
	for i := range 400 {
		key := fmt.Sprintf("k%03d", i)
		if i%100 == 7 {
			key = fmt.Sprintf("dir/k%03d", i)
		}
		tags := map[string]string{"n": fmt.Sprint(i)}
		if i%20 == 7 {
			tags["color"] = "red"
			red = append(red, key)
			if i%40 == 7 {
				tags["size"] = "big"
				redBig = append(redBig, key)
			}
		}
		mustPut(t, s, "b", key, []byte(key), PutOptions{Meta: ObjectMeta{Tags: tags}})
	}
	slices.Sort(red)
	slices.Sort(redBig)
	red1 := map[string]string{"color": "red"}
	before := s.listSteps.Load()
	if got, _ := listKeys(t, s, "b", ListOptions{Tags: red1}); !slices.Equal(got, red) {
		t.Fatalf("color=red: %v, want %v", got, red)
	}
	if steps := s.listSteps.Load() - before; steps > int64(len(red)+1) {
		t.Errorf("tag listing visited %d records for %d matches: it scans", steps, len(red))
	}
	both := map[string]string{"color": "red", "size": "big"}
	if got, _ := listKeys(t, s, "b", ListOptions{Tags: both}); !slices.Equal(got, redBig) {
		t.Fatalf("color=red&size=big: %v, want %v", got, redBig)
	}
	if got, _ := listKeys(t, s, "b", ListOptions{Tags: both, MaxKeys: 2}); !slices.Equal(got, redBig) {
		t.Fatalf("paged by 2: %v, want %v", got, redBig)
	}
	if got, _ := listKeys(t, s, "b", ListOptions{Tags: map[string]string{"color": "blue"}}); len(got) != 0 {
		t.Fatalf("color=blue: %v", got)
	}
	keys, cps := listKeys(t, s, "b", ListOptions{Tags: red1, Delimiter: "/", MaxKeys: 1})
	if len(cps) != 1 || cps[0] != "dir/" || len(keys) != len(red)-4 {
		t.Fatalf("delimiter: keys %v prefixes %v", keys, cps)
	}
	if keys, _ := listKeys(t, s, "b", ListOptions{Tags: red1, Prefix: "dir/"}); len(keys) != 4 {
		t.Fatalf("prefix dir/: %v", keys)
	}
	if keys, _ := listKeys(t, s, "b", ListOptions{Tags: red1, Marker: red[5]}); !slices.Equal(keys, red[6:]) {
		t.Fatalf("after marker: %v, want %v", keys, red[6:])
	}

	// The index follows the latest version through every kind of change.
	k := red[0]
	expect := func(what string, in bool) {
		t.Helper()
		got, _ := listKeys(t, s, "b", ListOptions{Tags: red1})
		if slices.Contains(got, k) != in {
			t.Fatalf("%s: %s listed = %v, want %v", what, k, !in, in)
		}
	}
	old := mustPut(t, s, "b", k, []byte("v2"), PutOptions{})
	expect("overwritten without tags", false)
	if _, err := s.SetObjectTags(ctx, "b", k, "", red1); err != nil {
		t.Fatal(err)
	}
	expect("tagged", true)
	dm, err := s.DeleteObject(ctx, "b", k, DeleteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	expect("delete marker", false)
	if _, err := s.DeleteObject(ctx, "b", k, DeleteOptions{VersionID: dm.VersionID}); err != nil {
		t.Fatal(err)
	}
	expect("marker removed", true)
	if _, err := s.SetObjectTags(ctx, "b", k, "", nil); err != nil {
		t.Fatal(err)
	}
	expect("tags removed", false)
	if _, err := s.DeleteObject(ctx, "b", k, DeleteOptions{VersionID: old.VersionID}); err != nil {
		t.Fatal(err)
	}
	expect("latest version removed, tagged version behind it", true)

	// Multipart completion carries the upload's tags; odd bytes in tags.
	odd := map[string]string{"a\x00b": "c\x01d"}
	up, err := s.CreateMultipartUpload(ctx, "b", "mp", ObjectMeta{Tags: odd})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.UploadPart(ctx, "b", "mp", up.UploadID, 1, strings.NewReader("x"), 1, PartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CompleteMultipartUpload(ctx, "b", "mp", up.UploadID, []CompletePart{{Number: 1, ETag: p.ETag}}, CompleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := listKeys(t, s, "b", ListOptions{Tags: odd}); !slices.Equal(got, []string{"mp"}) {
		t.Fatalf("completed upload by tag: %v", got)
	}
	if got, _ := listKeys(t, s, "b", ListOptions{Tags: map[string]string{"a": "b\x00c\x01d"}}); len(got) != 0 {
		t.Fatalf("escaping is ambiguous: %v", got)
	}
	checkIndexes(t, s, "b")
}

func due(t *testing.T, s *Store, bucket string, kind DueKind, through time.Time) []DueEntry {
	t.Helper()
	var all []DueEntry
	opts := DueOptions{Kind: kind, Through: through, Max: 2}
	for {
		es, more, err := s.ListDue(context.Background(), bucket, opts)
		if err != nil {
			t.Fatalf("ListDue: %v", err)
		}
		all = append(all, es...)
		if !more {
			return all
		}
		opts.After = es[len(es)-1].Cursor
	}
}

func dueKeys(es []DueEntry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Key+"@"+e.VersionID+e.UploadID)
	}
	return out
}

func TestDueIndexes(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	mustBucket(t, s, "b", VersioningEnabled)
	far := time.Now().Add(time.Hour)
	a1 := mustPut(t, s, "b", "a", []byte("1"), PutOptions{Meta: ObjectMeta{Tags: map[string]string{"t": "1"}}})
	b1 := mustPut(t, s, "b", "b", []byte("22"), PutOptions{ModTime: a1.ModTime.Add(10 * time.Millisecond)})
	cur := due(t, s, "b", DueCurrent, far)
	if len(cur) != 2 || cur[0].Key != "a" || cur[0].Tags["t"] != "1" || cur[1].Size != 2 || cur[0].Time.After(cur[1].Time) {
		t.Fatalf("current: %+v", cur)
	}
	if got := due(t, s, "b", DueCurrent, a1.ModTime.Add(-time.Millisecond)); len(got) != 0 {
		t.Fatalf("current before the first put: %v", dueKeys(got))
	}
	if got := due(t, s, "b", DueCurrent, a1.ModTime); len(got) != 1 || got[0].Key != "a" {
		t.Fatalf("cutoff is inclusive: %v", dueKeys(got))
	}
	a2 := mustPut(t, s, "b", "a", []byte("2"), PutOptions{})
	a3 := mustPut(t, s, "b", "a", []byte("3"), PutOptions{})
	nc := due(t, s, "b", DueNoncurrent, far)
	if want := []string{"a@" + a1.VersionID, "a@" + a2.VersionID}; !slices.Equal(dueKeys(nc), want) {
		t.Fatalf("noncurrent: %v, want %v", dueKeys(nc), want)
	}
	if !nc[0].Time.Equal(a2.ModTime) || !nc[1].Time.Equal(a3.ModTime) || nc[0].NewerNoncurrent != 1 || nc[1].NewerNoncurrent != 0 || nc[0].Tags["t"] != "1" {
		t.Fatalf("noncurrent entries: %+v (a2 %v a3 %v)", nc, a2.ModTime, a3.ModTime)
	}
	// Removing the middle version: a1 is noncurrent since a3.
	if _, err := s.DeleteObject(ctx, "b", "a", DeleteOptions{VersionID: a2.VersionID}); err != nil {
		t.Fatal(err)
	}
	nc = due(t, s, "b", DueNoncurrent, far)
	if len(nc) != 1 || nc[0].VersionID != a1.VersionID || !nc[0].Time.Equal(a3.ModTime) {
		t.Fatalf("after removing the middle version: %+v", nc)
	}
	// A delete marker over b: b leaves the current index, its version is
	// noncurrent, and the marker is not alone.
	dm, err := s.DeleteObject(ctx, "b", "b", DeleteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := dueKeys(due(t, s, "b", DueCurrent, far)); !slices.Equal(got, []string{"a@" + a3.VersionID}) {
		t.Fatalf("current after marker: %v", got)
	}
	if got := due(t, s, "b", DueDeleteMarker, far); len(got) != 0 {
		t.Fatalf("marker with a version behind it is listed: %v", dueKeys(got))
	}
	if _, err := s.DeleteObject(ctx, "b", "b", DeleteOptions{VersionID: b1.VersionID}); err != nil {
		t.Fatal(err)
	}
	if got := due(t, s, "b", DueDeleteMarker, far); len(got) != 1 || got[0].VersionID != dm.VersionID || !got[0].DeleteMarker {
		t.Fatalf("sole marker: %+v", got)
	}
	if _, err := s.DeleteObject(ctx, "b", "b", DeleteOptions{VersionID: dm.VersionID}); err != nil {
		t.Fatal(err)
	}
	if got := due(t, s, "b", DueDeleteMarker, far); len(got) != 0 {
		t.Fatalf("removed marker still listed: %v", dueKeys(got))
	}
	// Uploads, by initiation time.
	u1, _ := s.CreateUpload(ctx, "b", "u", UploadOptions{Initiated: time.Now().Add(-time.Minute)})
	u2, _ := s.CreateUpload(ctx, "b", "u", UploadOptions{})
	if got := dueKeys(due(t, s, "b", DueUpload, far)); !slices.Equal(got, []string{"u@" + u1.UploadID, "u@" + u2.UploadID}) {
		t.Fatalf("uploads: %v", got)
	}
	if got := dueKeys(due(t, s, "b", DueUpload, time.Now().Add(-30*time.Second))); !slices.Equal(got, []string{"u@" + u1.UploadID}) {
		t.Fatalf("old uploads: %v", got)
	}
	if err := s.AbortMultipartUpload(ctx, "b", "u", u1.UploadID); err != nil {
		t.Fatal(err)
	}
	if got := dueKeys(due(t, s, "b", DueUpload, far)); !slices.Equal(got, []string{"u@" + u2.UploadID}) {
		t.Fatalf("after abort: %v", got)
	}
	checkIndexes(t, s, "b")
}

// TestIndexesRandomized applies random writes (versioned, suspended,
// unversioned buckets; pinned out-of-order IDs as replication does) and
// compares every index with one recomputed from the version records.
func TestIndexesRandomized(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	for _, v := range []Versioning{VersioningOff, VersioningEnabled, VersioningSuspended} {
		bucket := "b" + strings.ToLower(string(v))
		mustBucket(t, s, bucket, VersioningOff)
		if v != VersioningOff {
			if err := s.SetBucketVersioning(ctx, bucket, v); err != nil {
				t.Fatal(err)
			}
		}
		for range 300 {
			key := fmt.Sprintf("k%d", r.IntN(6))
			switch op := r.IntN(10); {
			case op < 4:
				tags := map[string]string{"x": fmt.Sprint(r.IntN(2))}
				mustPut(t, s, bucket, key, []byte("d"), PutOptions{Meta: ObjectMeta{Tags: tags}})
			case op < 5: // an older version arriving late
				id := NewVersionID(s.Clock().Now() - uint64(r.IntN(1000))<<16)
				mustPut(t, s, bucket, key, []byte("late"), PutOptions{VersionID: id, Null: r.IntN(2) == 0})
			case op < 7:
				if _, err := s.DeleteObject(ctx, bucket, key, DeleteOptions{}); err != nil {
					t.Fatal(err)
				}
			case op < 8:
				if _, err := s.SetObjectTags(ctx, bucket, key, "", map[string]string{"x": "1", "y": "z"}); err != nil && !isMissing(err) {
					t.Fatal(err)
				}
			default:
				vs, err := s.ListObjectVersions(ctx, bucket, ListVersionsOptions{Prefix: key})
				if err != nil {
					t.Fatal(err)
				}
				if len(vs.Versions) > 0 {
					victim := vs.Versions[r.IntN(len(vs.Versions))]
					if _, err := s.DeleteObject(ctx, bucket, key, DeleteOptions{VersionID: victim.VersionID}); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		checkIndexes(t, s, bucket)
	}
}

func isMissing(err error) bool {
	return err != nil && (errors.Is(err, ErrNoSuchKey) || errors.Is(err, ErrMethodNotAllowed))
}

// checkIndexes recomputes 'L', 'A', 'G', 'E', 'M' and 'O' of bucket from its
// version and tag records and compares them with what is stored.
func checkIndexes(t *testing.T, s *Store, bucket string) {
	t.Helper()
	err := s.db.View(func(txn *badger.Txn) error {
		type ver struct {
			key string
			rec *versionRecord
		}
		var vs []ver // key ascending, newest first
		it := txn.NewIterator(badger.IteratorOptions{Prefix: versionBucketPrefix(bucket), PrefetchValues: true})
		for it.Rewind(); it.Valid(); it.Next() {
			key, _, err := parseVersionKey(it.Item().Key(), versionBucketPrefix(bucket))
			if err != nil {
				return err
			}
			v, _ := it.Item().ValueCopy(nil)
			rec, err := decodeVersion(v)
			if err != nil {
				return err
			}
			vs = append(vs, ver{key, rec})
		}
		it.Close()
		want := map[string]string{}
		for i, v := range vs {
			newest := i == 0 || vs[i-1].key != v.key
			if !newest {
				want[string(ncKey(bucket, v.key, vs[i-1].rec.ModTime, v.rec.order()))] = ""
				continue
			}
			l := v.rec.latest()
			l.Sole = v.rec.DeleteMarker && (i+1 == len(vs) || vs[i+1].key != v.key)
			if err := loadTags(txn, bucket, v.key, v.rec.order(), &l.Tags); err != nil {
				return err
			}
			got, err := getLatest(txn, bucket, v.key)
			if err != nil || got == nil || got.ID != l.ID || got.Sole != l.Sole || !maps.Equal(got.Tags, l.Tags) {
				t.Errorf("%s/%s: latest %+v, want %+v (%v)", bucket, v.key, got, l, err)
			}
			if !l.DeleteMarker { // the live index holds a copy of the 'L' record
				lv, _, err := getValue(txn, latestKey(bucket, v.key))
				if err != nil {
					return err
				}
				want[string(liveKey(bucket, v.key))] = string(lv)
			}
			e, m, g := derived(bucket, v.key, &l)
			for _, k := range [][]byte{e, m} {
				if k != nil {
					want[string(k)] = l.ID
				}
			}
			for k := range g {
				want[k] = ""
			}
		}
		have := map[string]string{}
		for _, pfx := range []byte{pfxTagIdx, pfxCurIdx, pfxDMIdx, pfxNcIdx, pfxLive} {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: mkKey(pfx, bucket, "")})
			for it.Rewind(); it.Valid(); it.Next() {
				v, _ := it.Item().ValueCopy(nil)
				have[string(it.Item().KeyCopy(nil))] = string(v)
			}
			it.Close()
		}
		for k, v := range want {
			if hv, ok := have[k]; !ok || hv != v {
				t.Errorf("%s: index entry %q missing or wrong (%q, want %q)", bucket, k, hv, v)
			}
		}
		for k := range have {
			if _, ok := want[k]; !ok {
				t.Errorf("%s: stray index entry %q", bucket, k)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
