package s3

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// listAll lists with minio-go and returns keys and prefixes in order.
func (e *testEnv) listAll(bucket string, opts minio.ListObjectsOptions) []string {
	e.t.Helper()
	var out []string
	for o := range e.mc.ListObjects(e.ctx, bucket, opts) {
		if o.Err != nil {
			e.t.Fatalf("list: %v", o.Err)
		}
		out = append(out, o.Key)
	}
	return out
}

func fillListBucket(e *testEnv, bucket string) []string {
	keys := []string{"a", "b/1", "b/2", "b/c/3", "c--d--e", "c--f", "d", "e/", "e/x", "f g+h%i"}
	for i := range 12 {
		keys = append(keys, fmt.Sprintf("many/%02d", i))
	}
	for _, k := range keys {
		e.put(bucket, k, "v", minio.PutObjectOptions{})
	}
	slices.Sort(keys)
	return keys
}

func TestListObjectsPagination(t *testing.T) {
	e := newTestServer(t)
	b := e.bucket("lists")
	keys := fillListBucket(e, b)

	for _, v1 := range []bool{false, true} {
		for _, max := range []int{1, 2, 5, 1000} {
			got := e.listAll(b, minio.ListObjectsOptions{Recursive: true, MaxKeys: max, UseV1: v1})
			if !slices.Equal(got, keys) {
				t.Fatalf("v1=%v max=%d recursive: %v", v1, max, got)
			}
			// minio-go yields each page's keys, then its prefixes.
			got = e.listAll(b, minio.ListObjectsOptions{MaxKeys: max, UseV1: v1})
			slices.Sort(got)
			want := []string{"a", "b/", "c--d--e", "c--f", "d", "e/", "f g+h%i", "many/"}
			if !slices.Equal(got, want) {
				t.Fatalf("v1=%v max=%d delimited: %v", v1, max, got)
			}
		}
	}
	got := e.listAll(b, minio.ListObjectsOptions{Prefix: "b/", MaxKeys: 1})
	if !slices.Equal(got, []string{"b/1", "b/2", "b/c/"}) {
		t.Fatalf("prefix b/: %v", got)
	}
	got = e.listAll(b, minio.ListObjectsOptions{Recursive: true, StartAfter: "many/05"})
	if !slices.Equal(got, keys[slices.Index(keys, "many/06"):]) {
		t.Fatalf("start-after: %v", got)
	}
}

func TestListObjectsV2Details(t *testing.T) {
	e := newTestServer(t)
	b := e.bucket("listv2")
	fillListBucket(e, b)

	var res listBucketV2Result
	get := func(query string) rawResponse {
		t.Helper()
		rr := e.do("GET", "/listv2?list-type=2&"+query, nil)
		if rr.status != 200 {
			t.Fatalf("%s: %d %s", query, rr.status, rr.body)
		}
		res = listBucketV2Result{}
		if err := xml.Unmarshal(rr.body, &res); err != nil {
			t.Fatal(err)
		}
		return rr
	}
	// Multi-character delimiter.
	get("delimiter=--&prefix=c")
	if res.KeyCount != 1 || len(res.CommonPrefixes) != 1 || res.CommonPrefixes[0].Prefix != "c--" {
		t.Fatalf("delimiter --: %+v", res)
	}
	// max-keys 3 with delimiter: KeyCount counts prefixes; token continues.
	get("delimiter=/&max-keys=3")
	if !res.IsTruncated || res.KeyCount != 3 || res.NextContinuationToken == "" || res.MaxKeys != 3 {
		t.Fatalf("page 1: %+v", res)
	}
	get("delimiter=/&max-keys=3&continuation-token=" + url.QueryEscape(res.NextContinuationToken))
	if res.ContinuationToken == "" || res.KeyCount != 3 || res.Contents[0].Key != "c--f" {
		t.Fatalf("page 2: %+v", res)
	}
	// Owner only with fetch-owner.
	get("prefix=a")
	if len(res.Contents) != 1 || res.Contents[0].Owner != nil || res.Contents[0].StorageClass != "STANDARD" {
		t.Fatalf("no fetch-owner: %+v", res.Contents)
	}
	get("prefix=a&fetch-owner=true")
	if res.Contents[0].Owner == nil || res.Contents[0].Owner.ID == "" {
		t.Fatalf("fetch-owner: %+v", res.Contents)
	}
	// max-keys is capped at 1000.
	get("max-keys=5000")
	if res.MaxKeys != 1000 {
		t.Fatalf("max-keys cap: %d", res.MaxKeys)
	}
	get("max-keys=0")
	if res.KeyCount != 0 || res.IsTruncated {
		t.Fatalf("max-keys=0: %+v", res)
	}
	// encoding-type=url encodes keys, prefixes and the delimiter.
	get("encoding-type=url&prefix=f%20g")
	if res.EncodingType != "url" || len(res.Contents) != 1 || res.Contents[0].Key != "f%20g%2Bh%25i" || res.Prefix != "f%20g" {
		t.Fatalf("encoding-type=url: %+v", res)
	}
	got := e.listAll(b, minio.ListObjectsOptions{Prefix: "f "})
	if !slices.Equal(got, []string{"f g+h%i"}) {
		t.Fatalf("minio decodes url-encoded keys: %v", got)
	}

	wantError(t, e.do("GET", "/listv2?list-type=2&max-keys=-1", nil), 400, "InvalidArgument")
	wantError(t, e.do("GET", "/listv2?list-type=2&max-keys=ten", nil), 400, "InvalidArgument")
	wantError(t, e.do("GET", "/listv2?list-type=2&continuation-token=%25%25%25", nil), 400, "InvalidArgument")
	wantError(t, e.do("GET", "/listv2?list-type=2&encoding-type=base64", nil), 400, "InvalidArgument")
	wantError(t, e.do("GET", "/nolist?list-type=2", nil), 404, "NoSuchBucket")
	wantError(t, e.do("GET", "/nolist?list-type=2&max-keys=0", nil), 404, "NoSuchBucket")
}

