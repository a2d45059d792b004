package integration

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"
)

const mib = 1 << 20

// uploadsResult is ListMultipartUploadsResult.
type uploadsResult struct {
	Bucket             string
	KeyMarker          string
	UploadIDMarker     string `xml:"UploadIdMarker"`
	NextKeyMarker      string
	NextUploadIDMarker string `xml:"NextUploadIdMarker"`
	Prefix             string
	Delimiter          string
	MaxUploads         int
	IsTruncated        bool
	Uploads            []struct {
		Key       string
		UploadID  string `xml:"UploadId"`
		Initiated string
	} `xml:"Upload"`
	CommonPrefixes []struct{ Prefix string }
}

// partsResult is ListPartsResult.
type partsResult struct {
	Bucket               string
	Key                  string
	UploadID             string `xml:"UploadId"`
	PartNumberMarker     int
	NextPartNumberMarker int
	MaxParts             int
	IsTruncated          bool
	Parts                []struct {
		PartNumber   int
		ETag         string
		Size         int64
		LastModified string
	} `xml:"Part"`
}

// completeDoc renders a CompleteMultipartUpload body from part numbers and
// ETags, in the order given.
func completeDoc(parts ...any) []byte {
	var b strings.Builder
	b.WriteString("<CompleteMultipartUpload>")
	for i := 0; i+1 < len(parts); i += 2 {
		fmt.Fprintf(&b, `<Part><PartNumber>%d</PartNumber><ETag>"%s"</ETag></Part>`, parts[i].(int), trimETag(parts[i+1].(string)))
	}
	b.WriteString("</CompleteMultipartUpload>")
	return []byte(b.String())
}

func createUpload(t testing.TB, tg *target, b, k string, opts minio.PutObjectOptions) string {
	t.Helper()
	id, err := tg.core().NewMultipartUpload(ctxT(t), b, k, opts)
	if err != nil || id == "" {
		t.Fatalf("NewMultipartUpload %s: %q, %v", k, id, err)
	}
	return id
}

func uploadPart(t testing.TB, tg *target, b, k, id string, n int, body []byte) string {
	t.Helper()
	p, err := tg.core().PutObjectPart(ctxT(t), b, k, id, n, bytes.NewReader(body), int64(len(body)), minio.PutObjectPartOptions{})
	if err != nil {
		t.Fatalf("UploadPart %d of %s: %v", n, k, err)
	}
	if p.ETag != md5hex(body) {
		t.Errorf("UploadPart %d: ETag %q, want %q", n, p.ETag, md5hex(body))
	}
	return p.ETag
}

func completeRaw(t testing.TB, tg *target, b, k, id string, doc []byte) *rawResp {
	t.Helper()
	return tg.do(t, rawReq{method: http.MethodPost, path: "/" + b + "/" + k, query: q("uploadId", id), body: doc})
}

// genMultipartETag is the S3 multipart ETag of newGen(seed, size) uploaded in
// parts of partSize.
func genMultipartETag(seed uint64, size, partSize int64) string {
	g := newGen(seed, size)
	all := md5.New()
	n := 0
	for off := int64(0); off < size; off += partSize {
		h := md5.New()
		io.CopyN(h, g, min(partSize, size-off))
		all.Write(h.Sum(nil))
		n++
	}
	return fmt.Sprintf("%s-%d", hex.EncodeToString(all.Sum(nil)), n)
}

