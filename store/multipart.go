package store

import (
	"context"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
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
		unused, tags, err = s.assemble(txn, nv, uploadID, parts)
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
// the files of parts that were uploaded but not listed.
func (s *Store) assemble(txn *badger.Txn, nv *newVersion, uploadID string, parts []CompletePart) ([]string, map[string]string, error) {
	u, err := getUpload(txn, nv.bucket, nv.key, uploadID)
	if err != nil {
		return nil, nil, err
	}
	rec := nv.rec
	rec.Meta, rec.Size, rec.Extents, rec.Parts = u.Meta, 0, nil, nil
	rec.Meta.Tags = nil
	sums := md5.New()
	for i, cp := range parts {
		p, err := getPart(txn, nv.bucket, uploadID, cp.Number)
		if err != nil {
			return nil, nil, err
		}
		if p == nil || !strings.EqualFold(strings.Trim(strings.TrimSpace(cp.ETag), `"`), p.ETag) {
			return nil, nil, fmt.Errorf("%w: part %d missing or ETag mismatch", ErrInvalidPart, cp.Number)
		}
		if i < len(parts)-1 && p.Size < s.cfg.MinPartSize {
			return nil, nil, fmt.Errorf("%w: part %d is %d bytes", ErrEntityTooSmall, cp.Number, p.Size)
		}
		bin, _ := hex.DecodeString(p.ETag)
		sums.Write(bin)
		rec.Size += p.Size
		rec.Extents = append(rec.Extents, extent{File: p.File, Size: p.Size})
		rec.Parts = append(rec.Parts, p.info(cp.Number))
	}
	rec.ETag = fmt.Sprintf("%s-%d", hex.EncodeToString(sums.Sum(nil)), len(parts))
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
