package s3

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/signer"
)

func md5b64(s string) string {
	sum := md5.Sum([]byte(s))
	return base64.StdEncoding.EncodeToString(sum[:])
}

func TestPutGetHeadMetadata(t *testing.T) {
	e := newTestServer(t)
	b := e.bucket("objs")
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	info := e.put(b, "dir/file.txt", "hello world", minio.PutObjectOptions{
		ContentType:        "text/plain",
		CacheControl:       "max-age=60",
		ContentDisposition: `attachment; filename="f.txt"`,
		ContentEncoding:    "x-test",
		ContentLanguage:    "de",
		Expires:            exp,
		UserMetadata:       map[string]string{"Mode": "0644", "mtime": "1700000000.5", "Weird-Value": "a  b , c"},
		SendContentMd5:     true,
	})
	if info.ETag != "5eb63bbbe01eeed093cb22bb8f5acdc3" {
		t.Fatalf("ETag %q is not the MD5 of the body", info.ETag)
	}
	st, err := e.mc.StatObject(e.ctx, b, "dir/file.txt", minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Size != 11 || st.ContentType != "text/plain" || st.Metadata.Get("Cache-Control") != "max-age=60" ||
		st.Metadata.Get("Content-Disposition") != `attachment; filename="f.txt"` || st.Metadata.Get("Content-Encoding") != "x-test" ||
		st.Metadata.Get("Content-Language") != "de" || !st.Expires.Equal(exp) {
		t.Fatalf("stat %+v", st)
	}
	if st.UserMetadata["Mode"] != "0644" || st.UserMetadata["Mtime"] != "1700000000.5" || st.UserMetadata["Weird-Value"] != "a  b , c" {
		t.Fatalf("user metadata %v", st.UserMetadata)
	}
	if got := e.get(b, "dir/file.txt", minio.GetObjectOptions{}); got != "hello world" {
		t.Fatalf("GET %q", got)
	}
	h := e.do("HEAD", "/objs/dir/file.txt", nil)
	g := e.do("GET", "/objs/dir/file.txt", nil)
	if len(h.body) != 0 || h.header.Get("Content-Length") != "11" || h.header.Get("Accept-Ranges") != "bytes" {
		t.Fatalf("HEAD: %v %q", h.header, h.body)
	}
	for _, k := range []string{"Etag", "Last-Modified", "Content-Type", "X-Amz-Meta-Mode", "Cache-Control", "Expires", "Content-Length"} {
		if h.header.Get(k) == "" || h.header.Get(k) != g.header.Get(k) {
			t.Errorf("HEAD %s=%q, GET %q", k, h.header.Get(k), g.header.Get(k))
		}
	}
	if _, err := time.Parse(http.TimeFormat, g.header.Get("Last-Modified")); err != nil {
		t.Errorf("Last-Modified %q: %v", g.header.Get("Last-Modified"), err)
	}
	if g.header.Get("ETag") != `"5eb63bbbe01eeed093cb22bb8f5acdc3"` {
		t.Errorf("ETag not quoted: %q", g.header.Get("ETag"))
	}

	// Default content type. (minio-go's PUT above was aws-chunked over
	// plain HTTP: only "x-test" was stored as Content-Encoding.)
	if rr := e.do("PUT", "/objs/plain", []byte("x")); rr.status != 200 {
		t.Fatalf("PUT: %d %s", rr.status, rr.body)
	}
	rr := e.do("HEAD", "/objs/plain", nil)
	if rr.header.Get("Content-Type") != "binary/octet-stream" || rr.header.Get("Content-Encoding") != "" {
		t.Fatalf("defaults: %v", rr.header)
	}
	_, err = e.mc.StatObject(e.ctx, b, "missing", minio.StatObjectOptions{})
	wantMinioError(t, err, "NoSuchKey")
	wantError(t, e.do("GET", "/objs/missing", nil), 404, "NoSuchKey")
}

// S3 returns user metadata names in lower case; clients that keep header
// names as received (boto3's Metadata dict) depend on it. The recorder
// shows the header map as written, before any client canonicalizes it.
func TestUserMetadataNamesLowerCase(t *testing.T) {
	e := newTestServer(t)
	e.bucket("metacase")
	if rr := e.do("PUT", "/metacase/k", []byte("x"), "X-Amz-Meta-Mode", "0644", "x-amz-meta-MixedCase", "v"); rr.status != 200 {
		t.Fatalf("PUT: %d %s", rr.status, rr.body)
	}
	for _, method := range []string{"GET", "HEAD"} {
		req := httptest.NewRequest(method, "/metacase/k", nil)
		req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
		req = signer.SignV4(*req, envAccessKey, envSecretKey, "", "us-east-1")
		w := httptest.NewRecorder()
		e.s.ServeHTTP(w, req)
		h := w.Header()
		if w.Code != 200 || !slices.Equal(h["x-amz-meta-mode"], []string{"0644"}) || !slices.Equal(h["x-amz-meta-mixedcase"], []string{"v"}) {
			t.Fatalf("%s: %d, headers %v", method, w.Code, h)
		}
		for k := range h {
			if strings.HasPrefix(k, "X-Amz-Meta-") {
				t.Errorf("%s: metadata header written as %q", method, k)
			}
		}
	}
}

func TestPutObjectErrors(t *testing.T) {
	e := newTestServer(t)
	e.bucket("perr")
	body := []byte("some body")
	if rr := e.do("PUT", "/perr/md5ok", body, "Content-MD5", md5b64("some body")); rr.status != 200 {
		t.Fatalf("good MD5: %d %s", rr.status, rr.body)
	}
	wantError(t, e.do("PUT", "/perr/md5bad", body, "Content-MD5", md5b64("other")), 400, "BadDigest")
	wantError(t, e.do("PUT", "/perr/md5junk", body, "Content-MD5", "not base64!"), 400, "InvalidDigest")
	wantError(t, e.do("PUT", "/perr/md5short", body, "Content-MD5", base64.StdEncoding.EncodeToString([]byte("short"))), 400, "InvalidDigest")
	if _, err := e.mc.StatObject(e.ctx, "perr", "md5bad", minio.StatObjectOptions{}); err == nil {
		t.Fatal("object with bad digest was stored")
	}
	wantError(t, e.do("PUT", "/perr/"+strings.Repeat("k", 1025), body), 400, "KeyTooLongError")
	if rr := e.do("PUT", "/perr/"+strings.Repeat("k", 1024), body); rr.status != 200 {
		t.Fatalf("1024-byte key: %d %s", rr.status, rr.body)
	}
	wantError(t, e.do("PUT", "/nobucket/k", body), 404, "NoSuchBucket")
	wantError(t, e.do("PUT", "/perr/big", body, "x-amz-meta-big", strings.Repeat("v", 3000)), 400, "MetadataTooLarge")

	// Body of unknown length (chunked transfer encoding, no aws-chunked).
	req, _ := http.NewRequest("PUT", e.srv.URL+"/perr/nolen", io.MultiReader(strings.NewReader("abc")))
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	req = signer.SignV4(*req, envAccessKey, envSecretKey, "", "us-east-1")
	wantError(t, e.send(req), 411, "MissingContentLength")

	// A single PUT above 5 GiB is refused before any body is read.
	req = httptest.NewRequest("PUT", "/perr/huge", strings.NewReader("tiny"))
	req.ContentLength = 5<<30 + 1
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	req = signer.SignV4(*req, envAccessKey, envSecretKey, "", "us-east-1")
	w := httptest.NewRecorder()
	e.s.ServeHTTP(w, req)
	if w.Code != 400 || !strings.Contains(w.Body.String(), "<Code>EntityTooLarge</Code>") {
		t.Fatalf("huge PUT: %d %s", w.Code, w.Body.String())
	}
}

func TestConditionalWrites(t *testing.T) {
	e := newTestServer(t)
	e.bucket("cond")
	if rr := e.do("PUT", "/cond/k", []byte("v1"), "If-None-Match", "*"); rr.status != 200 {
		t.Fatalf("create-only PUT: %d %s", rr.status, rr.body)
	}
	wantError(t, e.do("PUT", "/cond/k", []byte("v2"), "If-None-Match", "*"), 412, "PreconditionFailed")
	etag := e.do("HEAD", "/cond/k", nil).header.Get("ETag")
	wantError(t, e.do("PUT", "/cond/k", []byte("v2"), "If-Match", `"0123"`), 412, "PreconditionFailed")
	if rr := e.do("PUT", "/cond/k", []byte("v2"), "If-Match", `"0123", `+etag); rr.status != 200 {
		t.Fatalf("If-Match PUT: %d %s", rr.status, rr.body)
	}
	wantError(t, e.do("PUT", "/cond/k", []byte("v3"), fencingHeader, "abc"), 400, "InvalidArgument")
	wantError(t, e.do("PUT", "/cond/k", []byte("v3"), fencingHeader, "-1"), 400, "InvalidArgument")
	wantError(t, e.do("DELETE", "/cond/k", nil, "If-Match", `"0123"`), 412, "PreconditionFailed")
	etag = e.do("HEAD", "/cond/k", nil).header.Get("ETag")
	if rr := e.do("DELETE", "/cond/k", nil, "If-Match", etag); rr.status != 204 {
		t.Fatalf("If-Match DELETE: %d %s", rr.status, rr.body)
	}
	if rr := e.do("DELETE", "/cond/never-existed", nil); rr.status != 204 {
		t.Fatalf("DELETE of a missing key: %d %s", rr.status, rr.body)
	}
}

func TestRangeRequests(t *testing.T) {
	e := newTestServer(t)
	e.bucket("rng")
	e.put("rng", "k", "0123456789", minio.PutObjectOptions{})
	cases := []struct {
		rng    string
		status int
		body   string
		cr     string
	}{
		{"bytes=0-4", 206, "01234", "bytes 0-4/10"},
		{"bytes=5-", 206, "56789", "bytes 5-9/10"},
		{"bytes=-3", 206, "789", "bytes 7-9/10"},
		{"bytes=-30", 206, "0123456789", "bytes 0-9/10"},
		{"bytes=8-100", 206, "89", "bytes 8-9/10"},
		{"bytes=0-1,3-4", 200, "0123456789", ""},
		{"bytes=5-2", 200, "0123456789", ""},
		{"items=0-1", 200, "0123456789", ""},
		{"bytes=10-", 416, "", "bytes */10"},
		{"bytes=-0", 416, "", "bytes */10"},
	}
	for _, tc := range cases {
		rr := e.do("GET", "/rng/k", nil, "Range", tc.rng)
		if rr.status != tc.status || rr.header.Get("Content-Range") != tc.cr {
			t.Errorf("%s: %d %q %s", tc.rng, rr.status, rr.header.Get("Content-Range"), rr.body)
			continue
		}
		if tc.status == 416 {
			wantError(t, rr, 416, "InvalidRange")
		} else if string(rr.body) != tc.body {
			t.Errorf("%s: body %q", tc.rng, rr.body)
		}
	}
	// minio-go's ranged read.
	opts := minio.GetObjectOptions{}
	_ = opts.SetRange(2, 5)
	if got := e.get("rng", "k", opts); got != "2345" {
		t.Fatalf("minio range: %q", got)
	}
	e.put("rng", "empty", "", minio.PutObjectOptions{})
	wantError(t, e.do("GET", "/rng/empty", nil, "Range", "bytes=0-"), 416, "InvalidRange")
}

func TestConditionalReads(t *testing.T) {
	e := newTestServer(t)
	e.bucket("condr")
	e.put("condr", "k", "data", minio.PutObjectOptions{})
	head := e.do("HEAD", "/condr/k", nil)
	etag := head.header.Get("ETag")
	mod, _ := time.Parse(http.TimeFormat, head.header.Get("Last-Modified"))
	past := mod.Add(-time.Hour).Format(http.TimeFormat)
	future := mod.Add(time.Hour).Format(http.TimeFormat)
	cases := []struct {
		name   string
		hdr    []string
		status int
	}{
		{"if-match ok", []string{"If-Match", etag}, 200},
		{"if-match star", []string{"If-Match", "*"}, 200},
		{"if-match bad", []string{"If-Match", `"nope"`}, 412},
		{"if-none-match hit", []string{"If-None-Match", etag}, 304},
		{"if-none-match miss", []string{"If-None-Match", `"nope"`}, 200},
		{"if-modified-since future", []string{"If-Modified-Since", future}, 304},
		{"if-modified-since same", []string{"If-Modified-Since", mod.Format(http.TimeFormat)}, 304},
		{"if-modified-since past", []string{"If-Modified-Since", past}, 200},
		{"if-unmodified-since past", []string{"If-Unmodified-Since", past}, 412},
		{"if-unmodified-since future", []string{"If-Unmodified-Since", future}, 200},
		// If-Match wins over a failing If-Unmodified-Since.
		{"if-match + ius", []string{"If-Match", etag, "If-Unmodified-Since", past}, 200},
		// If-None-Match (no match) wins over a failing If-Modified-Since.
		{"inm + ims", []string{"If-None-Match", `"nope"`, "If-Modified-Since", future}, 200},
		{"inm hit + ims past", []string{"If-None-Match", etag, "If-Modified-Since", past}, 304},
		{"bad date ignored", []string{"If-Modified-Since", "yesterday"}, 200},
	}
	for _, tc := range cases {
		for _, method := range []string{"GET", "HEAD"} {
			rr := e.do(method, "/condr/k", nil, tc.hdr...)
			if rr.status != tc.status {
				t.Errorf("%s %s: %d, want %d", method, tc.name, rr.status, tc.status)
			}
			if tc.status == 304 && (len(rr.body) != 0 || rr.header.Get("ETag") != etag) {
				t.Errorf("%s %s: 304 with body %q / ETag %q", method, tc.name, rr.body, rr.header.Get("ETag"))
			}
			if tc.status == 412 && method == "GET" {
				wantError(t, rr, 412, "PreconditionFailed")
			}
		}
	}
}

func TestResponseOverrides(t *testing.T) {
	e := newTestServer(t)
	e.bucket("ovr")
	e.put("ovr", "k", "data", minio.PutObjectOptions{ContentType: "text/plain"})
	rr := e.do("GET", "/ovr/k?response-content-type=application/json&response-content-language=fr&response-expires=never"+
		"&response-cache-control=no-cache&response-content-disposition=inline&response-content-encoding=identity", nil)
	want := map[string]string{
		"Content-Type": "application/json", "Content-Language": "fr", "Expires": "never",
		"Cache-Control": "no-cache", "Content-Disposition": "inline", "Content-Encoding": "identity",
	}
	for k, v := range want {
		if rr.header.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, rr.header.Get(k), v)
		}
	}
}

