package integration

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/minio/minio-go/v7"
)

// versionEntry is one Version or DeleteMarker of ListObjectVersions.
type versionEntry struct {
	XMLName      xml.Name
	Key          string
	VersionID    string `xml:"VersionId"`
	IsLatest     bool
	ETag         string
	Size         int64
	LastModified string
}

func (e versionEntry) marker() bool { return e.XMLName.Local == "DeleteMarker" }

// versionsResult is ListVersionsResult, entries kept in document order.
type versionsResult struct {
	Name                string
	Prefix              string
	KeyMarker           string
	VersionIDMarker     string `xml:"VersionIdMarker"`
	NextKeyMarker       string
	NextVersionIDMarker string `xml:"NextVersionIdMarker"`
	Delimiter           string
	EncodingType        string
	MaxKeys             int
	IsTruncated         bool
	CommonPrefixes      []struct{ Prefix string }
	Entries             []versionEntry `xml:",any"`
}

func listVersionsPage(t testing.TB, tg *target, bucket string, params url.Values) versionsResult {
	t.Helper()
	p := q("versions", "")
	for k, v := range params {
		p[k] = v
	}
	r := tg.do(t, rawReq{method: http.MethodGet, path: "/" + bucket, query: p})
	r.wantStatus(t, http.StatusOK)
	var res versionsResult
	if err := xml.Unmarshal(r.Body, &res); err != nil {
		t.Fatalf("ListVersionsResult: %v\n%s", err, r.Body)
	}
	for _, e := range res.Entries {
		if n := e.XMLName.Local; n != "Version" && n != "DeleteMarker" {
			t.Fatalf("unexpected element %s in ListVersionsResult", n)
		}
	}
	return res
}

// listVersionsAll pages through ListObjectVersions with max-keys per page.
func listVersionsAll(t testing.TB, tg *target, bucket, prefix, delimiter string, maxKeys int) ([]versionEntry, []string) {
	t.Helper()
	var entries []versionEntry
	var prefixes []string
	km, vm := "", ""
	for page := 0; ; page++ {
		if page > 10000 {
			t.Fatalf("version listing does not end")
		}
		p := q("prefix", prefix, "delimiter", delimiter, "max-keys", strconv.Itoa(maxKeys))
		if km != "" {
			p.Set("key-marker", km)
			if vm != "" {
				p.Set("version-id-marker", vm)
			}
		}
		r := listVersionsPage(t, tg, bucket, p)
		n := len(r.Entries) + len(r.CommonPrefixes)
		if n > maxKeys {
			t.Fatalf("page %d: %d entries for max-keys %d", page, n, maxKeys)
		}
		if r.KeyMarker != km || r.VersionIDMarker != vm {
			t.Fatalf("page %d: echoed KeyMarker %q VersionIdMarker %q, sent %q %q", page, r.KeyMarker, r.VersionIDMarker, km, vm)
		}
		entries = append(entries, r.Entries...)
		for _, cp := range r.CommonPrefixes {
			prefixes = append(prefixes, cp.Prefix)
		}
		if !r.IsTruncated {
			return entries, prefixes
		}
		if r.NextKeyMarker == "" || n == 0 {
			t.Fatalf("page %d: truncated with NextKeyMarker %q and %d entries", page, r.NextKeyMarker, n)
		}
		km, vm = r.NextKeyMarker, r.NextVersionIDMarker
	}
}

func versionIDs(es []versionEntry) []string {
	var out []string
	for _, e := range es {
		id := e.VersionID
		if e.marker() {
			id = "marker:" + id
		}
		if e.IsLatest {
			id += "(latest)"
		}
		out = append(out, id)
	}
	return out
}

func getVersioning(t testing.TB, tg *target, b string) string {
	t.Helper()
	cfg, err := tg.c.GetBucketVersioning(ctxT(t), b)
	if err != nil {
		t.Fatalf("GetBucketVersioning: %v", err)
	}
	return cfg.Status
}

