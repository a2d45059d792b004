package integration

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
)

// listV2Page is the part of a ListObjectsV2 answer the tag tests read.
type listV2Page struct {
	Contents              []struct{ Key string }
	CommonPrefixes        []struct{ Prefix string }
	IsTruncated           bool
	NextContinuationToken string
	NextMarker            string
}

// listByTag lists bucket with the tag=KEY=VALUE extension, all pages of
// maxKeys, V2 (or V1 with v1 set), and returns keys and common prefixes.
func listByTag(t *testing.T, s *Server, bucket string, v1 bool, maxKeys int, extra url.Values, tags ...string) (keys, prefixes []string) {
	t.Helper()
	token := ""
	for range 10000 {
		qv := url.Values{"max-keys": {fmt.Sprint(maxKeys)}}
		if !v1 {
			qv.Set("list-type", "2")
		}
		for k, vs := range extra {
			qv[k] = vs
		}
		for _, tg := range tags {
			qv.Add("tag", tg)
		}
		if token != "" {
			if v1 {
				qv.Set("marker", token)
			} else {
				qv.Set("continuation-token", token)
			}
		}
		r := doRaw(t, s, rawReq{method: "GET", path: "/" + bucket, query: qv})
		r.wantStatus(t, http.StatusOK)
		var p listV2Page
		if err := xml.Unmarshal(r.Body, &p); err != nil {
			t.Fatalf("listing: %v\n%s", err, r.Body)
		}
		for _, c := range p.Contents {
			keys = append(keys, c.Key)
		}
		for _, c := range p.CommonPrefixes {
			prefixes = append(prefixes, c.Prefix)
		}
		if len(p.Contents)+len(p.CommonPrefixes) > maxKeys {
			t.Fatalf("page of %d entries for max-keys %d", len(p.Contents)+len(p.CommonPrefixes), maxKeys)
		}
		if !p.IsTruncated {
			return keys, prefixes
		}
		token = p.NextContinuationToken
		if v1 {
			token = p.NextMarker
			if token == "" {
				token = keys[len(keys)-1]
			}
		}
	}
	t.Fatal("listing never ends")
	return nil, nil
}

func mustTags(t *testing.T, c *minio.Client, bucket, key string) map[string]string {
	t.Helper()
	tg, err := c.GetObjectTagging(ctxT(t), bucket, key, minio.GetObjectTaggingOptions{})
	if err != nil {
		t.Fatalf("GetObjectTagging %s: %v", key, err)
	}
	return tg.ToMap()
}

