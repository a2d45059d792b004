package cluster

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/bucketdb/bucketdb/store"
)

// The conformance suite: object-layer behaviour that a one-node and a
// three-node cluster must show alike. Each case gets a fresh cluster and
// talks to it through one node per step, rotating, so that every step of a
// three-node run goes through a different coordinator.

type conformanceEnv struct {
	t     *testing.T
	tc    *testCluster
	b     string // the case's bucket
	calls int
}

// node returns the coordinator for the next step.
func (e *conformanceEnv) node() *Node {
	e.calls++
	return e.tc.nodes[e.calls%len(e.tc.nodes)]
}

func TestConformance(t *testing.T) {
	cases := []struct {
		name string
		run  func(e *conformanceEnv)
	}{
		{"PutGetOverwrite", confPutGetOverwrite},
		{"RangeAndHead", confRangeAndHead},
		{"Versioning", confVersioning},
		{"SuspendedNullVersion", confSuspended},
		{"UnversionedDelete", confUnversionedDelete},
		{"Multipart", confMultipart},
		{"ListObjectsPagination", confListPagination},
		{"ListVersionsPagination", confListVersionsPagination},
		{"ListUploads", confListUploads},
		{"Conditions", confConditions},
		{"Tags", confTags},
		{"Buckets", confBuckets},
		{"BadInput", confBadInput},
	}
	for _, size := range []int{1, 3} {
		// One cluster per size, one bucket per case; the bucket case gets
		// a cluster of its own (it lists all buckets).
		shared := startCluster(t, size)
		for _, c := range cases {
			t.Run(fmt.Sprintf("%dnode/%s", size, c.name), func(t *testing.T) {
				tc := shared
				if c.name == "Buckets" {
					tc = startCluster(t, size)
				}
				tc.t = t
				e := &conformanceEnv{t: t, tc: tc, b: strings.ToLower(c.name)}
				if err := e.node().CreateBucket(context.Background(), e.b); err != nil {
					t.Fatal(err)
				}
				c.run(e)
			})
		}
	}
}

func md5hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

func confPutGetOverwrite(e *conformanceEnv) {
	t := e.t
	info := put(t, e.node(), e.b, "a/b.txt", "one")
	if info.ETag != md5hex("one") || info.VersionID != store.NullVersionID || info.Size != 3 {
		t.Fatalf("put info %+v", info)
	}
	mustGet(t, e.node(), e.b, "a/b.txt", "one")
	put(t, e.node(), e.b, "a/b.txt", "two!")
	got := mustGet(t, e.node(), e.b, "a/b.txt", "two!")
	if got.ETag != md5hex("two!") || !got.IsLatest {
		t.Fatalf("overwrite info %+v", got)
	}
	// Metadata survives.
	meta := store.ObjectMeta{ContentType: "text/plain", UserMeta: map[string]string{"mode": "0644"}}
	_, err := e.node().PutObject(context.Background(), e.b, "m", strings.NewReader("x"), 1, store.PutOptions{Meta: meta})
	if err != nil {
		t.Fatal(err)
	}
	h, err := e.node().HeadObject(context.Background(), e.b, "m", store.GetOptions{})
	if err != nil || h.ContentType != "text/plain" || h.UserMeta["mode"] != "0644" {
		t.Fatalf("head %+v %v", h, err)
	}
	// An empty object.
	put(t, e.node(), e.b, "empty", "")
	mustGet(t, e.node(), e.b, "empty", "")
}

func confRangeAndHead(e *conformanceEnv) {
	t := e.t
	put(t, e.node(), e.b, "r", "0123456789")
	_, got, err := get(t, e.node(), e.b, "r", store.GetOptions{Range: &store.Range{Start: 2, Length: 3}})
	if err != nil || got != "234" {
		t.Fatalf("range = %q, %v", got, err)
	}
	_, _, err = get(t, e.node(), e.b, "r", store.GetOptions{Range: &store.Range{Start: 20, Length: 3}})
	if !errors.Is(err, store.ErrInvalidRange) {
		t.Fatalf("range past the end: %v", err)
	}
	if _, err := e.node().HeadObject(context.Background(), e.b, "nope", store.GetOptions{}); !errors.Is(err, store.ErrNoSuchKey) {
		t.Fatalf("head missing: %v", err)
	}
	if _, _, err := get(t, e.node(), "nobucket", "r", store.GetOptions{}); !errors.Is(err, store.ErrNoSuchBucket) {
		t.Fatalf("get in missing bucket: %v", err)
	}
}

