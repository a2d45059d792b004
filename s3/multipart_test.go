package s3

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/bucketdb/bucketdb/store"
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

// --- Multipart uploads with a checksum algorithm ---

// sumB64 is the base64 checksum of data with the algorithm keyed name.
func sumB64(name string, data []byte) string {
	h := checksumAlgos[checksumAlgoIndex(name)].new()
	h.Write(data)
	return b64(h.Sum(nil))
}

// compositeB64 is S3's COMPOSITE checksum of parts: the algorithm's hash
// of the concatenated decoded part checksums, then "-<parts>".
func compositeB64(name string, parts ...[]byte) string {
	h := checksumAlgos[checksumAlgoIndex(name)].new()
	for _, p := range parts {
		ph := checksumAlgos[checksumAlgoIndex(name)].new()
		ph.Write(p)
		h.Write(ph.Sum(nil))
	}
	return fmt.Sprintf("%s-%d", b64(h.Sum(nil)), len(parts))
}

// sdkSum reads the checksum of algorithm name from an SDK output (any of
// the SDK's output types that carries Checksum* fields).
func sdkSum(name string, crc32, crc32c, crc64, sha1, sha256 *string) string {
	return aws.ToString(map[string]*string{"crc32": crc32, "crc32c": crc32c, "crc64nvme": crc64, "sha1": sha1, "sha256": sha256}[name])
}

