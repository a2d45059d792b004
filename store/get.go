package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/dgraph-io/badger/v4"
)

// resolved is a version found by lookup.
type resolved struct {
	rec      *versionRecord
	isLatest bool
	tags     map[string]string
}

// lookup finds the version a read names: "" = latest, "null", or an ID.
// A latest delete marker yields ErrNoSuchKey and a named one
// ErrMethodNotAllowed, both with the resolved marker returned. With rc,
// the record may be shared with other readers (see recordCache); callers
// that modify it pass nil.
func lookup(txn *badger.Txn, rc *recordCache, bucket, key, versionID string) (*resolved, error) {
	if _, err := getBucket(txn, bucket); err != nil {
		return nil, err
	}
	latest, err := getLatest(txn, bucket, key)
	if err != nil {
		return nil, err
	}
	var o order
	switch versionID {
	case "":
		if latest == nil {
			return nil, fmt.Errorf("%w: %s/%s", ErrNoSuchKey, bucket, key)
		}
		o = latest.order()
	case NullVersionID:
		n, ok, err := getNullOrder(txn, bucket, key)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("%w: %s/%s null", ErrNoSuchVersion, bucket, key)
		}
		o = n
	default:
		p, ok := parseVersionID(versionID)
		if !ok {
			return nil, fmt.Errorf("%w: malformed version ID %q", ErrNoSuchVersion, versionID)
		}
		o = p
	}
	rec, ok, err := rc.getVersionForRead(txn, bucket, key, o)
	if err != nil {
		return nil, err
	}
	if !ok {
		if versionID == "" {
			return nil, fmt.Errorf("latest index of %s/%s names a missing version", bucket, key)
		}
		return nil, fmt.Errorf("%w: %s/%s %s", ErrNoSuchVersion, bucket, key, versionID)
	}
	res := &resolved{rec: rec, isLatest: latest != nil && latest.order() == o}
	if err := loadTags(txn, bucket, key, o, &res.tags); err != nil {
		return nil, err
	}
	if rec.DeleteMarker {
		if versionID == "" {
			return res, fmt.Errorf("%w: %s/%s (delete marker)", ErrNoSuchKey, bucket, key)
		}
		return res, fmt.Errorf("%w: %s/%s %s", ErrMethodNotAllowed, bucket, key, versionID)
	}
	return res, nil
}

func loadTags(txn *badger.Txn, bucket, key string, o order, into *map[string]string) error {
	v, ok, err := getValue(txn, tagsKey(bucket, key, o))
	if err != nil || !ok {
		return err
	}
	return json.Unmarshal(v, into)
}

func (r *resolved) info(bucket, key string) ObjectInfo {
	info := r.rec.info(bucket, key)
	info.IsLatest = r.isLatest
	info.Tags = r.tags
	return info
}

// HeadObject is GetObject without the body.
func (s *Store) HeadObject(ctx context.Context, bucket, key string, opts GetOptions) (ObjectInfo, error) {
	done, err := s.begin()
	if err != nil {
		return ObjectInfo{}, err
	}
	defer done()
	var res *resolved
	err = s.view(func(txn *badger.Txn) error {
		res, err = lookup(txn, &s.records, bucket, key, opts.VersionID)
		return err
	})
	if res == nil {
		return ObjectInfo{}, err
	}
	info := res.info(bucket, key)
	if err == nil {
		_, err = window(res.rec, opts)
	}
	return info, err
}

// GetObject returns a version's info and a reader streaming its body (or the
// selected part and range) with bounded memory, verifying checksums as it
// goes. A checksum mismatch is a read error wrapping ErrChecksumMismatch.
func (s *Store) GetObject(ctx context.Context, bucket, key string, opts GetOptions) (ObjectInfo, io.ReadCloser, error) {
	done, err := s.begin()
	if err != nil {
		return ObjectInfo{}, nil, err
	}
	defer done()
	// A concurrent overwrite may remove the data files between the lookup and
	// the open; the lookup is then retried.
	for attempt := 0; ; attempt++ {
		var res *resolved
		err = s.view(func(txn *badger.Txn) error {
			res, err = lookup(txn, &s.records, bucket, key, opts.VersionID)
			return err
		})
		if err != nil {
			if res != nil {
				return res.info(bucket, key), nil, err
			}
			return ObjectInfo{}, nil, err
		}
		info := res.info(bucket, key)
		w, err := window(res.rec, opts)
		if err != nil {
			return info, nil, err
		}
		rd, err := s.newObjectReader(ctx, res.rec, w)
		if errors.Is(err, fs.ErrNotExist) && attempt < 3 {
			continue
		}
		if err != nil {
			return info, nil, err
		}
		return info, rd, nil
	}
}

