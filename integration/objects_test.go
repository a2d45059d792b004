package integration

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

func testPutGetMetadata(t *testing.T, tg *target) {
	ctx := ctxT(t)
	c := tg.c
	b := newBucket(t, c)
	body := randomBytes(3000)
	expires := time.Date(2031, 5, 17, 10, 30, 0, 0, time.UTC)
	info, err := c.PutObject(ctx, b, "doc.txt", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{
		ContentType:        "text/x-test; charset=utf-8",
		CacheControl:       "max-age=3600, must-revalidate",
		ContentDisposition: `attachment; filename="report 2024.txt"`,
		ContentEncoding:    "gzip",
		ContentLanguage:    "de-DE",
		Expires:            expires,
		UserMetadata:       map[string]string{"color": "blue", "Multi-Word-Name": "Hello,  World; a=b"},
	})
	if err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	if info.ETag != md5hex(body) {
		t.Errorf("PutObject ETag %q, want %q", info.ETag, md5hex(body))
	}
	want := map[string]string{
		"Content-Type":               "text/x-test; charset=utf-8",
		"Cache-Control":              "max-age=3600, must-revalidate",
		"Content-Disposition":        `attachment; filename="report 2024.txt"`,
		"Content-Encoding":           "gzip",
		"Content-Language":           "de-DE",
		"Expires":                    expires.Format(http.TimeFormat),
		"X-Amz-Meta-Color":           "blue",
		"X-Amz-Meta-Multi-Word-Name": "Hello,  World; a=b",
		"Etag":                       `"` + md5hex(body) + `"`,
		"Content-Length":             strconv.Itoa(len(body)),
	}
	for _, method := range []string{http.MethodHead, http.MethodGet} {
		r := tg.do(t, rawReq{method: method, path: "/" + b + "/doc.txt"})
		r.wantStatus(t, http.StatusOK)
		for k, v := range want {
			if got := r.Header.Get(k); got != v {
				t.Errorf("%s: header %s = %q, want %q", method, k, got, v)
			}
		}
		lm, err := http.ParseTime(r.Header.Get("Last-Modified"))
		if err != nil || time.Since(lm) > 5*time.Minute || time.Until(lm) > 5*time.Minute {
			t.Errorf("%s: Last-Modified %q (%v) is not the time of the PUT", method, r.Header.Get("Last-Modified"), err)
		}
		if method == http.MethodGet && !bytes.Equal(r.Body, body) {
			t.Errorf("GET body differs from what was PUT (%d bytes, want %d)", len(r.Body), len(body))
		}
		if method == http.MethodHead && len(r.Body) != 0 {
			t.Errorf("HEAD returned a body of %d bytes", len(r.Body))
		}
	}
	st, err := c.StatObject(ctx, b, "doc.txt", minio.StatObjectOptions{})
	if err != nil {
		t.Fatalf("StatObject: %v", err)
	}
	if st.Size != int64(len(body)) || st.ETag != md5hex(body) || st.ContentType != "text/x-test; charset=utf-8" ||
		st.UserMetadata["Color"] != "blue" {
		t.Errorf("StatObject = size %d etag %q type %q meta %v", st.Size, st.ETag, st.ContentType, st.UserMetadata)
	}

	// Overwrite replaces content and metadata.
	body2 := []byte("second version")
	putBytes(t, c, b, "doc.txt", body2, minio.PutObjectOptions{ContentType: "application/octet-stream"})
	r := tg.do(t, rawReq{method: http.MethodGet, path: "/" + b + "/doc.txt"})
	r.wantStatus(t, http.StatusOK)
	if !bytes.Equal(r.Body, body2) || r.Header.Get("X-Amz-Meta-Color") != "" || r.Header.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("after overwrite: body %q, meta color %q, type %q", r.Body, r.Header.Get("X-Amz-Meta-Color"), r.Header.Get("Content-Type"))
	}

	// Empty object.
	info = putBytes(t, c, b, "empty", nil, minio.PutObjectOptions{})
	if info.ETag != "d41d8cd98f00b204e9800998ecf8427e" {
		t.Errorf("empty object ETag %q", info.ETag)
	}
	if got := mustGet(t, c, b, "empty", minio.GetObjectOptions{}); len(got) != 0 {
		t.Errorf("empty object read back %d bytes", len(got))
	}

	// Delete; a second delete of the missing key still succeeds.
	for range 2 {
		r := tg.do(t, rawReq{method: http.MethodDelete, path: "/" + b + "/doc.txt"})
		r.wantStatus(t, http.StatusNoContent)
	}
	r = tg.do(t, rawReq{method: http.MethodGet, path: "/" + b + "/doc.txt"})
	e := r.wantError(t, http.StatusNotFound, "NoSuchKey")
	if !strings.Contains(e.Resource, "doc.txt") {
		t.Errorf("NoSuchKey Resource %q does not name the key", e.Resource)
	}
	r = tg.do(t, rawReq{method: http.MethodHead, path: "/" + b + "/doc.txt"})
	r.wantStatus(t, http.StatusNotFound)
	_, err = c.StatObject(ctx, b, "doc.txt", minio.StatObjectOptions{})
	wantCode(t, err, "NoSuchKey")
}

