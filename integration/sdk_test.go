package integration

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/minio/minio-go/v7"
)

// sdkClient is an AWS SDK for Go v2 S3 client with its default settings
// (checksums "when supported"), path-style, against endpoint.
func sdkClient(t testing.TB, s *Server, endpoint string, hc *http.Client) *s3.Client {
	t.Helper()
	opts := []func(*config.LoadOptions) error{
		config.WithRegion(testRegion),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, "")),
	}
	cfg, err := config.LoadDefaultConfig(context.Background(), opts...)
	if err != nil {
		t.Fatalf("aws config: %v", err)
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = true
		o.BaseEndpoint = aws.String(endpoint)
		if hc != nil {
			o.HTTPClient = hc
		}
	})
}

// tlsProxy puts a TLS front (a reverse proxy that keeps the Host header and
// streams bodies) before the server: the SDK sends its default
// aws-chunked uploads with trailing checksums only over HTTPS.
func tlsProxy(t testing.TB, s *Server) (string, *http.Client) {
	t.Helper()
	u, _ := url.Parse(s.URL)
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.FlushInterval = -1
	ts := httptest.NewTLSServer(rp)
	t.Cleanup(ts.Close)
	return ts.URL, ts.Client()
}

// sdkCode extracts the S3 error code of an SDK error.
func sdkCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func testAWSSDK(t *testing.T, tg *target) {
	t.Run("http", func(t *testing.T) { sdkScenario(t, tg, sdkClient(t, tg.srv, tg.srv.URL, nil), false) })
	t.Run("https-trailer", func(t *testing.T) {
		ep, hc := tlsProxy(t, tg.srv)
		sdkScenario(t, tg, sdkClient(t, tg.srv, ep, hc), true)
	})
}

// nonSeeker hides Seek so the SDK has to stream the body.
type nonSeeker struct{ io.Reader }

