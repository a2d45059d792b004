package store

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"maps"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/klauspost/crc32"
	"github.com/minio/crc64nvme"
)

// CreateMultipartUpload starts an upload with a store-minted upload ID.
func (s *Store) CreateMultipartUpload(ctx context.Context, bucket, key string, meta ObjectMeta) (UploadInfo, error) {
	return s.CreateUpload(ctx, bucket, key, UploadOptions{Meta: meta})
}

// CreateUpload starts an upload; the coordinator may pin its ID and time so
// that every replica holds the same upload.
func (s *Store) CreateUpload(ctx context.Context, bucket, key string, opts UploadOptions) (UploadInfo, error) {
	done, err := s.begin()
	if err != nil {
		return UploadInfo{}, err
	}
	defer done()
	if err := checkKey(key); err != nil {
		return UploadInfo{}, err
	}
	if err := normalizeUploadChecksum(&opts.Meta); err != nil {
		return UploadInfo{}, err
	}
	id := opts.UploadID
	if id == "" {
		id, _ = s.newID()
	} else if _, err := s.pinID(id); err != nil {
		return UploadInfo{}, err
	}
	rec := uploadRecord{Initiated: opts.Initiated.UTC(), Meta: opts.Meta}
	if opts.Initiated.IsZero() {
		rec.Initiated, _ = VersionIDTime(id)
	}
	v, err := json.Marshal(rec)
	if err != nil {
		return UploadInfo{}, err
	}
	s.gate.RLock()
	defer s.gate.RUnlock()
	err = s.update(ctx, false, func(txn *badger.Txn) error {
		if _, err := getBucket(txn, bucket); err != nil {
			return err
		}
		if err := txn.Set(upIdxKey(bucket, key, id, rec.Initiated), nil); err != nil {
			return err
		}
		return txn.Set(uploadKey(bucket, key, id), v)
	})
	if err != nil {
		return UploadInfo{}, err
	}
	return rec.info(bucket, key, id), nil
}

func (u *uploadRecord) info(bucket, key, id string) UploadInfo {
	return UploadInfo{Bucket: bucket, Key: key, UploadID: id, Initiated: u.Initiated, Meta: u.Meta}
}

func getUpload(txn *badger.Txn, bucket, key, uploadID string) (*uploadRecord, error) {
	if _, err := getBucket(txn, bucket); err != nil {
		return nil, err
	}
	v, ok, err := getValue(txn, uploadKey(bucket, key, uploadID))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNoSuchUpload, uploadID)
	}
	var u uploadRecord
	if err := json.Unmarshal(v, &u); err != nil {
		return nil, fmt.Errorf("upload record %s: %w", uploadID, err)
	}
	return &u, nil
}

func getPart(txn *badger.Txn, bucket, uploadID string, n int) (*partRecord, error) {
	v, ok, err := getValue(txn, partKey(bucket, uploadID, n))
	if err != nil || !ok {
		return nil, err
	}
	var p partRecord
	if err := json.Unmarshal(v, &p); err != nil {
		return nil, fmt.Errorf("part record %s/%d: %w", uploadID, n, err)
	}
	return &p, nil
}

func (p *partRecord) info(n int) PartInfo {
	return PartInfo{Number: n, Size: p.Size, ETag: p.ETag, ModTime: p.ModTime, Checksums: p.Checksums}
}