func testKeyNames(t *testing.T, tg *target) {
	ctx := ctxT(t)
	c := tg.c
	b := newBucket(t, c)
	keys := []string{
		"plain",
		"with space",
		"dir/sub/file.txt",
		"ünïcödé/日本語.txt",
		"special+&=?#%;,@$!'()*.txt",
		"trailing/",
		"a//double",
		"~tilde",
		"percent%20encoded",
		strings.Repeat("k", 1024),
	}
	for i, k := range keys {
		body := []byte(fmt.Sprintf("body %d of %q", i, k))
		putBytes(t, c, b, k, body, minio.PutObjectOptions{})
		if got := mustGet(t, c, b, k, minio.GetObjectOptions{}); !bytes.Equal(got, body) {
			t.Errorf("key %q: read %q, want %q", k, got, body)
		}
	}
	got := listAll(t, c, b, minio.ListObjectsOptions{Recursive: true})
	want := append([]string(nil), keys...)
	sort.Strings(want)
	var names []string
	for _, o := range got {
		names = append(names, o.Key)
	}
	if strings.Join(names, "\n") != strings.Join(want, "\n") {
		t.Errorf("listing:\n%q\nwant\n%q", names, want)
	}
	for _, k := range keys {
		if err := c.RemoveObject(ctx, b, k, minio.RemoveObjectOptions{}); err != nil {
			t.Errorf("RemoveObject %q: %v", k, err)
		}
	}
	if n := len(listAll(t, c, b, minio.ListObjectsOptions{Recursive: true})); n != 0 {
		t.Errorf("%d objects left after deleting all", n)
	}
}