// testMultipartStream: minio-go's PutObject of a 200 MiB stream of unknown
// length, which it uploads in 16 MiB parts.
func testMultipartStream(t *testing.T, tg *target) {
	ctx := ctxT(t)
	const size, partSize, seed = 200 * mib, 16 * mib, 200
	b := newBucket(t, tg.c)
	// Parts go UNSIGNED-PAYLOAD: streaming signatures are covered by
	// LargeStream, and hashing 200 MiB twice more costs the client CPU.
	info, err := tg.c.PutObject(ctx, b, "stream", newGen(seed, size), -1,
		minio.PutObjectOptions{PartSize: partSize, DisableContentSha256: true})
	if err != nil {
		t.Fatalf("PutObject 200 MiB stream: %v", err)
	}
	wantETag := genMultipartETag(seed, size, partSize)
	if info.ETag != wantETag {
		t.Errorf("multipart ETag %q, want %q", info.ETag, wantETag)
	}
	st, err := tg.c.StatObject(ctx, b, "stream", minio.StatObjectOptions{})
	if err != nil || st.Size != size || st.ETag != wantETag {
		t.Fatalf("StatObject: size %d etag %q err %v", st.Size, st.ETag, err)
	}
	obj, err := tg.c.GetObject(ctx, b, "stream", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, n, err := streamMD5(obj)
	obj.Close()
	if want := genMD5(seed, size); err != nil || n != size || got != want {
		t.Fatalf("GET: md5 %s (%d bytes, %v), want %s", got, n, err, want)
	}
}

func testMultipartManual(t *testing.T, tg *target) {
	ctx := ctxT(t)
	b := newBucket(t, tg.c)
	k := "manual/obj"
	id := createUpload(t, tg, b, k, minio.PutObjectOptions{ContentType: "application/x-mp", UserMetadata: map[string]string{"stage": "multipart"}})
	p1, p2, p3 := randomBytes(5*mib), randomBytes(5*mib), randomBytes(1234)
	// Parts uploaded out of order; part 2 replaced by a re-upload.
	e3 := uploadPart(t, tg, b, k, id, 3, p3)
	e2old := uploadPart(t, tg, b, k, id, 2, randomBytes(5*mib+1))
	e1 := uploadPart(t, tg, b, k, id, 1, p1)
	e2 := uploadPart(t, tg, b, k, id, 2, p2)
	if e2 == e2old {
		t.Fatal("re-uploaded part has the old ETag")
	}
	lp, err := tg.core().ListObjectParts(ctx, b, k, id, 0, 1000)
	if err != nil {
		t.Fatalf("ListParts: %v", err)
	}
	if len(lp.ObjectParts) != 3 {
		t.Fatalf("ListParts: %d parts", len(lp.ObjectParts))
	}
	for i, want := range []struct {
		etag string
		size int
	}{{e1, len(p1)}, {e2, len(p2)}, {e3, len(p3)}} {
		p := lp.ObjectParts[i]
		if p.PartNumber != i+1 || trimETag(p.ETag) != want.etag || p.Size != int64(want.size) {
			t.Errorf("part %d listed as %+v", i+1, p)
		}
	}

	r := completeRaw(t, tg, b, k, id, completeDoc(1, e1, 2, e2, 3, e3))
	r.wantStatus(t, http.StatusOK)
	var cr struct {
		Bucket, Key, ETag, Location string
	}
	if err := xml.Unmarshal(r.Body, &cr); err != nil {
		t.Fatalf("CompleteMultipartUploadResult: %v\n%s", err, r.Body)
	}
	wantETag := multipartETag(p1, p2, p3)
	if trimETag(cr.ETag) != wantETag || cr.Key != k || cr.Bucket != b {
		t.Errorf("complete result %+v, want ETag %s", cr, wantETag)
	}
	whole := bytes.Join([][]byte{p1, p2, p3}, nil)
	r = tg.do(t, rawReq{method: http.MethodGet, path: "/" + b + "/" + k})
	r.wantStatus(t, http.StatusOK)
	if !bytes.Equal(r.Body, whole) {
		t.Errorf("completed object differs (%d bytes, want %d)", len(r.Body), len(whole))
	}
	if r.Header.Get("Etag") != `"`+wantETag+`"` || r.Header.Get("Content-Type") != "application/x-mp" || r.Header.Get("X-Amz-Meta-Stage") != "multipart" {
		t.Errorf("completed object headers: %v", r.Header)
	}
	// A range across the part boundary.
	r = tg.do(t, rawReq{method: http.MethodGet, path: "/" + b + "/" + k, header: hdr("Range", fmt.Sprintf("bytes=%d-%d", 5*mib-10, 10*mib+9))})
	r.wantStatus(t, http.StatusPartialContent)
	if !bytes.Equal(r.Body, whole[5*mib-10:10*mib+10]) {
		t.Errorf("range across parts differs")
	}
	// The upload is gone.
	_, err = tg.core().ListObjectParts(ctx, b, k, id, 0, 1000)
	wantCode(t, err, "NoSuchUpload")
	r = completeRaw(t, tg, b, k, id, completeDoc(1, e1, 2, e2, 3, e3))
	r.wantError(t, http.StatusNotFound, "NoSuchUpload")

	// Parts may be skipped: 1 and 3 only.
	id = createUpload(t, tg, b, "skip", minio.PutObjectOptions{})
	e1 = uploadPart(t, tg, b, "skip", id, 1, p1)
	uploadPart(t, tg, b, "skip", id, 2, p2)
	e3 = uploadPart(t, tg, b, "skip", id, 3, p3)
	r = completeRaw(t, tg, b, "skip", id, completeDoc(1, e1, 3, e3))
	r.wantStatus(t, http.StatusOK)
	if got := mustGet(t, tg.c, b, "skip", minio.GetObjectOptions{}); !bytes.Equal(got, append(append([]byte(nil), p1...), p3...)) {
		t.Errorf("upload completed with parts 1 and 3: wrong body (%d bytes)", len(got))
	}

	// A per-part checksum is verified and returned.
	id = createUpload(t, tg, b, "crc", minio.PutObjectOptions{})
	small := []byte("part with a checksum")
	r = tg.do(t, rawReq{method: http.MethodPut, path: "/" + b + "/crc", query: q("partNumber", "1", "uploadId", id), body: small,
		header: hdr("x-amz-checksum-crc32", crc32b64(crc32.IEEETable, []byte("different")))})
	r.wantError(t, http.StatusBadRequest, "BadDigest")
	r = tg.do(t, rawReq{method: http.MethodPut, path: "/" + b + "/crc", query: q("partNumber", "1", "uploadId", id), body: small,
		header: hdr("x-amz-checksum-crc32", crc32b64(crc32.IEEETable, small))})
	r.wantStatus(t, http.StatusOK)
	if got := r.Header.Get("x-amz-checksum-crc32"); got != crc32b64(crc32.IEEETable, small) {
		t.Errorf("UploadPart x-amz-checksum-crc32 response header %q", got)
	}
	if err := tg.core().AbortMultipartUpload(ctx, b, "crc", id); err != nil {
		t.Errorf("abort: %v", err)
	}
}

func testMultipartErrors(t *testing.T, tg *target) {
	ctx := ctxT(t)
	b := newBucket(t, tg.c)
	k := "errs"
	id := createUpload(t, tg, b, k, minio.PutObjectOptions{})
	small1, small2 := randomBytes(1024), randomBytes(2048)
	e1 := uploadPart(t, tg, b, k, id, 1, small1)
	e2 := uploadPart(t, tg, b, k, id, 2, small2)

	cases := []struct {
		name   string
		doc    []byte
		status int
		code   string
	}{
		{"too-small", completeDoc(1, e1, 2, e2), 400, "EntityTooSmall"},
		{"out-of-order", completeDoc(2, e2, 1, e1), 400, "InvalidPartOrder"},
		{"duplicate", completeDoc(1, e1, 1, e1), 400, "InvalidPartOrder"},
		{"wrong-etag", completeDoc(1, md5hex([]byte("nope"))), 400, "InvalidPart"},
		{"missing-part", completeDoc(7, e1), 400, "InvalidPart"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := completeRaw(t, tg, b, k, id, tc.doc)
			r.wantError(t, tc.status, tc.code)
		})
	}
	// Nothing became visible.
	r := tg.do(t, rawReq{method: http.MethodHead, path: "/" + b + "/" + k})
	r.wantStatus(t, http.StatusNotFound)

	// Part numbers 1..10000.
	for _, n := range []string{"0", "10001", "-1", "abc"} {
		r := tg.do(t, rawReq{method: http.MethodPut, path: "/" + b + "/" + k, query: q("partNumber", n, "uploadId", id), body: []byte("x")})
		r.wantError(t, http.StatusBadRequest, "InvalidArgument")
	}
	r = tg.do(t, rawReq{method: http.MethodPut, path: "/" + b + "/" + k, query: q("partNumber", "10000", "uploadId", id), body: []byte("last")})
	r.wantStatus(t, http.StatusOK)

	// Unknown upload.
	bogus := "bogus-upload-id-" + randomName(12)
	r = tg.do(t, rawReq{method: http.MethodPut, path: "/" + b + "/" + k, query: q("partNumber", "1", "uploadId", bogus), body: []byte("x")})
	r.wantError(t, http.StatusNotFound, "NoSuchUpload")
	r = completeRaw(t, tg, b, k, bogus, completeDoc(1, e1))
	r.wantError(t, http.StatusNotFound, "NoSuchUpload")
	_, err := tg.core().ListObjectParts(ctx, b, k, bogus, 0, 100)
	wantCode(t, err, "NoSuchUpload")
	wantCode(t, tg.core().AbortMultipartUpload(ctx, b, k, bogus), "NoSuchUpload")
	// An upload ID used with another key.
	r = tg.do(t, rawReq{method: http.MethodPut, path: "/" + b + "/other-key", query: q("partNumber", "1", "uploadId", id), body: []byte("x")})
	r.wantError(t, http.StatusNotFound, "NoSuchUpload")

	// The upload survived every refused completion: a single small part is a
	// valid upload.
	r = completeRaw(t, tg, b, k, id, completeDoc(2, e2))
	r.wantStatus(t, http.StatusOK)
	if got := mustGet(t, tg.c, b, k, minio.GetObjectOptions{}); !bytes.Equal(got, small2) {
		t.Errorf("completed with part 2 only: wrong body")
	}

	// Abort makes the upload unknown.
	id = createUpload(t, tg, b, k, minio.PutObjectOptions{})
	uploadPart(t, tg, b, k, id, 1, small1)
	if err := tg.core().AbortMultipartUpload(ctx, b, k, id); err != nil {
		t.Fatalf("abort: %v", err)
	}
	r = tg.do(t, rawReq{method: http.MethodPut, path: "/" + b + "/" + k, query: q("partNumber", "2", "uploadId", id), body: []byte("x")})
	r.wantError(t, http.StatusNotFound, "NoSuchUpload")
	// The object completed earlier is untouched by the abort.
	if got := mustGet(t, tg.c, b, k, minio.GetObjectOptions{}); !bytes.Equal(got, small2) {
		t.Errorf("object changed by an aborted upload")
	}
}