// UploadPart streams one part (1..10000) into its own data file; uploading a
// part number again replaces the earlier part.
func (s *Store) UploadPart(ctx context.Context, bucket, key, uploadID string, part int, r io.Reader, size int64, opts PartOptions) (PartInfo, error) {
	done, err := s.begin()
	if err != nil {
		return PartInfo{}, err
	}
	defer done()
	if part < 1 || part > MaxPartNumber {
		return PartInfo{}, fmt.Errorf("%w: part number %d not in 1..%d", ErrInvalidArgument, part, MaxPartNumber)
	}
	if err := s.view(func(txn *badger.Txn) error {
		_, err := getUpload(txn, bucket, key, uploadID)
		return err
	}); err != nil {
		return PartInfo{}, err
	}
	b, err := s.ingest(ctx, r, size, opts.ContentMD5, false)
	if err != nil {
		return PartInfo{}, err
	}
	// ingest read the body to EOF: trailer checksums are known now.
	rec := partRecord{File: b.ext.File, Size: size, ETag: hex.EncodeToString(b.md5),
		ModTime: time.Now().UTC(), Checksums: maps.Clone(mergeChecksums(opts.Checksums, opts.ChecksumsFunc))}
	v, err := json.Marshal(rec)
	if err != nil {
		b.release(s, false)
		return PartInfo{}, err
	}
	var old string
	// Through the committer: parts uploaded in parallel share syncs.
	err = s.groupUpdate(ctx, false, func(txn *badger.Txn) error {
		if _, err := getUpload(txn, bucket, key, uploadID); err != nil {
			return err
		}
		prev, err := getPart(txn, bucket, uploadID, part)
		if err != nil {
			return err
		}
		old = ""
		if prev != nil {
			old = prev.File
			if err := txn.Delete(dataRefKey(prev.File)); err != nil {
				return err
			}
		}
		if err := txn.Set(dataRefKey(rec.File), nil); err != nil {
			return err
		}
		return txn.Set(partKey(bucket, uploadID, part), v)
	})
	b.release(s, err == nil)
	if err != nil {
		return PartInfo{}, err
	}
	if old != "" {
		s.removeFiles([]string{old})
	}
	return rec.info(part), nil
}

// ListParts pages the parts of an upload in part-number order.
func (s *Store) ListParts(ctx context.Context, bucket, key, uploadID string, opts ListPartsOptions) (ListPartsResult, error) {
	done, err := s.begin()
	if err != nil {
		return ListPartsResult{}, err
	}
	defer done()
	var res ListPartsResult
	err = s.view(func(txn *badger.Txn) error {
		u, err := getUpload(txn, bucket, key, uploadID)
		if err != nil {
			return err
		}
		res.Upload = u.info(bucket, key, uploadID)
		return listParts(txn, bucket, uploadID, opts, &res)
	})
	return res, err
}

func listParts(txn *badger.Txn, bucket, uploadID string, opts ListPartsOptions, res *ListPartsResult) error {
	max := clampMax(opts.MaxParts)
	if max == 0 {
		return nil
	}
	pfx := partPrefix(bucket, uploadID)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: pfx, PrefetchValues: true, PrefetchSize: 64})
	defer it.Close()
	for it.Seek(partKey(bucket, uploadID, max0(opts.PartNumberMarker)+1)); it.Valid(); it.Next() {
		if len(res.Parts) == max {
			res.IsTruncated = true
			res.NextPartNumberMarker = res.Parts[len(res.Parts)-1].Number
			return nil
		}
		k := it.Item().Key()
		n := int(binary.BigEndian.Uint32(k[len(k)-4:]))
		var p partRecord
		if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &p) }); err != nil {
			return err
		}
		res.Parts = append(res.Parts, p.info(n))
	}
	return nil
}

func max0(n int) int {
	if n < 0 {
		return 0
	}
	return n
}

// CompleteMultipartUpload makes the listed parts one object version. The
// version references the part files: no data is copied. Parts not listed
// are removed with the upload.
func (s *Store) CompleteMultipartUpload(ctx context.Context, bucket, key, uploadID string, parts []CompletePart, opts CompleteOptions) (ObjectInfo, error) {
	done, err := s.begin()
	if err != nil {
		return ObjectInfo{}, err
	}
	defer done()
	if err := checkCompleteList(parts); err != nil {
		return ObjectInfo{}, err
	}
	if err := s.CheckFree(0); err != nil {
		return ObjectInfo{}, err
	}
	nv, err := s.prepareVersion(bucket, key, opts.VersionID, opts.Null, time.Time{}, opts.Cond)
	if err != nil {
		return ObjectInfo{}, err
	}
	var unused []string
	var tags map[string]string
	nv.extra = func(txn *badger.Txn) error {
		var err error
		unused, tags, err = s.assemble(txn, nv, uploadID, parts, opts.Checksums)
		nv.tags = tags
		return err
	}
	err = s.commit(ctx, nv)
	if errors.Is(err, errStale) {
		// A replica got a null version older than its own: consume the
		// upload, keep the newer null version.
		return nv.rec.info(bucket, key), s.AbortMultipartUpload(ctx, bucket, key, uploadID)
	}
	if err != nil {
		return ObjectInfo{}, err
	}
	s.removeFiles(unused)
	info := nv.rec.info(bucket, key)
	info.Tags = maps.Clone(tags)
	info.IsLatest = nv.isLatest
	return info, nil
}