// TestMultipartObjectChecksumSDK drives uploads created with each checksum
// algorithm through the AWS SDK v2, over plain HTTP (checksums in headers)
// and over TLS (aws-chunked bodies with trailing checksums): the object
// gets the COMPOSITE checksum of its parts' checksums (CRC64NVME: the
// FULL_OBJECT CRC), in the Complete response, HEAD and GET with checksum
// mode, and GetObjectAttributes.
func TestMultipartObjectChecksumSDK(t *testing.T) {
	rec := &partOptsRecorder{}
	e := newTestServer(t, withBackend(func(b Backend) Backend { rec.Backend = b; return rec }))
	tsrv := httptest.NewTLSServer(e.s)
	t.Cleanup(tsrv.Close)
	clients := map[string]*awss3.Client{"http": e.sdk(), "tls": awss3.New(awss3.Options{
		Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(envAccessKey, envSecretKey, ""),
		BaseEndpoint: aws.String(tsrv.URL), HTTPClient: tsrv.Client(), UsePathStyle: true, RetryMaxAttempts: 1,
	})}
	ctx := e.ctx
	bucket := aws.String(e.bucket("sdksums"))
	parts := [][]byte{bytes.Repeat([]byte("first part "), 200), bytes.Repeat([]byte("second "), 300), []byte("tail")}
	whole := bytes.Join(parts, nil)
	for _, tc := range []struct {
		algo types.ChecksumAlgorithm
		typ  types.ChecksumType
	}{
		{types.ChecksumAlgorithmSha256, types.ChecksumTypeComposite},
		{types.ChecksumAlgorithmSha1, types.ChecksumTypeComposite},
		{types.ChecksumAlgorithmCrc32, types.ChecksumTypeComposite},
		{types.ChecksumAlgorithmCrc32c, types.ChecksumTypeComposite},
		{types.ChecksumAlgorithmCrc64nvme, types.ChecksumTypeFullObject},
	} {
		for via, c := range clients {
			name := strings.ToLower(string(tc.algo))
			key := aws.String(name + "/" + via)
			t.Run(name+"/"+via, func(t *testing.T) {
				want := compositeB64(name, parts...)
				if tc.typ == types.ChecksumTypeFullObject {
					want = sumB64(name, whole)
				}
				up, err := c.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: bucket, Key: key, ChecksumAlgorithm: tc.algo})
				if err != nil {
					t.Fatal(err)
				}
				if up.ChecksumAlgorithm != tc.algo || up.ChecksumType != tc.typ {
					t.Fatalf("CreateMultipartUpload: algorithm %q type %q", up.ChecksumAlgorithm, up.ChecksumType)
				}
				var done []types.CompletedPart
				for i, p := range parts {
					n := aws.Int32(int32(i + 1))
					out, err := c.UploadPart(ctx, &awss3.UploadPartInput{Bucket: bucket, Key: key, UploadId: up.UploadId,
						PartNumber: n, Body: bytes.NewReader(p), ChecksumAlgorithm: tc.algo})
					if err != nil {
						t.Fatalf("UploadPart %d: %v", i+1, err)
					}
					if got := sdkSum(name, out.ChecksumCRC32, out.ChecksumCRC32C, out.ChecksumCRC64NVME, out.ChecksumSHA1, out.ChecksumSHA256); got != sumB64(name, p) {
						t.Fatalf("UploadPart %d: checksum %q, want %q", i+1, got, sumB64(name, p))
					}
					done = append(done, types.CompletedPart{PartNumber: n, ETag: out.ETag, ChecksumCRC32: out.ChecksumCRC32,
						ChecksumCRC32C: out.ChecksumCRC32C, ChecksumCRC64NVME: out.ChecksumCRC64NVME,
						ChecksumSHA1: out.ChecksumSHA1, ChecksumSHA256: out.ChecksumSHA256})
				}
				rec.mu.Lock()
				inHeaders := 0
				for _, h := range rec.headers[len(rec.headers)-len(parts):] {
					if h[name] != "" {
						inHeaders++
					}
				}
				rec.mu.Unlock()
				if want := map[string]int{"http": len(parts), "tls": 0}[via]; inHeaders != want {
					t.Fatalf("%d parts sent their checksum in a header, want %d (TLS: trailers)", inHeaders, want)
				}
				lp, err := c.ListParts(ctx, &awss3.ListPartsInput{Bucket: bucket, Key: key, UploadId: up.UploadId})
				if err != nil || lp.ChecksumAlgorithm != tc.algo || lp.ChecksumType != tc.typ || len(lp.Parts) != 3 {
					t.Fatalf("ListParts: algorithm %q type %q, %d parts, %v", lp.ChecksumAlgorithm, lp.ChecksumType, len(lp.Parts), err)
				}
				lu, err := c.ListMultipartUploads(ctx, &awss3.ListMultipartUploadsInput{Bucket: bucket, Prefix: key})
				if err != nil || len(lu.Uploads) != 1 || lu.Uploads[0].ChecksumAlgorithm != tc.algo || lu.Uploads[0].ChecksumType != tc.typ {
					t.Fatalf("ListMultipartUploads: %+v, %v", lu.Uploads, err)
				}
				cm, err := c.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{Bucket: bucket, Key: key,
					UploadId: up.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: done}})
				if err != nil {
					t.Fatal(err)
				}
				if got := sdkSum(name, cm.ChecksumCRC32, cm.ChecksumCRC32C, cm.ChecksumCRC64NVME, cm.ChecksumSHA1, cm.ChecksumSHA256); got != want || cm.ChecksumType != tc.typ {
					t.Fatalf("Complete: checksum %q type %q, want %q %q", got, cm.ChecksumType, want, tc.typ)
				}
				head, err := c.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: bucket, Key: key, ChecksumMode: types.ChecksumModeEnabled})
				if err != nil {
					t.Fatal(err)
				}
				if got := sdkSum(name, head.ChecksumCRC32, head.ChecksumCRC32C, head.ChecksumCRC64NVME, head.ChecksumSHA1, head.ChecksumSHA256); got != want || head.ChecksumType != tc.typ {
					t.Fatalf("HEAD: checksum %q type %q, want %q %q", got, head.ChecksumType, want, tc.typ)
				}
				get, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: bucket, Key: key, ChecksumMode: types.ChecksumModeEnabled})
				if err != nil {
					t.Fatal(err)
				}
				body, err := io.ReadAll(get.Body)
				get.Body.Close()
				if got := sdkSum(name, get.ChecksumCRC32, get.ChecksumCRC32C, get.ChecksumCRC64NVME, get.ChecksumSHA1, get.ChecksumSHA256); err != nil || !bytes.Equal(body, whole) || got != want {
					t.Fatalf("GET: %d bytes, checksum %q, %v; want %q", len(body), got, err, want)
				}
				attrs, err := c.GetObjectAttributes(ctx, &awss3.GetObjectAttributesInput{Bucket: bucket, Key: key,
					ObjectAttributes: []types.ObjectAttributes{types.ObjectAttributesChecksum, types.ObjectAttributesObjectParts}})
				if err != nil || attrs.Checksum == nil || attrs.ObjectParts == nil {
					t.Fatalf("GetObjectAttributes: %+v, %v", attrs, err)
				}
				cs := attrs.Checksum
				if got := sdkSum(name, cs.ChecksumCRC32, cs.ChecksumCRC32C, cs.ChecksumCRC64NVME, cs.ChecksumSHA1, cs.ChecksumSHA256); got != want || cs.ChecksumType != tc.typ {
					t.Fatalf("GetObjectAttributes: checksum %q type %q, want %q %q", got, cs.ChecksumType, want, tc.typ)
				}
				for i, p := range attrs.ObjectParts.Parts {
					if got := sdkSum(name, p.ChecksumCRC32, p.ChecksumCRC32C, p.ChecksumCRC64NVME, p.ChecksumSHA1, p.ChecksumSHA256); got != sumB64(name, parts[i]) {
						t.Errorf("GetObjectAttributes part %d: checksum %q, want %q", i+1, got, sumB64(name, parts[i]))
					}
				}
			})
		}
	}
}

