package integration

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
)

// listResult is ListBucketResult of ListObjects V1 and V2.
type listResult struct {
	Name                  string
	Prefix                string
	Delimiter             string
	Marker                string
	NextMarker            string
	ContinuationToken     string
	NextContinuationToken string
	StartAfter            string
	EncodingType          string
	KeyCount              int
	MaxKeys               int
	IsTruncated           bool
	Contents              []struct {
		Key          string
		ETag         string
		Size         int64
		LastModified string
		StorageClass string
		Owner        *struct{ ID, DisplayName string }
	}
	CommonPrefixes []struct{ Prefix string }
}

func parseList(t testing.TB, body []byte) listResult {
	t.Helper()
	var r listResult
	if err := xml.Unmarshal(body, &r); err != nil {
		t.Fatalf("ListBucketResult: %v\n%s", err, body)
	}
	return r
}

// deleteResult is the DeleteObjects response.
type deleteResult struct {
	Deleted []struct {
		Key                   string
		VersionID             string `xml:"VersionId"`
		DeleteMarker          bool
		DeleteMarkerVersionID string `xml:"DeleteMarkerVersionId"`
	}
	Errors []struct {
		Key       string
		Code      string
		Message   string
		VersionID string `xml:"VersionId"`
	} `xml:"Error"`
}

func parseDeleteResult(t testing.TB, body []byte) deleteResult {
	t.Helper()
	var r deleteResult
	if err := xml.Unmarshal(body, &r); err != nil {
		t.Fatalf("DeleteResult: %v\n%s", err, body)
	}
	return r
}

// listPage lists one page with a raw request (V2 when v2 is set).
func listPage(t testing.TB, tg *target, bucket string, v2 bool, params url.Values) listResult {
	t.Helper()
	p := url.Values{}
	for k, v := range params {
		p[k] = v
	}
	if v2 {
		p.Set("list-type", "2")
	}
	r := tg.do(t, rawReq{method: http.MethodGet, path: "/" + bucket, query: p})
	r.wantStatus(t, http.StatusOK)
	return parseList(t, r.Body)
}

// listEntries pages through a whole listing with raw requests and returns
// the keys and common prefixes in the order received, checking every page's
// invariants on the way.
func listEntries(t testing.TB, tg *target, bucket string, v2 bool, prefix, delimiter string, maxKeys int) (keys, prefixes []string) {
	t.Helper()
	token, marker := "", ""
	for page := 0; ; page++ {
		if page > 10000 {
			t.Fatalf("listing does not end")
		}
		p := q("prefix", prefix, "delimiter", delimiter, "max-keys", strconv.Itoa(maxKeys))
		if v2 && token != "" {
			p.Set("continuation-token", token)
		}
		if !v2 && marker != "" {
			p.Set("marker", marker)
		}
		r := listPage(t, tg, bucket, v2, p)
		n := len(r.Contents) + len(r.CommonPrefixes)
		if n > maxKeys {
			t.Fatalf("page %d: %d entries for max-keys %d", page, n, maxKeys)
		}
		if v2 && r.KeyCount != n {
			t.Fatalf("page %d: KeyCount %d, but %d entries", page, r.KeyCount, n)
		}
		if r.MaxKeys != maxKeys {
			t.Fatalf("page %d: MaxKeys %d, want %d", page, r.MaxKeys, maxKeys)
		}
		last := ""
		for _, c := range r.Contents {
			keys = append(keys, c.Key)
			last = max(last, c.Key)
		}
		for _, cp := range r.CommonPrefixes {
			prefixes = append(prefixes, cp.Prefix)
			last = max(last, cp.Prefix)
		}
		if !r.IsTruncated {
			if r.NextContinuationToken != "" {
				t.Fatalf("page %d: NextContinuationToken on the last page", page)
			}
			return keys, prefixes
		}
		if n == 0 {
			t.Fatalf("page %d: truncated but empty", page)
		}
		if v2 {
			if r.NextContinuationToken == "" {
				t.Fatalf("page %d: truncated without NextContinuationToken", page)
			}
			token = r.NextContinuationToken
			continue
		}
		switch {
		case delimiter != "" && r.NextMarker == "":
			t.Fatalf("page %d: V1 truncated with a delimiter but no NextMarker", page)
		case r.NextMarker != "":
			if r.NextMarker != last {
				t.Fatalf("page %d: NextMarker %q, want the last entry %q", page, r.NextMarker, last)
			}
			marker = r.NextMarker
		default:
			marker = last
		}
	}
}