func checkCompleteList(parts []CompletePart) error {
	if len(parts) == 0 {
		return fmt.Errorf("%w: no parts listed", ErrInvalidPart)
	}
	for i, p := range parts {
		if p.Number < 1 || p.Number > MaxPartNumber {
			return fmt.Errorf("%w: part number %d", ErrInvalidPart, p.Number)
		}
		if i > 0 && p.Number <= parts[i-1].Number {
			return fmt.Errorf("%w: part %d after %d", ErrInvalidPartOrder, p.Number, parts[i-1].Number)
		}
	}
	return nil
}

// assemble (inside the completion transaction) checks the listed parts,
// fills nv's record from them and deletes the upload's records. It returns
// the files of parts that were uploaded but not listed. An upload created
// with a checksum algorithm gives the version that algorithm's object
// checksum, computed from the parts' stored checksums; expect holds the
// values the client says the object has.
func (s *Store) assemble(txn *badger.Txn, nv *newVersion, uploadID string, parts []CompletePart, expect map[string]string) ([]string, map[string]string, error) {
	u, err := getUpload(txn, nv.bucket, nv.key, uploadID)
	if err != nil {
		return nil, nil, err
	}
	rec := nv.rec
	rec.Meta, rec.Size, rec.Extents, rec.Parts = u.Meta, 0, nil, nil
	rec.Meta.Tags = nil
	algo := u.Meta.ChecksumAlgorithm
	rec.Meta.ChecksumAlgorithm, rec.Meta.ChecksumType = "", ""
	sums := md5.New()
	recs := make([]*partRecord, 0, len(parts))
	for i, cp := range parts {
		p, err := getPart(txn, nv.bucket, uploadID, cp.Number)
		if err != nil {
			return nil, nil, err
		}
		if p == nil || !strings.EqualFold(strings.Trim(strings.TrimSpace(cp.ETag), `"`), p.ETag) {
			return nil, nil, fmt.Errorf("%w: part %d missing or ETag mismatch", ErrInvalidPart, cp.Number)
		}
		if err := checkPartChecksums(algo, cp, p); err != nil {
			return nil, nil, err
		}
		if i < len(parts)-1 && p.Size < s.cfg.MinPartSize {
			return nil, nil, fmt.Errorf("%w: part %d is %d bytes", ErrEntityTooSmall, cp.Number, p.Size)
		}
		bin, _ := hex.DecodeString(p.ETag)
		sums.Write(bin)
		rec.Size += p.Size
		rec.Extents = append(rec.Extents, extent{File: p.File, Size: p.Size})
		rec.Parts = append(rec.Parts, p.info(cp.Number))
		recs = append(recs, p)
	}
	rec.ETag = fmt.Sprintf("%s-%d", hex.EncodeToString(sums.Sum(nil)), len(parts))
	rec.Meta.Checksums = nil
	if algo != "" {
		sum, err := objectChecksum(algo, u.Meta.ChecksumType, recs)
		if err != nil {
			return nil, nil, err
		}
		// A composite value may come without its "-<parts>" (minio-go
		// sends it so).
		if want := expect[algo]; want != "" && want != sum && want+fmt.Sprintf("-%d", len(parts)) != sum {
			return nil, nil, fmt.Errorf("%w: the %s of the object is %s, not %s", ErrBadDigest, algo, sum, want)
		}
		rec.Meta.Checksums = map[string]string{algo: sum}
	}
	used := make(map[int]bool, len(parts))
	for _, cp := range parts {
		used[cp.Number] = true
	}
	unused, err := dropUpload(txn, nv.bucket, nv.key, uploadID, u, used)
	return unused, u.Meta.Tags, err
}