func testVersioning(t *testing.T, tg *target) {
	ctx := ctxT(t)
	c := tg.c
	b := newBucket(t, c)
	if s := getVersioning(t, tg, b); s != "" {
		t.Errorf("new bucket versioning %q, want unversioned", s)
	}
	if err := c.EnableVersioning(ctx, b); err != nil {
		t.Fatalf("EnableVersioning: %v", err)
	}
	if s := getVersioning(t, tg, b); s != "Enabled" {
		t.Fatalf("versioning %q, want Enabled", s)
	}

	const key = "doc ü.txt"
	path := "/" + b + "/" + key
	var ids []string
	var bodies [][]byte
	for i := range 4 { // the first write and three overwrites
		body := []byte(fmt.Sprintf("version %d %s", i, randomName(8)))
		if i == 2 {
			body = randomBytes(150 << 10) // one version in a data file
		}
		info := putBytes(t, c, b, key, body, minio.PutObjectOptions{})
		if info.VersionID == "" || info.VersionID == "null" {
			t.Fatalf("PUT %d: version ID %q", i, info.VersionID)
		}
		for _, id := range ids {
			if id == info.VersionID {
				t.Fatalf("PUT %d: version ID %q reused", i, id)
			}
		}
		ids = append(ids, info.VersionID)
		bodies = append(bodies, body)
	}
	r := tg.do(t, rawReq{method: http.MethodHead, path: path})
	if r.Header.Get("X-Amz-Version-Id") != ids[3] {
		t.Errorf("HEAD latest: x-amz-version-id %q, want %q", r.Header.Get("X-Amz-Version-Id"), ids[3])
	}

	es, _ := listVersionsAll(t, tg, b, "", "", 1000)
	want := []string{ids[3] + "(latest)", ids[2], ids[1], ids[0]}
	if strings.Join(versionIDs(es), " ") != strings.Join(want, " ") {
		t.Fatalf("versions %v, want %v (newest first)", versionIDs(es), want)
	}
	for i, e := range es {
		j := 3 - i
		if e.Key != key || trimETag(e.ETag) != md5hex(bodies[j]) || e.Size != int64(len(bodies[j])) {
			t.Errorf("version entry %d: %+v", i, e)
		}
	}
	for i, id := range ids {
		got := mustGet(t, c, b, key, minio.GetObjectOptions{VersionID: id})
		if !bytes.Equal(got, bodies[i]) {
			t.Errorf("GET versionId %s: wrong body", id)
		}
		r := tg.do(t, rawReq{method: http.MethodHead, path: path, query: q("versionId", id)})
		r.wantStatus(t, http.StatusOK)
		if r.Header.Get("X-Amz-Version-Id") != id || r.Header.Get("Etag") != `"`+md5hex(bodies[i])+`"` {
			t.Errorf("HEAD versionId %s: version %q etag %q", id, r.Header.Get("X-Amz-Version-Id"), r.Header.Get("Etag"))
		}
	}

	// DELETE without a version ID writes a delete marker.
	r = tg.do(t, rawReq{method: http.MethodDelete, path: path})
	r.wantStatus(t, http.StatusNoContent)
	markerID := r.Header.Get("X-Amz-Version-Id")
	if r.Header.Get("X-Amz-Delete-Marker") != "true" || markerID == "" || markerID == "null" {
		t.Fatalf("DELETE: x-amz-delete-marker %q, version %q", r.Header.Get("X-Amz-Delete-Marker"), markerID)
	}
	r = tg.do(t, rawReq{method: http.MethodGet, path: path})
	r.wantError(t, http.StatusNotFound, "NoSuchKey")
	if r.Header.Get("X-Amz-Delete-Marker") != "true" {
		t.Errorf("GET of a deleted key: x-amz-delete-marker %q, want true", r.Header.Get("X-Amz-Delete-Marker"))
	}
	r = tg.do(t, rawReq{method: http.MethodHead, path: path})
	if r.Status != http.StatusNotFound || r.Header.Get("X-Amz-Delete-Marker") != "true" {
		t.Errorf("HEAD of a deleted key: %d, x-amz-delete-marker %q", r.Status, r.Header.Get("X-Amz-Delete-Marker"))
	}
	// The delete marker itself: GET/HEAD by version ID is 405.
	r = tg.do(t, rawReq{method: http.MethodGet, path: path, query: q("versionId", markerID)})
	r.wantError(t, http.StatusMethodNotAllowed, "MethodNotAllowed")
	if r.Header.Get("X-Amz-Delete-Marker") != "true" {
		t.Errorf("GET of the delete marker: x-amz-delete-marker %q", r.Header.Get("X-Amz-Delete-Marker"))
	}
	r = tg.do(t, rawReq{method: http.MethodHead, path: path, query: q("versionId", markerID)})
	r.wantStatus(t, http.StatusMethodNotAllowed)
	// Old versions stay readable.
	if got := mustGet(t, c, b, key, minio.GetObjectOptions{VersionID: ids[1]}); !bytes.Equal(got, bodies[1]) {
		t.Errorf("old version after delete: wrong body")
	}
	es, _ = listVersionsAll(t, tg, b, "", "", 1000)
	want = []string{"marker:" + markerID + "(latest)", ids[3], ids[2], ids[1], ids[0]}
	if strings.Join(versionIDs(es), " ") != strings.Join(want, " ") {
		t.Fatalf("versions after delete %v, want %v", versionIDs(es), want)
	}
	if objs := listAll(t, c, b, minio.ListObjectsOptions{Recursive: true}); len(objs) != 0 {
		t.Errorf("ListObjects shows a deleted key: %v", objs)
	}

	// Removing the delete marker restores the key.
	r = tg.do(t, rawReq{method: http.MethodDelete, path: path, query: q("versionId", markerID)})
	r.wantStatus(t, http.StatusNoContent)
	if r.Header.Get("X-Amz-Delete-Marker") != "true" || r.Header.Get("X-Amz-Version-Id") != markerID {
		t.Errorf("DELETE of the marker: x-amz-delete-marker %q version %q", r.Header.Get("X-Amz-Delete-Marker"), r.Header.Get("X-Amz-Version-Id"))
	}
	if got := mustGet(t, c, b, key, minio.GetObjectOptions{}); !bytes.Equal(got, bodies[3]) {
		t.Errorf("after removing the delete marker: wrong body")
	}

	// DELETE of a specific version is permanent.
	r = tg.do(t, rawReq{method: http.MethodDelete, path: path, query: q("versionId", ids[1])})
	r.wantStatus(t, http.StatusNoContent)
	if r.Header.Get("X-Amz-Version-Id") != ids[1] || r.Header.Get("X-Amz-Delete-Marker") == "true" {
		t.Errorf("DELETE version: version %q marker %q", r.Header.Get("X-Amz-Version-Id"), r.Header.Get("X-Amz-Delete-Marker"))
	}
	r = tg.do(t, rawReq{method: http.MethodGet, path: path, query: q("versionId", ids[1])})
	r.wantError(t, http.StatusNotFound, "NoSuchVersion")
	es, _ = listVersionsAll(t, tg, b, "", "", 1000)
	want = []string{ids[3] + "(latest)", ids[2], ids[0]}
	if strings.Join(versionIDs(es), " ") != strings.Join(want, " ") {
		t.Fatalf("versions after deleting one %v, want %v", versionIDs(es), want)
	}
	// Deleting the latest version makes the previous one latest.
	r = tg.do(t, rawReq{method: http.MethodDelete, path: path, query: q("versionId", ids[3])})
	r.wantStatus(t, http.StatusNoContent)
	if got := mustGet(t, c, b, key, minio.GetObjectOptions{}); !bytes.Equal(got, bodies[2]) {
		t.Errorf("after deleting the latest version: not the previous body")
	}

	// CopyObject from an old version makes a new version.
	info, err := c.CopyObject(ctx, minio.CopyDestOptions{Bucket: b, Object: key},
		minio.CopySrcOptions{Bucket: b, Object: key, VersionID: ids[0]})
	if err != nil {
		t.Fatalf("CopyObject from version: %v", err)
	}
	if info.VersionID == "" || info.VersionID == ids[0] || info.VersionID == ids[2] {
		t.Errorf("copy created version %q", info.VersionID)
	}
	if got := mustGet(t, c, b, key, minio.GetObjectOptions{}); !bytes.Equal(got, bodies[0]) {
		t.Errorf("copy of version 0 is not version 0's body")
	}
	r = tg.do(t, rawReq{method: http.MethodPut, path: "/" + b + "/copy2", header: hdr(
		"x-amz-copy-source", "/"+b+"/"+s3Escape(key)+"?versionId="+ids[2])})
	r.wantStatus(t, http.StatusOK)
	if r.Header.Get("X-Amz-Copy-Source-Version-Id") != ids[2] || r.Header.Get("X-Amz-Version-Id") == "" {
		t.Errorf("copy response: x-amz-copy-source-version-id %q, x-amz-version-id %q",
			r.Header.Get("X-Amz-Copy-Source-Version-Id"), r.Header.Get("X-Amz-Version-Id"))
	}

	// Unknown version.
	r = tg.do(t, rawReq{method: http.MethodGet, path: "/" + b + "/never-written", query: q("versionId", ids[0])})
	if r.Status != http.StatusNotFound {
		t.Errorf("GET of a version of another key: %d", r.Status)
	}

	// encoding-type=url in the version listing.
	vr := listVersionsPage(t, tg, b, q("encoding-type", "url", "prefix", "doc "))
	if vr.EncodingType != "url" || len(vr.Entries) == 0 || vr.Entries[0].Key == key {
		t.Errorf("versions with encoding-type=url: EncodingType %q, first key %v", vr.EncodingType, vr.Entries)
	} else if k, err := url.QueryUnescape(vr.Entries[0].Key); err != nil || k != key {
		t.Errorf("encoded version key %q decodes to %q", vr.Entries[0].Key, k)
	}
}

