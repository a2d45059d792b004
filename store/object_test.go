package store

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"testing"
	"time"
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

func TestRanges(t *testing.T) {
	s := newTestStore(t)
	mustBucket(t, s, "b", VersioningOff)
	ctx := context.Background()
	data := randBytes(3*blockSize+100, 7)
	mustPut(t, s, "b", "file", data, PutOptions{})
	small := randBytes(500, 8)
	mustPut(t, s, "b", "inline", small, PutOptions{})
	// A multipart object: three extents (parts) of uneven sizes.
	p1, p2, p3 := randBytes(blockSize+10, 1), randBytes(200, 2), randBytes(2*blockSize, 3)
	multi := append(append(append([]byte{}, p1...), p2...), p3...)
	up, err := s.CreateMultipartUpload(ctx, "b", "multi", ObjectMeta{})
	if err != nil {
		t.Fatal(err)
	}
	var cps []CompletePart
	for i, p := range [][]byte{p1, p2, p3} {
		pi, err := s.UploadPart(ctx, "b", "multi", up.UploadID, i+1, bytes.NewReader(p), int64(len(p)), PartOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cps = append(cps, CompletePart{Number: i + 1, ETag: `"` + pi.ETag + `"`})
	}
	if _, err := s.CompleteMultipartUpload(ctx, "b", "multi", up.UploadID, cps, CompleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		key   string
		whole []byte
		r     Range
	}{
		{"first-byte", "file", data, Range{0, 1}},
		{"within-block", "file", data, Range{10, 100}},
		{"across-block", "file", data, Range{blockSize - 5, 10}},
		{"exact-block", "file", data, Range{blockSize, blockSize}},
		{"to-end", "file", data, Range{2*blockSize + 3, int64(len(data)) - 2*blockSize - 3}},
		{"last-byte", "file", data, Range{int64(len(data)) - 1, 1}},
		{"inline-mid", "inline", small, Range{100, 300}},
		{"across-extents", "multi", multi, Range{blockSize, 300}},
		{"all-extents", "multi", multi, Range{5, int64(len(multi)) - 10}},
		{"empty-range", "file", data, Range{0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.r
			_, got := mustGet(t, s, "b", tc.key, GetOptions{Range: &r})
			if !bytes.Equal(got, tc.whole[r.Start:r.Start+r.Length]) {
				t.Fatalf("range %+v: wrong bytes", r)
			}
		})
	}
	for _, r := range []Range{{-1, 2}, {0, int64(len(data)) + 1}, {int64(len(data)), 1}, {5, -1}} {
		if _, _, err := s.GetObject(ctx, "b", "file", GetOptions{Range: &r}); !errors.Is(err, ErrInvalidRange) {
			t.Errorf("range %+v: got %v, want ErrInvalidRange", r, err)
		}
	}
	// Part selection, alone and with a range inside the part.
	info, got := mustGet(t, s, "b", "multi", GetOptions{PartNumber: 2})
	if !bytes.Equal(got, p2) || len(info.Parts) != 3 {
		t.Fatalf("part 2: %d bytes, parts %v", len(got), info.Parts)
	}
	_, got = mustGet(t, s, "b", "multi", GetOptions{PartNumber: 3, Range: &Range{blockSize - 1, 2}})
	if !bytes.Equal(got, p3[blockSize-1:blockSize+1]) {
		t.Fatal("range within part 3: wrong bytes")
	}
	if _, _, err := s.GetObject(ctx, "b", "multi", GetOptions{PartNumber: 4}); !errors.Is(err, ErrInvalidRange) {
		t.Fatalf("part 4: %v", err)
	}
	if _, got = mustGet(t, s, "b", "file", GetOptions{PartNumber: 1}); !bytes.Equal(got, data) {
		t.Fatal("part 1 of a single-part object is the object")
	}
}

// dataBytes returns the bytes under a store's data dir.
func dataBytes(t *testing.T, s *Store) int64 {
	t.Helper()
	st, err := s.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st.DataBytes
}

func TestBadBodiesStoreNothing(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	mustBucket(t, s, "b", VersioningOff)
	old := mustPut(t, s, "b", "k", []byte("old"), PutOptions{})
	before := dataBytes(t, s)
	for _, tc := range []struct {
		name string
		body []byte
		size int64
		md5  []byte
		want error
	}{
		{"short-inline", []byte("abc"), 10, nil, ErrIncompleteBody},
		{"short-file", randBytes(5000, 1), 6000, nil, ErrIncompleteBody},
		{"long-file", randBytes(5000, 1), 4000, nil, ErrInvalidArgument},
		{"md5-inline", []byte("abc"), 3, make([]byte, 16), ErrBadDigest},
		{"md5-file", randBytes(5000, 1), 5000, make([]byte, 16), ErrBadDigest},
		{"too-big", nil, MaxPutSize + 1, nil, ErrInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.PutObject(ctx, "b", "k", bytes.NewReader(tc.body), tc.size, PutOptions{ContentMD5: tc.md5})
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			info, got := mustGet(t, s, "b", "k", GetOptions{})
			if string(got) != "old" || info.VersionID != old.VersionID {
				t.Fatalf("object changed: %q", got)
			}
			if after := dataBytes(t, s); after != before {
				t.Fatalf("data dir grew from %d to %d bytes", before, after)
			}
		})
	}
	good := []byte("hello")
	sum := md5.Sum(good)
	if _, err := s.PutObject(ctx, "b", "k", bytes.NewReader(good), 5, PutOptions{ContentMD5: sum[:]}); err != nil {
		t.Fatalf("matching Content-MD5: %v", err)
	}
}

