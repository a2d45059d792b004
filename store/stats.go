package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/dgraph-io/badger/v4"
)

// Stats describes what a store holds. Computing it scans all metadata and
// walks data/, so it is an admin call, not a hot path.
type Stats struct {
	Buckets       int
	Objects       int64 // keys whose latest version is not a delete marker
	Versions      int64 // versions, delete markers included
	DeleteMarkers int64
	Bytes         int64 // logical bytes of all versions
	Uploads       int64 // multipart uploads in progress
	Parts         int64
	PartBytes     int64
	DataFiles     int64 // files under data/
	DataBytes     int64 // their on-disk size (checksums included)
	LSMSize       int64 // Badger .sst files
	VlogSize      int64 // Badger .vlog files
	LastGC        GCResult
}

// Stats scans the store and reports its contents and disk usage.
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	done, err := s.begin()
	if err != nil {
		return Stats{}, err
	}
	defer done()
	var st Stats
	err = s.view(func(txn *badger.Txn) error {
		return scanStats(ctx, txn, &st)
	})
	if err != nil {
		return st, err
	}
	err = filepath.WalkDir(s.dataDir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if fi, err := d.Info(); err == nil {
			st.DataFiles++
			st.DataBytes += fi.Size()
		}
		return nil
	})
	st.LSMSize, st.VlogSize = s.badgerSizes()
	s.gcMu.Lock()
	st.LastGC = s.lastGC
	s.gcMu.Unlock()
	return st, err
}

func scanStats(ctx context.Context, txn *badger.Txn, st *Stats) error {
	it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: false})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		item := it.Item()
		switch item.Key()[0] {
		case pfxBucket:
			st.Buckets++
		case pfxUpload:
			st.Uploads++
		case pfxLatest:
			var l latestRecord
			if err := item.Value(func(v []byte) error { return json.Unmarshal(v, &l) }); err != nil {
				return err
			}
			if !l.DeleteMarker {
				st.Objects++
			}
		case pfxVersion:
			if err := statVersion(item, st); err != nil {
				return err
			}
		case pfxPart:
			var p partRecord
			if err := item.Value(func(v []byte) error { return json.Unmarshal(v, &p) }); err != nil {
				return err
			}
			st.Parts++
			st.PartBytes += p.Size
		}
	}
	return nil
}

func statVersion(item *badger.Item, st *Stats) error {
	return item.Value(func(v []byte) error {
		rec, err := decodeVersion(v)
		if err != nil {
			return err
		}
		st.Versions++
		st.Bytes += rec.Size
		if rec.DeleteMarker {
			st.DeleteMarkers++
		}
		return nil
	})
}

// ScrubResult reports a Scrub run.
type ScrubResult struct {
	Versions int64 // versions checked
	Parts    int64 // uploaded parts checked
	Bytes    int64 // logical bytes verified
	Bad      []ScrubIssue
}

// ScrubIssue is one version (or uploaded part) whose data failed checks.
type ScrubIssue struct {
	Bucket, Key, VersionID string
	UploadID               string // set for a part of an upload
	Part                   int
	Err                    error // wraps ErrChecksumMismatch for bad data
}

const scrubBatch = 128

// Scrub verifies every stored checksum (inline data, every block of every
// data file and its length) of all versions and uploaded parts.
func (s *Store) Scrub(ctx context.Context) (ScrubResult, error) {
	done, err := s.begin()
	if err != nil {
		return ScrubResult{}, err
	}
	defer done()
	var res ScrubResult
	for _, pfx := range []byte{pfxVersion, pfxPart} {
		from := []byte{pfx}
		for from != nil {
			var batch []scrubItem
			if batch, from, err = s.scrubBatch(pfx, from); err != nil {
				return res, err
			}
			for _, it := range batch {
				if err := s.scrubOne(ctx, it, &res); err != nil {
					return res, err
				}
			}
		}
	}
	return res, nil
}

type scrubItem struct {
	key []byte
	rec *versionRecord // for 'V'
	prt *partRecord    // for 'P'
}

// scrubBatch reads up to scrubBatch records of one prefix starting at from,
// in a short transaction; next is nil at the end.
func (s *Store) scrubBatch(pfx byte, from []byte) (items []scrubItem, next []byte, err error) {
	err = s.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{pfx}, PrefetchValues: true, PrefetchSize: 16})
		defer it.Close()
		for it.Seek(from); it.Valid(); it.Next() {
			if len(items) == scrubBatch {
				next = it.Item().KeyCopy(nil)
				return nil
			}
			si := scrubItem{key: it.Item().KeyCopy(nil)}
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			if pfx == pfxVersion {
				si.rec, err = decodeVersion(v)
			} else {
				si.prt = new(partRecord)
				err = json.Unmarshal(v, si.prt)
			}
			if err != nil {
				return err
			}
			items = append(items, si)
		}
		return nil
	})
	return items, next, err
}

func (s *Store) scrubOne(ctx context.Context, si scrubItem, res *ScrubResult) error {
	var issue ScrubIssue
	var err error
	if si.prt != nil {
		res.Parts++
		res.Bytes += si.prt.Size
		rest := si.key[1:]
		i := bytes.IndexByte(rest, 0)
		issue = ScrubIssue{Bucket: string(rest[:i]), UploadID: string(rest[i+1 : len(rest)-5]),
			Part: int(binary.BigEndian.Uint32(rest[len(rest)-4:]))}
		err = s.verifyFile(ctx, si.prt.File, si.prt.Size)
	} else {
		res.Versions++
		res.Bytes += si.rec.Size
		rest := si.key[1:]
		i := bytes.IndexByte(rest, 0)
		bucket := string(rest[:i])
		key, _, perr := parseVersionKey(si.key, versionBucketPrefix(bucket))
		if perr != nil {
			return perr
		}
		issue = ScrubIssue{Bucket: bucket, Key: key, VersionID: shownID(si.rec.ID, si.rec.Null)}
		err = s.verifyExtents(ctx, si.rec)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if err != nil {
		issue.Err = err
		res.Bad = append(res.Bad, issue)
		s.log.Warn("store: scrub found bad data", "bucket", issue.Bucket, "key", issue.Key,
			"version", issue.VersionID, "upload", issue.UploadID, "part", issue.Part, "err", err)
	}
	return nil
}

func (s *Store) verifyExtents(ctx context.Context, rec *versionRecord) error {
	for _, e := range rec.Extents {
		if e.File == "" {
			if inlineCRC(e.inline) != e.CRC {
				return fmt.Errorf("%w: inline data", ErrChecksumMismatch)
			}
			continue
		}
		if err := s.verifyFile(ctx, e.File, e.Size); err != nil {
			return err
		}
	}
	return nil
}