// window resolves PartNumber and Range into a byte range of the object.
func window(rec *versionRecord, opts GetOptions) (Range, error) {
	w := Range{Start: 0, Length: rec.Size}
	if opts.PartNumber > 0 {
		var err error
		if w, err = partWindow(rec, opts.PartNumber); err != nil {
			return w, err
		}
	}
	if opts.Range != nil {
		r := *opts.Range
		if r.Start < 0 || r.Length < 0 || r.Start+r.Length > w.Length || (r.Start >= w.Length && w.Length > 0) {
			return w, fmt.Errorf("%w: %d+%d of %d bytes", ErrInvalidRange, r.Start, r.Length, w.Length)
		}
		w = Range{Start: w.Start + r.Start, Length: r.Length}
	}
	return w, nil
}

func partWindow(rec *versionRecord, n int) (Range, error) {
	if len(rec.Parts) == 0 {
		if n == 1 {
			return Range{Start: 0, Length: rec.Size}, nil
		}
		return Range{}, fmt.Errorf("%w: part %d of a single-part object", ErrInvalidRange, n)
	}
	var off int64
	for _, p := range rec.Parts {
		if p.Number == n {
			return Range{Start: off, Length: p.Size}, nil
		}
		off += p.Size
	}
	return Range{}, fmt.Errorf("%w: no part %d in %d parts", ErrInvalidRange, n, len(rec.Parts))
}

// objectReader streams a byte window of a version across its extents.
type objectReader struct {
	ctx     context.Context
	s       *Store
	exts    []extent
	starts  []int64 // logical start offset of each extent
	pos     int64
	end     int64
	ei      int      // extent holding pos
	f       *os.File // open data file of extent ei (nil if inline or not yet open)
	blk     []byte   // verified data of block blkIdx of extent ei
	blkIdx  int64
	scratch []byte
	err     error
}

func (s *Store) newObjectReader(ctx context.Context, rec *versionRecord, w Range) (*objectReader, error) {
	r := &objectReader{ctx: ctx, s: s, exts: rec.Extents, pos: w.Start, end: w.Start + w.Length, blkIdx: -1}
	var off int64
	for _, e := range rec.Extents {
		r.starts = append(r.starts, off)
		off += e.Size
		if e.File == "" && inlineCRC(e.inline) != e.CRC {
			return nil, fmt.Errorf("%w: inline data of %s", ErrChecksumMismatch, rec.ID)
		}
	}
	if w.Length > 0 {
		if err := r.seekExtent(); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// seekExtent makes ei the extent holding pos and opens its file.
func (r *objectReader) seekExtent() error {
	for r.ei < len(r.exts)-1 && r.pos >= r.starts[r.ei]+r.exts[r.ei].Size {
		r.ei++
		r.closeFile()
	}
	e := r.exts[r.ei]
	if e.File == "" || r.f != nil {
		return nil
	}
	f, err := os.Open(r.s.dataPath(e.File))
	if err != nil {
		return fmt.Errorf("open data file %s: %w", e.File, err)
	}
	r.f = f
	return nil
}

func (r *objectReader) closeFile() {
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
	r.blkIdx = -1
}

func (r *objectReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.pos >= r.end {
		return 0, io.EOF
	}
	n, err := r.read(p)
	r.pos += int64(n)
	if err != nil {
		r.err = err
	}
	return n, err
}

func (r *objectReader) read(p []byte) (int, error) {
	if err := r.seekExtent(); err != nil {
		return 0, err
	}
	e := r.exts[r.ei]
	off := r.pos - r.starts[r.ei]
	avail := min(e.Size-off, r.end-r.pos)
	if e.File == "" {
		return copy(p[:min(int64(len(p)), avail)], e.inline[off:]), nil
	}
	bi := off / blockSize
	if bi != r.blkIdx {
		if err := r.ctx.Err(); err != nil {
			return 0, err
		}
		if r.scratch == nil {
			r.scratch = make([]byte, diskBlock)
		}
		blk, err := readBlock(r.f, e.File, e.Size, bi, r.scratch)
		if err != nil {
			return 0, err
		}
		r.blk, r.blkIdx = blk, bi
	}
	in := off - bi*blockSize
	return copy(p[:min(int64(len(p)), avail)], r.blk[in:]), nil
}

// Close releases the open data file.
func (r *objectReader) Close() error {
	r.closeFile()
	if r.err == nil {
		r.err = errors.New("read after close")
	}
	return nil
}