func testMultipartListing(t *testing.T, tg *target) {
	ctx := ctxT(t)
	b := newBucket(t, tg.c)
	type up struct{ key, id string }
	var ups []up
	for _, k := range []string{"up/a", "up/b", "up/b", "other/c", "top"} {
		ups = append(ups, up{k, createUpload(t, tg, b, k, minio.PutObjectOptions{})})
	}
	list := func(params ...string) uploadsResult {
		p := q(append([]string{"uploads", ""}, params...)...)
		r := tg.do(t, rawReq{method: http.MethodGet, path: "/" + b, query: p})
		r.wantStatus(t, http.StatusOK)
		var res uploadsResult
		if err := xml.Unmarshal(r.Body, &res); err != nil {
			t.Fatalf("ListMultipartUploadsResult: %v\n%s", err, r.Body)
		}
		return res
	}
	res := list()
	if len(res.Uploads) != 5 || res.IsTruncated {
		t.Fatalf("all uploads: %d, truncated %v", len(res.Uploads), res.IsTruncated)
	}
	for i := 1; i < len(res.Uploads); i++ {
		if res.Uploads[i-1].Key > res.Uploads[i].Key {
			t.Errorf("uploads not sorted by key: %q before %q", res.Uploads[i-1].Key, res.Uploads[i].Key)
		}
	}
	res = list("prefix", "up/")
	if len(res.Uploads) != 3 || res.Prefix != "up/" {
		t.Errorf("prefix up/: %d uploads", len(res.Uploads))
	}
	res = list("delimiter", "/")
	if len(res.Uploads) != 1 || res.Uploads[0].Key != "top" || len(res.CommonPrefixes) != 2 ||
		res.CommonPrefixes[0].Prefix != "other/" || res.CommonPrefixes[1].Prefix != "up/" {
		t.Errorf("delimiter /: uploads %+v, prefixes %+v", res.Uploads, res.CommonPrefixes)
	}
	// Paging one at a time with key-marker / upload-id-marker.
	seen := map[string]bool{}
	km, um := "", ""
	for page := 0; ; page++ {
		if page > 10 {
			t.Fatal("upload listing does not end")
		}
		params := []string{"max-uploads", "1"}
		if km != "" {
			params = append(params, "key-marker", km, "upload-id-marker", um)
		}
		res := list(params...)
		if len(res.Uploads) > 1 {
			t.Fatalf("max-uploads 1: %d uploads", len(res.Uploads))
		}
		for _, u := range res.Uploads {
			if seen[u.UploadID] {
				t.Fatalf("upload %s listed twice", u.UploadID)
			}
			seen[u.UploadID] = true
		}
		if !res.IsTruncated {
			break
		}
		km, um = res.NextKeyMarker, res.NextUploadIDMarker
		if km == "" {
			t.Fatal("truncated without NextKeyMarker")
		}
	}
	if len(seen) != 5 {
		t.Errorf("paging saw %d uploads, want 5", len(seen))
	}
	// minio-go's listing of incomplete uploads.
	n := 0
	for u := range tg.c.ListIncompleteUploads(ctx, b, "up/", true) {
		if u.Err != nil {
			t.Fatalf("ListIncompleteUploads: %v", u.Err)
		}
		n++
	}
	if n != 3 {
		t.Errorf("ListIncompleteUploads up/: %d, want 3", n)
	}

	// ListParts paging.
	u := ups[0]
	for i := 1; i <= 5; i++ {
		uploadPart(t, tg, b, u.key, u.id, i, []byte(strings.Repeat(strconv.Itoa(i), i)))
	}
	var parts []int
	marker := 0
	for page := 0; ; page++ {
		if page > 10 {
			t.Fatal("part listing does not end")
		}
		r := tg.do(t, rawReq{method: http.MethodGet, path: "/" + b + "/" + u.key, query: q("uploadId", u.id, "max-parts", "2", "part-number-marker", strconv.Itoa(marker))})
		r.wantStatus(t, http.StatusOK)
		var pr partsResult
		if err := xml.Unmarshal(r.Body, &pr); err != nil {
			t.Fatalf("ListPartsResult: %v", err)
		}
		if len(pr.Parts) > 2 || pr.MaxParts != 2 || pr.PartNumberMarker != marker || pr.UploadID != u.id || pr.Key != u.key {
			t.Fatalf("ListParts page: %+v", pr)
		}
		for _, p := range pr.Parts {
			parts = append(parts, p.PartNumber)
			if p.Size != int64(p.PartNumber) {
				t.Errorf("part %d size %d", p.PartNumber, p.Size)
			}
		}
		if !pr.IsTruncated {
			break
		}
		marker = pr.NextPartNumberMarker
	}
	if fmt.Sprint(parts) != "[1 2 3 4 5]" {
		t.Errorf("parts listed %v", parts)
	}
	for _, u := range ups {
		if err := tg.core().AbortMultipartUpload(ctx, b, u.key, u.id); err != nil {
			t.Errorf("abort %s: %v", u.key, err)
		}
	}
	if res := list(); len(res.Uploads) != 0 {
		t.Errorf("%d uploads left after aborting all", len(res.Uploads))
	}
}

