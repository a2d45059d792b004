package s3

import (
	"bytes"
	"testing"

	"github.com/minio/minio-go/v7"
)

func TestGetObjectAttributesRequests(t *testing.T) {
	e := newTestServer(t)
	e.bucket("oattr")
	e.put("oattr", "k", "twelve bytes", minio.PutObjectOptions{})
	rr := e.do("GET", "/oattr/k?attributes", nil, "x-amz-object-attributes", "ObjectSize,StorageClass")
	if rr.status != 200 || !bytes.Contains(rr.body, []byte("<StorageClass>STANDARD</StorageClass><ObjectSize>12</ObjectSize>")) ||
		bytes.Contains(rr.body, []byte("<ETag>")) || rr.header.Get("ETag") != "" || rr.header.Get("Last-Modified") == "" {
		t.Fatalf("attributes: %d %v %s", rr.status, rr.header, rr.body)
	}
	wantError(t, e.do("GET", "/oattr/k?attributes", nil), 400, "InvalidRequest")
	wantError(t, e.do("GET", "/oattr/k?attributes", nil, "x-amz-object-attributes", "ETag,Colour"), 400, "InvalidArgument")
	wantError(t, e.do("GET", "/oattr/k?attributes", nil, "x-amz-object-attributes", "ETag", "x-amz-max-parts", "-1"), 400, "InvalidArgument")
	wantError(t, e.do("GET", "/oattr/nope?attributes", nil, "x-amz-object-attributes", "ETag"), 404, "NoSuchKey")
	wantError(t, e.do("PUT", "/oattr/k?attributes", nil), 501, "NotImplemented")
}

// Writes that ask for server-side encryption or a storage class other than
// standard are refused, and store nothing.
func TestUnsupportedWriteHeaders(t *testing.T) {
	e := newTestServer(t)
	e.bucket("whdr")
	e.put("whdr", "src", "source", minio.PutObjectOptions{})
	for _, tc := range []struct {
		method, target string
		header         []string
		status         int
		code           string
	}{
		{"PUT", "/whdr/a", []string{"x-amz-server-side-encryption", "AES256"}, 501, "NotImplemented"},
		{"PUT", "/whdr/a", []string{"x-amz-server-side-encryption-customer-algorithm", "AES256"}, 501, "NotImplemented"},
		{"PUT", "/whdr/a", []string{"x-amz-storage-class", "GLACIER"}, 400, "InvalidStorageClass"},
		{"PUT", "/whdr/a", []string{"x-amz-storage-class", "bogus"}, 400, "InvalidStorageClass"},
		{"PUT", "/whdr/a", []string{"x-amz-copy-source", "whdr/src", "x-amz-server-side-encryption", "aws:kms"}, 501, "NotImplemented"},
		{"PUT", "/whdr/a", []string{"x-amz-copy-source", "whdr/src", "x-amz-storage-class", "STANDARD_IA"}, 400, "InvalidStorageClass"},
		{"POST", "/whdr/a?uploads", []string{"x-amz-server-side-encryption", "AES256"}, 501, "NotImplemented"},
	} {
		wantError(t, e.do(tc.method, tc.target, []byte("body"), tc.header...), tc.status, tc.code)
	}
	if rr := e.do("HEAD", "/whdr/a", nil); rr.status != 404 {
		t.Fatalf("a refused write stored something: %d", rr.status)
	}
	for _, sc := range []string{"STANDARD", "REDUCED_REDUNDANCY"} {
		if rr := e.do("PUT", "/whdr/b", []byte("x"), "x-amz-storage-class", sc); rr.status != 200 {
			t.Fatalf("storage class %s: %d %s", sc, rr.status, rr.body)
		}
	}
}
