package integration

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"testing"

	"github.com/minio/minio-go/v7"
)

// testObjectAttributes: GetObjectAttributes reports the ETag, size,
// checksum and parts of what was stored, pages the parts, and answers
// NoSuchKey for a missing key.
func testObjectAttributes(t *testing.T, tg *target) {
	ctx := context.Background()
	c := tg.c
	b := newBucket(t, c)
	data := []byte("attributes")
	sum := binary.BigEndian.AppendUint32(nil, crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)))
	crc := base64.StdEncoding.EncodeToString(sum)
	tg.do(t, rawReq{method: "PUT", path: "/" + b + "/small", body: data, header: hdr("x-amz-checksum-crc32c", crc)}).wantStatus(t, 200)
	a, err := c.GetObjectAttributes(ctx, b, "small", minio.ObjectAttributesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a.ETag != fmt.Sprintf("%x", md5.Sum(data)) || a.ObjectSize != len(data) || a.StorageClass != "STANDARD" ||
		a.Checksum.ChecksumCRC32C != crc || a.Checksum.ChecksumType != "FULL_OBJECT" || len(a.ObjectParts.Parts) != 0 {
		t.Fatalf("small object attributes %+v", a)
	}

	body := bytes.Repeat([]byte("p"), 5<<20+1000)
	putBytes(t, c, b, "parts", body, minio.PutObjectOptions{PartSize: 5 << 20})
	a, err = c.GetObjectAttributes(ctx, b, "parts", minio.ObjectAttributesOptions{MaxParts: 1})
	if err != nil {
		t.Fatal(err)
	}
	p := a.ObjectParts
	if a.ObjectSize != len(body) || p.PartsCount != 2 || !p.IsTruncated || len(p.Parts) != 1 ||
		p.Parts[0].PartNumber != 1 || p.Parts[0].Size != 5<<20 || p.NextPartNumberMarker != 1 {
		t.Fatalf("first page of parts %+v", a)
	}
	a, err = c.GetObjectAttributes(ctx, b, "parts", minio.ObjectAttributesOptions{MaxParts: 1, PartNumberMarker: 1})
	if err != nil {
		t.Fatal(err)
	}
	if p := a.ObjectParts; p.IsTruncated || len(p.Parts) != 1 || p.Parts[0].PartNumber != 2 || p.Parts[0].Size != 1000 {
		t.Fatalf("second page of parts %+v", a)
	}
	if _, err := c.GetObjectAttributes(ctx, b, "missing", minio.ObjectAttributesOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
		t.Fatalf("missing key: %v", err)
	}
}