func TestChecksums(t *testing.T) {
	e := newTestServer(t)
	e.bucket("sums")
	body := "checksummed body"
	crc := crc32.ChecksumIEEE([]byte(body))
	want := base64.StdEncoding.EncodeToString([]byte{byte(crc >> 24), byte(crc >> 16), byte(crc >> 8), byte(crc)})
	rr := e.do("PUT", "/sums/hdr", []byte(body), "x-amz-checksum-crc32", want)
	if rr.status != 200 || rr.header.Get("x-amz-checksum-crc32") != want {
		t.Fatalf("PUT with checksum: %d %v %s", rr.status, rr.header, rr.body)
	}
	wantError(t, e.do("PUT", "/sums/bad", []byte(body), "x-amz-checksum-crc32", "AAAAAA=="), 400, "BadDigest")
	if g := e.do("GET", "/sums/hdr", nil); g.header.Get("x-amz-checksum-crc32") != "" {
		t.Fatal("checksum returned without x-amz-checksum-mode")
	}
	if g := e.do("GET", "/sums/hdr", nil, "x-amz-checksum-mode", "ENABLED"); g.header.Get("x-amz-checksum-crc32") != want {
		t.Fatalf("GET checksum mode: %v", g.header)
	}

	// minio-go sends CRC32C in an aws-chunked trailer: stored after EOF.
	tc := e.client(func(o *minio.Options) { o.TrailingHeaders = true })
	if _, err := tc.PutObject(e.ctx, "sums", "trailer", strings.NewReader(body), int64(len(body)),
		minio.PutObjectOptions{Checksum: minio.ChecksumCRC32C}); err != nil {
		t.Fatal(err)
	}
	st, err := tc.StatObject(e.ctx, "sums", "trailer", minio.StatObjectOptions{Checksum: true})
	if err != nil {
		t.Fatal(err)
	}
	c := crc32.Checksum([]byte(body), crc32.MakeTable(crc32.Castagnoli))
	wantC := base64.StdEncoding.EncodeToString([]byte{byte(c >> 24), byte(c >> 16), byte(c >> 8), byte(c)})
	if st.ChecksumCRC32C != wantC {
		t.Fatalf("trailer checksum stored as %q, want %q", st.ChecksumCRC32C, wantC)
	}
}

func TestLargeObjectStreams(t *testing.T) {
	e := newTestServer(t)
	e.bucket("large")
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	if _, err := e.mc.PutObject(e.ctx, "large", "blob", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := e.get("large", "blob", minio.GetObjectOptions{}); got != string(data) {
		t.Fatalf("1 MiB round trip differs (%d bytes)", len(got))
	}
}

func TestInvalidUTF8Key(t *testing.T) {
	// minio-go's signer re-encodes invalid UTF-8 in paths, so this request
	// goes unsigned to a server that allows anonymous access.
	e := newTestServer(t, withConfig(func(c *Config) { c.AllowAnonymous = true }))
	e.bucket("utf")
	wantError(t, e.doAnon("PUT", "/utf/bad%FFutf8", []byte("x")), 400, "InvalidArgument")
	if rr := e.doAnon("PUT", "/utf/ok-%C3%A9", []byte("x")); rr.status != 200 {
		t.Fatalf("UTF-8 key: %d %s", rr.status, rr.body)
	}
}
