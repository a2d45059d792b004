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