func TestArgumentErrors(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	mustBucket(t, s, "b", VersioningOff)
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"put-no-bucket", putErr(s, "nob", "k"), ErrNoSuchBucket},
		{"put-nul-key", putErr(s, "b", "a\x00b"), ErrInvalidArgument},
		{"put-long-key", putErr(s, "b", string(make([]byte, MaxKeyLength+1))), ErrInvalidArgument},
		{"get-missing", headErr(s, "b", "nope", ""), ErrNoSuchKey},
		{"get-no-bucket", headErr(s, "nob", "k", ""), ErrNoSuchBucket},
		{"get-bad-version", headErr(s, "b", "k", "xyz"), ErrNoSuchVersion},
		{"get-missing-version", headErr(s, "b", "k", NewVersionID(1)), ErrNoSuchVersion},
		{"put-bad-pinned-version", func() error {
			_, err := s.PutObject(ctx, "b", "k", bytes.NewReader(nil), 0, PutOptions{VersionID: "bad"})
			return err
		}(), ErrInvalidArgument},
	}
	for _, tc := range cases {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, tc.err, tc.want)
		}
	}
}

func putErr(s *Store, bucket, key string) error {
	_, err := s.PutObject(context.Background(), bucket, key, bytes.NewReader([]byte("x")), 1, PutOptions{})
	return err
}

func headErr(s *Store, bucket, key, version string) error {
	_, err := s.HeadObject(context.Background(), bucket, key, GetOptions{VersionID: version})
	return err
}

func TestChecksumsFuncAndReplicaFields(t *testing.T) {
	s := newTestStore(t)
	mustBucket(t, s, "b", VersioningEnabled)
	data := randBytes(3000, 9)
	id := NewVersionID(s.Clock().Now())
	mod := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	parts := []PartInfo{{Number: 1, Size: 2000, ETag: "aa"}, {Number: 2, Size: 1000, ETag: "bb"}}
	put := mustPut(t, s, "b", "k", data, PutOptions{VersionID: id, ETag: `"abc-2"`, Parts: parts, ModTime: mod,
		Meta:          ObjectMeta{Checksums: map[string]string{"crc32": "x"}},
		ChecksumsFunc: func() map[string]string { return map[string]string{"sha256": "y"} }})
	if put.VersionID != id || put.ETag != "abc-2" {
		t.Fatalf("put %+v", put)
	}
	info, got := mustGet(t, s, "b", "k", GetOptions{PartNumber: 2})
	if !bytes.Equal(got, data[2000:]) || !info.ModTime.Equal(mod) || info.ETag != "abc-2" ||
		info.Checksums["crc32"] != "x" || info.Checksums["sha256"] != "y" || len(info.Parts) != 2 {
		t.Fatalf("info %+v", info)
	}
	_, err := s.PutObject(context.Background(), "b", "k", bytes.NewReader(data), 3000,
		PutOptions{Parts: []PartInfo{{Number: 1, Size: 1}}})
	if !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("parts not adding up: %v", err)
	}
}
