package s3

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
)

// multipartETag is S3's ETag of a multipart object.
func multipartETag(parts ...[]byte) string {
	var all []byte
	for _, p := range parts {
		s := md5.Sum(p)
		all = append(all, s[:]...)
	}
	s := md5.Sum(all)
	return hex.EncodeToString(s[:]) + "-" + strconv.Itoa(len(parts))
}

func completeBody(parts ...minio.CompletePart) string {
	var b strings.Builder
	b.WriteString("<CompleteMultipartUpload>")
	for _, p := range parts {
		fmt.Fprintf(&b, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", p.PartNumber, k2xml(p.ETag))
	}
	b.WriteString("</CompleteMultipartUpload>")
	return b.String()
}

func TestMultipartUpload(t *testing.T) {
	e := newTestServer(t)
	b := e.bucket("mpu")
	p1 := bytes.Repeat([]byte("a"), 2048)
	p2 := bytes.Repeat([]byte("b"), 2048)
	p3 := []byte("tail")

	id, err := e.core.NewMultipartUpload(e.ctx, b, "big", minio.PutObjectOptions{
		ContentType: "text/x-mp", UserMetadata: map[string]string{"Mode": "0644"},
		UserTags: map[string]string{"t": "1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var parts []minio.CompletePart
	for i, data := range [][]byte{p1, p2, p3} {
		op, err := e.core.PutObjectPart(e.ctx, b, "big", id, i+1, bytes.NewReader(data), int64(len(data)), minio.PutObjectPartOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("%x", md5.Sum(data)); op.ETag != want {
			t.Fatalf("part %d ETag %q, want %q", i+1, op.ETag, want)
		}
		parts = append(parts, minio.CompletePart{PartNumber: i + 1, ETag: op.ETag})
	}
	// Re-uploading a part number replaces it.
	op, err := e.core.PutObjectPart(e.ctx, b, "big", id, 3, bytes.NewReader(p3), int64(len(p3)), minio.PutObjectPartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	parts[2].ETag = op.ETag

	lp, err := e.core.ListObjectParts(e.ctx, b, "big", id, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(lp.ObjectParts) != 2 || !lp.IsTruncated || lp.NextPartNumberMarker != 2 || lp.MaxParts != 2 {
		t.Fatalf("ListParts page 1: %+v", lp)
	}
	lp, err = e.core.ListObjectParts(e.ctx, b, "big", id, 2, 2)
	if err != nil || len(lp.ObjectParts) != 1 || lp.IsTruncated || lp.ObjectParts[0].PartNumber != 3 || lp.ObjectParts[0].Size != 4 {
		t.Fatalf("ListParts page 2: %+v %v", lp, err)
	}

	lu, err := e.core.ListMultipartUploads(e.ctx, b, "", "", "", "", 1000)
	if err != nil || len(lu.Uploads) != 1 || lu.Uploads[0].UploadID != id || lu.Uploads[0].Key != "big" {
		t.Fatalf("ListMultipartUploads: %+v %v", lu, err)
	}

	ui, err := e.core.CompleteMultipartUpload(e.ctx, b, "big", id, parts, minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := multipartETag(p1, p2, p3); ui.ETag != want {
		t.Fatalf("multipart ETag %q, want %q", ui.ETag, want)
	}
	all := string(p1) + string(p2) + string(p3)
	if got := e.get(b, "big", minio.GetObjectOptions{}); got != all {
		t.Fatalf("completed object differs (%d bytes)", len(got))
	}
	st, err := e.mc.StatObject(e.ctx, b, "big", minio.StatObjectOptions{})
	if err != nil || st.ContentType != "text/x-mp" || st.UserMetadata["Mode"] != "0644" || st.UserTagCount != 1 {
		t.Fatalf("metadata of completed object: %+v %v", st, err)
	}

	// GET ?partNumber=N returns that part with the part count.
	rr := e.do("GET", "/mpu/big?partNumber=2", nil)
	if rr.status != 206 || string(rr.body) != string(p2) || rr.header.Get("x-amz-mp-parts-count") != "3" ||
		rr.header.Get("Content-Range") != "bytes 2048-4095/4100" {
		t.Fatalf("partNumber=2: %d %v", rr.status, rr.header)
	}
	rr = e.do("HEAD", "/mpu/big?partNumber=3", nil)
	if rr.status != 206 || rr.header.Get("Content-Length") != "4" {
		t.Fatalf("HEAD partNumber=3: %d %v", rr.status, rr.header)
	}
	wantError(t, e.do("GET", "/mpu/big?partNumber=4", nil), 416, "InvalidPartNumber")
	wantError(t, e.do("GET", "/mpu/big?partNumber=0", nil), 400, "InvalidArgument")
	wantError(t, e.do("GET", "/mpu/big?partNumber=1", nil, "Range", "bytes=0-1"), 400, "InvalidRequest")

	// The upload is gone.
	_, err = e.core.ListObjectParts(e.ctx, b, "big", id, 0, 100)
	wantMinioError(t, err, "NoSuchUpload")
}

func TestMultipartErrors(t *testing.T) {
	e := newTestServer(t)
	b := e.bucket("mperr")
	small := []byte("too small")
	big := bytes.Repeat([]byte("z"), 1024)
	id, err := e.core.NewMultipartUpload(e.ctx, b, "k", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	put := func(n int, data []byte) minio.CompletePart {
		op, err := e.core.PutObjectPart(e.ctx, b, "k", id, n, bytes.NewReader(data), int64(len(data)), minio.PutObjectPartOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return minio.CompletePart{PartNumber: n, ETag: op.ETag}
	}
	c1, c2, c3 := put(1, small), put(2, big), put(3, big)
	complete := func(body string, hdr ...string) rawResponse {
		return e.do("POST", "/mperr/k?uploadId="+id, []byte(body), hdr...)
	}
	wantError(t, complete(completeBody(c1, c2)), 400, "EntityTooSmall")
	wantError(t, complete(completeBody(c2, c3, c1)), 400, "InvalidPartOrder")
	wantError(t, complete(completeBody(minio.CompletePart{PartNumber: 2, ETag: "0123456789abcdef0123456789abcdef"})), 400, "InvalidPart")
	wantError(t, complete(completeBody(minio.CompletePart{PartNumber: 9, ETag: c2.ETag})), 400, "InvalidPart")
	wantError(t, complete("<CompleteMultipartUpload><Part>"), 400, "MalformedXML")
	wantError(t, complete("<CompleteMultipartUpload></CompleteMultipartUpload>"), 400, "MalformedXML")
	wantError(t, e.do("POST", "/mperr/k?uploadId=nope", []byte(completeBody(c2))), 404, "NoSuchUpload")
	wantError(t, e.do("PUT", "/mperr/k?partNumber=1&uploadId=nope", []byte("x")), 404, "NoSuchUpload")
	wantError(t, e.do("PUT", "/mperr/k?partNumber=0&uploadId="+id, []byte("x")), 400, "InvalidArgument")
	wantError(t, e.do("PUT", "/mperr/k?partNumber=10001&uploadId="+id, []byte("x")), 400, "InvalidArgument")
	wantError(t, e.do("PUT", "/mperr/k?partNumber=1&uploadId="+id, []byte("x"), "Content-MD5", md5b64("y")), 400, "BadDigest")
	wantError(t, e.do("GET", "/mperr/k?uploadId="+id+"&max-parts=-1", nil), 400, "InvalidArgument")

	// Conditional completion: If-None-Match: * on an existing key.
	e.put(b, "k", "exists", minio.PutObjectOptions{})
	wantError(t, complete(completeBody(c2, c3), "If-None-Match", "*"), 412, "PreconditionFailed")
	rr := complete(completeBody(c2, c3))
	var res completeMultipartUploadResult
	if rr.status != 200 || xml.Unmarshal(rr.body, &res) != nil || res.Bucket != b || res.Key != "k" || !strings.HasSuffix(res.ETag, `-2"`) {
		t.Fatalf("complete: %d %s", rr.status, rr.body)
	}

	// Abort: 204, then the upload is gone.
	id2, _ := e.core.NewMultipartUpload(e.ctx, b, "k2", minio.PutObjectOptions{})
	if rr := e.do("DELETE", "/mperr/k2?uploadId="+id2, nil); rr.status != 204 {
		t.Fatalf("abort: %d %s", rr.status, rr.body)
	}
	wantError(t, e.do("DELETE", "/mperr/k2?uploadId="+id2, nil), 404, "NoSuchUpload")
}

func TestUploadPartCopy(t *testing.T) {
	e := newTestServer(t)
	b := e.bucket("upc")
	if err := e.mc.EnableVersioning(e.ctx, b); err != nil {
		t.Fatal(err)
	}
	src := bytes.Repeat([]byte("0123456789"), 300) // 3000 bytes
	v1 := e.put(b, "src", string(src), minio.PutObjectOptions{}).VersionID
	e.put(b, "src", "newer", minio.PutObjectOptions{})

	id, err := e.core.NewMultipartUpload(e.ctx, b, "dst", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	srcHdr := "/upc/src?versionId=" + v1
	rr := e.do("PUT", "/upc/dst?partNumber=1&uploadId="+id, nil, "x-amz-copy-source", srcHdr, "x-amz-copy-source-range", "bytes=0-1999")
	var r1 copyPartResult
	if rr.status != 200 || xml.Unmarshal(rr.body, &r1) != nil || rr.header.Get("x-amz-copy-source-version-id") != v1 {
		t.Fatalf("UploadPartCopy 1: %d %v %s", rr.status, rr.header, rr.body)
	}
	rr = e.do("PUT", "/upc/dst?partNumber=2&uploadId="+id, nil, "x-amz-copy-source", srcHdr, "x-amz-copy-source-range", "bytes=2000-2999")
	var r2 copyPartResult
	if rr.status != 200 || xml.Unmarshal(rr.body, &r2) != nil {
		t.Fatalf("UploadPartCopy 2: %d %s", rr.status, rr.body)
	}
	if want := fmt.Sprintf("\"%x\"", md5.Sum(src[:2000])); r1.ETag != want {
		t.Fatalf("copied part ETag %s, want %s", r1.ETag, want)
	}
	wantError(t, e.do("PUT", "/upc/dst?partNumber=3&uploadId="+id, nil, "x-amz-copy-source", srcHdr, "x-amz-copy-source-range", "bytes=0-3000"), 416, "InvalidRange")
	wantError(t, e.do("PUT", "/upc/dst?partNumber=3&uploadId="+id, nil, "x-amz-copy-source", srcHdr, "x-amz-copy-source-range", "bytes=-5"), 400, "InvalidArgument")
	wantError(t, e.do("PUT", "/upc/dst?partNumber=3&uploadId="+id, nil, "x-amz-copy-source", srcHdr, "x-amz-copy-source-if-match", `"nope"`), 412, "PreconditionFailed")
	wantError(t, e.do("PUT", "/upc/dst?partNumber=3&uploadId="+id, nil, "x-amz-copy-source", "/upc/missing"), 404, "NoSuchKey")

	_, err = e.core.CompleteMultipartUpload(e.ctx, b, "dst", id, []minio.CompletePart{
		{PartNumber: 1, ETag: r1.ETag}, {PartNumber: 2, ETag: r2.ETag},
	}, minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.get(b, "dst", minio.GetObjectOptions{}); got != string(src) {
		t.Fatalf("assembled copy differs (%d bytes)", len(got))
	}
}

func TestMinioMultipartPut(t *testing.T) {
	e := newTestServer(t)
	b := e.bucket("mput")
	data := bytes.Repeat([]byte("minio-multipart!"), 6<<16) // 6 MiB: two 5 MiB parts
	_, err := e.mc.PutObject(e.ctx, b, "obj", bytes.NewReader(data), -1, minio.PutObjectOptions{PartSize: 5 << 20})
	if err != nil {
		t.Fatal(err)
	}
	st, err := e.mc.StatObject(e.ctx, b, "obj", minio.StatObjectOptions{})
	if err != nil || st.Size != int64(len(data)) || !strings.HasSuffix(st.ETag, "-2") {
		t.Fatalf("stat: %+v %v", st, err)
	}
	if got := e.get(b, "obj", minio.GetObjectOptions{}); got != string(data) {
		t.Fatal("multipart PUT round trip differs")
	}
}
