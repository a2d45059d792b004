package store

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

func TestPutGetRoundTrip(t *testing.T) {
	s := newTestStore(t)
	mustBucket(t, s, "b", VersioningOff)
	meta := ObjectMeta{ContentType: "text/plain", CacheControl: "no-cache", UserMeta: map[string]string{"mode": "644"},
		Checksums: map[string]string{"crc32c": "AAAAAA=="}, Tags: map[string]string{"a": "1"}}
	for _, tc := range []struct {
		name string
		size int
	}{
		{"empty", 0}, {"inline", 1000}, {"at-threshold", 1 << 10}, {"file-one-block", 2000},
		{"file-block-boundary", blockSize}, {"file-multi-block", 3*blockSize + 17},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := randBytes(tc.size, uint64(tc.size))
			put := mustPut(t, s, "b", tc.name, data, PutOptions{Meta: meta})
			if put.ETag != md5hex(data) || put.Size != int64(tc.size) || put.VersionID != NullVersionID || !put.IsLatest {
				t.Fatalf("put info %+v", put)
			}
			info, got := mustGet(t, s, "b", tc.name, GetOptions{})
			if !bytes.Equal(got, data) {
				t.Fatalf("body mismatch: %d vs %d bytes", len(got), len(data))
			}
			if info.ContentType != "text/plain" || info.CacheControl != "no-cache" || info.UserMeta["mode"] != "644" ||
				info.Checksums["crc32c"] != "AAAAAA==" || info.Tags["a"] != "1" || info.ETag != put.ETag || !info.IsLatest {
				t.Fatalf("get info %+v", info)
			}
			head, err := s.HeadObject(context.Background(), "b", tc.name, GetOptions{})
			if err != nil || head.ETag != put.ETag || head.Size != int64(tc.size) {
				t.Fatalf("head %+v %v", head, err)
			}
			if _, err := s.DeleteObject(context.Background(), "b", tc.name, DeleteOptions{}); err != nil {
				t.Fatalf("delete: %v", err)
			}
			if _, err := s.HeadObject(context.Background(), "b", tc.name, GetOptions{}); !errors.Is(err, ErrNoSuchKey) {
				t.Fatalf("head after delete: %v", err)
			}
		})
	}
}