func TestListObjectsV1NextMarker(t *testing.T) {
	e := newTestServer(t)
	b := e.bucket("listv1")
	fillListBucket(e, b)
	var res listBucketResult
	rr := e.do("GET", "/listv1?max-keys=2", nil)
	if err := xml.Unmarshal(rr.body, &res); err != nil {
		t.Fatal(err)
	}
	if !res.IsTruncated || res.NextMarker != "" || len(res.Contents) != 2 || res.Contents[0].Owner == nil {
		t.Fatalf("V1 without delimiter: %+v", res)
	}
	res = listBucketResult{}
	rr = e.do("GET", "/listv1?max-keys=2&delimiter=/", nil)
	if err := xml.Unmarshal(rr.body, &res); err != nil {
		t.Fatal(err)
	}
	if !res.IsTruncated || res.NextMarker != "b/" {
		t.Fatalf("V1 with delimiter: %+v", res)
	}
	res = listBucketResult{}
	rr = e.do("GET", "/listv1?max-keys=2&delimiter=/&marker=b/", nil)
	if err := xml.Unmarshal(rr.body, &res); err != nil {
		t.Fatal(err)
	}
	if res.Marker != "b/" || len(res.Contents) != 2 || res.Contents[0].Key != "c--d--e" {
		t.Fatalf("V1 after marker: %+v", res)
	}
	wantError(t, e.do("GET", "/listv1?max-keys=x", nil), 400, "InvalidArgument")
}

func TestListWithMetadata(t *testing.T) {
	e := newTestServer(t)
	b := e.bucket("listmeta")
	e.put(b, "f", "v", minio.PutObjectOptions{ContentType: "text/x-test",
		UserMetadata: map[string]string{"Mode": "0100644", "uid": "1000", "Mtime": "1700000000"}})
	var n int
	for o := range e.mc.ListObjects(e.ctx, b, minio.ListObjectsOptions{WithMetadata: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		n++
		if o.UserMetadata["X-Amz-Meta-Mode"] != "0100644" || o.UserMetadata["X-Amz-Meta-Uid"] != "1000" ||
			o.UserMetadata["content-type"] != "text/x-test" {
			t.Fatalf("UserMetadata %v", o.UserMetadata)
		}
		if o.UserMetadataStripped["Mode"] != "0100644" || o.UserMetadataStripped["Mtime"] != "1700000000" {
			t.Fatalf("UserMetadataStripped %v", o.UserMetadataStripped)
		}
	}
	if n != 1 {
		t.Fatalf("listed %d objects", n)
	}
	// Without metadata=true there is no UserMetadata element.
	rr := e.do("GET", "/listmeta?list-type=2", nil)
	if strings.Contains(string(rr.body), "UserMetadata") {
		t.Fatalf("UserMetadata without metadata=true: %s", rr.body)
	}
}

// Listings give LastModified in whole seconds, as S3 does and as HEAD's
// Last-Modified has it, so that a client comparing a listing with the time
// it kept from a download (aws s3 sync --exact-timestamps) sees no change.
func TestListObjectsLastModifiedWholeSeconds(t *testing.T) {
	e := newTestServer(t)
	b := e.bucket("listtimes")
	keys := []string{"k0", "k1", "k2", "k3", "k4"}
	for _, k := range keys {
		e.put(b, k, "v", minio.PutObjectOptions{})
	}
	for _, query := range []string{"?list-type=2", "?max-keys=10"} {
		rr := e.do("GET", "/"+b+query, nil)
		var res struct {
			Contents []objectXML `xml:"Contents"`
		}
		if rr.status != 200 || xml.Unmarshal(rr.body, &res) != nil || len(res.Contents) != len(keys) {
			t.Fatalf("%s: %d %s", query, rr.status, rr.body)
		}
		for _, o := range res.Contents {
			if !strings.HasSuffix(o.LastModified, ".000Z") {
				t.Errorf("%s: %s LastModified %q has sub-seconds", query, o.Key, o.LastModified)
			}
			listed, err := time.Parse(time.RFC3339Nano, o.LastModified)
			if err != nil {
				t.Fatal(err)
			}
			head, err := http.ParseTime(e.do("HEAD", "/"+b+"/"+o.Key, nil).header.Get("Last-Modified"))
			if err != nil || !head.Equal(listed) {
				t.Errorf("%s: %s listed %v, HEAD Last-Modified %v (%v)", query, o.Key, listed, head, err)
			}
		}
	}
}