// checkListing verifies that got (keys or merged entries) has no duplicates,
// no gaps and is sorted.
func checkListing(t testing.TB, what string, got, want []string) {
	t.Helper()
	if !sort.StringsAreSorted(got) {
		t.Errorf("%s: not sorted", what)
	}
	seen := map[string]bool{}
	for _, k := range got {
		if seen[k] {
			t.Errorf("%s: duplicate %q", what, k)
		}
		seen[k] = true
	}
	wantSet := map[string]bool{}
	for _, k := range want {
		wantSet[k] = true
		if !seen[k] {
			t.Errorf("%s: missing %q", what, k)
		}
	}
	for _, k := range got {
		if !wantSet[k] {
			t.Errorf("%s: unexpected %q", what, k)
		}
	}
	if t.Failed() {
		t.Fatalf("%s: %d entries, want %d", what, len(got), len(want))
	}
}

// testListLarge uploads 2,600 keys with 16 concurrent writers and pages
// through them with V1 and V2, with and without the "/" delimiter.
func testListLarge(t *testing.T, tg *target) {
	ctx := ctxT(t)
	c := tg.c
	b := newBucket(t, c)
	const n = 2600
	keys := make([]string, n)
	for i := range keys {
		if i%5 == 0 {
			keys[i] = fmt.Sprintf("top-%04d", i)
		} else {
			keys[i] = fmt.Sprintf("dir%02d/file-%04d", i%20, i)
		}
	}
	err := parallel(n, 16, func(i int) error {
		_, err := c.PutObject(ctx, b, keys[i], strings.NewReader(keys[i]), int64(len(keys[i])), minio.PutObjectOptions{})
		return err
	})
	if err != nil {
		t.Fatalf("uploading %d keys: %v", n, err)
	}
	sorted := slices.Clone(keys)
	sort.Strings(sorted)
	var top, dirs []string
	for _, k := range sorted {
		if d, _, ok := strings.Cut(k, "/"); ok {
			if len(dirs) == 0 || dirs[len(dirs)-1] != d+"/" {
				dirs = append(dirs, d+"/")
			}
		} else {
			top = append(top, k)
		}
	}
	merged := append(slices.Clone(top), dirs...)
	sort.Strings(merged)

	for _, v2 := range []bool{true, false} {
		name := map[bool]string{true: "V2", false: "V1"}[v2]
		got, prefixes := listEntries(t, tg, b, v2, "", "", 1000)
		if len(prefixes) != 0 {
			t.Errorf("%s: CommonPrefixes without a delimiter: %v", name, prefixes)
		}
		checkListing(t, name+" max-keys 1000", got, sorted)

		got, prefixes = listEntries(t, tg, b, v2, "", "/", 7)
		checkListing(t, name+" delimiter / keys", got, top)
		checkListing(t, name+" delimiter / prefixes", prefixes, dirs)

		got, prefixes = listEntries(t, tg, b, v2, "dir07/", "/", 33)
		var want []string
		for _, k := range sorted {
			if strings.HasPrefix(k, "dir07/") {
				want = append(want, k)
			}
		}
		checkListing(t, name+" prefix dir07/", got, want)
		if len(prefixes) != 0 {
			t.Errorf("%s prefix dir07/: prefixes %v", name, prefixes)
		}
	}

	// max-keys: default and cap 1000.
	for _, mk := range []string{"", "5000"} {
		p := q()
		if mk != "" {
			p.Set("max-keys", mk)
		}
		r := listPage(t, tg, b, true, p)
		if len(r.Contents) != 1000 || !r.IsTruncated || r.KeyCount != 1000 {
			t.Errorf("max-keys %q: %d keys, KeyCount %d, truncated %v; want 1000 and truncated", mk, len(r.Contents), r.KeyCount, r.IsTruncated)
		}
	}
	r := listPage(t, tg, b, true, q("max-keys", "3"))
	if len(r.Contents) != 3 || r.Contents[0].Key != sorted[0] || r.Contents[2].Key != sorted[2] {
		t.Errorf("max-keys 3: %v", r.Contents)
	}

	// start-after.
	after := sorted[1234]
	r = listPage(t, tg, b, true, q("start-after", after, "max-keys", "1000"))
	if len(r.Contents) == 0 || r.Contents[0].Key != sorted[1235] || r.StartAfter != after {
		t.Errorf("start-after %q: first %v, StartAfter %q", after, r.Contents[:min(1, len(r.Contents))], r.StartAfter)
	}
	var rest []string
	token := ""
	for {
		p := q("start-after", after)
		if token != "" {
			p.Set("continuation-token", token)
		}
		r := listPage(t, tg, b, true, p)
		for _, c := range r.Contents {
			rest = append(rest, c.Key)
		}
		if !r.IsTruncated {
			break
		}
		token = r.NextContinuationToken
	}
	checkListing(t, "start-after", rest, sorted[1235:])

	// minio-go's own paging (V2 and V1).
	for _, v1 := range []bool{false, true} {
		all := listAll(t, c, b, minio.ListObjectsOptions{Recursive: true, UseV1: v1})
		var ks []string
		for _, o := range all {
			ks = append(ks, o.Key)
		}
		checkListing(t, fmt.Sprintf("minio-go recursive (V1=%v)", v1), ks, sorted)
		all = listAll(t, c, b, minio.ListObjectsOptions{UseV1: v1})
		ks = ks[:0]
		for _, o := range all {
			ks = append(ks, o.Key)
		}
		sort.Strings(ks) // minio-go yields each page's keys, then its prefixes
		checkListing(t, fmt.Sprintf("minio-go delimited (V1=%v)", v1), ks, merged)
	}
}