func TestCreateMultipartUploadChecksumRefusals(t *testing.T) {
	e := newTestServer(t)
	b := e.bucket("mpurefuse")
	for _, h := range [][]string{
		{"x-amz-checksum-type", "COMPOSITE"},
		{"x-amz-checksum-algorithm", "SHA256", "x-amz-checksum-type", "FULL_OBJECT"},
		{"x-amz-checksum-algorithm", "SHA1", "x-amz-checksum-type", "FULL_OBJECT"},
		{"x-amz-checksum-algorithm", "CRC64NVME", "x-amz-checksum-type", "COMPOSITE"},
		{"x-amz-checksum-algorithm", "CRC32", "x-amz-checksum-type", "PARTS"},
		{"x-amz-checksum-algorithm", "MD5"},
	} {
		t.Run(strings.Join(h, "="), func(t *testing.T) {
			wantError(t, e.do("POST", "/"+b+"/k?uploads", nil, h...), 400, "InvalidRequest")
		})
	}
	lu, err := e.core.ListMultipartUploads(e.ctx, b, "", "", "", "", 100)
	if err != nil || len(lu.Uploads) != 0 {
		t.Fatalf("refused creations left uploads: %+v, %v", lu.Uploads, err)
	}
}

// createRaw starts an upload with raw headers and returns its ID.
func (e *testEnv) createRaw(b, k string, header ...string) string {
	e.t.Helper()
	rr := e.do("POST", "/"+b+"/"+k+"?uploads", nil, header...)
	var res initiateMultipartUploadResult
	if rr.status != 200 || xml.Unmarshal(rr.body, &res) != nil || res.UploadID == "" {
		e.t.Fatalf("CreateMultipartUpload: %d %s", rr.status, rr.body)
	}
	return res.UploadID
}

func partTarget(b, k, id string, n int) string {
	return fmt.Sprintf("/%s/%s?partNumber=%d&uploadId=%s", b, k, n, id)
}

// completeChecksumBody renders a CompleteMultipartUpload body whose parts
// carry extra XML (checksum elements).
func completeChecksumBody(etags []string, extra []string) []byte {
	var sb strings.Builder
	sb.WriteString("<CompleteMultipartUpload>")
	for i, et := range etags {
		fmt.Fprintf(&sb, "<Part><PartNumber>%d</PartNumber><ETag>%q</ETag>%s</Part>", i+1, et, extra[i])
	}
	sb.WriteString("</CompleteMultipartUpload>")
	return []byte(sb.String())
}