// upIdxKey is the 'I' (uploads by initiation time) key of an upload.
func upIdxKey(bucket, key, uploadID string, initiated time.Time) []byte {
	return dueKey(pfxUpIdx, bucket, initiated.UnixNano(), key, []byte(uploadID))
}

// dropUpload deletes an upload (record u) and its part records; the data
// references of parts not in used are deleted too, and their files returned.
func dropUpload(txn *badger.Txn, bucket, key, uploadID string, u *uploadRecord, used map[int]bool) ([]string, error) {
	if err := txn.Delete(upIdxKey(bucket, key, uploadID, u.Initiated)); err != nil {
		return nil, err
	}
	it := txn.NewIterator(badger.IteratorOptions{Prefix: partPrefix(bucket, uploadID)})
	var keys [][]byte
	var unused []string
	for it.Rewind(); it.Valid(); it.Next() {
		k := it.Item().KeyCopy(nil)
		keys = append(keys, k)
		if used[int(binary.BigEndian.Uint32(k[len(k)-4:]))] {
			continue
		}
		var p partRecord
		if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &p) }); err != nil {
			it.Close()
			return nil, err
		}
		unused = append(unused, p.File)
	}
	it.Close()
	for _, k := range keys {
		if err := txn.Delete(k); err != nil {
			return nil, err
		}
	}
	for _, f := range unused {
		if err := txn.Delete(dataRefKey(f)); err != nil {
			return nil, err
		}
	}
	return unused, txn.Delete(uploadKey(bucket, key, uploadID))
}

// AbortMultipartUpload removes an upload and frees its parts' space.
func (s *Store) AbortMultipartUpload(ctx context.Context, bucket, key, uploadID string) error {
	done, err := s.begin()
	if err != nil {
		return err
	}
	defer done()
	var files []string
	err = s.update(ctx, false, func(txn *badger.Txn) error {
		u, err := getUpload(txn, bucket, key, uploadID)
		if err != nil {
			return err
		}
		files, err = dropUpload(txn, bucket, key, uploadID, u, nil)
		return err
	})
	if err != nil {
		return err
	}
	s.removeFiles(files)
	return nil
}

// ListMultipartUploads pages in-progress uploads: key ascending, then
// upload ID (initiation order), with prefix/delimiter and S3 markers.
func (s *Store) ListMultipartUploads(ctx context.Context, bucket string, opts ListUploadsOptions) (ListUploadsResult, error) {
	done, err := s.begin()
	if err != nil {
		return ListUploadsResult{}, err
	}
	defer done()
	var res ListUploadsResult
	err = s.view(func(txn *badger.Txn) error {
		if _, err := getBucket(txn, bucket); err != nil {
			return err
		}
		return s.listUploads(ctx, txn, bucket, opts, &res)
	})
	return res, err
}

func (s *Store) listUploads(ctx context.Context, txn *badger.Txn, bucket string, opts ListUploadsOptions, res *ListUploadsResult) error {
	max := clampMax(opts.MaxUploads)
	if max == 0 {
		return nil
	}
	base := uploadBucketPrefix(bucket)
	start := startKey(base, opts.Prefix, opts.KeyMarker, 1)
	if opts.KeyMarker != "" && opts.UploadIDMarker != "" && opts.KeyMarker >= opts.Prefix {
		start = append(uploadKey(bucket, opts.KeyMarker, opts.UploadIDMarker), 0)
	}
	it := txn.NewIterator(badger.IteratorOptions{Prefix: append(append([]byte{}, base...), opts.Prefix...), PrefetchValues: true, PrefetchSize: 64})
	defer it.Close()
	for it.Seek(start); it.Valid(); {
		s.listSteps.Add(1)
		if err := ctx.Err(); err != nil {
			return err
		}
		key, id, err := parseUploadKey(it.Item().Key(), base)
		if err != nil {
			return err
		}
		cp := commonPrefix(key, opts.Prefix, opts.Delimiter)
		if cp == "" || cp > opts.KeyMarker {
			if len(res.Uploads)+len(res.CommonPrefixes) == max {
				res.IsTruncated = true
				return nil
			}
			if err := addUpload(it.Item(), res, bucket, key, id, cp); err != nil {
				return err
			}
		}
		if cp == "" {
			it.Next()
		} else if !seekPast(it, base, cp) {
			break
		}
	}
	res.NextKeyMarker, res.NextUploadIDMarker = "", ""
	return nil
}

