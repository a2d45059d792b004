package store

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

func TestListObjects(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	mustBucket(t, s, "b", VersioningEnabled)
	keys := []string{"a", "dir/x", "dir/y", "dir/sub/z", "dir2", "e--1--f", "e--2", "e-x", "photos/2024/a.jpg",
		"photos/2024/b.jpg", "photos/2025/c.jpg", "z"}
	for _, k := range keys {
		mustPut(t, s, "b", k, []byte(k), PutOptions{})
	}
	mustPut(t, s, "b", "gone/1", []byte("x"), PutOptions{})
	if _, err := s.DeleteObject(ctx, "b", "gone/1", DeleteOptions{}); err != nil { // marker: hidden
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts ListOptions
		want string // objects | prefixes | truncated nextMarker
	}{
		{"all", ListOptions{MaxKeys: 1000}, "[a dir/sub/z dir/x dir/y dir2 e--1--f e--2 e-x photos/2024/a.jpg photos/2024/b.jpg photos/2025/c.jpg z] [] false "},
		{"delim", ListOptions{Delimiter: "/", MaxKeys: 1000}, "[a dir2 e--1--f e--2 e-x z] [dir/ photos/] false "},
		{"prefix-delim", ListOptions{Prefix: "dir/", Delimiter: "/", MaxKeys: 1000}, "[dir/x dir/y] [dir/sub/] false "},
		{"prefix-only", ListOptions{Prefix: "photos/2024/", MaxKeys: 1000}, "[photos/2024/a.jpg photos/2024/b.jpg] [] false "},
		{"nested", ListOptions{Prefix: "photos/", Delimiter: "/", MaxKeys: 1000}, "[] [photos/2024/ photos/2025/] false "},
		{"multichar-delim", ListOptions{Prefix: "e", Delimiter: "--", MaxKeys: 1000}, "[e-x] [e--] false "},
		{"multichar-delim-deeper", ListOptions{Prefix: "e--", Delimiter: "--", MaxKeys: 1000}, "[e--2] [e--1--] false "},
		{"marker", ListOptions{Marker: "dir2", MaxKeys: 1000}, "[e--1--f e--2 e-x photos/2024/a.jpg photos/2024/b.jpg photos/2025/c.jpg z] [] false "},
		{"marker-is-prefix", ListOptions{Marker: "photos/", Delimiter: "/", MaxKeys: 1000}, "[z] [] false "},
		{"truncated", ListOptions{Delimiter: "/", MaxKeys: 3}, "[a dir2] [dir/] true dir2"},
		{"truncated-at-prefix", ListOptions{Delimiter: "/", MaxKeys: 7}, "[a dir2 e--1--f e--2 e-x] [dir/ photos/] true photos/"},
		{"exact-fit", ListOptions{Delimiter: "/", MaxKeys: 8}, "[a dir2 e--1--f e--2 e-x z] [dir/ photos/] false "},
		{"max-zero", ListOptions{MaxKeys: 0}, "[] [] false "},
		{"no-match", ListOptions{Prefix: "q", MaxKeys: 10}, "[] [] false "},
		{"marker-before-prefix", ListOptions{Prefix: "photos/2025", Marker: "a", MaxKeys: 10}, "[photos/2025/c.jpg] [] false "},
		{"marker-after-prefix", ListOptions{Prefix: "dir/", Marker: "e", MaxKeys: 10}, "[] [] false "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := s.ListObjects(ctx, "b", tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var objs []string
			for _, o := range res.Objects {
				objs = append(objs, o.Key)
				if o.Size != int64(len(o.Key)) || o.ETag != md5hex([]byte(o.Key)) || !o.IsLatest {
					t.Errorf("entry %+v", o)
				}
			}
			got := fmt.Sprintf("%v %v %v %s", fmtList(objs), fmtList(res.CommonPrefixes), res.IsTruncated, res.NextMarker)
			if got != tc.want {
				t.Fatalf("\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func fmtList(l []string) string { return fmt.Sprint(append([]string{}, l...)) }

func TestListObjectsPagesCoverAll(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	mustBucket(t, s, "b", VersioningOff)
	var want []string
	for i := 0; i < 30; i++ {
		k := fmt.Sprintf("p%d/k%02d", i%3, i)
		if i%5 == 0 {
			k = fmt.Sprintf("top%02d", i)
		}
		mustPut(t, s, "b", k, nil, PutOptions{})
	}
	full, err := s.ListObjects(ctx, "b", ListOptions{Delimiter: "/", MaxKeys: 1000})
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, full.CommonPrefixes...)
	for _, o := range full.Objects {
		want = append(want, o.Key)
	}
	for page := 1; page <= 4; page++ {
		var got []string
		opts := ListOptions{Delimiter: "/", MaxKeys: page}
		for {
			res, err := s.ListObjects(ctx, "b", opts)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, res.CommonPrefixes...)
			for _, o := range res.Objects {
				got = append(got, o.Key)
			}
			if !res.IsTruncated {
				break
			}
			opts.Marker = res.NextMarker
		}
		if len(got) != len(want) {
			t.Fatalf("page %d: got %v want %v", page, got, want)
		}
	}
}

// TestListingsSeek checks that listings skip whole common prefixes and stop
// at the end of the prefix instead of scanning: few records are visited
// however many keys sit beside the listed ones.
func TestListingsSeek(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	mustBucket(t, s, "b", VersioningEnabled)
	for i := range 100 {
		mustPut(t, s, "b", fmt.Sprintf("big/%03d", i), nil, PutOptions{})
		mustPut(t, s, "b", fmt.Sprintf("zz%03d", i), nil, PutOptions{})
	}
	mustPut(t, s, "b", "c/1", nil, PutOptions{})
	mustPut(t, s, "b", "c/2", nil, PutOptions{})
	for _, tc := range []struct {
		name     string
		list     func() (int, error)
		want     int
		maxSteps int64
	}{
		{"objects-prefix", func() (int, error) {
			r, err := s.ListObjects(ctx, "b", ListOptions{Prefix: "c/", MaxKeys: 100})
			return len(r.Objects), err
		}, 2, 2},
		{"objects-delimiter", func() (int, error) {
			r, err := s.ListObjects(ctx, "b", ListOptions{Delimiter: "/", MaxKeys: 3})
			return len(r.CommonPrefixes) + len(r.Objects), err
		}, 3, 4},
		{"versions-delimiter", func() (int, error) {
			r, err := s.ListObjectVersions(ctx, "b", ListVersionsOptions{Delimiter: "/", MaxKeys: 3})
			return len(r.CommonPrefixes) + len(r.Versions), err
		}, 3, 4},
		{"versions-prefix", func() (int, error) {
			r, err := s.ListObjectVersions(ctx, "b", ListVersionsOptions{Prefix: "c/", MaxKeys: 100})
			return len(r.Versions), err
		}, 2, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := s.listSteps.Load()
			n, err := tc.list()
			if err != nil || n != tc.want {
				t.Fatalf("got %d entries, %v", n, err)
			}
			if steps := s.listSteps.Load() - before; steps > tc.maxSteps {
				t.Fatalf("visited %d records, want at most %d", steps, tc.maxSteps)
			}
		})
	}
}

// TestListCarriesMetadata: listing entries carry the content type and user
// metadata of the latest version, from the 'L' record for records written
// with them, and from the version record for older records (and for
// metadata too large to copy into 'L').
func TestListCarriesMetadata(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	mustBucket(t, s, "b", VersioningEnabled)
	fs := map[string]string{"mode": "0100644", "mtime": "1700000000", "uid": "1000"}
	meta := ObjectMeta{ContentType: "text/x-test", UserMeta: fs, Tags: map[string]string{"t": "1"}}
	mustPut(t, s, "b", "plain", []byte("p"), PutOptions{})
	mustPut(t, s, "b", "withmeta", []byte("m"), PutOptions{Meta: meta})
	mustPut(t, s, "b", "retagged", []byte("r"), PutOptions{Meta: meta})
	if _, err := s.SetObjectTags(ctx, "b", "retagged", "", map[string]string{"t": "2"}); err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, "b", "legacy", []byte("l"), PutOptions{Meta: meta})
	big := ObjectMeta{ContentType: "text/x-big", UserMeta: map[string]string{"big": strings.Repeat("v", maxLatestMeta)}}
	mustPut(t, s, "b", "toolarge", []byte("t"), PutOptions{Meta: big})
	mustPut(t, s, "b", "replaced", []byte("1"), PutOptions{Meta: meta})
	mustPut(t, s, "b", "replaced", []byte("2"), PutOptions{Meta: ObjectMeta{ContentType: "text/x-new"}})
	up, err := s.CreateMultipartUpload(ctx, "b", "multipart", meta)
	if err != nil {
		t.Fatal(err)
	}
	pi, err := s.UploadPart(ctx, "b", "multipart", up.UploadID, 1, strings.NewReader("part"), 4, PartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CompleteMultipartUpload(ctx, "b", "multipart", up.UploadID, []CompletePart{{Number: 1, ETag: pi.ETag}}, CompleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// An 'L' record as written before it carried metadata.
	if err := s.update(context.Background(), false, func(txn *badger.Txn) error {
		l, err := getLatest(txn, "b", "legacy")
		if err != nil {
			return err
		}
		l.ContentType, l.UserMeta, l.HasMeta = "", nil, false
		return setLatest(txn, "b", "legacy", l, *l)
	}); err != nil {
		t.Fatal(err)
	}
	want := map[string]ObjectMeta{
		"plain": {}, "withmeta": meta, "retagged": meta, "legacy": meta, "toolarge": big,
		"replaced": {ContentType: "text/x-new"}, "multipart": meta,
	}
	inL := map[string]bool{"plain": true, "withmeta": true, "retagged": true, "replaced": true, "multipart": true}
	res, err := s.ListObjects(ctx, "b", ListOptions{MaxKeys: 100})
	if err != nil || len(res.Objects) != len(want) {
		t.Fatalf("ListObjects: %d entries, %v", len(res.Objects), err)
	}
	for _, o := range res.Objects {
		w := want[o.Key]
		if o.ContentType != w.ContentType || !maps.Equal(o.UserMeta, w.UserMeta) {
			t.Errorf("%s: listed %q and %d user metadata entries, want %q and %d", o.Key, o.ContentType, len(o.UserMeta), w.ContentType, len(w.UserMeta))
		}
	}
	// Metadata comes from the 'L' record itself, not from a lookup.
	err = s.db.View(func(txn *badger.Txn) error {
		for k := range want {
			l, err := getLatest(txn, "b", k)
			if err != nil {
				return err
			}
			if l.HasMeta != inL[k] || (inL[k] && (l.ContentType != want[k].ContentType || !maps.Equal(l.UserMeta, want[k].UserMeta))) {
				t.Errorf("%s: 'L' record %+v", k, l)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The tag-index walk fills them the same way.
	res, err = s.ListObjects(ctx, "b", ListOptions{MaxKeys: 100, Tags: map[string]string{"t": "1"}})
	if err != nil || len(res.Objects) != 3 {
		t.Fatalf("by tag: %+v, %v", res.Objects, err)
	}
	for _, o := range res.Objects {
		if o.ContentType != meta.ContentType || !maps.Equal(o.UserMeta, fs) {
			t.Errorf("by tag %s: %q %v", o.Key, o.ContentType, o.UserMeta)
		}
	}
}
