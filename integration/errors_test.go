package integration

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

func testErrors(t *testing.T, tg *target) {
	c := tg.c
	b := newBucket(t, c)
	missing := bucketName("missing")

	// Keys: 1024 bytes is the limit.
	r := tg.do(t, rawReq{method: http.MethodPut, path: "/" + b + "/" + strings.Repeat("k", 1025), body: []byte("x")})
	r.wantError(t, http.StatusBadRequest, "KeyTooLongError")
	r = tg.do(t, rawReq{method: http.MethodPut, path: "/" + b + "/" + strings.Repeat("é", 513), body: []byte("x")}) // 1026 bytes
	r.wantError(t, http.StatusBadRequest, "KeyTooLongError")
	r = tg.do(t, rawReq{method: http.MethodPut, path: "/" + b + "/" + strings.Repeat("k", 1024), body: []byte("x")})
	r.wantStatus(t, http.StatusOK)

	// Invalid UTF-8 in a key.
	r = tg.do(t, rawReq{method: http.MethodPut, path: "/" + b + "/bad\xff\xfekey", body: []byte("x")})
	if r.Status != http.StatusBadRequest {
		t.Errorf("invalid UTF-8 key: status %d, want 400; body:\n%s", r.Status, r.Body)
	} else {
		r.err(t)
	}

	// Missing bucket, for every object operation.
	for _, req := range []rawReq{
		{method: http.MethodPut, path: "/" + missing + "/k", body: []byte("x")},
		{method: http.MethodGet, path: "/" + missing + "/k"},
		{method: http.MethodDelete, path: "/" + missing + "/k"},
		{method: http.MethodGet, path: "/" + missing},
		{method: http.MethodPost, path: "/" + missing + "/k", query: q("uploads", "")},
	} {
		r := tg.do(t, req)
		e := r.wantError(t, http.StatusNotFound, "NoSuchBucket")
		if e.Message == "" || !strings.Contains(e.Resource, missing) {
			t.Errorf("%s %s: error Message %q, Resource %q", req.method, req.path, e.Message, e.Resource)
		}
	}
	r = tg.do(t, rawReq{method: http.MethodHead, path: "/" + missing + "/k"})
	r.wantStatus(t, http.StatusNotFound)

	// A single PUT above 5 GiB is refused before its body is read.
	testOversizedPut(t, tg, b)
}

// slowZeros yields n zero bytes, then blocks until ctx ends.
type slowZeros struct {
	ctx context.Context
	n   int64
}

func (z *slowZeros) Read(p []byte) (int, error) {
	if z.n <= 0 {
		<-z.ctx.Done()
		return 0, z.ctx.Err()
	}
	k := min(int64(len(p)), z.n)
	clear(p[:k])
	z.n -= k
	return int(k), nil
}