func testListDelimiters(t *testing.T, tg *target) {
	c := tg.c
	b := newBucket(t, c)
	keys := []string{
		"a-b-c", "a-b-d", "a-x", "b",
		"photos/2023/x.jpg", "photos/2024/feb/2.jpg", "photos/2024/jan/1.jpg", "photos/readme",
		"zz",
	}
	for _, k := range keys {
		putBytes(t, c, b, k, []byte(k), minio.PutObjectOptions{})
	}
	cases := []struct {
		prefix, delimiter string
		keys, prefixes    []string
	}{
		{"", "", keys, nil},
		{"", "-", []string{"b", "photos/2023/x.jpg", "photos/2024/feb/2.jpg", "photos/2024/jan/1.jpg", "photos/readme", "zz"}, []string{"a-"}},
		{"a-", "-", []string{"a-x"}, []string{"a-b-"}},
		{"", "/", []string{"a-b-c", "a-b-d", "a-x", "b", "zz"}, []string{"photos/"}},
		{"photos/", "/", []string{"photos/readme"}, []string{"photos/2023/", "photos/2024/"}},
		{"photos/2024/", "/", nil, []string{"photos/2024/feb/", "photos/2024/jan/"}},
		{"photos", "/20", []string{"photos/readme"}, []string{"photos/20"}},
		{"photos/2", "", []string{"photos/2023/x.jpg", "photos/2024/feb/2.jpg", "photos/2024/jan/1.jpg"}, nil},
		{"nothing/", "/", nil, nil},
		{"", "zz", []string{"a-b-c", "a-b-d", "a-x", "b", "photos/2023/x.jpg", "photos/2024/feb/2.jpg", "photos/2024/jan/1.jpg", "photos/readme"}, []string{"zz"}},
	}
	for _, tc := range cases {
		for _, v2 := range []bool{true, false} {
			for _, mk := range []int{1, 2, 1000} {
				name := fmt.Sprintf("prefix=%q,delim=%q,v2=%v,max=%d", tc.prefix, tc.delimiter, v2, mk)
				t.Run(name, func(t *testing.T) {
					gotKeys, gotPrefixes := listEntries(t, tg, b, v2, tc.prefix, tc.delimiter, mk)
					if strings.Join(gotKeys, "|") != strings.Join(tc.keys, "|") {
						t.Errorf("keys %q, want %q", gotKeys, tc.keys)
					}
					if strings.Join(gotPrefixes, "|") != strings.Join(tc.prefixes, "|") {
						t.Errorf("prefixes %q, want %q", gotPrefixes, tc.prefixes)
					}
				})
			}
		}
	}
	// Echoed parameters and fetch-owner.
	r := listPage(t, tg, b, true, q("prefix", "photos/", "delimiter", "/", "fetch-owner", "true"))
	if r.Name != b || r.Prefix != "photos/" || r.Delimiter != "/" || r.MaxKeys != 1000 {
		t.Errorf("echoed parameters: Name %q Prefix %q Delimiter %q MaxKeys %d", r.Name, r.Prefix, r.Delimiter, r.MaxKeys)
	}
	if len(r.Contents) != 1 || r.Contents[0].Owner == nil || r.Contents[0].Owner.ID == "" {
		t.Errorf("fetch-owner=true: contents %+v lack an Owner", r.Contents)
	}
	if r.Contents[0].ETag != `"`+md5hex([]byte("photos/readme"))+`"` || r.Contents[0].Size != int64(len("photos/readme")) ||
		r.Contents[0].LastModified == "" || r.Contents[0].StorageClass == "" {
		t.Errorf("listing entry %+v: want quoted ETag, size, LastModified, StorageClass", r.Contents[0])
	}
	r = listPage(t, tg, b, true, q("prefix", "photos/"))
	if len(r.Contents) == 0 || r.Contents[0].Owner != nil {
		t.Errorf("V2 without fetch-owner returned an Owner")
	}
	// Missing bucket.
	resp := tg.do(t, rawReq{method: http.MethodGet, path: "/" + bucketName("missing"), query: q("list-type", "2")})
	resp.wantError(t, http.StatusNotFound, "NoSuchBucket")
	// Invalid max-keys.
	resp = tg.do(t, rawReq{method: http.MethodGet, path: "/" + b, query: q("list-type", "2", "max-keys", "-1")})
	resp.wantError(t, http.StatusBadRequest, "InvalidArgument")
	resp = tg.do(t, rawReq{method: http.MethodGet, path: "/" + b, query: q("list-type", "2", "continuation-token", "garbage-token!")})
	resp.wantError(t, http.StatusBadRequest, "InvalidArgument")
}