func testContentMD5(t *testing.T, tg *target) {
	c := tg.c
	b := newBucket(t, c)
	body := randomBytes(5000)
	putBytes(t, c, b, "md5-ok", body, minio.PutObjectOptions{SendContentMd5: true})

	sum := md5.Sum(body)
	good := base64.StdEncoding.EncodeToString(sum[:])
	r := tg.do(t, rawReq{method: http.MethodPut, path: "/" + b + "/raw-ok", body: body, header: hdr("Content-MD5", good)})
	r.wantStatus(t, http.StatusOK)
	if r.Header.Get("ETag") != `"`+md5hex(body)+`"` {
		t.Errorf("ETag %q, want %q", r.Header.Get("ETag"), md5hex(body))
	}

	other := md5.Sum([]byte("something else"))
	r = tg.do(t, rawReq{method: http.MethodPut, path: "/" + b + "/bad", body: body,
		header: hdr("Content-MD5", base64.StdEncoding.EncodeToString(other[:]))})
	r.wantError(t, http.StatusBadRequest, "BadDigest")
	r = tg.do(t, rawReq{method: http.MethodPut, path: "/" + b + "/bad", body: body, header: hdr("Content-MD5", "not base64!")})
	r.wantError(t, http.StatusBadRequest, "InvalidDigest")
	// The same with an unsigned payload, where only the digest protects the body.
	r = tg.do(t, rawReq{method: http.MethodPut, path: "/" + b + "/bad", body: body, unsignedPayload: true,
		header: hdr("Content-MD5", base64.StdEncoding.EncodeToString(other[:]))})
	r.wantError(t, http.StatusBadRequest, "BadDigest")
	// A wrong x-amz-checksum-* header.
	r = tg.do(t, rawReq{method: http.MethodPut, path: "/" + b + "/bad", body: body,
		header: hdr("x-amz-checksum-crc32", crc32b64(crc32.IEEETable, []byte("other")))})
	if r.Status != http.StatusBadRequest {
		t.Errorf("wrong x-amz-checksum-crc32: status %d, want 400; body:\n%s", r.Status, r.Body)
	}
	// None of the refused bodies became visible.
	r = tg.do(t, rawReq{method: http.MethodHead, path: "/" + b + "/bad"})
	r.wantStatus(t, http.StatusNotFound)

	// A checksum sent with the PUT is stored and returned on request.
	r = tg.do(t, rawReq{method: http.MethodPut, path: "/" + b + "/crc", body: body,
		header: hdr("x-amz-checksum-crc32", crc32b64(crc32.IEEETable, body))})
	r.wantStatus(t, http.StatusOK)
	for _, method := range []string{http.MethodHead, http.MethodGet} {
		r = tg.do(t, rawReq{method: method, path: "/" + b + "/crc", header: hdr("x-amz-checksum-mode", "ENABLED")})
		r.wantStatus(t, http.StatusOK)
		if got, want := r.Header.Get("x-amz-checksum-crc32"), crc32b64(crc32.IEEETable, body); got != want {
			t.Errorf("%s with checksum mode: x-amz-checksum-crc32 %q, want %q", method, got, want)
		}
	}
}

func testTrailingChecksum(t *testing.T, tg *target) {
	ctx := ctxT(t)
	tc := tg.trailingClient(t)
	b := newBucket(t, tg.c)
	castagnoli := crc32.MakeTable(crc32.Castagnoli)
	for _, size := range []int{0, 100, 64 << 10, 1<<20 + 17} {
		body := randomBytes(size)
		key := fmt.Sprintf("trailer-%d", size)
		// aws-chunked with a CRC32C trailer (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER).
		_, err := tc.PutObject(ctx, b, key, bytes.NewReader(body), int64(size), minio.PutObjectOptions{Checksum: minio.ChecksumCRC32C})
		if err != nil {
			t.Fatalf("PutObject with CRC32C trailer (%d bytes): %v", size, err)
		}
		got := mustGet(t, tg.c, b, key, minio.GetObjectOptions{})
		if !bytes.Equal(got, body) {
			t.Fatalf("%d bytes uploaded with a trailer read back as %d bytes (chunk framing in the object?)", size, len(got))
		}
		r := tg.do(t, rawReq{method: http.MethodHead, path: "/" + b + "/" + key, header: hdr("x-amz-checksum-mode", "ENABLED")})
		r.wantStatus(t, http.StatusOK)
		if got, want := r.Header.Get("x-amz-checksum-crc32c"), crc32b64(castagnoli, body); size > 0 && got != want {
			t.Errorf("%d bytes: x-amz-checksum-crc32c %q, want %q", size, got, want)
		}
		// minio-go asks for it and verifies it itself.
		obj, err := tg.c.GetObject(ctx, b, key, minio.GetObjectOptions{Checksum: true})
		if err != nil {
			t.Fatalf("GetObject with checksum: %v", err)
		}
		if _, err := io.Copy(io.Discard, obj); err != nil {
			t.Errorf("GetObject with checksum mode (%d bytes): %v", size, err)
		}
		obj.Close()
	}
}

