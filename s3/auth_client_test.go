package s3

import (
	"bytes"
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"
	miniocreds "github.com/minio/minio-go/v7/pkg/credentials"
)

// Round trips: real SDK clients upload through a real HTTP(S) server whose
// handler authenticates and reads the body; the handler must receive
// exactly the uploaded bytes and the checksums the client computed.

// wantChecksum returns the base64 checksum of body for algorithm name.
func wantChecksum(name string, body []byte) string {
	h := checksumAlgos[checksumAlgoIndex(name)].new()
	h.Write(body)
	return b64(h.Sum(nil))
}

// newMinioClient returns a minio-go client of s; trailing enables the
// trailing headers that minio-go needs to send checksums.
func newMinioClient(t *testing.T, s *authServer, tls, trailing bool, secret string) *minio.Client {
	t.Helper()
	u, _ := url.Parse(s.URL)
	c, err := minio.New(u.Host, &minio.Options{
		Creds:           miniocreds.NewStaticV4(testAccessKey, secret, ""),
		Secure:          tls,
		Region:          "us-east-1",
		Transport:       s.Client().Transport,
		TrailingHeaders: trailing,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAuthClientMinioPutObject(t *testing.T) {
	body := payloadBytes(1<<20 + 3)
	cases := []struct {
		name     string
		trailing bool // minio.Options.TrailingHeaders
		opts     minio.PutObjectOptions
		mode     string // x-amz-content-sha256 over http, then over https
		tlsMode  string
		checksum string // algorithm whose value the handler must get
	}{
		{name: "default", mode: streamingSigned, tlsMode: unsignedPayload},
		{name: "content md5", opts: minio.PutObjectOptions{SendContentMd5: true}},
		{name: "disable sha256", opts: minio.PutObjectOptions{DisableContentSha256: true}},
		{name: "trailing default", trailing: true, mode: streamingSigned},
		{name: "crc32", opts: minio.PutObjectOptions{Checksum: minio.ChecksumCRC32}, checksum: ChecksumCRC32},
		{name: "crc32c", opts: minio.PutObjectOptions{Checksum: minio.ChecksumCRC32C}, checksum: ChecksumCRC32C},
		{name: "sha1", opts: minio.PutObjectOptions{Checksum: minio.ChecksumSHA1}, checksum: ChecksumSHA1},
		{name: "sha256", opts: minio.PutObjectOptions{Checksum: minio.ChecksumSHA256}, checksum: ChecksumSHA256},
		{name: "crc64nvme", opts: minio.PutObjectOptions{Checksum: minio.ChecksumCRC64NVME}, checksum: ChecksumCRC64NVME},
	}
	for _, tls := range []bool{false, true} {
		s := newAuthServer(t, tls)
		for _, tc := range cases {
			name := tc.name
			if tls {
				name += " tls"
			}
			t.Run(name, func(t *testing.T) {
				c := newMinioClient(t, s, tls, tc.trailing || tc.opts.Checksum != 0, testSecretKey)
				if _, err := c.PutObject(context.Background(), "bucket", "dir/key name+1.bin", bytes.NewReader(body), int64(len(body)), tc.opts); err != nil {
					t.Fatalf("PutObject: %v (server: %+v)", err, s.last(t).Message)
				}
				got := s.last(t)
				t.Logf("x-amz-content-sha256=%s content-encoding=%q checksums=%v", got.Mode, got.Encoding, got.Checksums)
				wantCode(t, got, "OK")
				if !bytes.Equal(got.Body, body) || got.Size != int64(len(body)) || got.AccessKey != testAccessKey {
					t.Fatalf("handler got %d bytes, size %d, key %q", len(got.Body), got.Size, got.AccessKey)
				}
				if want := map[bool]string{false: tc.mode, true: tc.tlsMode}[tls]; want != "" && got.Mode != want {
					t.Fatalf("x-amz-content-sha256 %s, want %s", got.Mode, want)
				}
				if tc.checksum != "" && got.Checksums[tc.checksum] != wantChecksum(tc.checksum, body) {
					t.Fatalf("checksums %v, want %s=%s", got.Checksums, tc.checksum, wantChecksum(tc.checksum, body))
				}
			})
		}
		t.Run("wrong secret", func(t *testing.T) {
			bad := newMinioClient(t, s, tls, false, "not the secret")
			if _, err := bad.PutObject(context.Background(), "bucket", "key", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err == nil {
				t.Fatal("PutObject with a wrong secret succeeded")
			}
			wantCode(t, s.last(t), "SignatureDoesNotMatch")
		})
	}
}

func newSDKClient(t *testing.T, s *authServer, secret string) *awss3.Client {
	t.Helper()
	return awss3.New(awss3.Options{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider(testAccessKey, secret, ""),
		BaseEndpoint:     aws.String(s.URL),
		UsePathStyle:     true,
		HTTPClient:       s.Client(),
		RetryMaxAttempts: 1,
		// What config.LoadDefaultConfig gives a client by default.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
	})
}

func TestAuthClientSDKPutObject(t *testing.T) {
	body := payloadBytes(300000)
	cases := []struct {
		name     string
		algo     types.ChecksumAlgorithm
		checksum string
	}{
		{name: "default", checksum: ChecksumCRC32},
		{name: "crc32c", algo: types.ChecksumAlgorithmCrc32c, checksum: ChecksumCRC32C},
		{name: "sha1", algo: types.ChecksumAlgorithmSha1, checksum: ChecksumSHA1},
		{name: "sha256", algo: types.ChecksumAlgorithmSha256, checksum: ChecksumSHA256},
		{name: "crc64nvme", algo: types.ChecksumAlgorithmCrc64nvme, checksum: ChecksumCRC64NVME},
	}
	for _, tls := range []bool{false, true} {
		s := newAuthServer(t, tls)
		c := newSDKClient(t, s, testSecretKey)
		for _, tc := range cases {
			name := tc.name
			if tls {
				name += " tls"
			}
			t.Run(name, func(t *testing.T) {
				in := &awss3.PutObjectInput{
					Bucket:            aws.String("bucket"),
					Key:               aws.String("a/b c+d.txt"),
					Body:              bytes.NewReader(body),
					ChecksumAlgorithm: tc.algo,
				}
				if _, err := c.PutObject(context.Background(), in); err != nil {
					t.Fatalf("PutObject: %v (server: %s)", err, s.last(t).Message)
				}
				got := s.last(t)
				t.Logf("x-amz-content-sha256=%s content-encoding=%q checksums=%v", got.Mode, got.Encoding, got.Checksums)
				wantCode(t, got, "OK")
				if !bytes.Equal(got.Body, body) || got.Size != int64(len(body)) {
					t.Fatalf("handler got %d bytes, size %d", len(got.Body), got.Size)
				}
				if got.Checksums[tc.checksum] != wantChecksum(tc.checksum, body) {
					t.Fatalf("checksums %v, want %s=%s", got.Checksums, tc.checksum, wantChecksum(tc.checksum, body))
				}
			})
		}
		t.Run("wrong secret", func(t *testing.T) {
			bad := newSDKClient(t, s, "not the secret")
			_, err := bad.PutObject(context.Background(), &awss3.PutObjectInput{
				Bucket: aws.String("bucket"), Key: aws.String("k"), Body: bytes.NewReader(body),
			})
			if err == nil {
				t.Fatal("PutObject with a wrong secret succeeded")
			}
			wantCode(t, s.last(t), "SignatureDoesNotMatch")
		})
		t.Run("presigned get", func(t *testing.T) {
			ps := awss3.NewPresignClient(c)
			req, err := ps.PresignGetObject(context.Background(), &awss3.GetObjectInput{
				Bucket: aws.String("bucket"), Key: aws.String("x/y z.txt"),
			}, awss3.WithPresignExpires(10*time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			got := s.do(t, newReq(t, req.Method, req.URL, nil))
			wantCode(t, got, "OK")
			if got.AccessKey != testAccessKey {
				t.Fatalf("access key %q", got.AccessKey)
			}
		})
	}
}
