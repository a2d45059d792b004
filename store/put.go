package store

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
)

func checkKey(key string) error {
	if key == "" || len(key) > MaxKeyLength {
		return fmt.Errorf("%w: key length %d", ErrInvalidArgument, len(key))
	}
	if strings.IndexByte(key, 0) >= 0 {
		return fmt.Errorf("%w: key contains a NUL byte", ErrInvalidArgument)
	}
	return nil
}

// body is an object body after ingest: inline bytes or one data file.
type body struct {
	ext     extent
	md5     []byte
	untrack func()
}

func (b *body) release(s *Store, committed bool) {
	if !committed && b.ext.File != "" {
		s.removeFiles([]string{b.ext.File})
	}
	if b.untrack != nil {
		b.untrack()
	}
}

// ingest reads exactly size bytes from r: inline if small enough, else into a
// new durable data file. It verifies contentMD5 when given.
func (s *Store) ingest(ctx context.Context, r io.Reader, size int64, contentMD5 []byte, allowInline bool) (*body, error) {
	if size < 0 || size > MaxPutSize {
		return nil, fmt.Errorf("%w: size %d out of range", ErrInvalidArgument, size)
	}
	if err := s.CheckFree(size); err != nil {
		return nil, err
	}
	var b *body
	if allowInline && size <= s.cfg.InlineThreshold {
		buf := make([]byte, size)
		if n, err := io.ReadFull(&ctxReader{ctx: ctx, r: r}, buf); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("%w: got %d of %d bytes", ErrIncompleteBody, n, size)
			}
			return nil, err
		}
		sum := md5.Sum(buf)
		b = &body{ext: extent{Size: size, CRC: inlineCRC(buf), inline: buf}, md5: sum[:]}
	} else {
		wf, untrack, err := s.writeDataFile(ctx, r, size)
		if err != nil {
			return nil, err
		}
		b = &body{ext: extent{File: wf.id, Size: size}, md5: wf.md5, untrack: untrack}
	}
	if err := expectEOF(r); err != nil {
		b.release(s, false)
		return nil, err
	}
	if contentMD5 != nil && !bytes.Equal(contentMD5, b.md5) {
		b.release(s, false)
		return nil, fmt.Errorf("%w: Content-MD5 %x, body %x", ErrBadDigest, contentMD5, b.md5)
	}
	return b, nil
}

// PutObject stores a new version of key from exactly size bytes of r.
// Nothing is stored if the body is short (ErrIncompleteBody), does not match
// ContentMD5 (ErrBadDigest) or a precondition fails.
func (s *Store) PutObject(ctx context.Context, bucket, key string, r io.Reader, size int64, opts PutOptions) (ObjectInfo, error) {
	done, err := s.begin()
	if err != nil {
		return ObjectInfo{}, err
	}
	defer done()
	if err := checkKey(key); err != nil {
		return ObjectInfo{}, err
	}
	if err := checkParts(opts.Parts, size); err != nil {
		return ObjectInfo{}, err
	}
	if _, err := s.GetBucket(ctx, bucket); err != nil {
		return ObjectInfo{}, err
	}
	nv, err := s.prepareVersion(bucket, key, opts.VersionID, opts.Null, opts.ModTime, opts.Cond)
	if err != nil {
		return ObjectInfo{}, err
	}
	b, err := s.ingest(ctx, r, size, opts.ContentMD5, len(opts.Parts) == 0)
	if err != nil {
		return ObjectInfo{}, err
	}
	rec := nv.rec
	rec.Size, rec.Extents, rec.Parts = size, []extent{b.ext}, opts.Parts
	rec.ETag = hex.EncodeToString(b.md5)
	if opts.ETag != "" {
		rec.ETag = strings.Trim(opts.ETag, `"`)
	}
	rec.Meta = opts.Meta
	rec.Meta.Tags = nil
	rec.TagsStamp = opts.TagsStamp
	rec.Meta.Checksums = mergeChecksums(opts.Meta.Checksums, opts.ChecksumsFunc)
	nv.tags = opts.Meta.Tags
	err = s.commit(ctx, nv)
	b.release(s, err == nil)
	if err != nil && !errors.Is(err, errStale) {
		return ObjectInfo{}, err
	}
	info := rec.info(bucket, key)
	info.Tags = maps.Clone(nv.tags)
	info.IsLatest = nv.isLatest
	return info, nil
}

// mergeChecksums returns the checksums to store for a body: sent (from
// headers) with the entries of late (trailer checksums, known only once the
// body was read to EOF; may be nil) merged over them. sent is not modified.
func mergeChecksums(sent map[string]string, late func() map[string]string) map[string]string {
	if late == nil {
		return sent
	}
	extra := late()
	if len(extra) == 0 {
		return sent
	}
	out := maps.Clone(sent)
	if out == nil {
		out = make(map[string]string, len(extra))
	}
	maps.Copy(out, extra)
	return out
}

// expectEOF reads r to its end (trailer checksums of aws-chunked bodies
// appear only then) and refuses a body longer than declared.
func expectEOF(r io.Reader) error {
	var b [1]byte
	for range 100 {
		n, err := r.Read(b[:])
		if n > 0 {
			return fmt.Errorf("%w: body longer than its declared size", ErrInvalidArgument)
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return fmt.Errorf("body reader makes no progress")
}

func checkParts(parts []PartInfo, size int64) error {
	if len(parts) == 0 {
		return nil
	}
	var sum int64
	for i, p := range parts {
		if p.Number < 1 || p.Number > MaxPartNumber || (i > 0 && p.Number <= parts[i-1].Number) || p.Size < 0 {
			return fmt.Errorf("%w: part layout entry %d", ErrInvalidArgument, i)
		}
		sum += p.Size
	}
	if sum != size {
		return fmt.Errorf("%w: parts add up to %d, object is %d bytes", ErrInvalidArgument, sum, size)
	}
	return nil
}

// prepareVersion mints or pins the version ID and fills the record's
// identity; null-ness is decided at commit unless pinned.
func (s *Store) prepareVersion(bucket, key, versionID string, null bool, mod time.Time, c Conditions) (*newVersion, error) {
	nv := &newVersion{bucket: bucket, key: key, cond: c, rec: &versionRecord{Null: null}}
	if versionID == "" {
		versionID, _ = s.newID()
		nv.decideNull = !null
	} else if _, err := s.pinID(versionID); err != nil {
		return nil, err
	}
	nv.rec.ID = versionID
	if mod.IsZero() {
		mod, _ = VersionIDTime(versionID)
	}
	nv.rec.ModTime = mod.UnixNano()
	return nv, nil
}

// commit runs commitVersion in a group-committed transaction and
// removes the data files it made unreferenced. A stale pinned null version is
// not stored: errStale, which callers treat as success after removing the
// version's own data.
func (s *Store) commit(ctx context.Context, nv *newVersion) error {
	s.gate.RLock()
	defer s.gate.RUnlock()
	var garbage []string
	err := s.groupUpdate(ctx, nv.cond.given(), func(txn *badger.Txn) error {
		var err error
		garbage, err = commitVersion(txn, nv)
		return err
	})
	if err != nil {
		return err
	}
	s.removeFiles(garbage)
	return nil
}