func confVersioning(e *conformanceEnv) {
	t := e.t
	ctx := context.Background()
	if err := e.node().SetBucketVersioning(ctx, e.b, store.VersioningEnabled); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 3 {
		info := put(t, e.node(), e.b, "k", fmt.Sprint("v", i))
		if info.VersionID == store.NullVersionID || info.VersionID == "" {
			t.Fatalf("versioned put got ID %q", info.VersionID)
		}
		ids = append(ids, info.VersionID)
	}
	for i, id := range ids {
		_, got, err := get(t, e.node(), e.b, "k", store.GetOptions{VersionID: id})
		if err != nil || got != fmt.Sprint("v", i) {
			t.Fatalf("get version %d = %q, %v", i, got, err)
		}
	}
	del, err := e.node().DeleteObject(ctx, e.b, "k", store.DeleteOptions{})
	if err != nil || !del.DeleteMarker || del.VersionID == "" {
		t.Fatalf("delete = %+v, %v", del, err)
	}
	info, _, err := get(t, e.node(), e.b, "k", store.GetOptions{})
	if !errors.Is(err, store.ErrNoSuchKey) || !info.DeleteMarker {
		t.Fatalf("get after delete: %+v %v", info, err)
	}
	if _, err := e.node().HeadObject(ctx, e.b, "k", store.GetOptions{VersionID: del.VersionID}); !errors.Is(err, store.ErrMethodNotAllowed) {
		t.Fatalf("head of the marker: %v", err)
	}
	lv, err := e.node().ListObjectVersions(ctx, e.b, store.ListVersionsOptions{MaxKeys: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, v := range lv.Versions {
		order = append(order, v.VersionID)
	}
	want := []string{del.VersionID, ids[2], ids[1], ids[0]}
	if !slices.Equal(order, want) || !lv.Versions[0].IsLatest || lv.Versions[1].IsLatest || !lv.Versions[0].DeleteMarker {
		t.Fatalf("versions %v, want %v (%+v)", order, want, lv.Versions)
	}
	l, err := e.node().ListObjects(ctx, e.b, store.ListOptions{MaxKeys: 1000})
	if err != nil || len(l.Objects) != 0 {
		t.Fatalf("list after delete: %+v %v", l, err)
	}
	// Removing the marker undeletes.
	if _, err := e.node().DeleteObject(ctx, e.b, "k", store.DeleteOptions{VersionID: del.VersionID}); err != nil {
		t.Fatal(err)
	}
	mustGet(t, e.node(), e.b, "k", "v2")
	// Removing a version for good.
	if _, err := e.node().DeleteObject(ctx, e.b, "k", store.DeleteOptions{VersionID: ids[1]}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := get(t, e.node(), e.b, "k", store.GetOptions{VersionID: ids[1]}); !errors.Is(err, store.ErrNoSuchVersion) {
		t.Fatalf("get removed version: %v", err)
	}
	if _, err := e.node().DeleteObject(ctx, e.b, "k", store.DeleteOptions{VersionID: ids[1]}); !errors.Is(err, store.ErrNoSuchVersion) {
		t.Fatalf("delete removed version again: %v", err)
	}
}

func confSuspended(e *conformanceEnv) {
	t := e.t
	ctx := context.Background()
	put(t, e.node(), e.b, "k", "null-1")
	if err := e.node().SetBucketVersioning(ctx, e.b, store.VersioningEnabled); err != nil {
		t.Fatal(err)
	}
	v := put(t, e.node(), e.b, "k", "versioned")
	if err := e.node().SetBucketVersioning(ctx, e.b, store.VersioningSuspended); err != nil {
		t.Fatal(err)
	}
	n := put(t, e.node(), e.b, "k", "null-2")
	if n.VersionID != store.NullVersionID {
		t.Fatalf("suspended put got %q", n.VersionID)
	}
	lv, err := e.node().ListObjectVersions(ctx, e.b, store.ListVersionsOptions{MaxKeys: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(lv.Versions) != 2 || lv.Versions[0].VersionID != store.NullVersionID || lv.Versions[1].VersionID != v.VersionID {
		t.Fatalf("versions %+v", lv.Versions)
	}
	_, got, err := get(t, e.node(), e.b, "k", store.GetOptions{VersionID: store.NullVersionID})
	if err != nil || got != "null-2" {
		t.Fatalf("null version = %q %v", got, err)
	}
	d, err := e.node().DeleteObject(ctx, e.b, "k", store.DeleteOptions{})
	if err != nil || !d.DeleteMarker || d.VersionID != store.NullVersionID {
		t.Fatalf("suspended delete %+v %v", d, err)
	}
	mustGetVersion(t, e.node(), e.b, "k", v.VersionID, "versioned")
}

func mustGetVersion(t *testing.T, nd *Node, bucket, key, id, want string) {
	t.Helper()
	_, got, err := get(t, nd, bucket, key, store.GetOptions{VersionID: id})
	if err != nil || got != want {
		t.Fatalf("get %s@%s = %q %v, want %q", key, id, got, err, want)
	}
}

func confUnversionedDelete(e *conformanceEnv) {
	t := e.t
	ctx := context.Background()
	put(t, e.node(), e.b, "k", "x")
	d, err := e.node().DeleteObject(ctx, e.b, "k", store.DeleteOptions{})
	if err != nil || d.DeleteMarker {
		t.Fatalf("delete %+v %v", d, err)
	}
	if _, _, err := get(t, e.node(), e.b, "k", store.GetOptions{}); !errors.Is(err, store.ErrNoSuchKey) {
		t.Fatalf("get deleted: %v", err)
	}
	if _, err := e.node().DeleteObject(ctx, e.b, "k", store.DeleteOptions{}); err != nil {
		t.Fatalf("delete missing: %v", err)
	}
	lv, err := e.node().ListObjectVersions(ctx, e.b, store.ListVersionsOptions{MaxKeys: 1000})
	if err != nil || len(lv.Versions) != 0 {
		t.Fatalf("versions %+v %v", lv, err)
	}
}

func confMultipart(e *conformanceEnv) {
	t := e.t
	ctx := context.Background()
	up, err := e.node().CreateMultipartUpload(ctx, e.b, "big", store.ObjectMeta{ContentType: "application/x-big"})
	if err != nil {
		t.Fatal(err)
	}
	p1 := strings.Repeat("a", 150)
	p2 := "tail"
	var parts []store.CompletePart
	for i, body := range []string{p1, p2} {
		pi, err := e.node().UploadPart(ctx, e.b, "big", up.UploadID, i+1, strings.NewReader(body), int64(len(body)), store.PartOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if pi.ETag != md5hex(body) {
			t.Fatalf("part etag %q", pi.ETag)
		}
		parts = append(parts, store.CompletePart{Number: i + 1, ETag: `"` + pi.ETag + `"`})
	}
	lp, err := e.node().ListParts(ctx, e.b, "big", up.UploadID, store.ListPartsOptions{MaxParts: 1})
	if err != nil || len(lp.Parts) != 1 || !lp.IsTruncated || lp.NextPartNumberMarker != 1 {
		t.Fatalf("list parts %+v %v", lp, err)
	}
	lu, err := e.node().ListMultipartUploads(ctx, e.b, store.ListUploadsOptions{MaxUploads: 1000})
	if err != nil || len(lu.Uploads) != 1 || lu.Uploads[0].UploadID != up.UploadID {
		t.Fatalf("list uploads %+v %v", lu, err)
	}
	if _, err := e.node().CompleteMultipartUpload(ctx, e.b, "big", up.UploadID,
		[]store.CompletePart{{Number: 1, ETag: "bogus"}}, store.CompleteOptions{}); !errors.Is(err, store.ErrInvalidPart) {
		t.Fatalf("complete with a bad part: %v", err)
	}
	info, err := e.node().CompleteMultipartUpload(ctx, e.b, "big", up.UploadID, parts, store.CompleteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(info.ETag, "-2") || info.Size != int64(len(p1)+len(p2)) {
		t.Fatalf("completed %+v", info)
	}
	got := mustGet(t, e.node(), e.b, "big", p1+p2)
	if got.ContentType != "application/x-big" || got.ETag != info.ETag {
		t.Fatalf("get completed %+v", got)
	}
	_, part2, err := get(t, e.node(), e.b, "big", store.GetOptions{PartNumber: 2})
	if err != nil || part2 != p2 {
		t.Fatalf("part 2 = %q %v", part2, err)
	}
	lu, err = e.node().ListMultipartUploads(ctx, e.b, store.ListUploadsOptions{MaxUploads: 1000})
	if err != nil || len(lu.Uploads) != 0 {
		t.Fatalf("uploads after complete %+v %v", lu, err)
	}
	// Abort.
	up2, err := e.node().CreateMultipartUpload(ctx, e.b, "gone", store.ObjectMeta{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.node().AbortMultipartUpload(ctx, e.b, "gone", up2.UploadID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.node().UploadPart(ctx, e.b, "gone", up2.UploadID, 1, strings.NewReader("x"), 1, store.PartOptions{}); !errors.Is(err, store.ErrNoSuchUpload) {
		t.Fatalf("part of an aborted upload: %v", err)
	}
	if err := e.node().AbortMultipartUpload(ctx, e.b, "gone", up2.UploadID); !errors.Is(err, store.ErrNoSuchUpload) {
		t.Fatalf("abort twice: %v", err)
	}
}

// keysFixture writes a small tree.
func keysFixture(e *conformanceEnv) []string {
	var keys []string
	for _, d := range []string{"a", "b", "c"} {
		for i := range 4 {
			keys = append(keys, fmt.Sprintf("%s/%d.txt", d, i))
		}
	}
	keys = append(keys, "top1", "top2", "a/sub/deep.txt")
	for _, k := range keys {
		put(e.t, e.node(), e.b, k, k)
	}
	slices.Sort(keys)
	return keys
}

func confListPagination(e *conformanceEnv) {
	t := e.t
	ctx := context.Background()
	keys := keysFixture(e)
	// Without delimiter, every page size yields the same listing.
	for _, max := range []int{1, 2, 5, 1000} {
		var got []string
		marker := ""
		for {
			r, err := e.node().ListObjects(ctx, e.b, store.ListOptions{Marker: marker, MaxKeys: max})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Objects) > max {
				t.Fatalf("page of %d > %d", len(r.Objects), max)
			}
			for _, o := range r.Objects {
				got = append(got, o.Key)
			}
			if !r.IsTruncated {
				break
			}
			marker = r.NextMarker
		}
		if !slices.Equal(got, keys) {
			t.Fatalf("max %d: %v, want %v", max, got, keys)
		}
	}
	// With a delimiter.
	var entries []string
	marker := ""
	for {
		r, err := e.node().ListObjects(ctx, e.b, store.ListOptions{Delimiter: "/", Marker: marker, MaxKeys: 2})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range r.Objects {
			entries = append(entries, o.Key)
		}
		entries = append(entries, r.CommonPrefixes...)
		if !r.IsTruncated {
			break
		}
		marker = r.NextMarker
	}
	slices.Sort(entries)
	if want := []string{"a/", "b/", "c/", "top1", "top2"}; !slices.Equal(entries, want) {
		t.Fatalf("delimited: %v, want %v", entries, want)
	}
	r, err := e.node().ListObjects(ctx, e.b, store.ListOptions{Prefix: "a/", Delimiter: "/", MaxKeys: 1000})
	if err != nil || len(r.Objects) != 4 || !slices.Equal(r.CommonPrefixes, []string{"a/sub/"}) {
		t.Fatalf("prefix a/: %+v %v", r, err)
	}
}

func confListVersionsPagination(e *conformanceEnv) {
	t := e.t
	ctx := context.Background()
	if err := e.node().SetBucketVersioning(ctx, e.b, store.VersioningEnabled); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, k := range []string{"x", "y", "z"} {
		var ids []string
		for i := range 3 {
			ids = append(ids, put(t, e.node(), e.b, k, fmt.Sprint(k, i)).VersionID)
		}
		for i := len(ids) - 1; i >= 0; i-- {
			want = append(want, k+"@"+ids[i])
		}
	}
	for _, max := range []int{1, 2, 4, 1000} {
		var got []string
		km, vm := "", ""
		for {
			r, err := e.node().ListObjectVersions(ctx, e.b, store.ListVersionsOptions{KeyMarker: km, VersionIDMarker: vm, MaxKeys: max})
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range r.Versions {
				got = append(got, v.Key+"@"+v.VersionID)
			}
			if !r.IsTruncated {
				break
			}
			km, vm = r.NextKeyMarker, r.NextVersionIDMarker
		}
		if !slices.Equal(got, want) {
			t.Fatalf("max %d: %v\nwant %v", max, got, want)
		}
	}
}

func confListUploads(e *conformanceEnv) {
	t := e.t
	ctx := context.Background()
	var want []string
	for _, k := range []string{"u/1", "u/2", "v"} {
		up, err := e.node().CreateMultipartUpload(ctx, e.b, k, store.ObjectMeta{})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, k+"@"+up.UploadID)
	}
	var got []string
	km, um := "", ""
	for {
		r, err := e.node().ListMultipartUploads(ctx, e.b, store.ListUploadsOptions{KeyMarker: km, UploadIDMarker: um, MaxUploads: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range r.Uploads {
			got = append(got, u.Key+"@"+u.UploadID)
		}
		if !r.IsTruncated {
			break
		}
		km, um = r.NextKeyMarker, r.NextUploadIDMarker
	}
	if !slices.Equal(got, want) {
		t.Fatalf("uploads %v, want %v", got, want)
	}
	r, err := e.node().ListMultipartUploads(ctx, e.b, store.ListUploadsOptions{Delimiter: "/", MaxUploads: 1000})
	if err != nil || !slices.Equal(r.CommonPrefixes, []string{"u/"}) || len(r.Uploads) != 1 {
		t.Fatalf("delimited uploads %+v %v", r, err)
	}
}

func confConditions(e *conformanceEnv) {
	t := e.t
	ctx := context.Background()
	putC := func(key, body string, c store.Conditions) error {
		_, err := e.node().PutObject(ctx, e.b, key, strings.NewReader(body), int64(len(body)), store.PutOptions{Cond: c})
		return err
	}
	if err := putC("c", "1", store.Conditions{IfNoneMatch: "*"}); err != nil {
		t.Fatalf("create-only on a new key: %v", err)
	}
	if err := putC("c", "2", store.Conditions{IfNoneMatch: "*"}); !errors.Is(err, store.ErrPreconditionFailed) {
		t.Fatalf("create-only on an existing key: %v", err)
	}
	if err := putC("c", "3", store.Conditions{IfMatch: md5hex("nope")}); !errors.Is(err, store.ErrPreconditionFailed) {
		t.Fatalf("if-match mismatch: %v", err)
	}
	if err := putC("c", "4", store.Conditions{IfMatch: `"` + md5hex("1") + `"`}); err != nil {
		t.Fatalf("if-match: %v", err)
	}
	mustGet(t, e.node(), e.b, "c", "4")
	if err := putC("new", "x", store.Conditions{IfMatch: md5hex("x")}); !errors.Is(err, store.ErrPreconditionFailed) && !errors.Is(err, store.ErrNoSuchKey) {
		t.Fatalf("if-match on a missing key: %v", err)
	}
	// Content-MD5.
	sum := md5.Sum([]byte("other"))
	_, err := e.node().PutObject(ctx, e.b, "md5", strings.NewReader("body"), 4, store.PutOptions{ContentMD5: sum[:]})
	if !errors.Is(err, store.ErrBadDigest) {
		t.Fatalf("bad Content-MD5: %v", err)
	}
	if _, err := e.node().HeadObject(ctx, e.b, "md5", store.GetOptions{}); !errors.Is(err, store.ErrNoSuchKey) {
		t.Fatalf("refused write is visible: %v", err)
	}
	// Short body.
	_, err = e.node().PutObject(ctx, e.b, "short", strings.NewReader("abc"), 10, store.PutOptions{})
	if !errors.Is(err, store.ErrIncompleteBody) {
		t.Fatalf("short body: %v", err)
	}
	// Trailer checksums.
	_, err = e.node().PutObject(ctx, e.b, "trail", strings.NewReader("abc"), 3, store.PutOptions{
		ChecksumsFunc: func() map[string]string { return map[string]string{"crc32": "NSRBwg=="} }})
	if err != nil {
		t.Fatal(err)
	}
	h, err := e.node().HeadObject(ctx, e.b, "trail", store.GetOptions{})
	if err != nil || h.Checksums["crc32"] != "NSRBwg==" {
		t.Fatalf("trailer checksum: %+v %v", h.Checksums, err)
	}
}

func confTags(e *conformanceEnv) {
	t := e.t
	ctx := context.Background()
	put(t, e.node(), e.b, "t", "x")
	if _, err := e.node().SetObjectTags(ctx, e.b, "t", "", map[string]string{"a": "1"}); err != nil {
		t.Fatal(err)
	}
	h, err := e.node().HeadObject(ctx, e.b, "t", store.GetOptions{})
	if err != nil || h.Tags["a"] != "1" {
		t.Fatalf("tags %+v %v", h.Tags, err)
	}
	if _, err := e.node().SetObjectTags(ctx, e.b, "t", "", nil); err != nil {
		t.Fatal(err)
	}
	h, _ = e.node().HeadObject(ctx, e.b, "t", store.GetOptions{})
	if len(h.Tags) != 0 {
		t.Fatalf("tags after removal %+v", h.Tags)
	}
	if _, err := e.node().SetObjectTags(ctx, e.b, "none", "", map[string]string{"a": "1"}); !errors.Is(err, store.ErrNoSuchKey) {
		t.Fatalf("tag a missing key: %v", err)
	}
}

func confBuckets(e *conformanceEnv) {
	t := e.t
	ctx := context.Background()
	if err := e.node().CreateBucket(ctx, e.b); !errors.Is(err, store.ErrBucketExists) {
		t.Fatalf("create twice: %v", err)
	}
	if err := e.node().CreateBucket(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	bs, err := e.node().ListBuckets(ctx)
	if err != nil || len(bs) != 2 || bs[0].Name != e.b || bs[1].Name != "other" {
		t.Fatalf("buckets %+v %v", bs, err)
	}
	put(t, e.node(), e.b, "k", "x")
	if err := e.node().DeleteBucket(ctx, e.b); !errors.Is(err, store.ErrBucketNotEmpty) {
		t.Fatalf("delete non-empty: %v", err)
	}
	if err := e.node().DeleteBucket(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.node().GetBucket(ctx, "other"); !errors.Is(err, store.ErrNoSuchBucket) {
		t.Fatalf("get deleted bucket: %v", err)
	}
	if err := e.node().DeleteBucket(ctx, "other"); !errors.Is(err, store.ErrNoSuchBucket) {
		t.Fatalf("delete twice: %v", err)
	}
	// Configuration documents.
	if _, err := e.node().GetBucketConfig(ctx, e.b, "policy"); !errors.Is(err, store.ErrNoSuchConfig) {
		t.Fatalf("missing config: %v", err)
	}
	if err := e.node().PutBucketConfig(ctx, e.b, "policy", []byte(`{"v":1}`)); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		doc, err := e.node().GetBucketConfig(ctx, e.b, "policy")
		if err != nil || !bytes.Equal(doc, []byte(`{"v":1}`)) {
			t.Fatalf("config %q %v", doc, err)
		}
	}
	if err := e.node().DeleteBucketConfig(ctx, e.b, "policy"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.node().GetBucketConfig(ctx, e.b, "policy"); !errors.Is(err, store.ErrNoSuchConfig) {
		t.Fatalf("deleted config: %v", err)
	}
	if err := e.node().SetBucketVersioning(ctx, "nobucket", store.VersioningEnabled); !errors.Is(err, store.ErrNoSuchBucket) {
		t.Fatalf("versioning of a missing bucket: %v", err)
	}
}

func confBadInput(e *conformanceEnv) {
	t := e.t
	ctx := context.Background()
	if _, err := e.node().PutObject(ctx, "nobucket", "k", strings.NewReader("x"), 1, store.PutOptions{}); !errors.Is(err, store.ErrNoSuchBucket) {
		t.Fatalf("put in a missing bucket: %v", err)
	}
	if _, err := e.node().PutObject(ctx, e.b, "", strings.NewReader("x"), 1, store.PutOptions{}); err == nil {
		t.Fatal("empty key accepted")
	}
	if _, err := e.node().DeleteObject(ctx, e.b, "k", store.DeleteOptions{VersionID: "garbage"}); !errors.Is(err, store.ErrNoSuchVersion) {
		t.Fatalf("delete a malformed version: %v", err)
	}
	if _, err := e.node().UploadPart(ctx, e.b, "k", "nosuchupload", 1, strings.NewReader("x"), 1, store.PartOptions{}); !errors.Is(err, store.ErrNoSuchUpload) {
		t.Fatalf("part of a missing upload: %v", err)
	}
	_, _ = io.Discard.Write(nil)
}