func TestMultipartCompositeChecksumRules(t *testing.T) {
	e := newTestServer(t)
	b := e.bucket("mpurules")
	id := e.createRaw(b, "k", "x-amz-checksum-algorithm", "SHA256")
	p1, p2 := bytes.Repeat([]byte("1"), 2000), []byte("two")

	// A part must carry the upload's checksum, in a header or a trailer.
	wantError(t, e.do("PUT", partTarget(b, "k", id, 1), p1), 400, "InvalidRequest")
	wantError(t, e.do("PUT", partTarget(b, "k", id, 1), p1, "x-amz-checksum-crc32", sumB64("crc32", p1)), 400, "InvalidRequest")
	wantError(t, e.do("PUT", partTarget(b, "k", id, 1), p1, "x-amz-checksum-sha256", sumB64("sha256", p2)), 400, "BadDigest")
	var etags []string
	for i, p := range [][]byte{p1, p2} {
		rr := e.do("PUT", partTarget(b, "k", id, i+1), p, "x-amz-checksum-sha256", sumB64("sha256", p))
		if rr.status != 200 || rr.header.Get("x-amz-checksum-sha256") != sumB64("sha256", p) {
			t.Fatalf("UploadPart %d: %d %v", i+1, rr.status, rr.header)
		}
		etags = append(etags, trimETag(rr.header.Get("ETag")))
	}
	el := func(name string, p []byte) string {
		tag := "Checksum" + checksumAlgorithmName(name)
		return "<" + tag + ">" + sumB64(name, p) + "</" + tag + ">"
	}
	good := []string{el("sha256", p1), el("sha256", p2)}
	want := compositeB64("sha256", p1, p2)
	target := "/" + b + "/k?uploadId=" + id
	for _, tc := range []struct {
		name   string
		body   []byte
		header []string
		status int
		code   string
	}{
		{"part checksum missing", completeChecksumBody(etags, []string{"", good[1]}), nil, 400, "InvalidRequest"},
		{"another part's checksum", completeChecksumBody(etags, []string{el("sha256", p2), good[1]}), nil, 400, "InvalidPart"},
		{"another algorithm for a part", completeChecksumBody(etags, []string{el("crc32", p1), good[1]}), nil, 400, "BadDigest"},
		{"a gap in the part numbers", []byte(fmt.Sprintf("<CompleteMultipartUpload><Part><PartNumber>2</PartNumber><ETag>%q</ETag>%s</Part></CompleteMultipartUpload>", etags[1], good[1])), nil, 400, "InvalidPartOrder"},
		{"another checksum type", completeChecksumBody(etags, good), []string{"x-amz-checksum-type", "FULL_OBJECT"}, 400, "BadDigest"},
		{"an object checksum of another algorithm", completeChecksumBody(etags, good), []string{"x-amz-checksum-crc32", sumB64("crc32", p1)}, 400, "InvalidRequest"},
		{"another object checksum", completeChecksumBody(etags, good), []string{"x-amz-checksum-sha256", compositeB64("sha256", p2, p1)}, 400, "BadDigest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.do("POST", target, tc.body, tc.header...), tc.status, tc.code)
		})
	}
	rr := e.do("POST", target, completeChecksumBody(etags, good), "x-amz-checksum-sha256", want, "x-amz-checksum-type", "COMPOSITE")
	var res struct {
		ChecksumSHA256, ChecksumType string
	}
	if rr.status != 200 || xml.Unmarshal(rr.body, &res) != nil || res.ChecksumSHA256 != want || res.ChecksumType != "COMPOSITE" {
		t.Fatalf("Complete: %d %s, want ChecksumSHA256 %s", rr.status, rr.body, want)
	}
	head := e.do("HEAD", "/"+b+"/k", nil, "x-amz-checksum-mode", "ENABLED")
	if head.header.Get("x-amz-checksum-sha256") != want || head.header.Get("x-amz-checksum-type") != "COMPOSITE" {
		t.Fatalf("HEAD with checksum mode: %v", head.header)
	}
	if plain := e.do("HEAD", "/"+b+"/k", nil); plain.header.Get("x-amz-checksum-sha256") != "" || plain.header.Get("x-amz-checksum-type") != "" {
		t.Fatalf("HEAD without checksum mode shows checksums: %v", plain.header)
	}
}