func crc32b64(tab *crc32.Table, b []byte) string {
	var out [4]byte
	binary.BigEndian.PutUint32(out[:], crc32.Checksum(b, tab))
	return base64.StdEncoding.EncodeToString(out[:])
}

// testLargeStream: a 100 MiB single streamed PUT (aws-chunked, every chunk
// signed, CRC32C trailer) and GET, generated and checked on the fly.
func testLargeStream(t *testing.T, tg *target) {
	ctx := ctxT(t)
	const size = 100 << 20
	const seed = 100
	b := newBucket(t, tg.c)
	want := genMD5(seed, size)
	tc := tg.trailingClient(t)
	info, err := tc.PutObject(ctx, b, "big", newGen(seed, size), size, minio.PutObjectOptions{
		DisableMultipart: true, Checksum: minio.ChecksumCRC32C,
	})
	if err != nil {
		t.Fatalf("PutObject 100 MiB: %v", err)
	}
	if info.ETag != want || info.Size != size {
		t.Errorf("PutObject: ETag %q size %d, want %q %d", info.ETag, info.Size, want, int64(size))
	}
	obj, err := tg.c.GetObject(ctx, b, "big", minio.GetObjectOptions{})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	got, n, err := streamMD5(obj)
	obj.Close()
	if err != nil || got != want || n != size {
		t.Fatalf("GET 100 MiB: md5 %s, %d bytes, err %v; want md5 %s, %d bytes", got, n, err, want, size)
	}
	// A ranged read in the middle, across data-block boundaries.
	const off, length = 50<<20 + 12345, 1<<20 + 3
	opts := minio.GetObjectOptions{}
	if err := opts.SetRange(off, off+length-1); err != nil {
		t.Fatal(err)
	}
	part := mustGet(t, tg.c, b, "big", opts)
	g := newGen(seed, size)
	if _, err := io.CopyN(io.Discard, g, off); err != nil {
		t.Fatal(err)
	}
	exp := make([]byte, length)
	if _, err := io.ReadFull(g, exp); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(part, exp) {
		t.Errorf("range %d+%d of the 100 MiB object differs (%d bytes read)", off, length, len(part))
	}
	// The same object overwritten with a plain streaming-signature PUT
	// (STREAMING-AWS4-HMAC-SHA256-PAYLOAD, no trailer).
	const size2 = 20 << 20
	info, err = tg.c.PutObject(ctx, b, "big", newGen(seed+1, size2), size2, minio.PutObjectOptions{DisableMultipart: true})
	if err != nil {
		t.Fatalf("PutObject 20 MiB overwrite: %v", err)
	}
	obj, err = tg.c.GetObject(ctx, b, "big", minio.GetObjectOptions{})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	got, n, err = streamMD5(obj)
	obj.Close()
	if want := genMD5(seed+1, size2); err != nil || got != want || n != size2 || info.ETag != want {
		t.Fatalf("overwrite: md5 %s, %d bytes, etag %s, err %v; want md5 %s, %d bytes", got, n, info.ETag, err, want, size2)
	}
}