func TestTaggingObjects(t *testing.T) {
	s := startServer(t, WithArgs("--test-no-sync"))
	c := s.Client(t)
	ctx := ctxT(t)
	if err := c.MakeBucket(ctx, "tags", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	put := func(key string, tags map[string]string) {
		t.Helper()
		if _, err := c.PutObject(ctx, "tags", key, strings.NewReader(key), int64(len(key)), minio.PutObjectOptions{UserTags: tags}); err != nil {
			t.Fatalf("PutObject %s: %v", key, err)
		}
	}
	put("a", map[string]string{"project": "apollo", "stage": "raw data"})
	if got := mustTags(t, c, "tags", "a"); len(got) != 2 || got["stage"] != "raw data" {
		t.Fatalf("tags on PUT: %v", got)
	}
	st, err := c.StatObject(ctx, "tags", "a", minio.StatObjectOptions{})
	if err != nil || st.UserTagCount != 2 {
		t.Fatalf("HEAD x-amz-tagging-count = %d (%v), want 2", st.UserTagCount, err)
	}

	// Copy keeps the tags by default and replaces them with REPLACE.
	src := minio.CopySrcOptions{Bucket: "tags", Object: "a"}
	if _, err := c.CopyObject(ctx, minio.CopyDestOptions{Bucket: "tags", Object: "copy-kept"}, src); err != nil {
		t.Fatal(err)
	}
	if got := mustTags(t, c, "tags", "copy-kept"); got["project"] != "apollo" || len(got) != 2 {
		t.Fatalf("copied tags: %v", got)
	}
	if _, err := c.CopyObject(ctx, minio.CopyDestOptions{Bucket: "tags", Object: "copy-replaced",
		ReplaceTags: true, UserTags: map[string]string{"new": "1"}}, src); err != nil {
		t.Fatal(err)
	}
	if got := mustTags(t, c, "tags", "copy-replaced"); len(got) != 1 || got["new"] != "1" {
		t.Fatalf("replaced tags: %v", got)
	}

	// Multipart: tags given at creation land on the completed object.
	core := &minio.Core{Client: c}
	id, err := core.NewMultipartUpload(ctx, "tags", "mp", minio.PutObjectOptions{UserTags: map[string]string{"mp": "yes"}})
	if err != nil {
		t.Fatal(err)
	}
	part, err := core.PutObjectPart(ctx, "tags", "mp", id, 1, bytes.NewReader([]byte("part")), 4, minio.PutObjectPartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := core.CompleteMultipartUpload(ctx, "tags", "mp", id, []minio.CompletePart{{PartNumber: 1, ETag: part.ETag}}, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := mustTags(t, c, "tags", "mp"); got["mp"] != "yes" {
		t.Fatalf("multipart tags: %v", got)
	}

	// S3's limits, on every way in.
	eleven := url.Values{}
	for i := range 11 {
		eleven.Set(fmt.Sprintf("k%d", i), "v")
	}
	long := func(n int) string { return strings.Repeat("é", n) } // characters, not bytes
	for _, tc := range []struct {
		name string
		req  rawReq
	}{
		{"11 tags on PUT", rawReq{method: "PUT", path: "/tags/x", body: []byte("x"), header: hdr("x-amz-tagging", eleven.Encode())}},
		{"key of 129 on PUT", rawReq{method: "PUT", path: "/tags/x", body: []byte("x"), header: hdr("x-amz-tagging", url.Values{long(129): {"v"}}.Encode())}},
		{"value of 257 on PUT", rawReq{method: "PUT", path: "/tags/x", body: []byte("x"), header: hdr("x-amz-tagging", url.Values{"k": {long(257)}}.Encode())}},
		{"11 tags on create upload", rawReq{method: "POST", path: "/tags/x", query: q("uploads", ""), header: hdr("x-amz-tagging", eleven.Encode())}},
		{"11 tags on copy", rawReq{method: "PUT", path: "/tags/x", header: hdr("x-amz-copy-source", "/tags/a", "x-amz-tagging-directive", "REPLACE", "x-amz-tagging", eleven.Encode())}},
		{"duplicate keys", rawReq{method: "PUT", path: "/tags/a", query: q("tagging", ""), body: []byte(`<Tagging><TagSet><Tag><Key>k</Key><Value>1</Value></Tag><Tag><Key>k</Key><Value>2</Value></Tag></TagSet></Tagging>`)}},
		{"11 tags in a tag set", rawReq{method: "PUT", path: "/tags/a", query: q("tagging", ""), body: func() []byte {
			var b strings.Builder
			b.WriteString("<Tagging><TagSet>")
			for i := range 11 {
				fmt.Fprintf(&b, "<Tag><Key>k%d</Key><Value>v</Value></Tag>", i)
			}
			b.WriteString("</TagSet></Tagging>")
			return []byte(b.String())
		}()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doRaw(t, s, tc.req).wantError(t, http.StatusBadRequest, "InvalidTag")
		})
	}
	// At the limits everything is accepted.
	ten := url.Values{}
	for i := range 9 {
		ten.Set(fmt.Sprintf("k%d", i), "v")
	}
	ten.Set(long(128), long(256))
	doRaw(t, s, rawReq{method: "PUT", path: "/tags/limits", body: []byte("x"), header: hdr("x-amz-tagging", ten.Encode())}).wantStatus(t, http.StatusOK)
	// Read back raw: minio-go counts bytes where S3 counts characters.
	r := doRaw(t, s, rawReq{method: "GET", path: "/tags/limits", query: q("tagging", "")})
	r.wantStatus(t, http.StatusOK)
	var tg struct {
		Tags []struct{ Key, Value string } `xml:"TagSet>Tag"`
	}
	if err := xml.Unmarshal(r.Body, &tg); err != nil || len(tg.Tags) != 10 || !slices.ContainsFunc(tg.Tags, func(x struct{ Key, Value string }) bool {
		return x.Key == long(128) && x.Value == long(256)
	}) {
		t.Fatalf("tags at the limits (%v):\n%s", err, r.Body)
	}
	if _, err := c.StatObject(ctx, "tags", "x", minio.StatObjectOptions{}); err == nil {
		t.Fatal("an object refused for its tags was stored")
	}
}

// TestTaggingListByTag fills a bucket with 10,000 objects of which 10 carry
// a tag, and lists by that tag.
func TestTaggingListByTag(t *testing.T) {
	s := startServer(t, WithArgs("--test-no-sync"))
	c := s.Client(t)
	ctx := ctxT(t)
	if err := c.MakeBucket(ctx, "many", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	const n = 10000
	var want, wantBoth []string
	tagged := func(i int) bool { return i%1000 == 123 }
	for i := range n {
		if tagged(i) {
			want = append(want, fmt.Sprintf("obj/%05d", i))
			if i%2000 == 123 {
				wantBoth = append(wantBoth, fmt.Sprintf("obj/%05d", i))
			}
		}
	}
	err := parallel(n, 16, func(i int) error {
		key := fmt.Sprintf("obj/%05d", i)
		opts := minio.PutObjectOptions{UserTags: map[string]string{"n": fmt.Sprint(i % 7)}}
		if tagged(i) {
			opts.UserTags = map[string]string{"team": "blue green:1", "n": fmt.Sprint(i % 2000)}
		}
		_, err := c.PutObject(ctx, "many", key, strings.NewReader("x"), 1, opts)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		v1      bool
		max     int
		extra   url.Values
		tags    []string
		want    []string
		wantCPs []string
	}{
		{name: "v2 one page", max: 1000, tags: []string{"team=blue green:1"}, want: want},
		{name: "v2 pages of 3", max: 3, tags: []string{"team=blue green:1"}, want: want},
		{name: "v1 pages of 4", v1: true, max: 4, tags: []string{"team=blue green:1"}, want: want},
		{name: "two pairs", max: 1000, tags: []string{"team=blue green:1", "n=123"}, want: wantBoth},
		{name: "prefix", max: 1000, extra: url.Values{"prefix": {"obj/05"}}, tags: []string{"team=blue green:1"}, want: []string{"obj/05123"}},
		{name: "start-after", max: 1000, extra: url.Values{"start-after": {"obj/07123"}}, tags: []string{"team=blue green:1"}, want: want[8:]},
		{name: "no match", max: 1000, tags: []string{"team=red"}},
		{name: "delimiter", max: 1000, extra: url.Values{"delimiter": {"/"}}, tags: []string{"team=blue green:1"}, wantCPs: []string{"obj/"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keys, cps := listByTag(t, s, "many", tc.v1, tc.max, tc.extra, tc.tags...)
			if !slices.Equal(keys, tc.want) || !slices.Equal(cps, tc.wantCPs) {
				t.Fatalf("keys %v prefixes %v, want %v %v", keys, cps, tc.want, tc.wantCPs)
			}
		})
	}
	// The index follows tag changes and deletes.
	if err := c.RemoveObjectTagging(ctx, "many", want[0], minio.RemoveObjectTaggingOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveObject(ctx, "many", want[1], minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if keys, _ := listByTag(t, s, "many", false, 1000, nil, "team=blue green:1"); !slices.Equal(keys, want[2:]) {
		t.Fatalf("after untag and delete: %v, want %v", keys, want[2:])
	}
	// A malformed filter is refused.
	doRaw(t, s, rawReq{method: "GET", path: "/many", query: q("list-type", "2", "tag", "novalue")}).wantError(t, http.StatusBadRequest, "InvalidArgument")
}
