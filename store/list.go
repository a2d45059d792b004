package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// clampMax applies S3's page-size rules: negative = the default, at most 1000.
func clampMax(n int) int {
	if n < 0 || n > MaxListKeys {
		return MaxListKeys
	}
	return n
}

// commonPrefix returns the common prefix key rolls up into, or "".
func commonPrefix(key, prefix, delim string) string {
	if delim == "" {
		return ""
	}
	if i := strings.Index(key[len(prefix):], delim); i >= 0 {
		return key[:len(prefix)+i+len(delim)]
	}
	return ""
}

// seekPast moves it to the first key after every key starting with
// base+cp; false when nothing can follow.
func seekPast(it *badger.Iterator, base []byte, cp string) bool {
	next := prefixEnd(append(bytes.Clone(base), cp...))
	if next == nil {
		return false
	}
	it.Seek(next)
	return true
}

// startKey is where a listing below base with prefix begins: at the prefix,
// or just after every record of marker when that is further. after is the
// byte that follows marker there: 0x00 for keys that end with the object
// key ('L'), 0x01 for keys that continue with 0x00 and a suffix ('V', 'U').
func startKey(base []byte, prefix, marker string, after byte) []byte {
	k := append(bytes.Clone(base), prefix...)
	if marker != "" && marker >= prefix {
		k = append(append(bytes.Clone(base), marker...), after) // keys never hold NUL
	}
	return k
}

// ListObjects lists the latest non-deleted version of each key (S3
// ListObjects V1/V2 semantics). It walks the live-key index only (keys whose
// latest version is a delete marker are not in it), seeking past whole
// common prefixes and stopping at the end of the prefix. Entries carry
// ContentType and UserMeta (copied from the 'L' record), for listings that
// return metadata; the other headers, checksums, tags and parts are empty.
func (s *Store) ListObjects(ctx context.Context, bucket string, opts ListOptions) (ListResult, error) {
	done, err := s.begin()
	if err != nil {
		return ListResult{}, err
	}
	defer done()
	var res ListResult
	err = s.view(func(txn *badger.Txn) error {
		if _, err := getBucket(txn, bucket); err != nil {
			return err
		}
		res, err = s.listLatest(ctx, txn, bucket, opts)
		return err
	})
	return res, err
}

func (s *Store) listLatest(ctx context.Context, txn *badger.Txn, bucket string, opts ListOptions) (ListResult, error) {
	var res ListResult
	max := clampMax(opts.MaxKeys)
	if max == 0 {
		return res, nil
	}
	src, err := s.latestSource(txn, bucket, opts.Tags)
	if err != nil {
		return res, err
	}
	base := src.base
	it := txn.NewIterator(badger.IteratorOptions{Prefix: append(bytes.Clone(base), opts.Prefix...), PrefetchValues: src.prefetch, PrefetchSize: 64})
	defer it.Close()
	n := 0
	for it.Seek(startKey(base, opts.Prefix, opts.Marker, 0)); it.Valid(); {
		s.listSteps.Add(1)
		if err := ctx.Err(); err != nil {
			return res, err
		}
		key := objectKeyAfter(it.Item().Key(), base)
		l, ok, err := src.load(it.Item(), key)
		if err != nil {
			return res, fmt.Errorf("latest record %s/%s: %w", bucket, key, err)
		}
		if !ok || l.DeleteMarker {
			it.Next()
			continue
		}
		entry := key
		cp := commonPrefix(key, opts.Prefix, opts.Delimiter)
		if cp != "" {
			entry = cp
		}
		if cp == "" || cp > opts.Marker {
			if n == max {
				res.IsTruncated = true
				break
			}
			n++
			res.NextMarker = entry
			if cp != "" {
				res.CommonPrefixes = append(res.CommonPrefixes, cp)
			} else {
				info, err := latestInfo(txn, bucket, key, &l)
				if err != nil {
					return res, err
				}
				res.Objects = append(res.Objects, info)
			}
		}
		if cp == "" {
			it.Next()
		} else if !seekPast(it, base, cp) {
			break
		}
	}
	if !res.IsTruncated {
		res.NextMarker = ""
	}
	return res, nil
}