func testRanges(t *testing.T, tg *target) {
	c := tg.c
	b := newBucket(t, c)
	const size = 10000
	body := randomBytes(size)
	putBytes(t, c, b, "r", body, minio.PutObjectOptions{})
	cases := []struct {
		rng        string
		status     int
		start, end int // inclusive, for 206
	}{
		{"bytes=0-0", 206, 0, 0},
		{"bytes=0-99", 206, 0, 99},
		{"bytes=100-199", 206, 100, 199},
		{"bytes=9990-", 206, 9990, 9999},
		{"bytes=0-", 206, 0, 9999},
		{"bytes=-10", 206, 9990, 9999},
		{"bytes=-1", 206, 9999, 9999},
		{"bytes=-20000", 206, 0, 9999},
		{"bytes=9000-20000", 206, 9000, 9999},
		{"bytes=9999-9999", 206, 9999, 9999},
		{"bytes=10000-", 416, 0, 0},
		{"bytes=20000-30000", 416, 0, 0},
		{"bytes=10000-10005", 416, 0, 0},
		// Syntactically invalid ranges are ignored: the whole object, 200.
		{"bytes=abc", 200, 0, 9999},
		{"bytes=5-2", 200, 0, 9999},
		{"items=0-5", 200, 0, 9999},
	}
	for _, tc := range cases {
		t.Run(tc.rng, func(t *testing.T) {
			r := tg.do(t, rawReq{method: http.MethodGet, path: "/" + b + "/r", header: hdr("Range", tc.rng)})
			switch tc.status {
			case 416:
				r.wantError(t, http.StatusRequestedRangeNotSatisfiable, "InvalidRange")
				if cr := r.Header.Get("Content-Range"); cr != "" && cr != "bytes */10000" {
					t.Errorf("416 Content-Range %q, want \"bytes */10000\" or none", cr)
				}
			case 206:
				r.wantStatus(t, http.StatusPartialContent)
				wantCR := fmt.Sprintf("bytes %d-%d/%d", tc.start, tc.end, size)
				if cr := r.Header.Get("Content-Range"); cr != wantCR {
					t.Errorf("Content-Range %q, want %q", cr, wantCR)
				}
				if cl := r.Header.Get("Content-Length"); cl != strconv.Itoa(tc.end-tc.start+1) {
					t.Errorf("Content-Length %q, want %d", cl, tc.end-tc.start+1)
				}
				if !bytes.Equal(r.Body, body[tc.start:tc.end+1]) {
					t.Errorf("body of %d bytes differs from bytes %d-%d", len(r.Body), tc.start, tc.end)
				}
			case 200:
				r.wantStatus(t, http.StatusOK)
				if !bytes.Equal(r.Body, body) {
					t.Errorf("body of %d bytes is not the whole object", len(r.Body))
				}
			}
		})
	}
	// minio-go's own ranged reads (ReadAt / Seek).
	obj, err := c.GetObject(ctxT(t), b, "r", minio.GetObjectOptions{})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	defer obj.Close()
	buf := make([]byte, 777)
	if _, err := obj.ReadAt(buf, 4321); err != nil || !bytes.Equal(buf, body[4321:4321+777]) {
		t.Errorf("ReadAt(777 @ 4321): %v / data mismatch", err)
	}
	if _, err := obj.Seek(-50, io.SeekEnd); err != nil {
		t.Fatalf("Seek: %v", err)
	}
	tail, err := io.ReadAll(obj)
	if err != nil || !bytes.Equal(tail, body[size-50:]) {
		t.Errorf("read after Seek(-50, end): %d bytes, %v", len(tail), err)
	}
}