// A FULL_OBJECT upload computes the CRC of a part sent without one, and the
// object's checksum is the CRC of all its bytes.
func TestMultipartFullObjectChecksum(t *testing.T) {
	e := newTestServer(t)
	b := e.bucket("mpufull")
	id := e.createRaw(b, "k", "x-amz-checksum-algorithm", "CRC32", "x-amz-checksum-type", "FULL_OBJECT")
	p1, p2 := bytes.Repeat([]byte("x"), 1500), []byte("end")
	var etags []string
	for i, p := range [][]byte{p1, p2} {
		var h []string
		if i == 0 {
			h = []string{"x-amz-checksum-crc32", sumB64("crc32", p)}
		}
		rr := e.do("PUT", partTarget(b, "k", id, i+1), p, h...)
		if rr.status != 200 || rr.header.Get("x-amz-checksum-crc32") != sumB64("crc32", p) {
			t.Fatalf("UploadPart %d: %d %v", i+1, rr.status, rr.header)
		}
		etags = append(etags, trimETag(rr.header.Get("ETag")))
	}
	rr := e.do("POST", "/"+b+"/k?uploadId="+id, completeChecksumBody(etags, []string{"", ""}))
	want := sumB64("crc32", append(append([]byte{}, p1...), p2...))
	var res struct{ ChecksumCRC32, ChecksumType string }
	if rr.status != 200 || xml.Unmarshal(rr.body, &res) != nil || res.ChecksumCRC32 != want || res.ChecksumType != "FULL_OBJECT" {
		t.Fatalf("Complete: %d %s, want ChecksumCRC32 %s", rr.status, rr.body, want)
	}
	head := e.do("HEAD", "/"+b+"/k", nil, "x-amz-checksum-mode", "ENABLED")
	if head.header.Get("x-amz-checksum-crc32") != want || head.header.Get("x-amz-checksum-type") != "FULL_OBJECT" {
		t.Fatalf("HEAD with checksum mode: %v", head.header)
	}
	// The CRC of the whole object stays true for a copy.
	if rr := e.do("PUT", "/"+b+"/copy", nil, "x-amz-copy-source", "/"+b+"/k"); rr.status != 200 {
		t.Fatalf("CopyObject: %d %s", rr.status, rr.body)
	}
	head = e.do("HEAD", "/"+b+"/copy", nil, "x-amz-checksum-mode", "ENABLED")
	if head.header.Get("x-amz-checksum-crc32") != want || head.header.Get("x-amz-checksum-type") != "FULL_OBJECT" {
		t.Fatalf("HEAD of the copy with checksum mode: %v", head.header)
	}
}

// UploadPartCopy into an upload with an algorithm gives the part its
// checksum, so the upload can complete with a composite checksum.
func TestUploadPartCopyChecksum(t *testing.T) {
	e := newTestServer(t)
	b := e.bucket("mpucopy")
	src := strings.Repeat("source ", 400)
	e.put(b, "src", src, minio.PutObjectOptions{})
	id := e.createRaw(b, "k", "x-amz-checksum-algorithm", "SHA1")
	rr := e.do("PUT", partTarget(b, "k", id, 1), nil, "x-amz-copy-source", "/"+b+"/src")
	var cp struct{ ETag, ChecksumSHA1 string }
	if rr.status != 200 || xml.Unmarshal(rr.body, &cp) != nil || cp.ChecksumSHA1 != sumB64("sha1", []byte(src)) {
		t.Fatalf("UploadPartCopy: %d %s", rr.status, rr.body)
	}
	body := completeChecksumBody([]string{trimETag(cp.ETag)}, []string{"<ChecksumSHA1>" + cp.ChecksumSHA1 + "</ChecksumSHA1>"})
	rr = e.do("POST", "/"+b+"/k?uploadId="+id, body)
	var res struct{ ChecksumSHA1 string }
	if want := compositeB64("sha1", []byte(src)); rr.status != 200 || xml.Unmarshal(rr.body, &res) != nil || res.ChecksumSHA1 != want {
		t.Fatalf("Complete: %d %s, want %s", rr.status, rr.body, want)
	}
}