// sdkScenario drives one bucket's life through the SDK. Over TLS, streamed
// (unseekable) bodies make the SDK send aws-chunked uploads with a trailing
// checksum; over plain HTTP the SDK only sends seekable bodies, with the
// checksum in a header.
func sdkScenario(t *testing.T, tg *target, c *s3.Client, tls bool) {
	ctx := ctxT(t)
	b := bucketName(t.Name())
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(b)}); err != nil {
		t.Fatalf("HeadBucket: %v", err)
	}
	lb, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		t.Fatalf("ListBuckets: %v", err)
	}
	found := false
	for _, x := range lb.Buckets {
		found = found || aws.ToString(x.Name) == b
	}
	if !found {
		t.Errorf("ListBuckets lacks %s", b)
	}

	// PutObject with default settings: a CRC32 checksum (header over HTTP,
	// aws-chunked trailer over HTTPS).
	castagnoli := crc32.MakeTable(crc32.Castagnoli)
	for i, size := range []int{0, 1000, 300 << 10, 3 << 20} {
		body := randomBytes(size)
		key := fmt.Sprintf("obj-%d", size)
		in := &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(key), Body: bytes.NewReader(body),
			ContentType: aws.String("application/x-sdk"), Metadata: map[string]string{"sdk": "v2"}}
		if tls && i%2 == 1 {
			in.Body = nonSeeker{bytes.NewReader(body)}
			in.ContentLength = aws.Int64(int64(size))
		}
		out, err := c.PutObject(ctx, in)
		if err != nil {
			t.Fatalf("PutObject %d bytes: %v", size, err)
		}
		if trimETag(aws.ToString(out.ETag)) != md5hex(body) {
			t.Errorf("PutObject ETag %s, want %s", aws.ToString(out.ETag), md5hex(body))
		}
		wantCRC := crc32b64(crc32.IEEETable, body)
		if out.ChecksumCRC32 != nil && aws.ToString(out.ChecksumCRC32) != wantCRC {
			t.Errorf("PutObject ChecksumCRC32 %s, want %s", aws.ToString(out.ChecksumCRC32), wantCRC)
		}
		get, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled})
		if err != nil {
			t.Fatalf("GetObject %s: %v", key, err)
		}
		got, err := io.ReadAll(get.Body)
		get.Body.Close()
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("GetObject %s: %d bytes (%v), want %d identical bytes (chunk framing stored?)", key, len(got), err, size)
		}
		if size > 0 && aws.ToString(get.ChecksumCRC32) != wantCRC {
			t.Errorf("GetObject %s with ChecksumMode ENABLED: ChecksumCRC32 %q, want %q (stored checksum not returned)", key, aws.ToString(get.ChecksumCRC32), wantCRC)
		}
		if aws.ToString(get.ContentType) != "application/x-sdk" || get.Metadata["sdk"] != "v2" {
			t.Errorf("GetObject %s: ContentType %q metadata %v", key, aws.ToString(get.ContentType), get.Metadata)
		}
	}
	// An explicit CRC32C checksum.
	body := randomBytes(70000)
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("crc32c"), Body: bytes.NewReader(body),
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c}); err != nil {
		t.Fatalf("PutObject CRC32C: %v", err)
	}
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("crc32c"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatalf("HeadObject: %v", err)
	}
	if aws.ToString(head.ChecksumCRC32C) != crc32b64(castagnoli, body) || aws.ToInt64(head.ContentLength) != int64(len(body)) {
		t.Errorf("HeadObject: ChecksumCRC32C %q (want %q), length %d", aws.ToString(head.ChecksumCRC32C), crc32b64(castagnoli, body), aws.ToInt64(head.ContentLength))
	}
	// Errors come back as S3 codes.
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("missing")})
	if sdkCode(err) != "NoSuchKey" {
		t.Errorf("GetObject missing: %v (code %q), want NoSuchKey", err, sdkCode(err))
	}

	// Multipart.
	mk := "multipart"
	cm, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String(mk)})
	if err != nil {
		t.Fatalf("CreateMultipartUpload: %v", err)
	}
	parts := [][]byte{randomBytes(5 * mib), randomBytes(5 * mib), randomBytes(777)}
	var done []types.CompletedPart
	for i, p := range parts {
		n := int32(i + 1)
		out, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String(mk), UploadId: cm.UploadId,
			PartNumber: aws.Int32(n), Body: bytes.NewReader(p)})
		if err != nil {
			t.Fatalf("UploadPart %d: %v", n, err)
		}
		done = append(done, types.CompletedPart{PartNumber: aws.Int32(n), ETag: out.ETag, ChecksumCRC32: out.ChecksumCRC32})
	}
	lp, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String(b), Key: aws.String(mk), UploadId: cm.UploadId})
	if err != nil || len(lp.Parts) != 3 {
		t.Fatalf("ListParts: %v, %d parts", err, len(lp.Parts))
	}
	cmu, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String(mk), UploadId: cm.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: done}})
	if err != nil {
		t.Fatalf("CompleteMultipartUpload: %v", err)
	}
	if trimETag(aws.ToString(cmu.ETag)) != multipartETag(parts...) {
		t.Errorf("multipart ETag %s, want %s", aws.ToString(cmu.ETag), multipartETag(parts...))
	}
	get, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String(mk)})
	if err != nil {
		t.Fatalf("GetObject multipart: %v", err)
	}
	h := md5.New()
	n, err := io.Copy(h, get.Body)
	get.Body.Close()
	whole := md5.Sum(bytes.Join(parts, nil))
	if err != nil || n != int64(10*mib+777) || hex.EncodeToString(h.Sum(nil)) != hex.EncodeToString(whole[:]) {
		t.Errorf("multipart object: %d bytes, %v, md5 mismatch=%v", n, err, hex.EncodeToString(h.Sum(nil)) != hex.EncodeToString(whole[:]))
	}

	// CopyObject.
	if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("copy"),
		CopySource: aws.String(b + "/obj-1000")}); err != nil {
		t.Errorf("CopyObject: %v", err)
	}

	// ListObjectsV2 paginator over 25 more keys.
	for i := range 25 {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(fmt.Sprintf("page/%02d", i)),
			Body: strings.NewReader("p")}); err != nil {
			t.Fatalf("PutObject page/%02d: %v", i, err)
		}
	}
	var keys []string
	pages := 0
	pg := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(b), Prefix: aws.String("page/"), MaxKeys: aws.Int32(10)})
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListObjectsV2 page: %v", err)
		}
		pages++
		for _, o := range out.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	if pages != 3 || len(keys) != 25 || keys[0] != "page/00" || keys[24] != "page/24" {
		t.Errorf("paginator: %d pages, %d keys", pages, len(keys))
	}

	// DeleteObjects (the SDK sends a checksum header, not Content-MD5).
	all := listAll(t, tg.c, b, minio.ListObjectsOptions{Recursive: true})
	var ids []types.ObjectIdentifier
	for _, o := range all {
		ids = append(ids, types.ObjectIdentifier{Key: aws.String(o.Key)})
	}
	del, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(b), Delete: &types.Delete{Objects: ids}})
	if err != nil {
		t.Fatalf("DeleteObjects: %v", err)
	}
	if len(del.Deleted) != len(ids) || len(del.Errors) != 0 {
		t.Errorf("DeleteObjects: %d deleted, %d errors, want %d, 0", len(del.Deleted), len(del.Errors), len(ids))
	}
	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(b)}); err != nil {
		t.Errorf("DeleteBucket: %v", err)
	}
}