func testOversizedPut(t *testing.T, tg *target, b string) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req := buildRaw(t, tg.srv, rawReq{method: http.MethodPut, path: "/" + b + "/huge", unsignedPayload: true})
	req = req.WithContext(ctx)
	req.Body = io.NopCloser(&slowZeros{ctx: ctx, n: 1 << 20})
	req.ContentLength = 5<<30 + 1
	resp, err := rawHTTP.Do(req)
	if err != nil {
		t.Fatalf("PUT of 5 GiB + 1 byte: no answer before the body was sent: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	rr := &rawResp{Status: resp.StatusCode, Header: resp.Header, Body: body}
	rr.wantError(t, http.StatusBadRequest, "EntityTooLarge")
}

func testAuthErrors(t *testing.T, tg *target) {
	ctx := ctxT(t)
	b := newBucket(t, tg.c)
	putBytes(t, tg.c, b, "k", []byte("secret data"), minio.PutObjectOptions{})
	path := "/" + b + "/k"

	r := tg.do(t, rawReq{method: http.MethodGet, path: path, secretKey: "wrong-secret", accessKey: tg.srv.AccessKey})
	r.wantError(t, http.StatusForbidden, "SignatureDoesNotMatch")
	r = tg.do(t, rawReq{method: http.MethodGet, path: path, accessKey: "AKIDUNKNOWN000000000", secretKey: "whatever"})
	r.wantError(t, http.StatusForbidden, "InvalidAccessKeyId")
	r = tg.do(t, rawReq{method: http.MethodGet, path: path, anonymous: true})
	r.wantError(t, http.StatusForbidden, "AccessDenied")
	r = tg.do(t, rawReq{method: http.MethodGet, path: "/", anonymous: true})
	r.wantError(t, http.StatusForbidden, "AccessDenied")
	r = tg.do(t, rawReq{method: http.MethodGet, path: path, signTime: time.Now().Add(-20 * time.Minute)})
	r.wantError(t, http.StatusForbidden, "RequestTimeTooSkewed")
	r = tg.do(t, rawReq{method: http.MethodGet, path: path, signTime: time.Now().Add(20 * time.Minute)})
	r.wantError(t, http.StatusForbidden, "RequestTimeTooSkewed")

	// The body does not match the signed x-amz-content-sha256.
	other := sha256.Sum256([]byte("another body"))
	r = tg.do(t, rawReq{method: http.MethodPut, path: "/" + b + "/tampered", body: []byte("the real body"), payloadHash: hex.EncodeToString(other[:])})
	r.wantError(t, http.StatusBadRequest, "XAmzContentSHA256Mismatch")
	r = tg.do(t, rawReq{method: http.MethodHead, path: "/" + b + "/tampered"})
	r.wantStatus(t, http.StatusNotFound)

	// A malformed Authorization header.
	req := buildRaw(t, tg.srv, rawReq{method: http.MethodGet, path: path, anonymous: true})
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 garbage")
	resp, err := rawHTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	rr := &rawResp{Status: resp.StatusCode, Header: resp.Header, Body: body}
	if rr.Status != http.StatusBadRequest && rr.Status != http.StatusForbidden {
		t.Errorf("malformed Authorization: status %d, want 400 or 403\n%s", rr.Status, body)
	} else if e := rr.err(t); e.Code == "" {
		t.Errorf("malformed Authorization: no error code")
	}

	// minio-go with the wrong secret and an unknown key.
	_, err = getBytes(ctx, tg.srv.ClientWith(t, tg.srv.AccessKey, "wrong-secret"), b, "k", minio.GetObjectOptions{})
	wantCode(t, err, "SignatureDoesNotMatch")
	_, err = tg.srv.ClientWith(t, "AKIDUNKNOWN000000000", "x").ListBuckets(ctx)
	wantCode(t, err, "InvalidAccessKeyId")
	// The wrong secret on a streaming-signature PUT.
	_, err = tg.srv.ClientWith(t, tg.srv.AccessKey, "wrong-secret").PutObject(ctx, b, "k", strings.NewReader("overwrite"), 9, minio.PutObjectOptions{})
	wantCode(t, err, "SignatureDoesNotMatch")
	if got := mustGet(t, tg.c, b, "k", minio.GetObjectOptions{}); string(got) != "secret data" {
		t.Errorf("object changed by a refused PUT: %q", got)
	}

	// Health endpoints need no credentials.
	for _, p := range []string{"/health/live", "/health/ready"} {
		resp, err := rawHTTP.Get(tg.srv.URL + p)
		if err != nil {
			t.Fatalf("GET %s: %v", p, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", p, resp.StatusCode)
		}
	}
}

func testMalformedXML(t *testing.T, tg *target) {
	ctx := ctxT(t)
	b := newBucket(t, tg.c)
	garbage := []byte("<not-xml")
	wrongRoot := []byte("<Something><Else/></Something>")

	uploadID, err := tg.core().NewMultipartUpload(ctx, b, "mp", minio.PutObjectOptions{})
	if err != nil {
		t.Fatalf("NewMultipartUpload: %v", err)
	}
	cases := []struct {
		name string
		req  rawReq
	}{
		{"complete-garbage", rawReq{method: http.MethodPost, path: "/" + b + "/mp", query: q("uploadId", uploadID), body: garbage}},
		{"complete-empty", rawReq{method: http.MethodPost, path: "/" + b + "/mp", query: q("uploadId", uploadID), body: []byte("<CompleteMultipartUpload></CompleteMultipartUpload>")}},
		{"delete-garbage", rawReq{method: http.MethodPost, path: "/" + b, query: q("delete", ""), body: garbage, header: hdr("Content-MD5", md5b64(garbage))}},
		{"delete-empty", rawReq{method: http.MethodPost, path: "/" + b, query: q("delete", ""), body: []byte("<Delete></Delete>"), header: hdr("Content-MD5", md5b64([]byte("<Delete></Delete>")))}},
		{"delete-wrong-root", rawReq{method: http.MethodPost, path: "/" + b, query: q("delete", ""), body: wrongRoot, header: hdr("Content-MD5", md5b64(wrongRoot))}},
		{"versioning-garbage", rawReq{method: http.MethodPut, path: "/" + b, query: q("versioning", ""), body: garbage}},
		{"create-bucket-garbage", rawReq{method: http.MethodPut, path: "/" + bucketName("xml"), body: garbage}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tg.do(t, tc.req)
			r.wantError(t, http.StatusBadRequest, "MalformedXML")
		})
	}
	// An unknown versioning status.
	r := tg.do(t, rawReq{method: http.MethodPut, path: "/" + b, query: q("versioning", ""),
		body: []byte(`<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Sometimes</Status></VersioningConfiguration>`)})
	if r.Status != http.StatusBadRequest {
		t.Errorf("versioning status Sometimes: status %d, want 400", r.Status)
	} else if code := r.err(t).Code; code != "MalformedXML" && code != "IllegalVersioningConfigurationException" {
		t.Errorf("versioning status Sometimes: code %q", code)
	}
	// The upload is still usable after the refused completions.
	if _, err := tg.core().ListObjectParts(ctx, b, "mp", uploadID, 0, 100); err != nil {
		t.Errorf("ListParts after malformed completions: %v", err)
	}
	if err := tg.core().AbortMultipartUpload(ctx, b, "mp", uploadID); err != nil {
		t.Errorf("AbortMultipartUpload: %v", err)
	}
}