func testVersioningSuspended(t *testing.T, tg *target) {
	ctx := ctxT(t)
	c := tg.c
	b := newBucket(t, c)
	// Unversioned writes become the null version.
	info := putBytes(t, c, b, "k", []byte("u0"), minio.PutObjectOptions{})
	if info.VersionID != "" && info.VersionID != "null" {
		t.Errorf("unversioned PUT returned version %q", info.VersionID)
	}
	if got := mustGet(t, c, b, "k", minio.GetObjectOptions{VersionID: "null"}); string(got) != "u0" {
		t.Errorf("GET versionId=null in an unversioned bucket: %q", got)
	}
	if err := c.EnableVersioning(ctx, b); err != nil {
		t.Fatal(err)
	}
	e1 := putBytes(t, c, b, "k", []byte("e1"), minio.PutObjectOptions{}).VersionID
	es, _ := listVersionsAll(t, tg, b, "", "", 1000)
	if want := e1 + "(latest) null"; strings.Join(versionIDs(es), " ") != want {
		t.Fatalf("versions %v, want %s", versionIDs(es), want)
	}
	if err := c.SuspendVersioning(ctx, b); err != nil {
		t.Fatalf("SuspendVersioning: %v", err)
	}
	if s := getVersioning(t, tg, b); s != "Suspended" {
		t.Fatalf("versioning %q, want Suspended", s)
	}
	// Writes replace the null version.
	for _, body := range []string{"s1", "s2"} {
		r := tg.do(t, rawReq{method: http.MethodPut, path: "/" + b + "/k", body: []byte(body)})
		r.wantStatus(t, http.StatusOK)
		if v := r.Header.Get("X-Amz-Version-Id"); v != "null" {
			t.Errorf("suspended PUT: x-amz-version-id %q, want null", v)
		}
	}
	es, _ = listVersionsAll(t, tg, b, "", "", 1000)
	if want := "null(latest) " + e1; strings.Join(versionIDs(es), " ") != want {
		t.Fatalf("suspended versions %v, want %s", versionIDs(es), want)
	}
	if got := mustGet(t, c, b, "k", minio.GetObjectOptions{VersionID: "null"}); string(got) != "s2" {
		t.Errorf("null version %q, want s2", got)
	}
	if got := mustGet(t, c, b, "k", minio.GetObjectOptions{VersionID: e1}); string(got) != "e1" {
		t.Errorf("version %s: %q, want e1", e1, got)
	}
	// A delete while suspended is a null delete marker replacing the null version.
	r := tg.do(t, rawReq{method: http.MethodDelete, path: "/" + b + "/k"})
	r.wantStatus(t, http.StatusNoContent)
	if r.Header.Get("X-Amz-Delete-Marker") != "true" || r.Header.Get("X-Amz-Version-Id") != "null" {
		t.Errorf("suspended DELETE: marker %q version %q", r.Header.Get("X-Amz-Delete-Marker"), r.Header.Get("X-Amz-Version-Id"))
	}
	es, _ = listVersionsAll(t, tg, b, "", "", 1000)
	if want := "marker:null(latest) " + e1; strings.Join(versionIDs(es), " ") != want {
		t.Fatalf("after suspended delete %v, want %s", versionIDs(es), want)
	}
	r = tg.do(t, rawReq{method: http.MethodGet, path: "/" + b + "/k"})
	r.wantError(t, http.StatusNotFound, "NoSuchKey")
	// Re-enabled: new versions again, the null marker stays.
	if err := c.EnableVersioning(ctx, b); err != nil {
		t.Fatal(err)
	}
	e2 := putBytes(t, c, b, "k", []byte("e2"), minio.PutObjectOptions{}).VersionID
	es, _ = listVersionsAll(t, tg, b, "", "", 1000)
	if want := e2 + "(latest) marker:null " + e1; strings.Join(versionIDs(es), " ") != want {
		t.Fatalf("re-enabled versions %v, want %s", versionIDs(es), want)
	}
	// Versioning cannot go back to unversioned: an empty status is refused
	// or ignored, never "off".
	r = tg.do(t, rawReq{method: http.MethodPut, path: "/" + b, query: q("versioning", ""),
		body: []byte(`<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></VersioningConfiguration>`)})
	if s := getVersioning(t, tg, b); s != "Enabled" {
		t.Errorf("after an empty versioning configuration (status %d): %q, want Enabled", r.Status, s)
	}
}