func testConditional(t *testing.T, tg *target) {
	ctx := ctxT(t)
	c := tg.c
	b := newBucket(t, c)
	body := []byte("conditional body")
	putBytes(t, c, b, "k", body, minio.PutObjectOptions{})
	st, err := c.StatObject(ctx, b, "k", minio.StatObjectOptions{})
	if err != nil {
		t.Fatalf("StatObject: %v", err)
	}
	etag := `"` + st.ETag + `"`
	past := st.LastModified.Add(-time.Hour).Format(http.TimeFormat)
	future := st.LastModified.Add(time.Hour).Format(http.TimeFormat)
	cases := []struct {
		name   string
		h      http.Header
		status int
	}{
		{"if-match", hdr("If-Match", etag), 200},
		{"if-match-unquoted", hdr("If-Match", st.ETag), 200},
		{"if-match-other", hdr("If-Match", `"0123456789abcdef0123456789abcdef"`), 412},
		{"if-none-match", hdr("If-None-Match", etag), 304},
		{"if-none-match-other", hdr("If-None-Match", `"0123456789abcdef0123456789abcdef"`), 200},
		{"if-modified-since-past", hdr("If-Modified-Since", past), 200},
		{"if-modified-since-future", hdr("If-Modified-Since", future), 304},
		{"if-unmodified-since-past", hdr("If-Unmodified-Since", past), 412},
		{"if-unmodified-since-future", hdr("If-Unmodified-Since", future), 200},
		// S3's documented combinations: If-Match true wins over
		// If-Unmodified-Since false; If-None-Match false with
		// If-Modified-Since true is 304.
		{"if-match+unmodified-since-past", hdr("If-Match", etag, "If-Unmodified-Since", past), 200},
		{"if-none-match+modified-since-past", hdr("If-None-Match", etag, "If-Modified-Since", past), 304},
	}
	for _, tc := range cases {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			t.Run(tc.name+"/"+method, func(t *testing.T) {
				r := tg.do(t, rawReq{method: method, path: "/" + b + "/k", header: tc.h})
				switch {
				case tc.status == 412 && method == http.MethodGet:
					r.wantError(t, http.StatusPreconditionFailed, "PreconditionFailed")
				case tc.status == 304:
					r.wantStatus(t, http.StatusNotModified)
					if len(r.Body) != 0 {
						t.Errorf("304 with a body of %d bytes", len(r.Body))
					}
					if r.Header.Get("ETag") != etag {
						t.Errorf("304 ETag %q, want %q", r.Header.Get("ETag"), etag)
					}
				default:
					r.wantStatus(t, tc.status)
					if tc.status == 200 && method == http.MethodGet && !bytes.Equal(r.Body, body) {
						t.Errorf("body %q", r.Body)
					}
				}
			})
		}
	}
	// Through minio-go.
	opts := minio.GetObjectOptions{}
	_ = opts.SetMatchETag("0123456789abcdef0123456789abcdef")
	_, err = getBytes(ctx, c, b, "k", opts)
	wantCode(t, err, "PreconditionFailed")
	opts = minio.GetObjectOptions{}
	_ = opts.SetMatchETag(st.ETag)
	if got, err := getBytes(ctx, c, b, "k", opts); err != nil || !bytes.Equal(got, body) {
		t.Errorf("GetObject If-Match current ETag: %q, %v", got, err)
	}
}

func testResponseOverrides(t *testing.T, tg *target) {
	c := tg.c
	b := newBucket(t, c)
	putBytes(t, c, b, "o", []byte("override me"), minio.PutObjectOptions{ContentType: "text/plain", CacheControl: "no-cache"})
	overrides := map[string]string{
		"response-content-type":        "application/x-overridden",
		"response-content-language":    "fr-CA",
		"response-expires":             "Thu, 01 Dec 2033 16:00:00 GMT",
		"response-cache-control":       "private, max-age=60",
		"response-content-disposition": `attachment; filename="über name.txt"`,
		"response-content-encoding":    "identity",
	}
	query := q()
	for k, v := range overrides {
		query.Set(k, v)
	}
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		r := tg.do(t, rawReq{method: method, path: "/" + b + "/o", query: query})
		r.wantStatus(t, http.StatusOK)
		for k, v := range overrides {
			h := http.CanonicalHeaderKey(strings.TrimPrefix(k, "response-"))
			if got := r.Header.Get(h); got != v {
				t.Errorf("%s %s=%q: header %s = %q", method, k, v, h, got)
			}
		}
		if method == http.MethodGet && string(r.Body) != "override me" {
			t.Errorf("body %q", r.Body)
		}
	}
	// Stored metadata is unchanged by an override.
	r := tg.do(t, rawReq{method: http.MethodHead, path: "/" + b + "/o"})
	if r.Header.Get("Content-Type") != "text/plain" || r.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("after overrides: Content-Type %q Cache-Control %q", r.Header.Get("Content-Type"), r.Header.Get("Cache-Control"))
	}
}