func testListEncoding(t *testing.T, tg *target) {
	c := tg.c
	b := newBucket(t, c)
	keys := []string{"sp ace/ü+%x", "tab\tkey", "line\nbreak", "amp&lt<gt>", "plus+plus"}
	for _, k := range keys {
		putBytes(t, c, b, k, []byte("x"), minio.PutObjectOptions{})
	}
	sorted := slices.Clone(keys)
	sort.Strings(sorted)
	for _, v2 := range []bool{true, false} {
		p := q("encoding-type", "url", "prefix", "sp ace/", "delimiter", "/")
		r := listPage(t, tg, b, v2, p)
		if r.EncodingType != "url" {
			t.Errorf("v2=%v: EncodingType %q, want url", v2, r.EncodingType)
		}
		if got, err := url.QueryUnescape(r.Prefix); err != nil || got != "sp ace/" || r.Prefix == "sp ace/" {
			t.Errorf("v2=%v: encoded Prefix %q, want the URL-encoded form of %q", v2, r.Prefix, "sp ace/")
		}
		if len(r.Contents) != 1 {
			t.Fatalf("v2=%v: %d keys under prefix", v2, len(r.Contents))
		}
		if r.Contents[0].Key == "sp ace/ü+%x" {
			t.Errorf("v2=%v: key returned unencoded with encoding-type=url", v2)
		}
		if got, err := url.QueryUnescape(r.Contents[0].Key); err != nil || got != "sp ace/ü+%x" {
			t.Errorf("v2=%v: encoded key %q decodes to %q (%v)", v2, r.Contents[0].Key, got, err)
		}

		r = listPage(t, tg, b, v2, q("encoding-type", "url"))
		var got []string
		for _, c := range r.Contents {
			k, err := url.QueryUnescape(c.Key)
			if err != nil {
				t.Errorf("undecodable key %q", c.Key)
			}
			got = append(got, k)
		}
		if strings.Join(got, "|") != strings.Join(sorted, "|") {
			t.Errorf("v2=%v: decoded keys %q, want %q", v2, got, sorted)
		}
	}
	resp := tg.do(t, rawReq{method: http.MethodGet, path: "/" + b, query: q("list-type", "2", "encoding-type", "base64")})
	resp.wantError(t, http.StatusBadRequest, "InvalidArgument")
	// minio-go (which always asks for url encoding) sees the exact keys.
	var ks []string
	for _, o := range listAll(t, c, b, minio.ListObjectsOptions{Recursive: true}) {
		ks = append(ks, o.Key)
	}
	if strings.Join(ks, "|") != strings.Join(sorted, "|") {
		t.Errorf("minio-go keys %q, want %q", ks, sorted)
	}
}
