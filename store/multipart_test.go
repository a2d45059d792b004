package store

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"strings"
	"testing"
)

func uploadParts(t *testing.T, s *Store, bucket, key string, parts ...[]byte) (UploadInfo, []CompletePart) {
	t.Helper()
	ctx := context.Background()
	up, err := s.CreateMultipartUpload(ctx, bucket, key, ObjectMeta{ContentType: "app/x", Tags: map[string]string{"t": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	var cps []CompletePart
	for i, p := range parts {
		pi, err := s.UploadPart(ctx, bucket, key, up.UploadID, i+1, bytes.NewReader(p), int64(len(p)), PartOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if pi.ETag != md5hex(p) || pi.Number != i+1 {
			t.Fatalf("part info %+v", pi)
		}
		cps = append(cps, CompletePart{Number: i + 1, ETag: pi.ETag})
	}
	return up, cps
}

func multipartETag(parts ...[]byte) string {
	h := md5.New()
	for _, p := range parts {
		s := md5.Sum(p)
		h.Write(s[:])
	}
	return fmt.Sprintf("%s-%d", hex.EncodeToString(h.Sum(nil)), len(parts))
}

func TestMultipartHappyPathNoCopy(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	mustBucket(t, s, "b", VersioningEnabled)
	p1, p2, p3 := randBytes(3000, 1), randBytes(2500, 2), randBytes(50, 3)
	up, cps := uploadParts(t, s, "b", "k", p1, p2, p3)
	// Re-uploading part 2 replaces it; the old file is removed.
	p2 = randBytes(2600, 4)
	pi, err := s.UploadPart(ctx, "b", "k", up.UploadID, 2, bytes.NewReader(p2), int64(len(p2)), PartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cps[1].ETag = `"` + pi.ETag + `"`
	before := dataBytes(t, s)
	if want := physicalSize(3000) + physicalSize(2600) + physicalSize(50); before != want {
		t.Fatalf("data bytes before complete: %d, want %d", before, want)
	}
	info, err := s.CompleteMultipartUpload(ctx, "b", "k", up.UploadID, cps, CompleteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if info.ETag != multipartETag(p1, p2, p3) || info.Size != 5650 || len(info.Parts) != 3 || !info.IsLatest {
		t.Fatalf("complete info %+v", info)
	}
	if after := dataBytes(t, s); after != before {
		t.Fatalf("completion copied data: %d -> %d bytes", before, after)
	}
	got, body := mustGet(t, s, "b", "k", GetOptions{})
	if !bytes.Equal(body, append(append(append([]byte{}, p1...), p2...), p3...)) {
		t.Fatal("completed body differs")
	}
	if got.ContentType != "app/x" || got.Tags["t"] != "v" || got.ETag != info.ETag {
		t.Fatalf("completed info %+v", got)
	}
	if _, err := s.ListParts(ctx, "b", "k", up.UploadID, ListPartsOptions{}); !errors.Is(err, ErrNoSuchUpload) {
		t.Fatalf("upload still listed: %v", err)
	}
	// Deleting the version frees the part files.
	if _, err := s.DeleteObject(ctx, "b", "k", DeleteOptions{VersionID: info.VersionID}); err != nil {
		t.Fatal(err)
	}
	if n := dataBytes(t, s); n != 0 {
		t.Fatalf("%d data bytes left", n)
	}
}

func TestMultipartUnusedPartsRemoved(t *testing.T) {
	s := newTestStore(t)
	mustBucket(t, s, "b", VersioningOff)
	p1, p2, p3 := randBytes(300, 1), randBytes(300, 2), randBytes(300, 3)
	up, cps := uploadParts(t, s, "b", "k", p1, p2, p3)
	info, err := s.CompleteMultipartUpload(context.Background(), "b", "k", up.UploadID, []CompletePart{cps[0], cps[2]}, CompleteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := dataBytes(t, s); n != 2*physicalSize(300) {
		t.Fatalf("unused part not removed: %d bytes", n)
	}
	if _, body := mustGet(t, s, "b", "k", GetOptions{PartNumber: 3}); !bytes.Equal(body, p3) || info.Parts[1].Number != 3 {
		t.Fatalf("part 3 read wrong (parts %+v)", info.Parts)
	}
}

func TestMultipartErrors(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	mustBucket(t, s, "b", VersioningOff)
	up, cps := uploadParts(t, s, "b", "k", randBytes(300, 1), randBytes(50, 2), randBytes(300, 3))
	for _, tc := range []struct {
		name   string
		upload string
		parts  []CompletePart
		want   error
	}{
		{"out-of-order", up.UploadID, []CompletePart{cps[1], cps[0]}, ErrInvalidPartOrder},
		{"duplicate", up.UploadID, []CompletePart{cps[0], cps[0]}, ErrInvalidPartOrder},
		{"too-small", up.UploadID, []CompletePart{cps[1], cps[2]}, ErrEntityTooSmall},
		{"wrong-etag", up.UploadID, []CompletePart{{Number: 1, ETag: md5hex([]byte("x"))}}, ErrInvalidPart},
		{"missing-part", up.UploadID, []CompletePart{cps[0], {Number: 7, ETag: cps[0].ETag}}, ErrInvalidPart},
		{"empty", up.UploadID, nil, ErrInvalidPart},
		{"no-upload", NewVersionID(1), cps[:1], ErrNoSuchUpload},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.CompleteMultipartUpload(ctx, "b", "k", tc.upload, tc.parts, CompleteOptions{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	for _, n := range []int{0, MaxPartNumber + 1} {
		if _, err := s.UploadPart(ctx, "b", "k", up.UploadID, n, bytes.NewReader(nil), 0, PartOptions{}); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("part %d: %v", n, err)
		}
	}
	if _, err := s.UploadPart(ctx, "b", "k", "nope", 1, bytes.NewReader(nil), 0, PartOptions{}); !errors.Is(err, ErrNoSuchUpload) {
		t.Errorf("part of missing upload: %v", err)
	}
	if _, err := s.UploadPart(ctx, "b", "k", up.UploadID, 1, bytes.NewReader([]byte("x")), 1, PartOptions{ContentMD5: make([]byte, 16)}); !errors.Is(err, ErrBadDigest) {
		t.Errorf("bad part digest: %v", err)
	}
	if err := s.DeleteBucket(ctx, "b"); !errors.Is(err, ErrBucketNotEmpty) {
		t.Errorf("delete bucket with upload: %v", err)
	}
	// Abort frees every part file.
	if err := s.AbortMultipartUpload(ctx, "b", "k", up.UploadID); err != nil {
		t.Fatal(err)
	}
	if n := dataBytes(t, s); n != 0 {
		t.Fatalf("abort left %d bytes", n)
	}
	if err := s.AbortMultipartUpload(ctx, "b", "k", up.UploadID); !errors.Is(err, ErrNoSuchUpload) {
		t.Fatalf("second abort: %v", err)
	}
	if err := s.DeleteBucket(ctx, "b"); err != nil {
		t.Fatalf("delete emptied bucket: %v", err)
	}
}

func TestListPartsAndUploads(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	mustBucket(t, s, "b", VersioningOff)
	parts := make([][]byte, 5)
	for i := range parts {
		parts[i] = []byte{byte(i)}
	}
	up, _ := uploadParts(t, s, "b", "k", parts...)
	var got []int
	opts := ListPartsOptions{MaxParts: 2}
	for {
		res, err := s.ListParts(ctx, "b", "k", up.UploadID, opts)
		if err != nil {
			t.Fatal(err)
		}
		if res.Upload.UploadID != up.UploadID || res.Upload.Meta.ContentType != "app/x" {
			t.Fatalf("upload info %+v", res.Upload)
		}
		for _, p := range res.Parts {
			got = append(got, p.Number)
		}
		if !res.IsTruncated {
			break
		}
		opts.PartNumberMarker = res.NextPartNumberMarker
	}
	if fmt.Sprint(got) != "[1 2 3 4 5]" {
		t.Fatalf("parts %v", got)
	}
	var ids []string
	for _, k := range []string{"a/1", "a/2", "b", "k"} {
		u, err := s.CreateMultipartUpload(ctx, "b", k, ObjectMeta{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, k+":"+u.UploadID)
	}
	ids = append(ids[:3:3], up.Key+":"+up.UploadID, ids[3]) // "k" has two uploads, oldest first
	var all []string
	uo := ListUploadsOptions{MaxUploads: 2}
	for {
		res, err := s.ListMultipartUploads(ctx, "b", uo)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range res.Uploads {
			all = append(all, u.Key+":"+u.UploadID)
		}
		if !res.IsTruncated {
			break
		}
		uo.KeyMarker, uo.UploadIDMarker = res.NextKeyMarker, res.NextUploadIDMarker
	}
	if fmt.Sprint(all) != fmt.Sprint(ids) {
		t.Fatalf("uploads\n got %v\nwant %v", all, ids)
	}
	res, err := s.ListMultipartUploads(ctx, "b", ListUploadsOptions{Delimiter: "/", MaxUploads: 10})
	if err != nil || fmt.Sprint(res.CommonPrefixes) != "[a/]" || len(res.Uploads) != 3 {
		t.Fatalf("delimited uploads %+v %v", res, err)
	}
}

func TestCompleteStaleNullVersion(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	mustBucket(t, s, "b", VersioningSuspended)
	older, newer := NewVersionID(s.Clock().Now()), NewVersionID(s.Clock().Now())
	mustPut(t, s, "b", "k", []byte("newer"), PutOptions{VersionID: newer, Null: true})
	up, cps := uploadParts(t, s, "b", "k", []byte("older"))
	if _, err := s.CompleteMultipartUpload(ctx, "b", "k", up.UploadID, cps, CompleteOptions{VersionID: older, Null: true}); err != nil {
		t.Fatalf("stale completion: %v", err)
	}
	if _, got := mustGet(t, s, "b", "k", GetOptions{}); string(got) != "newer" {
		t.Fatalf("stale null version won: %q", got)
	}
	if _, err := s.ListParts(ctx, "b", "k", up.UploadID, ListPartsOptions{}); !errors.Is(err, ErrNoSuchUpload) {
		t.Fatalf("upload left behind: %v", err)
	}
	if n := dataBytes(t, s); n != 0 {
		t.Fatalf("%d data bytes left", n)
	}
}

// eofReader records whether its reader was read to EOF.
type eofReader struct {
	r   *bytes.Reader
	eof bool
}

func (e *eofReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if errors.Is(err, io.EOF) {
		e.eof = true
	}
	return n, err
}

// TestUploadPartTrailerChecksums: PartOptions.ChecksumsFunc (trailer
// checksums of aws-chunked bodies) is called once the part body reached
// EOF, merged over the header checksums, and kept with the part: in the
// UploadPart result, ListParts, and the completed object's part layout.
func TestUploadPartTrailerChecksums(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	mustBucket(t, s, "b", VersioningOff)
	up, err := s.CreateMultipartUpload(ctx, "b", "k", ObjectMeta{})
	if err != nil {
		t.Fatal(err)
	}
	body := &eofReader{r: bytes.NewReader(randBytes(300, 9))}
	calls := 0
	pi, err := s.UploadPart(ctx, "b", "k", up.UploadID, 1, body, 300, PartOptions{
		Checksums: map[string]string{"crc32": "header", "sha256": "sent"},
		ChecksumsFunc: func() map[string]string {
			calls++
			if !body.eof {
				t.Error("ChecksumsFunc called before the body reached EOF")
			}
			return map[string]string{"crc32": "trailer"}
		}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"crc32": "trailer", "sha256": "sent"}
	if calls != 1 || !maps.Equal(pi.Checksums, want) {
		t.Fatalf("UploadPart: %d calls, checksums %v, want %v", calls, pi.Checksums, want)
	}
	pi2, err := s.UploadPart(ctx, "b", "k", up.UploadID, 2, bytes.NewReader([]byte("tail")), 4, PartOptions{
		ChecksumsFunc: func() map[string]string { return map[string]string{"crc32c": "only-trailer"} }})
	if err != nil {
		t.Fatal(err)
	}
	lp, err := s.ListParts(ctx, "b", "k", up.UploadID, ListPartsOptions{MaxParts: -1})
	if err != nil || len(lp.Parts) != 2 {
		t.Fatalf("ListParts: %+v %v", lp, err)
	}
	want2 := map[string]string{"crc32c": "only-trailer"}
	if !maps.Equal(lp.Parts[0].Checksums, want) || !maps.Equal(lp.Parts[1].Checksums, want2) {
		t.Fatalf("ListParts checksums %v, %v", lp.Parts[0].Checksums, lp.Parts[1].Checksums)
	}
	cps := []CompletePart{{Number: 1, ETag: pi.ETag}, {Number: 2, ETag: pi2.ETag}}
	if _, err := s.CompleteMultipartUpload(ctx, "b", "k", up.UploadID, cps, CompleteOptions{}); err != nil {
		t.Fatal(err)
	}
	info, err := s.HeadObject(ctx, "b", "k", GetOptions{})
	if err != nil || len(info.Parts) != 2 {
		t.Fatalf("HeadObject: %+v %v", info, err)
	}
	if !maps.Equal(info.Parts[0].Checksums, want) || !maps.Equal(info.Parts[1].Checksums, want2) {
		t.Fatalf("completed parts' checksums %v, %v", info.Parts[0].Checksums, info.Parts[1].Checksums)
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func sumOf(algo string, data []byte) string {
	h := checksumAlgos[algo].hash()
	h.Write(data)
	return b64(h.Sum(nil))
}

// TestCRCCombine: the CRC of A+B combined from CRC(A), CRC(B) and len(B)
// equals the CRC computed over A+B, for each CRC an upload can combine.
func TestCRCCombine(t *testing.T) {
	for _, algo := range []string{"crc32", "crc32c", "crc64nvme"} {
		a := checksumAlgos[algo]
		crc := func(b []byte) uint64 {
			h := a.hash()
			h.Write(b)
			var v uint64
			for _, c := range h.Sum(nil) {
				v = v<<8 | uint64(c)
			}
			return v
		}
		for _, n := range [][2]int{{0, 0}, {0, 7}, {5, 0}, {1, 1}, {1000, 1}, {3, 65536 + 17}, {100000, 4}} {
			x, y := randBytes(n[0], uint64(n[0])), randBytes(n[1], uint64(n[1])+1)
			got := crcCombine(a.poly, a.bits, crc(x), crc(y), int64(len(y)))
			if want := crc(append(append([]byte{}, x...), y...)); got != want {
				t.Errorf("%s combine of %d+%d bytes: %x, want %x", algo, n[0], n[1], got, want)
			}
		}
	}
}

// TestObjectChecksumKnownValues checks the object checksums against the
// values Amazon S3 gives for 5 MiB of "A" followed by "tail" (the
// s3-tests vectors): a composite checksum hashes the decoded part
// checksums and ends in "-2"; a full-object one is the CRC of all bytes.
func TestObjectChecksumKnownValues(t *testing.T) {
	first, last := bytes.Repeat([]byte("A"), 5<<20), []byte("tail")
	for _, tc := range []struct {
		algo, typ string
		parts     [2]string
		want      string
	}{
		{"crc32", ChecksumComposite, [2]string{"JRTCyQ==", "fDe0XQ=="}, "ar6UVw==-2"},
		{"crc32", ChecksumFullObject, [2]string{"JRTCyQ==", "fDe0XQ=="}, "gPNU7Q=="},
		{"crc32c", ChecksumComposite, [2]string{"MDaLrw==", "B21LrQ=="}, "9nmlxg==-2"},
		{"crc32c", ChecksumFullObject, [2]string{"MDaLrw==", "B21LrQ=="}, "LZbOwA=="},
		{"crc64nvme", ChecksumFullObject, [2]string{"L/E4WYn8v98=", "sAra2CkCEgw="}, "UpfGsWmSCEg="},
		{"sha1", ChecksumComposite, [2]string{"iIaTCGbm+vdVjNqIMF2S0T7ibMk=", "+/XyoodbO7Zbjjsj5swB1YyjBEc="}, "l89BPfYtRdlTXZSsCsWMB0Elnjg=-2"},
		{"sha256", ChecksumComposite, [2]string{"275VF5loJr1YYawit0XSHREhkFXYkkPKGuoK0x9VKxI=", "DGL4du8d6oMN6fMsL0tG3W101Q0ViW4J71ovzUrH4dc="}, "2kYaKgwMh4G97NB7sxufv13cvQqUqNgjK75WsW6s16Q=-2"},
	} {
		t.Run(tc.algo+"/"+tc.typ, func(t *testing.T) {
			if got := [2]string{sumOf(tc.algo, first), sumOf(tc.algo, last)}; got != tc.parts {
				t.Fatalf("part checksums %q, want %q", got, tc.parts)
			}
			recs := []*partRecord{
				{Size: int64(len(first)), Checksums: map[string]string{tc.algo: tc.parts[0]}},
				{Size: int64(len(last)), Checksums: map[string]string{tc.algo: tc.parts[1]}},
			}
			got, err := objectChecksum(tc.algo, tc.typ, recs)
			if err != nil || got != tc.want {
				t.Fatalf("object checksum %q, %v; want %q", got, err, tc.want)
			}
			if tc.typ == ChecksumFullObject {
				if whole := sumOf(tc.algo, append(append([]byte{}, first...), last...)); whole != tc.want {
					t.Fatalf("CRC of the whole object %q, want %q", whole, tc.want)
				}
			}
		})
	}
}

func TestUploadChecksumValidation(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	mustBucket(t, s, "b", VersioningOff)
	for _, tc := range []struct {
		algo, typ, want string // want "" = refused
	}{
		{"SHA256", "", ChecksumComposite},
		{"sha1", ChecksumComposite, ChecksumComposite},
		{"crc32", "", ChecksumComposite},
		{"crc32c", ChecksumFullObject, ChecksumFullObject},
		{"crc64nvme", "", ChecksumFullObject},
		{"sha256", ChecksumFullObject, ""},
		{"sha1", ChecksumFullObject, ""},
		{"crc64nvme", ChecksumComposite, ""},
		{"md5", "", ""},
		{"", ChecksumComposite, ""},
		{"crc32", "PARTS", ""},
	} {
		up, err := s.CreateMultipartUpload(ctx, "b", "k", ObjectMeta{ChecksumAlgorithm: tc.algo, ChecksumType: tc.typ})
		if tc.want == "" {
			if !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("%s/%s: %v, want ErrInvalidArgument", tc.algo, tc.typ, err)
			}
			continue
		}
		if err != nil || up.Meta.ChecksumType != tc.want || up.Meta.ChecksumAlgorithm != strings.ToLower(tc.algo) {
			t.Errorf("%s/%s: %+v, %v; want type %s", tc.algo, tc.typ, up.Meta, err, tc.want)
		}
	}
}

// checksumUpload creates an upload of algo/typ and uploads parts, each
// with its checksum of algo (none when algo is "").
func checksumUpload(t *testing.T, s *Store, key, algo, typ string, parts ...[]byte) (UploadInfo, []CompletePart) {
	t.Helper()
	ctx := context.Background()
	up, err := s.CreateMultipartUpload(ctx, "b", key, ObjectMeta{ChecksumAlgorithm: algo, ChecksumType: typ})
	if err != nil {
		t.Fatal(err)
	}
	var cps []CompletePart
	for i, p := range parts {
		var sums map[string]string
		if algo != "" {
			sums = map[string]string{algo: sumOf(algo, p)}
		}
		pi, err := s.UploadPart(ctx, "b", key, up.UploadID, i+1, bytes.NewReader(p), int64(len(p)), PartOptions{Checksums: sums})
		if err != nil {
			t.Fatal(err)
		}
		cps = append(cps, CompletePart{Number: i + 1, ETag: pi.ETag, Checksums: maps.Clone(sums)})
	}
	return up, cps
}

func TestMultipartCompositeChecksum(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	mustBucket(t, s, "b", VersioningOff)
	p1, p2, p3 := randBytes(300, 1), randBytes(200, 2), randBytes(10, 3)
	up, cps := checksumUpload(t, s, "k", "sha256", "", p1, p2, p3)

	lp, err := s.ListParts(ctx, "b", "k", up.UploadID, ListPartsOptions{MaxParts: 10})
	if err != nil || lp.Upload.Meta.ChecksumAlgorithm != "sha256" || lp.Upload.Meta.ChecksumType != ChecksumComposite {
		t.Fatalf("ListParts upload %+v, %v", lp.Upload.Meta, err)
	}
	lu, err := s.ListMultipartUploads(ctx, "b", ListUploadsOptions{MaxUploads: 10})
	if err != nil || len(lu.Uploads) != 1 || lu.Uploads[0].Meta.ChecksumAlgorithm != "sha256" {
		t.Fatalf("ListMultipartUploads %+v, %v", lu.Uploads, err)
	}

	h := sha256.New()
	for _, p := range [][]byte{p1, p2, p3} {
		d := sha256.Sum256(p)
		h.Write(d[:])
	}
	want := b64(h.Sum(nil)) + "-3"

	// Refusals leave the upload as it was.
	other := maps.Clone(cps[1].Checksums)
	other["sha256"] = sumOf("sha256", p1)
	withCRC := map[string]string{"sha256": cps[1].Checksums["sha256"], "crc32": sumOf("crc32", p2)}
	for name, tc := range map[string]struct {
		parts []CompletePart
		opts  CompleteOptions
		want  error
	}{
		"another part's checksum": {[]CompletePart{cps[0], {Number: 2, ETag: cps[1].ETag, Checksums: other}, cps[2]}, CompleteOptions{}, ErrInvalidPart},
		"a checksum not stored":   {[]CompletePart{cps[0], {Number: 2, ETag: cps[1].ETag, Checksums: withCRC}, cps[2]}, CompleteOptions{}, ErrInvalidPart},
		"another object checksum": {cps, CompleteOptions{Checksums: map[string]string{"sha256": b64(make([]byte, 32)) + "-3"}}, ErrBadDigest},
	} {
		if _, err := s.CompleteMultipartUpload(ctx, "b", "k", up.UploadID, tc.parts, tc.opts); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}

	// The expected value may come without "-3".
	info, err := s.CompleteMultipartUpload(ctx, "b", "k", up.UploadID, cps, CompleteOptions{Checksums: map[string]string{"sha256": strings.TrimSuffix(want, "-3")}})
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Checksums; len(got) != 1 || got["sha256"] != want {
		t.Fatalf("completed checksums %v, want sha256 %s", got, want)
	}
	head, err := s.HeadObject(ctx, "b", "k", GetOptions{})
	if err != nil || head.Checksums["sha256"] != want {
		t.Fatalf("HeadObject checksums %v, %v; want %s", head.Checksums, err, want)
	}
	if len(head.Parts) != 3 || head.Parts[1].Checksums["sha256"] != cps[1].Checksums["sha256"] {
		t.Fatalf("parts %+v", head.Parts)
	}
}

func TestMultipartFullObjectChecksum(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	mustBucket(t, s, "b", VersioningOff)
	p1, p2 := randBytes(1000, 4), randBytes(333, 5)
	for _, algo := range []string{"crc32", "crc32c", "crc64nvme"} {
		up, cps := checksumUpload(t, s, algo, algo, ChecksumFullObject, p1, p2)
		// A FULL_OBJECT upload does not need the part checksums listed.
		cps[1].Checksums = nil
		info, err := s.CompleteMultipartUpload(ctx, "b", algo, up.UploadID, cps, CompleteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if want := sumOf(algo, append(append([]byte{}, p1...), p2...)); info.Checksums[algo] != want {
			t.Errorf("%s: object checksum %v, want %s", algo, info.Checksums, want)
		}
	}
}

func TestMultipartChecksumMissingOnPart(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	mustBucket(t, s, "b", VersioningOff)
	up, err := s.CreateMultipartUpload(ctx, "b", "k", ObjectMeta{ChecksumAlgorithm: "crc32"})
	if err != nil {
		t.Fatal(err)
	}
	p := randBytes(100, 6)
	pi, err := s.UploadPart(ctx, "b", "k", up.UploadID, 1, bytes.NewReader(p), int64(len(p)), PartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CompleteMultipartUpload(ctx, "b", "k", up.UploadID, []CompletePart{{Number: 1, ETag: pi.ETag}}, CompleteOptions{}); !errors.Is(err, ErrInvalidPart) {
		t.Fatalf("part stored without the upload's checksum: %v, want ErrInvalidPart", err)
	}
}

// An upload without an algorithm keeps working as before: part checksums
// the client lists are compared with stored ones when the part has them,
// and the object gets no checksum.
func TestMultipartNoAlgorithmPartChecksums(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	mustBucket(t, s, "b", VersioningOff)
	p := randBytes(100, 7)
	up, _ := checksumUpload(t, s, "k", "", "")
	pi, err := s.UploadPart(ctx, "b", "k", up.UploadID, 1, bytes.NewReader(p), int64(len(p)),
		PartOptions{ChecksumsFunc: func() map[string]string { return map[string]string{"crc32": sumOf("crc32", p)} }})
	if err != nil {
		t.Fatal(err)
	}
	bad := []CompletePart{{Number: 1, ETag: pi.ETag, Checksums: map[string]string{"crc32": sumOf("crc32", nil)}}}
	if _, err := s.CompleteMultipartUpload(ctx, "b", "k", up.UploadID, bad, CompleteOptions{}); !errors.Is(err, ErrInvalidPart) {
		t.Fatalf("mismatching CRC32: %v, want ErrInvalidPart", err)
	}
	good := []CompletePart{{Number: 1, ETag: pi.ETag, Checksums: map[string]string{"crc32": sumOf("crc32", p), "sha1": sumOf("sha1", p)}}}
	info, err := s.CompleteMultipartUpload(ctx, "b", "k", up.UploadID, good, CompleteOptions{})
	if err != nil || len(info.Checksums) != 0 {
		t.Fatalf("complete: %v, checksums %v", err, info.Checksums)
	}
}