func testBatchDelete(t *testing.T, tg *target) {
	ctx := ctxT(t)
	c := tg.c
	b := newBucket(t, c)
	var keys []string
	for i := range 12 {
		k := fmt.Sprintf("batch/%02d", i)
		keys = append(keys, k)
		putBytes(t, c, b, k, []byte(k), minio.PutObjectOptions{})
	}
	// minio-go: ten existing keys and one missing key, all reported deleted.
	ch := make(chan minio.ObjectInfo, 11)
	for _, k := range keys[:10] {
		ch <- minio.ObjectInfo{Key: k}
	}
	ch <- minio.ObjectInfo{Key: "batch/missing"}
	close(ch)
	n := 0
	for res := range c.RemoveObjectsWithResult(ctx, b, ch, minio.RemoveObjectsOptions{}) {
		if res.Err != nil {
			t.Errorf("batch delete of %s: %v", res.ObjectName, res.Err)
		}
		n++
	}
	if n != 11 {
		t.Errorf("batch delete reported %d results, want 11", n)
	}
	left := listAll(t, c, b, minio.ListObjectsOptions{Recursive: true})
	if len(left) != 2 || left[0].Key != "batch/10" || left[1].Key != "batch/11" {
		t.Errorf("after batch delete: %v", left)
	}

	// Raw, verbose then quiet.
	verbose := `<Delete><Object><Key>batch/10</Key></Object><Object><Key>nope</Key></Object></Delete>`
	r := tg.do(t, rawReq{method: http.MethodPost, path: "/" + b, query: q("delete", ""), body: []byte(verbose),
		header: hdr("Content-MD5", md5b64([]byte(verbose)))})
	r.wantStatus(t, http.StatusOK)
	res := parseDeleteResult(t, r.Body)
	if len(res.Deleted) != 2 || len(res.Errors) != 0 {
		t.Errorf("verbose batch delete result: %s", r.Body)
	}
	quiet := `<Delete><Quiet>true</Quiet><Object><Key>batch/11</Key></Object></Delete>`
	r = tg.do(t, rawReq{method: http.MethodPost, path: "/" + b, query: q("delete", ""), body: []byte(quiet),
		header: hdr("Content-MD5", md5b64([]byte(quiet)))})
	r.wantStatus(t, http.StatusOK)
	res = parseDeleteResult(t, r.Body)
	if len(res.Deleted) != 0 || len(res.Errors) != 0 {
		t.Errorf("quiet batch delete reported entries: %s", r.Body)
	}
	if left := listAll(t, c, b, minio.ListObjectsOptions{Recursive: true}); len(left) != 0 {
		t.Errorf("objects left: %v", left)
	}
	// More than 1000 keys is refused.
	var big strings.Builder
	big.WriteString("<Delete>")
	for i := range 1001 {
		fmt.Fprintf(&big, "<Object><Key>k%d</Key></Object>", i)
	}
	big.WriteString("</Delete>")
	r = tg.do(t, rawReq{method: http.MethodPost, path: "/" + b, query: q("delete", ""), body: []byte(big.String()),
		header: hdr("Content-MD5", md5b64([]byte(big.String())))})
	r.wantError(t, http.StatusBadRequest, "MalformedXML")
	// Batch delete in a missing bucket.
	r = tg.do(t, rawReq{method: http.MethodPost, path: "/" + bucketName("missing"), query: q("delete", ""), body: []byte(verbose),
		header: hdr("Content-MD5", md5b64([]byte(verbose)))})
	r.wantError(t, http.StatusNotFound, "NoSuchBucket")
}

func md5b64(b []byte) string {
	s := md5.Sum(b)
	return base64.StdEncoding.EncodeToString(s[:])
}
