package integration

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// copyResult is the CopyObjectResult / CopyPartResult document.
type copyResult struct {
	ETag         string
	LastModified string
}

func parseCopyResult(t testing.TB, body []byte) copyResult {
	t.Helper()
	var r copyResult
	if err := xml.Unmarshal(body, &r); err != nil {
		t.Fatalf("copy result %q: %v", body, err)
	}
	r.ETag = trimETag(r.ETag)
	return r
}

func testCopy(t *testing.T, tg *target) {
	ctx := ctxT(t)
	c := tg.c
	b := newBucket(t, c)
	b2 := newBucket(t, c)
	body := randomBytes(200 << 10) // above the inline threshold: a data file
	putBytes(t, c, b, "src dir/sörce.bin", body, minio.PutObjectOptions{
		ContentType:  "application/x-source",
		UserMetadata: map[string]string{"origin": "source", "keep": "me"},
	})

	// COPY (the default directive) keeps the metadata.
	info, err := c.CopyObject(ctx, minio.CopyDestOptions{Bucket: b2, Object: "copied"},
		minio.CopySrcOptions{Bucket: b, Object: "src dir/sörce.bin"})
	if err != nil {
		t.Fatalf("CopyObject: %v", err)
	}
	if info.ETag != md5hex(body) {
		t.Errorf("copy ETag %q, want %q", info.ETag, md5hex(body))
	}
	if got := mustGet(t, c, b2, "copied", minio.GetObjectOptions{}); !bytes.Equal(got, body) {
		t.Errorf("copied body differs")
	}
	r := tg.do(t, rawReq{method: http.MethodHead, path: "/" + b2 + "/copied"})
	if r.Header.Get("Content-Type") != "application/x-source" || r.Header.Get("X-Amz-Meta-Origin") != "source" ||
		r.Header.Get("X-Amz-Meta-Keep") != "me" {
		t.Errorf("COPY directive: headers %v", r.Header)
	}

	// REPLACE takes the metadata of the request.
	r = tg.do(t, rawReq{method: http.MethodPut, path: "/" + b + "/replaced", header: hdr(
		"x-amz-copy-source", "/"+b+"/"+s3Escape("src dir/sörce.bin"),
		"x-amz-metadata-directive", "REPLACE",
		"Content-Type", "text/replaced",
		"x-amz-meta-new", "value")})
	r.wantStatus(t, http.StatusOK)
	if cr := parseCopyResult(t, r.Body); cr.ETag != md5hex(body) || cr.LastModified == "" {
		t.Errorf("CopyObjectResult %+v", cr)
	}
	r = tg.do(t, rawReq{method: http.MethodGet, path: "/" + b + "/replaced"})
	if !bytes.Equal(r.Body, body) || r.Header.Get("Content-Type") != "text/replaced" ||
		r.Header.Get("X-Amz-Meta-New") != "value" || r.Header.Get("X-Amz-Meta-Origin") != "" {
		t.Errorf("REPLACE directive: body ok=%v, headers %v", bytes.Equal(r.Body, body), r.Header)
	}

	// Copy onto itself without changing anything is refused...
	self := "/" + b + "/" + s3Escape("src dir/sörce.bin")
	r = tg.do(t, rawReq{method: http.MethodPut, path: "/" + b + "/src dir/sörce.bin", header: hdr("x-amz-copy-source", self)})
	r.wantError(t, http.StatusBadRequest, "InvalidRequest")
	// ...but with REPLACE it changes the metadata in place.
	before, err := c.StatObject(ctx, b, "src dir/sörce.bin", minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // Last-Modified has one-second resolution
	r = tg.do(t, rawReq{method: http.MethodPut, path: "/" + b + "/src dir/sörce.bin", header: hdr(
		"x-amz-copy-source", self,
		"x-amz-metadata-directive", "REPLACE",
		"Content-Type", "text/changed",
		"Cache-Control", "no-store",
		"x-amz-meta-origin", "changed")})
	r.wantStatus(t, http.StatusOK)
	r = tg.do(t, rawReq{method: http.MethodGet, path: "/" + b + "/src dir/sörce.bin"})
	if !bytes.Equal(r.Body, body) || r.Header.Get("Content-Type") != "text/changed" || r.Header.Get("Cache-Control") != "no-store" ||
		r.Header.Get("X-Amz-Meta-Origin") != "changed" || r.Header.Get("X-Amz-Meta-Keep") != "" {
		t.Errorf("self-copy with REPLACE: body ok=%v, headers %v", bytes.Equal(r.Body, body), r.Header)
	}
	after, err := c.StatObject(ctx, b, "src dir/sörce.bin", minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !after.LastModified.After(before.LastModified) {
		t.Errorf("self-copy did not update Last-Modified: %v then %v", before.LastModified, after.LastModified)
	}

	// Source without leading slash is accepted too.
	r = tg.do(t, rawReq{method: http.MethodPut, path: "/" + b2 + "/noslash", header: hdr("x-amz-copy-source", b+"/"+s3Escape("src dir/sörce.bin"))})
	r.wantStatus(t, http.StatusOK)

	// Errors.
	r = tg.do(t, rawReq{method: http.MethodPut, path: "/" + b + "/x", header: hdr("x-amz-copy-source", "/"+b+"/missing")})
	r.wantError(t, http.StatusNotFound, "NoSuchKey")
	r = tg.do(t, rawReq{method: http.MethodPut, path: "/" + b + "/x", header: hdr("x-amz-copy-source", "/"+bucketName("missing")+"/k")})
	r.wantError(t, http.StatusNotFound, "NoSuchBucket")
	r = tg.do(t, rawReq{method: http.MethodPut, path: "/" + b + "/x", header: hdr(
		"x-amz-copy-source", self, "x-amz-metadata-directive", "SOMETIMES")})
	r.wantError(t, http.StatusBadRequest, "InvalidArgument")
	r = tg.do(t, rawReq{method: http.MethodPut, path: "/" + bucketName("missing") + "/x", header: hdr("x-amz-copy-source", self)})
	r.wantError(t, http.StatusNotFound, "NoSuchBucket")
}

func testCopyConditions(t *testing.T, tg *target) {
	ctx := ctxT(t)
	c := tg.c
	b := newBucket(t, c)
	body := []byte("copy conditions")
	putBytes(t, c, b, "src", body, minio.PutObjectOptions{})
	st, err := c.StatObject(ctx, b, "src", minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	etag := `"` + st.ETag + `"`
	past := st.LastModified.Add(-time.Hour).Format(http.TimeFormat)
	future := st.LastModified.Add(time.Hour).Format(http.TimeFormat)
	other := `"0123456789abcdef0123456789abcdef"`
	cases := []struct {
		name string
		h    http.Header
		ok   bool
	}{
		{"if-match", hdr("x-amz-copy-source-if-match", etag), true},
		{"if-match-other", hdr("x-amz-copy-source-if-match", other), false},
		{"if-none-match", hdr("x-amz-copy-source-if-none-match", etag), false},
		{"if-none-match-other", hdr("x-amz-copy-source-if-none-match", other), true},
		{"if-modified-since-past", hdr("x-amz-copy-source-if-modified-since", past), true},
		{"if-modified-since-future", hdr("x-amz-copy-source-if-modified-since", future), false},
		{"if-unmodified-since-past", hdr("x-amz-copy-source-if-unmodified-since", past), false},
		{"if-unmodified-since-future", hdr("x-amz-copy-source-if-unmodified-since", future), true},
		// Documented combinations: if-match true + if-unmodified-since false
		// copies; if-none-match false + if-modified-since true fails.
		{"if-match+unmodified-since-past", hdr("x-amz-copy-source-if-match", etag, "x-amz-copy-source-if-unmodified-since", past), true},
		{"if-none-match+modified-since-past", hdr("x-amz-copy-source-if-none-match", etag, "x-amz-copy-source-if-modified-since", past), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dst := "dst-" + tc.name
			h := tc.h.Clone()
			h.Set("x-amz-copy-source", "/"+b+"/src")
			r := tg.do(t, rawReq{method: http.MethodPut, path: "/" + b + "/" + dst, header: h})
			if tc.ok {
				r.wantStatus(t, http.StatusOK)
				if got := mustGet(t, c, b, dst, minio.GetObjectOptions{}); !bytes.Equal(got, body) {
					t.Errorf("copy body %q", got)
				}
				return
			}
			r.wantError(t, http.StatusPreconditionFailed, "PreconditionFailed")
			r = tg.do(t, rawReq{method: http.MethodHead, path: "/" + b + "/" + dst})
			r.wantStatus(t, http.StatusNotFound)
		})
	}
	// Through minio-go.
	_, err = c.CopyObject(ctx, minio.CopyDestOptions{Bucket: b, Object: "mc"},
		minio.CopySrcOptions{Bucket: b, Object: "src", MatchETag: "0123456789abcdef0123456789abcdef"})
	wantCode(t, err, "PreconditionFailed")
}
