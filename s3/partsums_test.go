package s3

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"io"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/bucketdb/bucketdb/store"
)

// partOptsRecorder records the checksums UploadPart calls carry in headers.
type partOptsRecorder struct {
	Backend
	mu      sync.Mutex
	headers []map[string]string
}

func (p *partOptsRecorder) UploadPart(ctx context.Context, bucket, key, uploadID string, part int, r io.Reader, size int64, opts store.PartOptions) (store.PartInfo, error) {
	p.mu.Lock()
	p.headers = append(p.headers, opts.Checksums)
	p.mu.Unlock()
	return p.Backend.UploadPart(ctx, bucket, key, uploadID, part, r, size, opts)
}

func crc32b64(b []byte) string {
	return base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(b)))
}

// TestAWSSDKUploadPartTrailerChecksum: the AWS SDK v2 sends UploadPart
// bodies aws-chunked with a CRC32 trailer; the part keeps that checksum,
// as S3 shows it in the UploadPart response, ListParts, and a HEAD of that
// part number with checksum mode enabled.
func TestAWSSDKUploadPartTrailerChecksum(t *testing.T) {
	rec := &partOptsRecorder{}
	e := newTestServer(t, withBackend(func(b Backend) Backend { rec.Backend = b; return rec }))
	// The SDK sends trailer checksums only over TLS (over plain HTTP it
	// sends them as headers).
	tsrv := httptest.NewTLSServer(e.s)
	t.Cleanup(tsrv.Close)
	c := awss3.New(awss3.Options{
		Region:                     "us-east-1",
		Credentials:                credentials.NewStaticCredentialsProvider(envAccessKey, envSecretKey, ""),
		BaseEndpoint:               aws.String(tsrv.URL),
		HTTPClient:                 tsrv.Client(),
		UsePathStyle:               true,
		RetryMaxAttempts:           1,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,
	})
	ctx := e.ctx
	bucket, key := aws.String("sdkparts"), aws.String("big")
	if _, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: bucket}); err != nil {
		t.Fatal(err)
	}
	up, err := c.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: bucket, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	bodies := [][]byte{bytes.Repeat([]byte("part one "), 300), []byte("the last part")}
	var done []types.CompletedPart
	for i, body := range bodies {
		n := aws.Int32(int32(i + 1))
		out, err := c.UploadPart(ctx, &awss3.UploadPartInput{Bucket: bucket, Key: key, UploadId: up.UploadId,
			PartNumber: n, Body: bytes.NewReader(body)})
		if err != nil {
			t.Fatal(err)
		}
		if got := aws.ToString(out.ChecksumCRC32); got != crc32b64(body) {
			t.Fatalf("UploadPart %d: CRC32 %q, want %q", i+1, got, crc32b64(body))
		}
		done = append(done, types.CompletedPart{PartNumber: n, ETag: out.ETag, ChecksumCRC32: out.ChecksumCRC32})
	}
	rec.mu.Lock()
	for i, h := range rec.headers {
		if h["crc32"] != "" {
			t.Errorf("part %d: CRC32 came as a header, not a trailer: the test does not cover trailers", i+1)
		}
	}
	rec.mu.Unlock()
	lp, err := c.ListParts(ctx, &awss3.ListPartsInput{Bucket: bucket, Key: key, UploadId: up.UploadId})
	if err != nil || len(lp.Parts) != 2 {
		t.Fatalf("ListParts: %+v %v", lp, err)
	}
	for i, p := range lp.Parts {
		if got := aws.ToString(p.ChecksumCRC32); got != crc32b64(bodies[i]) {
			t.Errorf("ListParts part %d: CRC32 %q, want %q", i+1, got, crc32b64(bodies[i]))
		}
	}
	if _, err := c.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{Bucket: bucket, Key: key,
		UploadId: up.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: done}}); err != nil {
		t.Fatal(err)
	}
	for i, body := range bodies {
		h, err := c.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: bucket, Key: key,
			PartNumber: aws.Int32(int32(i + 1)), ChecksumMode: types.ChecksumModeEnabled})
		if err != nil {
			t.Fatal(err)
		}
		if got := aws.ToString(h.ChecksumCRC32); got != crc32b64(body) || aws.ToInt32(h.PartsCount) != 2 {
			t.Errorf("HEAD partNumber=%d: CRC32 %q (want %q), parts %d", i+1, got, crc32b64(body), aws.ToInt32(h.PartsCount))
		}
	}
}
