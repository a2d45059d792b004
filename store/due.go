package store

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// DueKind selects one of the time-ordered indexes that lifecycle rules are
// applied from (keys.go): a pass reads each from the oldest entry up to its
// cutoff, so its cost follows what is old enough to expire, not the bucket.
type DueKind int

const (
	// DueCurrent: latest versions that are not delete markers, by
	// modification time.
	DueCurrent DueKind = iota + 1
	// DueNoncurrent: versions that are not the latest (delete markers
	// included), by the time they became noncurrent (the modification time
	// of the next newer version).
	DueNoncurrent
	// DueDeleteMarker: delete markers that are the only version of their
	// key, by modification time.
	DueDeleteMarker
	// DueUpload: multipart uploads in progress, by initiation time.
	DueUpload
)

// DueOptions pages ListDue.
type DueOptions struct {
	Kind DueKind
	// Through: only entries whose time is at or before it.
	Through time.Time
	// After continues a listing from DueEntry.Cursor of the last entry seen.
	After string
	// Max entries per page; 0 or more than MaxListKeys = MaxListKeys.
	Max int
}

// DueEntry is one entry of a due-time index, with what a lifecycle filter
// looks at.
type DueEntry struct {
	Time time.Time // modification, noncurrent-since or initiation time
	Key  string
	// VersionID is the internal version ID (not "null"); empty for uploads.
	VersionID    string
	Null         bool
	DeleteMarker bool
	UploadID     string
	ETag         string
	Size         int64
	Tags         map[string]string
	// NewerNoncurrent (DueNoncurrent only) counts the noncurrent versions
	// of the key that are newer than this one, up to 101.
	NewerNoncurrent int
	// Cursor is the entry's position, for DueOptions.After.
	Cursor string
}

const maxNewerCount = 101

// maxDueTime bounds the times an index key can hold (int64 nanoseconds).
var maxDueTime = time.Unix(0, 1<<62)

// ListDue returns up to opts.Max entries of a due-time index of bucket in
// time order, those at or before opts.Through; more reports whether the
// page was cut short by Max. Each page is one read transaction: entries
// may change between pages (the caller re-checks before acting).
func (s *Store) ListDue(ctx context.Context, bucket string, opts DueOptions) (entries []DueEntry, more bool, err error) {
	done, err := s.begin()
	if err != nil {
		return nil, false, err
	}
	defer done()
	var pfx byte
	switch opts.Kind {
	case DueCurrent:
		pfx = pfxCurIdx
	case DueNoncurrent:
		pfx = pfxNcIdx
	case DueDeleteMarker:
		pfx = pfxDMIdx
	case DueUpload:
		pfx = pfxUpIdx
	default:
		return nil, false, fmt.Errorf("%w: due kind %d", ErrInvalidArgument, opts.Kind)
	}
	max := opts.Max
	if max <= 0 || max > MaxListKeys {
		max = MaxListKeys
	}
	base := duePrefix(pfx, bucket)
	var limit []byte // nil: no time bound
	if through := opts.Through; through.Before(maxDueTime) {
		limit = append(bytes.Clone(base), timeBytes(through.UnixNano()+1)...)
	}
	start := base
	if opts.After != "" {
		start = append([]byte(opts.After), 0)
	}
	err = s.view(func(txn *badger.Txn) error {
		if _, err := getBucket(txn, bucket); err != nil {
			return err
		}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: base, PrefetchValues: false})
		defer it.Close()
		for it.Seek(start); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			k := it.Item().Key()
			if limit != nil && bytes.Compare(k, limit) >= 0 {
				return nil
			}
			if len(entries) == max {
				more = true
				return nil
			}
			e, ok, err := dueEntry(txn, bucket, opts.Kind, it.Item(), base)
			if err != nil {
				return err
			}
			if ok {
				entries = append(entries, e)
			}
		}
		return nil
	})
	return entries, more, err
}

// dueEntry decodes one index entry and loads what filters need.
func dueEntry(txn *badger.Txn, bucket string, kind DueKind, item *badger.Item, base []byte) (DueEntry, bool, error) {
	k := item.KeyCopy(nil)
	rest := k[len(base):]
	if len(rest) < 8 {
		return DueEntry{}, false, fmt.Errorf("malformed index key %q", k)
	}
	e := DueEntry{Time: time.Unix(0, timeFromBytes(rest[:8])).UTC(), Cursor: string(k)}
	rest = rest[8:]
	switch kind {
	case DueCurrent, DueDeleteMarker:
		e.Key = string(rest)
		l, err := getLatest(txn, bucket, e.Key)
		if err != nil || l == nil {
			return e, false, err
		}
		e.VersionID, e.Null, e.DeleteMarker, e.Size, e.Tags, e.ETag = l.ID, l.Null, l.DeleteMarker, l.Size, l.Tags, l.ETag
	case DueUpload:
		i := bytes.LastIndexByte(rest, 0)
		if i < 0 {
			return e, false, fmt.Errorf("malformed index key %q", k)
		}
		e.Key, e.UploadID = string(rest[:i]), string(rest[i+1:])
	case DueNoncurrent:
		if len(rest) < orderLen+1 {
			return e, false, fmt.Errorf("malformed index key %q", k)
		}
		e.Key = string(rest[:len(rest)-orderLen-1])
		var o order
		copy(o[:], rest[len(rest)-orderLen:])
		rec, ok, err := getVersion(txn, bucket, e.Key, o)
		if err != nil || !ok {
			return e, false, err
		}
		e.VersionID, e.Null, e.DeleteMarker, e.Size, e.ETag = rec.ID, rec.Null, rec.DeleteMarker, rec.Size, rec.ETag
		if err := loadTags(txn, bucket, e.Key, o, &e.Tags); err != nil {
			return e, false, err
		}
		e.NewerNoncurrent = newerCount(txn, bucket, e.Key, o) - 1 // less the latest
	}
	return e, true, nil
}

// newerCount counts the versions of key newer than o, up to maxNewerCount+1.
func newerCount(txn *badger.Txn, bucket, key string, o order) int {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: versionPrefix(bucket, key), PrefetchValues: false})
	defer it.Close()
	vk := versionKey(bucket, key, o)
	n := 0
	for it.Rewind(); it.Valid() && n <= maxNewerCount; it.Next() {
		if bytes.Compare(it.Item().Key(), vk) >= 0 {
			break
		}
		n++
	}
	return n
}