// minio-go with trailing headers creates multipart uploads with CRC32C,
// sends each part's CRC32C and completes with the composite value without
// its "-<parts>" and x-amz-checksum-type COMPOSITE: the upload completes
// with the composite checksum.
func TestMultipartChecksumMinioTrailing(t *testing.T) {
	e := newTestServer(t)
	b := e.bucket("miniotrail")
	mc := e.client(func(o *minio.Options) { o.TrailingHeaders = true })
	body := bytes.Repeat([]byte("0123456789abcdef"), (5<<20)/16+100)
	info, err := mc.PutObject(e.ctx, b, "big", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{PartSize: 5 << 20})
	if err != nil {
		t.Fatal(err)
	}
	want := compositeB64("crc32c", body[:5<<20], body[5<<20:])
	if info.ChecksumCRC32C != strings.TrimSuffix(want, "-2") && info.ChecksumCRC32C != want {
		t.Fatalf("PutObject CRC32C %q, want %q", info.ChecksumCRC32C, want)
	}
	head := e.do("HEAD", "/"+b+"/big", nil, "x-amz-checksum-mode", "ENABLED")
	if head.header.Get("x-amz-checksum-crc32c") != want {
		t.Fatalf("HEAD: %v, want CRC32C %s", head.header, want)
	}
}

// uploadReader is a Backend with the UploadReader capability, counting
// its uses and the ListParts calls.
type uploadReader struct {
	Backend
	mu           sync.Mutex
	infos, lists int
}

func (u *uploadReader) UploadInfo(ctx context.Context, bucket, key, uploadID string) (store.UploadInfo, error) {
	u.mu.Lock()
	u.infos++
	u.mu.Unlock()
	res, err := u.Backend.ListParts(ctx, bucket, key, uploadID, store.ListPartsOptions{})
	return res.Upload, err
}

func (u *uploadReader) ListParts(ctx context.Context, bucket, key, uploadID string, opts store.ListPartsOptions) (store.ListPartsResult, error) {
	u.mu.Lock()
	u.lists++
	u.mu.Unlock()
	return u.Backend.ListParts(ctx, bucket, key, uploadID, opts)
}

// A Backend that reads upload records itself is asked for them instead of
// ListParts, before each part and the completion.
func TestUploadReaderCapability(t *testing.T) {
	ur := &uploadReader{}
	e := newTestServer(t, withBackend(func(b Backend) Backend { ur.Backend = b; return ur }))
	b := e.bucket("capability")
	id := e.createRaw(b, "k", "x-amz-checksum-algorithm", "CRC32C")
	p := []byte("one part")
	rr := e.do("PUT", partTarget(b, "k", id, 1), p, "x-amz-checksum-crc32c", sumB64("crc32c", p))
	if rr.status != 200 {
		t.Fatalf("UploadPart: %d %s", rr.status, rr.body)
	}
	wantError(t, e.do("PUT", partTarget(b, "k", id, 2), p), 400, "InvalidRequest")
	body := completeChecksumBody([]string{trimETag(rr.header.Get("ETag"))}, []string{"<ChecksumCRC32C>" + sumB64("crc32c", p) + "</ChecksumCRC32C>"})
	if rr := e.do("POST", "/"+b+"/k?uploadId="+id, body); rr.status != 200 {
		t.Fatalf("Complete: %d %s", rr.status, rr.body)
	}
	ur.mu.Lock()
	defer ur.mu.Unlock()
	if ur.infos != 3 || ur.lists != 0 {
		t.Fatalf("UploadInfo called %d times, ListParts %d; want 3 and 0", ur.infos, ur.lists)
	}
}