// latestInfo renders an 'L' record as a listing entry, with the content
// type and user metadata the record carries; only for records without them
// (written before 'L' carried them, or with metadata over maxLatestMeta)
// does it read the version record.
func latestInfo(txn *badger.Txn, bucket, key string, l *latestRecord) (ObjectInfo, error) {
	info := l.info(bucket, key)
	if l.HasMeta || l.DeleteMarker {
		return info, nil
	}
	rec, ok, err := getVersion(txn, bucket, key, l.order())
	if err != nil || !ok {
		return info, err
	}
	info.ContentType, info.UserMeta = rec.Meta.ContentType, rec.Meta.UserMeta
	return info, nil
}

// latestSource is what listLatest walks: the live index 'A' (the 'L'
// records of keys whose latest version is not a delete marker), or the tag
// index entries of one tag pair, whose keys end with the object key like
// the live index's do.
type latestSource struct {
	base     []byte
	prefetch bool
	load     func(item *badger.Item, key string) (latestRecord, bool, error)
}

// latestSource picks the walk for a listing: with tags, the tag index of
// the pair with the fewest entries (counted up to a bound), checking the
// other pairs on each candidate's 'L' record.
func (s *Store) latestSource(txn *badger.Txn, bucket string, tags map[string]string) (latestSource, error) {
	if len(tags) == 0 {
		// The live index: keys whose latest version is a delete marker are
		// not there to skip.
		return latestSource{base: livePrefix(bucket), prefetch: true,
			load: func(item *badger.Item, _ string) (latestRecord, bool, error) {
				var l latestRecord
				err := item.Value(func(v []byte) error { return json.Unmarshal(v, &l) })
				return l, err == nil, err
			}}, nil
	}
	const countBound = 256
	best, bestN := "", -1
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		n := countUpTo(txn, tagIdxPrefix(bucket, k, tags[k]), countBound)
		if bestN < 0 || n < bestN {
			best, bestN = k, n
		}
	}
	return latestSource{base: tagIdxPrefix(bucket, best, tags[best]),
		load: func(_ *badger.Item, key string) (latestRecord, bool, error) {
			l, err := getLatest(txn, bucket, key)
			if err != nil || l == nil {
				return latestRecord{}, false, err
			}
			for k, v := range tags {
				if got, ok := l.Tags[k]; !ok || got != v {
					return *l, false, nil
				}
			}
			return *l, true, nil
		}}, nil
}

// countUpTo counts the keys with prefix p, stopping at bound.
func countUpTo(txn *badger.Txn, p []byte, bound int) int {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: p, PrefetchValues: false})
	defer it.Close()
	n := 0
	for it.Rewind(); it.Valid() && n < bound; it.Next() {
		n++
	}
	return n
}

// ListObjectVersions lists versions and delete markers: keys ascending,
// newest first within a key, with S3's key/version-ID marker semantics.
func (s *Store) ListObjectVersions(ctx context.Context, bucket string, opts ListVersionsOptions) (ListVersionsResult, error) {
	done, err := s.begin()
	if err != nil {
		return ListVersionsResult{}, err
	}
	defer done()
	var res ListVersionsResult
	err = s.view(func(txn *badger.Txn) error {
		if _, err := getBucket(txn, bucket); err != nil {
			return err
		}
		res, err = s.listVersions(ctx, txn, bucket, opts)
		return err
	})
	return res, err
}

