package s3

import (
	"crypto/md5"
	"encoding/xml"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

func TestCopyObject(t *testing.T) {
	e := newTestServer(t)
	e.bucket("src")
	e.bucket("dst")
	e.put("src", "a b/c+d", "copy me", minio.PutObjectOptions{
		ContentType: "text/plain", UserMetadata: map[string]string{"Mode": "0600"},
		UserTags: map[string]string{"k": "v"},
	})

	// COPY directive keeps metadata and tags; the source key is URL-encoded.
	ui, err := e.mc.CopyObject(e.ctx, minio.CopyDestOptions{Bucket: "dst", Object: "copy"},
		minio.CopySrcOptions{Bucket: "src", Object: "a b/c+d"})
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("%x", md5.Sum([]byte("copy me"))); ui.ETag != want {
		t.Fatalf("copy ETag %q", ui.ETag)
	}
	st, err := e.mc.StatObject(e.ctx, "dst", "copy", minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.ContentType != "text/plain" || st.UserMetadata["Mode"] != "0600" || st.UserTagCount != 1 {
		t.Fatalf("COPY metadata: %+v", st)
	}
	if got := e.get("dst", "copy", minio.GetObjectOptions{}); got != "copy me" {
		t.Fatalf("copied body %q", got)
	}

	// REPLACE directive takes the request's metadata.
	_, err = e.mc.CopyObject(e.ctx, minio.CopyDestOptions{Bucket: "dst", Object: "replaced", ReplaceMetadata: true,
		UserMetadata: map[string]string{"Other": "x"}, ContentType: "application/x-new"},
		minio.CopySrcOptions{Bucket: "src", Object: "a b/c+d"})
	if err != nil {
		t.Fatal(err)
	}
	st, _ = e.mc.StatObject(e.ctx, "dst", "replaced", minio.StatObjectOptions{})
	if st.ContentType != "application/x-new" || st.UserMetadata["Other"] != "x" || st.UserMetadata["Mode"] != "" {
		t.Fatalf("REPLACE metadata: %+v", st)
	}

	// Raw request: XML result and headers.
	rr := e.do("PUT", "/dst/raw", nil, "x-amz-copy-source", "/src/a%20b/c%2Bd")
	var res copyObjectResult
	if rr.status != 200 || xml.Unmarshal(rr.body, &res) != nil || res.ETag == "" || res.LastModified == "" {
		t.Fatalf("raw copy: %d %s", rr.status, rr.body)
	}
	if _, err := time.Parse(time.RFC3339, res.LastModified); err != nil {
		t.Fatalf("LastModified %q", res.LastModified)
	}
}

func TestCopyObjectErrors(t *testing.T) {
	e := newTestServer(t)
	e.bucket("cpe")
	e.put("cpe", "k", "data", minio.PutObjectOptions{UserMetadata: map[string]string{"A": "1"}})
	etag := e.do("HEAD", "/cpe/k", nil).header.Get("ETag")
	past := time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)
	future := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)

	// Onto itself without REPLACE: refused as S3 does.
	wantError(t, e.do("PUT", "/cpe/k", nil, "x-amz-copy-source", "/cpe/k"), 400, "InvalidRequest")
	// With REPLACE it changes the metadata.
	rr := e.do("PUT", "/cpe/k", nil, "x-amz-copy-source", "cpe/k", "x-amz-metadata-directive", "REPLACE", "x-amz-meta-b", "2")
	if rr.status != 200 {
		t.Fatalf("self copy REPLACE: %d %s", rr.status, rr.body)
	}
	h := e.do("HEAD", "/cpe/k", nil).header
	if h.Get("x-amz-meta-b") != "2" || h.Get("x-amz-meta-a") != "" || h.Get("Content-Length") != "4" {
		t.Fatalf("after self copy: %v", h)
	}
	if got := e.get("cpe", "k", minio.GetObjectOptions{}); got != "data" {
		t.Fatalf("body after self copy: %q", got)
	}

	cases := []struct {
		name   string
		hdr    []string
		status int
		code   string
	}{
		{"no such key", []string{"x-amz-copy-source", "/cpe/missing"}, 404, "NoSuchKey"},
		{"no such bucket", []string{"x-amz-copy-source", "/nobucket/k"}, 404, "NoSuchBucket"},
		{"no key", []string{"x-amz-copy-source", "/cpe"}, 400, "InvalidArgument"},
		{"empty key", []string{"x-amz-copy-source", "/cpe/"}, 400, "InvalidArgument"},
		{"bad directive", []string{"x-amz-copy-source", "/cpe/k", "x-amz-metadata-directive", "MERGE"}, 400, "InvalidArgument"},
		{"if-match", []string{"x-amz-copy-source", "/cpe/k", "x-amz-copy-source-if-match", `"nope"`}, 412, "PreconditionFailed"},
		{"if-none-match", []string{"x-amz-copy-source", "/cpe/k", "x-amz-copy-source-if-none-match", etag}, 412, "PreconditionFailed"},
		{"if-modified-since", []string{"x-amz-copy-source", "/cpe/k", "x-amz-copy-source-if-modified-since", future}, 412, "PreconditionFailed"},
		{"if-unmodified-since", []string{"x-amz-copy-source", "/cpe/k", "x-amz-copy-source-if-unmodified-since", past}, 412, "PreconditionFailed"},
		{"no such version", []string{"x-amz-copy-source", "/cpe/k?versionId=00000000000000000000000000000001"}, 404, "NoSuchVersion"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.do("PUT", "/cpe/dst", nil, tc.hdr...), tc.status, tc.code)
		})
	}
	rr = e.do("PUT", "/cpe/dst", nil, "x-amz-copy-source", "/cpe/k", "x-amz-copy-source-if-modified-since", past,
		"x-amz-copy-source-if-unmodified-since", future)
	if rr.status != 200 {
		t.Fatalf("satisfied copy conditions: %d %s", rr.status, rr.body)
	}
}