func testPresigned(t *testing.T, tg *target) {
	ctx := ctxT(t)
	b := newBucket(t, tg.c)
	body := randomBytes(4000)
	putBytes(t, tg.c, b, "pre signed.bin", body, minio.PutObjectOptions{})
	sdk := sdkClient(t, tg.srv, tg.srv.URL, nil)
	pc := s3.NewPresignClient(sdk)

	// SDK-presigned GET used with plain net/http.
	pg, err := pc.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("pre signed.bin")},
		s3.WithPresignExpires(5*time.Minute))
	if err != nil {
		t.Fatalf("PresignGetObject: %v", err)
	}
	resp, err := rawHTTP.Get(pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, body) {
		t.Fatalf("presigned GET: %d, %d bytes\n%s", resp.StatusCode, len(got), got)
	}

	// SDK-presigned PUT.
	put := randomBytes(3000)
	pp, err := pc.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("uploaded")})
	if err != nil {
		t.Fatalf("PresignPutObject: %v", err)
	}
	req, _ := http.NewRequest(http.MethodPut, pp.URL, bytes.NewReader(put))
	for k, vs := range pp.SignedHeader {
		if strings.EqualFold(k, "Host") {
			continue
		}
		req.Header[k] = vs
	}
	resp, err = rawHTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("presigned PUT: %d\n%s", resp.StatusCode, msg)
	}
	if got := mustGet(t, tg.c, b, "uploaded", minio.GetObjectOptions{}); !bytes.Equal(got, put) {
		t.Errorf("presigned PUT stored %d bytes, want the %d sent", len(got), len(put))
	}

	// minio-go presigned GET and PUT.
	u, err := tg.c.PresignedGetObject(ctx, b, "pre signed.bin", time.Minute, url.Values{"response-content-type": {"text/x-pre"}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err = rawHTTP.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	got, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, body) || resp.Header.Get("Content-Type") != "text/x-pre" {
		t.Errorf("minio-go presigned GET: %d, %d bytes, Content-Type %q", resp.StatusCode, len(got), resp.Header.Get("Content-Type"))
	}
	u, err = tg.c.PresignedPutObject(ctx, b, "mc-uploaded", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	req, _ = http.NewRequest(http.MethodPut, u.String(), bytes.NewReader(put))
	resp, err = rawHTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("minio-go presigned PUT: %d", resp.StatusCode)
	}

	// A tampered signature and a tampered key.
	bu, _ := url.Parse(pg.URL)
	bq := bu.Query()
	sig := bq.Get("X-Amz-Signature")
	if sig == "" {
		t.Fatalf("presigned URL without X-Amz-Signature: %s", pg.URL)
	}
	flip := map[byte]byte{'0': '1'}[sig[0]]
	if flip == 0 {
		flip = '0'
	}
	bq.Set("X-Amz-Signature", string(flip)+sig[1:])
	bu.RawQuery = bq.Encode()
	raw := presignedGet(t, bu.String())
	raw.wantError(t, http.StatusForbidden, "SignatureDoesNotMatch")
	bu, _ = url.Parse(pg.URL)
	bu.Path, bu.RawPath = "/"+b+"/other.bin", ""
	raw = presignedGet(t, bu.String())
	raw.wantError(t, http.StatusForbidden, "SignatureDoesNotMatch")

	// Expired.
	u, err = tg.c.PresignedGetObject(ctx, b, "pre signed.bin", time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2100 * time.Millisecond)
	raw = presignedGet(t, u.String())
	e := raw.wantError(t, http.StatusForbidden, "AccessDenied")
	if !strings.Contains(strings.ToLower(e.Message), "expired") {
		t.Errorf("expired presigned URL: message %q does not say it expired", e.Message)
	}
}

func presignedGet(t testing.TB, u string) *rawResp {
	t.Helper()
	resp, err := rawHTTP.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return &rawResp{Status: resp.StatusCode, Header: resp.Header, Body: body}
}