func testVersionsBatchDelete(t *testing.T, tg *target) {
	ctx := ctxT(t)
	c := tg.c
	b := newBucket(t, c)
	if err := c.EnableVersioning(ctx, b); err != nil {
		t.Fatal(err)
	}
	ids := map[string][]string{}
	for _, k := range []string{"a", "b", "c"} {
		for i := range 2 {
			ids[k] = append(ids[k], putBytes(t, c, b, k, []byte(fmt.Sprintf("%s%d", k, i)), minio.PutObjectOptions{}).VersionID)
		}
	}
	ch := make(chan minio.ObjectInfo, 4)
	ch <- minio.ObjectInfo{Key: "a", VersionID: ids["a"][0]}
	ch <- minio.ObjectInfo{Key: "b"}
	ch <- minio.ObjectInfo{Key: "c", VersionID: ids["c"][1]}
	close(ch)
	results := map[string]minio.RemoveObjectResult{}
	for res := range c.RemoveObjectsWithResult(ctx, b, ch, minio.RemoveObjectsOptions{}) {
		if res.Err != nil {
			t.Errorf("batch delete %s: %v", res.ObjectName, res.Err)
		}
		results[res.ObjectName] = res
	}
	if r := results["a"]; r.ObjectVersionID != ids["a"][0] || r.DeleteMarker {
		t.Errorf("a: %+v", r)
	}
	bm := results["b"]
	if !bm.DeleteMarker || bm.DeleteMarkerVersionID == "" {
		t.Errorf("b (no version): %+v, want DeleteMarker with DeleteMarkerVersionId", bm)
	}
	if r := results["c"]; r.ObjectVersionID != ids["c"][1] || r.DeleteMarker {
		t.Errorf("c: %+v", r)
	}
	es, _ := listVersionsAll(t, tg, b, "", "", 1000)
	want := []string{
		ids["a"][1] + "(latest)",
		"marker:" + bm.DeleteMarkerVersionID + "(latest)", ids["b"][1], ids["b"][0],
		ids["c"][0] + "(latest)",
	}
	if strings.Join(versionIDs(es), " ") != strings.Join(want, " ") {
		t.Errorf("versions %v, want %v", versionIDs(es), want)
	}
	// Removing the marker through a raw batch delete reports it as a marker.
	doc := fmt.Sprintf(`<Delete><Object><Key>b</Key><VersionId>%s</VersionId></Object><Object><Key>a</Key></Object></Delete>`, bm.DeleteMarkerVersionID)
	r := tg.do(t, rawReq{method: http.MethodPost, path: "/" + b, query: q("delete", ""), body: []byte(doc), header: hdr("Content-MD5", md5b64([]byte(doc)))})
	r.wantStatus(t, http.StatusOK)
	res := parseDeleteResult(t, r.Body)
	if len(res.Deleted) != 2 || len(res.Errors) != 0 {
		t.Fatalf("batch result: %s", r.Body)
	}
	for _, d := range res.Deleted {
		switch d.Key {
		case "b":
			if d.VersionID != bm.DeleteMarkerVersionID || !d.DeleteMarker || d.DeleteMarkerVersionID != bm.DeleteMarkerVersionID {
				t.Errorf("removing the marker of b: %+v", d)
			}
		case "a":
			if !d.DeleteMarker || d.DeleteMarkerVersionID == "" {
				t.Errorf("delete of a without version: %+v, want a new delete marker", d)
			}
		}
	}
	if got := mustGet(t, c, b, "b", minio.GetObjectOptions{}); string(got) != "b1" {
		t.Errorf("b after removing its marker: %q", got)
	}
	_, err := getBytes(ctx, c, b, "a", minio.GetObjectOptions{})
	wantCode(t, err, "NoSuchKey")
}

