package s3

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// sdk returns an AWS SDK for Go v2 client with its default checksum
// behaviour (CRC32 trailers on uploads, checksum headers on DeleteObjects).
func (e *testEnv) sdk() *awss3.Client {
	return awss3.New(awss3.Options{
		Region:                     "us-east-1",
		Credentials:                credentials.NewStaticCredentialsProvider(envAccessKey, envSecretKey, ""),
		BaseEndpoint:               aws.String(e.srv.URL),
		UsePathStyle:               true,
		RetryMaxAttempts:           1,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,
	})
}

func TestAWSSDKRoundTrip(t *testing.T) {
	e := newTestServer(t)
	c := e.sdk()
	ctx := e.ctx
	bucket := aws.String("sdkbucket")
	if _, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: bucket}); err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("aws-sdk "), 40000)
	put, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: bucket, Key: aws.String("dir/obj"),
		Body: bytes.NewReader(body), ContentType: aws.String("text/plain"), Metadata: map[string]string{"mode": "0644"}})
	if err != nil {
		t.Fatal(err)
	}
	if put.ChecksumCRC32 == nil || *put.ChecksumCRC32 == "" {
		t.Fatalf("PutObject returned no CRC32: %+v", put)
	}
	get, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: bucket, Key: aws.String("dir/obj"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(get.Body)
	get.Body.Close()
	if err != nil || !bytes.Equal(got, body) || get.Metadata["mode"] != "0644" || aws.ToString(get.ChecksumCRC32) != aws.ToString(put.ChecksumCRC32) {
		t.Fatalf("GetObject: %d bytes, %v, meta %v, crc %v", len(got), err, get.Metadata, aws.ToString(get.ChecksumCRC32))
	}
	lst, err := c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: bucket, Delimiter: aws.String("/")})
	if err != nil || len(lst.CommonPrefixes) != 1 || aws.ToString(lst.CommonPrefixes[0].Prefix) != "dir/" {
		t.Fatalf("ListObjectsV2: %+v %v", lst, err)
	}
	del, err := c.DeleteObjects(ctx, &awss3.DeleteObjectsInput{Bucket: bucket, Delete: &types.Delete{
		Objects: []types.ObjectIdentifier{{Key: aws.String("dir/obj")}, {Key: aws.String("nothing")}},
	}})
	if err != nil || len(del.Deleted) != 2 || len(del.Errors) != 0 {
		t.Fatalf("DeleteObjects: %+v %v", del, err)
	}
	_, err = c.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: bucket, Key: aws.String("dir/obj")})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "NotFound" {
		t.Fatalf("HeadObject after delete: %v", err)
	}
	_, err = c.GetObject(ctx, &awss3.GetObjectInput{Bucket: bucket, Key: aws.String("dir/obj")})
	var nsk *types.NoSuchKey
	if !errors.As(err, &nsk) {
		t.Fatalf("GetObject after delete: %v", err)
	}
}