func addUpload(item *badger.Item, res *ListUploadsResult, bucket, key, id, cp string) error {
	if cp != "" {
		res.CommonPrefixes = append(res.CommonPrefixes, cp)
		res.NextKeyMarker, res.NextUploadIDMarker = cp, ""
		return nil
	}
	var u uploadRecord
	if err := item.Value(func(v []byte) error { return json.Unmarshal(v, &u) }); err != nil {
		return err
	}
	res.Uploads = append(res.Uploads, u.info(bucket, key, id))
	res.NextKeyMarker, res.NextUploadIDMarker = key, id
	return nil
}

// Object checksums of multipart uploads. A part's checksum is stored as the
// client sent it (base64 of the big-endian digest); the object's is
// computed from those at completion, never from the data:
//
//   - COMPOSITE: the algorithm's hash of the concatenated decoded part
//     checksums, in part order, as "<base64>-<parts>" (S3's "checksum of
//     checksums");
//   - FULL_OBJECT (CRCs only): the CRC of the whole object, combined from
//     the part CRCs and sizes as zlib's crc32_combine does.

// checksumAlgo is what the store needs to know of a checksum algorithm.
type checksumAlgo struct {
	size int              // digest bytes
	hash func() hash.Hash // for COMPOSITE
	poly uint64           // reflected CRC polynomial; 0 = not a CRC
	bits int              // CRC width
}

var checksumAlgos = map[string]checksumAlgo{
	"crc32":     {4, func() hash.Hash { return crc32.NewIEEE() }, crc32.IEEE, 32},
	"crc32c":    {4, func() hash.Hash { return crc32.New(castagnoli) }, crc32.Castagnoli, 32},
	"crc64nvme": {8, func() hash.Hash { return crc64nvme.New() }, crc64nvme.NVME, 64},
	"sha1":      {sha1.Size, sha1.New, 0, 0},
	"sha256":    {sha256.Size, sha256.New, 0, 0},
}

// ChecksumHash returns a constructor of algo's hash (lower case: "crc32",
// "crc32c", "crc64nvme", "sha1", "sha256") and its digest size; ok is false
// for any other name. The S3 layer computes body checksums with it, so the
// algorithms are listed once.
func ChecksumHash(algo string) (newHash func() hash.Hash, size int, ok bool) {
	a, ok := checksumAlgos[algo]
	return a.hash, a.size, ok
}

// DefaultChecksumType is the checksum type S3 gives an upload created with
// algo and no x-amz-checksum-type: FULL_OBJECT for CRC64NVME (which has no
// composite form), COMPOSITE for the others.
func DefaultChecksumType(algo string) string {
	if algo == "crc64nvme" {
		return ChecksumFullObject
	}
	return ChecksumComposite
}

// ValidUploadChecksum reports whether an upload may combine its parts'
// checksums of algo (lower case) into an object checksum of type typ:
// COMPOSITE for every algorithm but CRC64NVME, FULL_OBJECT for the CRCs.
func ValidUploadChecksum(algo, typ string) bool {
	a, ok := checksumAlgos[algo]
	switch {
	case !ok:
		return false
	case typ == ChecksumComposite:
		return algo != "crc64nvme"
	case typ == ChecksumFullObject:
		return a.poly != 0
	}
	return false
}

// normalizeUploadChecksum checks an upload's checksum algorithm and type and
// fills in the default type.
func normalizeUploadChecksum(m *ObjectMeta) error {
	if m.ChecksumAlgorithm == "" {
		if m.ChecksumType != "" {
			return fmt.Errorf("%w: checksum type %q without an algorithm", ErrInvalidArgument, m.ChecksumType)
		}
		return nil
	}
	m.ChecksumAlgorithm = strings.ToLower(m.ChecksumAlgorithm)
	if m.ChecksumType == "" {
		m.ChecksumType = DefaultChecksumType(m.ChecksumAlgorithm)
	}
	if !ValidUploadChecksum(m.ChecksumAlgorithm, m.ChecksumType) {
		return fmt.Errorf("%w: checksum algorithm %q with type %q", ErrInvalidArgument, m.ChecksumAlgorithm, m.ChecksumType)
	}
	return nil
}