func testUploadPartCopy(t *testing.T, tg *target) {
	ctx := ctxT(t)
	c := tg.c
	src := newBucket(t, c)
	if err := c.EnableVersioning(ctx, src); err != nil {
		t.Fatal(err)
	}
	v1body, v2body := randomBytes(6*mib), randomBytes(1*mib)
	v1 := putBytes(t, c, src, "source", v1body, minio.PutObjectOptions{}).VersionID
	v2 := putBytes(t, c, src, "source", v2body, minio.PutObjectOptions{}).VersionID
	dst := newBucket(t, c)
	id := createUpload(t, tg, dst, "composed", minio.PutObjectOptions{})
	copyPart := func(n int, h http.Header) *rawResp {
		return tg.do(t, rawReq{method: http.MethodPut, path: "/" + dst + "/composed", query: q("partNumber", strconv.Itoa(n), "uploadId", id), header: h})
	}
	// Whole old version as part 1.
	r := copyPart(1, hdr("x-amz-copy-source", "/"+src+"/source?versionId="+v1))
	r.wantStatus(t, http.StatusOK)
	cp1 := parseCopyResult(t, r.Body)
	if cp1.ETag != md5hex(v1body) || r.Header.Get("X-Amz-Copy-Source-Version-Id") != v1 {
		t.Errorf("UploadPartCopy v1: ETag %q (want %q), source version %q", cp1.ETag, md5hex(v1body), r.Header.Get("X-Amz-Copy-Source-Version-Id"))
	}
	// A range of the latest version as part 2, with copy conditions.
	rangeHdr := "bytes=100-1099"
	r = copyPart(2, hdr("x-amz-copy-source", "/"+src+"/source", "x-amz-copy-source-range", rangeHdr,
		"x-amz-copy-source-if-match", `"0123456789abcdef0123456789abcdef"`))
	r.wantError(t, http.StatusPreconditionFailed, "PreconditionFailed")
	r = copyPart(2, hdr("x-amz-copy-source", "/"+src+"/source", "x-amz-copy-source-range", rangeHdr,
		"x-amz-copy-source-if-match", `"`+md5hex(v2body)+`"`))
	r.wantStatus(t, http.StatusOK)
	cp2 := parseCopyResult(t, r.Body)
	if cp2.ETag != md5hex(v2body[100:1100]) {
		t.Errorf("UploadPartCopy range: ETag %q, want %q", cp2.ETag, md5hex(v2body[100:1100]))
	}
	// A range beyond the source.
	r = copyPart(3, hdr("x-amz-copy-source", "/"+src+"/source?versionId="+v2, "x-amz-copy-source-range", "bytes=0-99999999"))
	if r.Status != http.StatusBadRequest && r.Status != http.StatusRequestedRangeNotSatisfiable {
		t.Errorf("copy range beyond the source: status %d\n%s", r.Status, r.Body)
	}
	// A delete marker as the source.
	if err := c.RemoveObject(ctx, src, "source", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	r = copyPart(3, hdr("x-amz-copy-source", "/"+src+"/source"))
	if r.Status != http.StatusNotFound {
		t.Errorf("copy from a deleted key: status %d, want 404", r.Status)
	}
	r = completeRaw(t, tg, dst, "composed", id, completeDoc(1, cp1.ETag, 2, cp2.ETag))
	r.wantStatus(t, http.StatusOK)
	want := append(append([]byte(nil), v1body...), v2body[100:1100]...)
	if got := mustGet(t, c, dst, "composed", minio.GetObjectOptions{}); !bytes.Equal(got, want) {
		t.Errorf("composed object differs (%d bytes, want %d)", len(got), len(want))
	}
	st, err := c.StatObject(ctx, dst, "composed", minio.StatObjectOptions{})
	if err != nil || st.ETag != multipartETag(v1body, v2body[100:1100]) {
		t.Errorf("composed ETag %q (%v), want %q", st.ETag, err, multipartETag(v1body, v2body[100:1100]))
	}

	// minio-go's ComposeObject from two versions (UploadPartCopy underneath).
	_, err = c.ComposeObject(ctx, minio.CopyDestOptions{Bucket: dst, Object: "composed2"},
		minio.CopySrcOptions{Bucket: src, Object: "source", VersionID: v1},
		minio.CopySrcOptions{Bucket: src, Object: "source", VersionID: v2, MatchRange: true, Start: 0, End: 99})
	if err != nil {
		t.Fatalf("ComposeObject: %v", err)
	}
	want = append(append([]byte(nil), v1body...), v2body[:100]...)
	if got := mustGet(t, c, dst, "composed2", minio.GetObjectOptions{}); !bytes.Equal(got, want) {
		t.Errorf("ComposeObject result differs (%d bytes, want %d)", len(got), len(want))
	}
}

// diskUsage is the allocated size (st_blocks) of the regular files under the
// data directories of every node.
func diskUsage(t testing.TB, servers []*Server) int64 {
	t.Helper()
	var total int64
	for _, s := range servers {
		err := filepath.Walk(s.DataDir, func(_ string, info os.FileInfo, err error) error {
			if err != nil {
				if os.IsNotExist(err) {
					return nil
				}
				return err
			}
			if info.Mode().IsRegular() {
				if st, ok := info.Sys().(*syscall.Stat_t); ok {
					total += st.Blocks * 512
				} else {
					total += info.Size()
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("walk %s: %v", s.DataDir, err)
		}
	}
	return total
}

func testMultipartAbortFreesSpace(t *testing.T, tg *target) {
	ctx := ctxT(t)
	b := newBucket(t, tg.c)
	id := createUpload(t, tg, b, "abandoned", minio.PutObjectOptions{})
	before := diskUsage(t, tg.all)
	const parts, partSize = 4, 5 * mib
	for i := 1; i <= parts; i++ {
		uploadPart(t, tg, b, "abandoned", id, i, randomBytes(partSize))
	}
	during := diskUsage(t, tg.all)
	if during-before < parts*partSize*9/10 {
		t.Fatalf("data directories grew by %d bytes for %d bytes of parts: where are the parts?", during-before, parts*partSize)
	}
	if err := tg.core().AbortMultipartUpload(ctx, b, "abandoned", id); err != nil {
		t.Fatalf("abort: %v", err)
	}
	// Allow for metadata noise (Badger's logs), and for the space to be
	// freed in the background shortly after.
	const slack = 3 * mib
	var after int64
	deadline := time.Now().Add(20 * time.Second)
	for {
		after = diskUsage(t, tg.all)
		if after <= before+slack || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if after > before+slack {
		t.Fatalf("after abort the data directories use %d bytes, %d more than before the upload (%d with the parts): the parts' space was not freed",
			after, after-before, during)
	}
}

func testPartNumberGet(t *testing.T, tg *target) {
	ctx := ctxT(t)
	b := newBucket(t, tg.c)
	p1, p2, p3 := randomBytes(5*mib), randomBytes(5*mib), randomBytes(100)
	id := createUpload(t, tg, b, "parts", minio.PutObjectOptions{})
	e1 := uploadPart(t, tg, b, "parts", id, 1, p1)
	e2 := uploadPart(t, tg, b, "parts", id, 2, p2)
	e3 := uploadPart(t, tg, b, "parts", id, 3, p3)
	completeRaw(t, tg, b, "parts", id, completeDoc(1, e1, 2, e2, 3, e3)).wantStatus(t, http.StatusOK)
	total := len(p1) + len(p2) + len(p3)
	for n, p := range [][]byte{p1, p2, p3} {
		start := n * 5 * mib
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			r := tg.do(t, rawReq{method: method, path: "/" + b + "/parts", query: q("partNumber", strconv.Itoa(n+1))})
			r.wantStatus(t, http.StatusPartialContent)
			if r.Header.Get("X-Amz-Mp-Parts-Count") != "3" {
				t.Errorf("%s partNumber=%d: x-amz-mp-parts-count %q", method, n+1, r.Header.Get("X-Amz-Mp-Parts-Count"))
			}
			if cr, want := r.Header.Get("Content-Range"), fmt.Sprintf("bytes %d-%d/%d", start, start+len(p)-1, total); cr != want {
				t.Errorf("%s partNumber=%d: Content-Range %q, want %q", method, n+1, cr, want)
			}
			if cl := r.Header.Get("Content-Length"); cl != strconv.Itoa(len(p)) {
				t.Errorf("%s partNumber=%d: Content-Length %q, want %d", method, n+1, cl, len(p))
			}
			if method == http.MethodGet && !bytes.Equal(r.Body, p) {
				t.Errorf("GET partNumber=%d: body differs", n+1)
			}
		}
	}
	got, err := getBytes(ctx, tg.c, b, "parts", minio.GetObjectOptions{PartNumber: 2})
	if err != nil || !bytes.Equal(got, p2) {
		t.Errorf("minio-go PartNumber 2: %d bytes, %v", len(got), err)
	}
	r := tg.do(t, rawReq{method: http.MethodGet, path: "/" + b + "/parts", query: q("partNumber", "4")})
	if r.Status != http.StatusRequestedRangeNotSatisfiable {
		t.Errorf("partNumber beyond the parts: status %d, want 416\n%s", r.Status, r.Body)
	}
	// A single-part object has one part.
	putBytes(t, tg.c, b, "single", []byte("one part"), minio.PutObjectOptions{})
	r = tg.do(t, rawReq{method: http.MethodGet, path: "/" + b + "/single", query: q("partNumber", "1")})
	if (r.Status != http.StatusOK && r.Status != http.StatusPartialContent) || string(r.Body) != "one part" {
		t.Errorf("partNumber=1 of a single-part object: %d %q", r.Status, r.Body)
	}
}

// TestMultipartChecksum uploads in parts through the AWS SDK for Go v2 with
// a checksum algorithm (SHA256 and CRC32 COMPOSITE, CRC32C FULL_OBJECT), on
// one node and on a three-node cluster (each request through another node),
// and checks the object's checksum, computed here from the parts, in the
// Complete response, HEAD and GET with checksum mode and
// GetObjectAttributes, on every node.
func TestMultipartChecksum(t *testing.T) {
	t.Parallel()
	t.Run("single", func(t *testing.T) {
		t.Parallel()
		multipartChecksumScenario(t, []*Server{startServer(t)})
	})
	t.Run("cluster", func(t *testing.T) {
		t.Parallel()
		multipartChecksumScenario(t, startCluster(t, 3))
	})
}

// compositeChecksum is S3's COMPOSITE checksum: the algorithm's hash of the
// concatenated part digests, base64, then "-<parts>".
func compositeChecksum(newHash func() hash.Hash, parts ...[]byte) string {
	all := newHash()
	for _, p := range parts {
		h := newHash()
		h.Write(p)
		all.Write(h.Sum(nil))
	}
	return fmt.Sprintf("%s-%d", base64.StdEncoding.EncodeToString(all.Sum(nil)), len(parts))
}

func multipartChecksumScenario(t *testing.T, nodes []*Server) {
	ctx := ctxT(t)
	clients := make([]*s3.Client, len(nodes))
	for i, n := range nodes {
		clients[i] = sdkClient(t, n, n.URL, nil)
	}
	// node(i) is the client of the i-th request: a different node each time.
	node := func(i int) *s3.Client { return clients[i%len(clients)] }
	b := aws.String(bucketName(t.Name()))
	if _, err := node(0).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	// The server's smallest part is 5 MiB, except the last.
	parts := [][]byte{randomBytes(5 * mib), randomBytes(1000)}
	castagnoli := crc32.MakeTable(crc32.Castagnoli)
	for _, tc := range []struct {
		algo    types.ChecksumAlgorithm
		typ     types.ChecksumType
		newHash func() hash.Hash
		pick    func(sha256, crc32, crc32c *string) *string
	}{
		{types.ChecksumAlgorithmSha256, types.ChecksumTypeComposite, sha256.New, func(s, _, _ *string) *string { return s }},
		{types.ChecksumAlgorithmCrc32, types.ChecksumTypeComposite, func() hash.Hash { return crc32.NewIEEE() }, func(_, c, _ *string) *string { return c }},
		{types.ChecksumAlgorithmCrc32c, types.ChecksumTypeFullObject, func() hash.Hash { return crc32.New(castagnoli) }, func(_, _, c *string) *string { return c }},
	} {
		t.Run(string(tc.algo)+"/"+string(tc.typ), func(t *testing.T) {
			key := aws.String("obj-" + strings.ToLower(string(tc.algo)))
			want := compositeChecksum(tc.newHash, parts...)
			if tc.typ == types.ChecksumTypeFullObject {
				h := tc.newHash()
				h.Write(bytes.Join(parts, nil))
				want = base64.StdEncoding.EncodeToString(h.Sum(nil))
			}
			up, err := node(0).CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: key,
				ChecksumAlgorithm: tc.algo, ChecksumType: tc.typ})
			if err != nil {
				t.Fatal(err)
			}
			if up.ChecksumAlgorithm != tc.algo || up.ChecksumType != tc.typ {
				t.Fatalf("CreateMultipartUpload: algorithm %q type %q", up.ChecksumAlgorithm, up.ChecksumType)
			}
			var done []types.CompletedPart
			for i, p := range parts {
				n := aws.Int32(int32(i + 1))
				out, err := node(i+1).UploadPart(ctx, &s3.UploadPartInput{Bucket: b, Key: key, UploadId: up.UploadId,
					PartNumber: n, Body: bytes.NewReader(p), ChecksumAlgorithm: tc.algo})
				if err != nil {
					t.Fatalf("UploadPart %d: %v", i+1, err)
				}
				done = append(done, types.CompletedPart{PartNumber: n, ETag: out.ETag,
					ChecksumSHA256: out.ChecksumSHA256, ChecksumCRC32: out.ChecksumCRC32, ChecksumCRC32C: out.ChecksumCRC32C})
			}
			// A part without the upload's checksum is refused, as S3 does.
			_, err = node(0).UploadPart(ctx, &s3.UploadPartInput{Bucket: b, Key: key, UploadId: up.UploadId,
				PartNumber: aws.Int32(3), Body: bytes.NewReader([]byte("x")), ChecksumAlgorithm: other(tc.algo)})
			if sdkCode(err) != "InvalidRequest" {
				t.Fatalf("UploadPart with another algorithm: %v, want InvalidRequest", err)
			}
			lp, err := node(1).ListParts(ctx, &s3.ListPartsInput{Bucket: b, Key: key, UploadId: up.UploadId})
			if err != nil || lp.ChecksumAlgorithm != tc.algo || len(lp.Parts) != len(parts) {
				t.Fatalf("ListParts: algorithm %q, %d parts, %v", lp.ChecksumAlgorithm, len(lp.Parts), err)
			}
			cm, err := node(2).CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b, Key: key,
				UploadId: up.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: done}, ChecksumType: tc.typ})
			if err != nil {
				t.Fatal(err)
			}
			if got := aws.ToString(tc.pick(cm.ChecksumSHA256, cm.ChecksumCRC32, cm.ChecksumCRC32C)); got != want || cm.ChecksumType != tc.typ {
				t.Fatalf("Complete: checksum %q type %q, want %q %s", got, cm.ChecksumType, want, tc.typ)
			}
			for i := range clients {
				head, err := node(i).HeadObject(ctx, &s3.HeadObjectInput{Bucket: b, Key: key, ChecksumMode: types.ChecksumModeEnabled})
				if err != nil {
					t.Fatalf("HEAD through node %d: %v", i, err)
				}
				if got := aws.ToString(tc.pick(head.ChecksumSHA256, head.ChecksumCRC32, head.ChecksumCRC32C)); got != want || head.ChecksumType != tc.typ {
					t.Errorf("HEAD through node %d: checksum %q type %q, want %q %s", i, got, head.ChecksumType, want, tc.typ)
				}
				attrs, err := node(i+1).GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: b, Key: key,
					ObjectAttributes: []types.ObjectAttributes{types.ObjectAttributesChecksum, types.ObjectAttributesObjectParts}})
				if err != nil || attrs.Checksum == nil || attrs.ObjectParts == nil {
					t.Fatalf("GetObjectAttributes through node %d: %+v, %v", i+1, attrs, err)
				}
				if got := aws.ToString(tc.pick(attrs.Checksum.ChecksumSHA256, attrs.Checksum.ChecksumCRC32, attrs.Checksum.ChecksumCRC32C)); got != want ||
					attrs.Checksum.ChecksumType != tc.typ {
					t.Errorf("GetObjectAttributes through node %d: checksum %q type %q, want %q %s", i+1, got, attrs.Checksum.ChecksumType, want, tc.typ)
				}
				for j, p := range attrs.ObjectParts.Parts {
					h := tc.newHash()
					h.Write(parts[j])
					if got, want := aws.ToString(tc.pick(p.ChecksumSHA256, p.ChecksumCRC32, p.ChecksumCRC32C)), base64.StdEncoding.EncodeToString(h.Sum(nil)); got != want {
						t.Errorf("GetObjectAttributes part %d: checksum %q, want %q", j+1, got, want)
					}
				}
			}
			get, err := node(1).GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: key, ChecksumMode: types.ChecksumModeEnabled})
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(get.Body)
			get.Body.Close()
			if err != nil || !bytes.Equal(body, bytes.Join(parts, nil)) || aws.ToString(tc.pick(get.ChecksumSHA256, get.ChecksumCRC32, get.ChecksumCRC32C)) != want {
				t.Fatalf("GET: %d bytes, checksum %q, %v", len(body), aws.ToString(tc.pick(get.ChecksumSHA256, get.ChecksumCRC32, get.ChecksumCRC32C)), err)
			}
		})
	}
}

// other is a checksum algorithm that is not a.
func other(a types.ChecksumAlgorithm) types.ChecksumAlgorithm {
	if a == types.ChecksumAlgorithmCrc32c {
		return types.ChecksumAlgorithmSha1
	}
	return types.ChecksumAlgorithmCrc32c
}
