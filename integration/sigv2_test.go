package integration

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// testSignatureV2: a client signing with the legacy Signature Version 2
// (header and presigned URL) reads and writes like any other.
func testSignatureV2(t *testing.T, tg *target) {
	ctx := context.Background()
	b := newBucket(t, tg.c)
	v2, err := minio.New(tg.srv.Endpoint, &minio.Options{
		Creds: credentials.NewStaticV2(tg.srv.AccessKey, tg.srv.SecretKey, ""), Region: testRegion,
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte("legacy signature")
	if _, err := v2.PutObject(ctx, b, "old/style key", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, err := getBytes(ctx, tg.c, b, "old/style key", minio.GetObjectOptions{}); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("read back with V4: %q %v", got, err)
	}
	u, err := v2.PresignedGetObject(ctx, b, "old/style key", time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, body) {
		t.Fatalf("V2 presigned GET: %d %q", resp.StatusCode, got)
	}
	bad, err := minio.New(tg.srv.Endpoint, &minio.Options{
		Creds: credentials.NewStaticV2(tg.srv.AccessKey, "wrong secret", ""), Region: testRegion,
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.PutObject(ctx, b, "forged", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); minio.ToErrorResponse(err).Code != "SignatureDoesNotMatch" {
		t.Fatalf("wrong secret: %v", err)
	}
	if _, err := tg.c.StatObject(ctx, b, "forged", minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
		t.Fatalf("a refused V2 write stored something: %v", err)
	}
}