// versionsStart is the first 'V' key a version listing visits, and whether
// the walk begins inside KeyMarker's versions (after VersionIDMarker).
func versionsStart(txn *badger.Txn, bucket string, opts ListVersionsOptions) ([]byte, error) {
	base := versionBucketPrefix(bucket)
	if opts.KeyMarker == "" || opts.VersionIDMarker == "" {
		return startKey(base, opts.Prefix, opts.KeyMarker, 1), nil
	}
	var o order
	if opts.VersionIDMarker == NullVersionID {
		n, ok, err := getNullOrder(txn, bucket, opts.KeyMarker)
		if err != nil {
			return nil, err
		}
		if !ok {
			return startKey(base, opts.Prefix, opts.KeyMarker, 1), nil
		}
		o = n
	} else {
		p, ok := parseVersionID(opts.VersionIDMarker)
		if !ok {
			return nil, fmt.Errorf("%w: version-id-marker %q", ErrInvalidArgument, opts.VersionIDMarker)
		}
		o = p
	}
	// Just after the marker version: the inverted order plus one zero byte.
	k := append(versionKey(bucket, opts.KeyMarker, o), 0)
	if min := append(bytes.Clone(base), opts.Prefix...); bytes.Compare(k, min) < 0 {
		return min, nil
	}
	return k, nil
}

func (s *Store) listVersions(ctx context.Context, txn *badger.Txn, bucket string, opts ListVersionsOptions) (ListVersionsResult, error) {
	var res ListVersionsResult
	max := clampMax(opts.MaxKeys)
	if max == 0 {
		return res, nil
	}
	start, err := versionsStart(txn, bucket, opts)
	if err != nil {
		return res, err
	}
	base := versionBucketPrefix(bucket)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: append(bytes.Clone(base), opts.Prefix...), PrefetchValues: true, PrefetchSize: 16})
	defer it.Close()
	w := versionWalk{txn: txn, bucket: bucket, opts: opts, max: max, res: &res}
	for it.Seek(start); it.Valid(); {
		s.listSteps.Add(1)
		if err := ctx.Err(); err != nil {
			return res, err
		}
		key, o, err := parseVersionKey(it.Item().Key(), base)
		if err != nil {
			return res, err
		}
		cp := commonPrefix(key, opts.Prefix, opts.Delimiter)
		if cp != "" {
			if cp > opts.KeyMarker && !w.add(cp, nil) {
				break
			}
			if !seekPast(it, base, cp) {
				break
			}
			continue
		}
		info, err := w.version(it.Item(), key, o)
		if err != nil {
			return res, err
		}
		if !w.add("", &info) {
			break
		}
		it.Next()
	}
	if !res.IsTruncated {
		res.NextKeyMarker, res.NextVersionIDMarker = "", ""
	}
	return res, nil
}

// versionWalk accumulates one page of a version listing.
type versionWalk struct {
	txn     *badger.Txn
	bucket  string
	opts    ListVersionsOptions
	max, n  int
	res     *ListVersionsResult
	lastKey string
	latest  *latestRecord // of lastKey
}

// add appends a common prefix or a version; false once the page is full
// (IsTruncated is then set).
func (w *versionWalk) add(cp string, v *ObjectInfo) bool {
	if w.n == w.max {
		w.res.IsTruncated = true
		return false
	}
	w.n++
	if v == nil {
		w.res.CommonPrefixes = append(w.res.CommonPrefixes, cp)
		w.res.NextKeyMarker, w.res.NextVersionIDMarker = cp, ""
		return true
	}
	w.res.Versions = append(w.res.Versions, *v)
	w.res.NextKeyMarker, w.res.NextVersionIDMarker = v.Key, v.VersionID
	return true
}

func (w *versionWalk) version(item *badger.Item, key string, o order) (ObjectInfo, error) {
	var rec *versionRecord
	err := item.Value(func(v []byte) error {
		var err error
		rec, err = decodeVersion(v)
		return err
	})
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("%s/%s: %w", w.bucket, key, err)
	}
	if key != w.lastKey || w.latest == nil {
		if w.latest, err = getLatest(w.txn, w.bucket, key); err != nil {
			return ObjectInfo{}, err
		}
		w.lastKey = key
	}
	info := rec.info(w.bucket, key)
	info.Parts = nil
	info.IsLatest = w.latest != nil && w.latest.order() == o
	return info, nil
}