// checkPartChecksums compares the checksums a client sent for a part in
// CompleteMultipartUpload with the part's stored ones (ErrInvalidPart on
// a difference). With an upload algorithm the part must have been stored
// with that algorithm's checksum, and the client may name no other. An
// upload without one ignores values the part was not stored with (clients
// send the CRC32 that SDKs add to every part by default).
func checkPartChecksums(algo string, cp CompletePart, p *partRecord) error {
	for name, v := range cp.Checksums {
		stored, ok := p.Checksums[name]
		if ok && stored != v || !ok && algo != "" {
			return fmt.Errorf("%w: part %d: %s checksum %q does not match the stored one", ErrInvalidPart, cp.Number, name, v)
		}
	}
	if algo != "" && p.Checksums[algo] == "" {
		return fmt.Errorf("%w: part %d was stored without a %s checksum", ErrInvalidPart, cp.Number, algo)
	}
	return nil
}

// objectChecksum computes the object checksum of type typ from the parts'
// stored checksums of algo.
func objectChecksum(algo, typ string, parts []*partRecord) (string, error) {
	if !ValidUploadChecksum(algo, typ) {
		return "", fmt.Errorf("%w: checksum algorithm %q with type %q", ErrInvalidArgument, algo, typ)
	}
	a := checksumAlgos[algo]
	composite := a.hash()
	var crc uint64
	for i, p := range parts {
		b, err := base64.StdEncoding.DecodeString(p.Checksums[algo])
		if err != nil || len(b) != a.size {
			return "", fmt.Errorf("%w: part %d has a malformed %s checksum", ErrInvalidPart, i+1, algo)
		}
		composite.Write(b)
		if typ == ChecksumFullObject {
			var v uint64
			for _, c := range b {
				v = v<<8 | uint64(c)
			}
			crc = crcCombine(a.poly, a.bits, crc, v, p.Size)
		}
	}
	if typ == ChecksumComposite {
		return fmt.Sprintf("%s-%d", base64.StdEncoding.EncodeToString(composite.Sum(nil)), len(parts)), nil
	}
	out := make([]byte, a.size)
	for i := range out {
		out[len(out)-1-i] = byte(crc >> (8 * i))
	}
	return base64.StdEncoding.EncodeToString(out), nil
}

// crcCombine returns the CRC of A followed by B from crc1 = CRC(A), crc2 =
// CRC(B) and len2 = len(B), for a reflected CRC of the given width and
// polynomial with all-ones initial value and final XOR (CRC-32, CRC-32C,
// CRC-64/NVME): zlib's crc32_combine, which applies len2 zero bytes to
// crc1 by repeated squaring of the GF(2) operator of one zero bit.
func crcCombine(poly uint64, bits int, crc1, crc2 uint64, len2 int64) uint64 {
	if len2 <= 0 {
		return crc1
	}
	even := make([]uint64, bits) // operator for 2^k zero bits, k even
	odd := make([]uint64, bits)  // k odd
	odd[0] = poly                // one zero bit
	row := uint64(1)
	for n := 1; n < bits; n++ {
		odd[n] = row
		row <<= 1
	}
	gf2Square(even, odd) // two zero bits
	gf2Square(odd, even) // four zero bits
	for {
		gf2Square(even, odd) // first pass: one zero byte
		if len2&1 != 0 {
			crc1 = gf2Times(even, crc1)
		}
		if len2 >>= 1; len2 == 0 {
			break
		}
		gf2Square(odd, even)
		if len2&1 != 0 {
			crc1 = gf2Times(odd, crc1)
		}
		if len2 >>= 1; len2 == 0 {
			break
		}
	}
	return crc1 ^ crc2
}

func gf2Times(mat []uint64, vec uint64) uint64 {
	var sum uint64
	for i := 0; vec != 0; i, vec = i+1, vec>>1 {
		if vec&1 != 0 {
			sum ^= mat[i]
		}
	}
	return sum
}

func gf2Square(square, mat []uint64) {
	for n := range mat {
		square[n] = gf2Times(mat, mat[n])
	}
}