// testListVersionsPaging writes 2,600 versions of 260 keys (16 writers) plus
// delete markers, and pages through ListObjectVersions.
func testListVersionsPaging(t *testing.T, tg *target) {
	ctx := ctxT(t)
	c := tg.c
	b := newBucket(t, c)
	if err := c.EnableVersioning(ctx, b); err != nil {
		t.Fatal(err)
	}
	const keys, perKey = 260, 10
	name := func(i int) string { return fmt.Sprintf("d%d/key-%03d", i%4, i) }
	var mu sync.Mutex
	written := map[string][]string{} // key -> version IDs (and markers) oldest first
	err := parallel(keys, 16, func(i int) error {
		k := name(i)
		var vs []string
		for j := range perKey {
			body := fmt.Sprintf("%s v%d", k, j)
			info, err := c.PutObject(ctx, b, k, strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{})
			if err != nil {
				return err
			}
			vs = append(vs, info.VersionID)
		}
		if i%10 == 0 {
			r := tg.do(t, rawReq{method: http.MethodDelete, path: "/" + b + "/" + k})
			if r.Status != http.StatusNoContent {
				return fmt.Errorf("DELETE %s: %d", k, r.Status)
			}
			vs = append(vs, "marker:"+r.Header.Get("X-Amz-Version-Id"))
		}
		mu.Lock()
		written[k] = vs
		mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatalf("writing versions: %v", err)
	}
	total := keys*perKey + keys/10

	check := func(t *testing.T, es []versionEntry, onlyPrefix string) {
		byKey := map[string][]versionEntry{}
		var order []string
		for i, e := range es {
			if i > 0 && es[i-1].Key > e.Key {
				t.Fatalf("keys out of order: %q after %q", e.Key, es[i-1].Key)
			}
			if len(byKey[e.Key]) == 0 {
				order = append(order, e.Key)
			} else if order[len(order)-1] != e.Key {
				t.Fatalf("versions of %q not contiguous", e.Key)
			}
			byKey[e.Key] = append(byKey[e.Key], e)
		}
		n := 0
		for k, vs := range written {
			if !strings.HasPrefix(k, onlyPrefix) {
				continue
			}
			n++
			got := byKey[k]
			if len(got) != len(vs) {
				t.Fatalf("%s: %d versions listed, want %d", k, len(got), len(vs))
			}
			for i, e := range got {
				want := vs[len(vs)-1-i] // newest first
				id := e.VersionID
				if e.marker() {
					id = "marker:" + id
				}
				if id != want {
					t.Fatalf("%s: entry %d is %s, want %s (newest first)", k, i, id, want)
				}
				if e.IsLatest != (i == 0) {
					t.Fatalf("%s: entry %d IsLatest %v", k, i, e.IsLatest)
				}
			}
		}
		if len(byKey) != n {
			t.Fatalf("%d keys listed, want %d", len(byKey), n)
		}
	}
	for _, mk := range []int{1000, 37} {
		t.Run(fmt.Sprintf("max-keys=%d", mk), func(t *testing.T) {
			es, prefixes := listVersionsAll(t, tg, b, "", "", mk)
			if len(es) != total || len(prefixes) != 0 {
				t.Fatalf("%d entries, %d prefixes; want %d, 0", len(es), len(prefixes), total)
			}
			check(t, es, "")
		})
	}
	t.Run("prefix", func(t *testing.T) {
		es, _ := listVersionsAll(t, tg, b, "d1/", "", 100)
		check(t, es, "d1/")
	})
	t.Run("delimiter", func(t *testing.T) {
		es, prefixes := listVersionsAll(t, tg, b, "", "/", 3)
		if len(es) != 0 || strings.Join(prefixes, ",") != "d0/,d1/,d2/,d3/" {
			t.Fatalf("delimiter /: %d versions, prefixes %v", len(es), prefixes)
		}
	})
	t.Run("minio-go", func(t *testing.T) {
		n, markers := 0, 0
		for o := range c.ListObjects(ctx, b, minio.ListObjectsOptions{WithVersions: true, Recursive: true}) {
			if o.Err != nil {
				t.Fatalf("ListObjects WithVersions: %v", o.Err)
			}
			n++
			if o.IsDeleteMarker {
				markers++
			}
		}
		if n != total || markers != keys/10 {
			t.Fatalf("minio-go: %d versions (%d markers), want %d (%d)", n, markers, total, keys/10)
		}
	})
}
