package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// errStale reports a pinned null version older than the null version already
// stored: the write is dropped (last writer by version order wins).
var errStale = errors.New("stale null version")

// newVersion is a version about to be committed.
type newVersion struct {
	bucket, key string
	rec         *versionRecord
	// decideNull: null-ness comes from the bucket's versioning state.
	decideNull bool
	tags       map[string]string
	cond       Conditions
	// extra runs inside the transaction first (multipart completion).
	extra func(txn *badger.Txn) error
	// isLatest is set by commitVersion: the version became the latest.
	isLatest bool
}

func (c Conditions) given() bool {
	return c.IfMatch != "" || c.IfNoneMatch != "" || c.FencingToken > 0 || c.CondLock > 0
}

// commitVersion writes nv in txn: version record, tags, data references,
// latest index and null pointer, replacing a previous null version or a
// version with the same ID. It returns the data files that the commit makes
// unreferenced (to remove after the commit).
func commitVersion(txn *badger.Txn, nv *newVersion) ([]string, error) {
	b, err := getBucket(txn, nv.bucket)
	if err != nil {
		return nil, err
	}
	if nv.extra != nil {
		if err := nv.extra(txn); err != nil {
			return nil, err
		}
	}
	if nv.decideNull {
		nv.rec.Null = b.Versioning != VersioningEnabled
	}
	latest, err := getLatest(txn, nv.bucket, nv.key)
	if err != nil {
		return nil, err
	}
	if err := checkConditions(txn, nv.bucket, nv.key, latest, nv.cond); err != nil {
		return nil, err
	}
	if latest == nil {
		return nil, commitFirstVersion(txn, nv)
	}
	o := nv.rec.order()
	garbage, gone, err := removeVersion(txn, nv.bucket, nv.key, o, latest) // same ID rewritten
	if err != nil {
		return nil, err
	}
	// emptied: the key's only version was removed (an overwrite in an
	// unversioned bucket), so the new one is alone and needs no linking.
	emptied := gone != nil && latest.Only && o == latest.order()
	if nv.rec.Null {
		old, ok, err := getNullOrder(txn, nv.bucket, nv.key)
		if err != nil {
			return nil, err
		}
		if ok && old.cmp(o) > 0 {
			return nil, errStale
		}
		if ok && old != o {
			g, gone, err := removeVersion(txn, nv.bucket, nv.key, old, latest)
			if err != nil {
				return nil, err
			}
			garbage = append(garbage, g...)
			emptied = emptied || (gone != nil && latest.Only && old == latest.order())
		}
		if err := txn.Set(nullKey(nv.bucket, nv.key), o[:]); err != nil {
			return nil, err
		}
	}
	if err := writeVersion(txn, nv); err != nil {
		return nil, err
	}
	if emptied {
		nv.isLatest = true
		return garbage, setNewest(txn, nv, latest, true)
	}
	hasOlder, err := linkVersion(txn, nv.bucket, nv.key, nv.rec, latest)
	if err != nil {
		return nil, err
	}
	nv.isLatest = o.cmp(latest.order()) >= 0
	if nv.isLatest {
		return garbage, setNewest(txn, nv, latest, !hasOlder)
	}
	return garbage, refreshLatest(txn, nv.bucket, nv.key)
}

// commitFirstVersion is commitVersion for a key without any version (its
// 'L' record exists whenever a version does): nothing to replace, no
// neighbour to re-key in the noncurrent index, and the new version is the
// latest. This is the common PUT of a new key, and it takes point writes
// only, no iterator.
func commitFirstVersion(txn *badger.Txn, nv *newVersion) error {
	if nv.rec.Null {
		o := nv.rec.order()
		if err := txn.Set(nullKey(nv.bucket, nv.key), o[:]); err != nil {
			return err
		}
	}
	if err := writeVersion(txn, nv); err != nil {
		return err
	}
	nv.isLatest = true
	return setNewest(txn, nv, nil, true)
}

// setNewest is refreshLatest when the version nv just wrote is the key's
// newest (so the 'L' record is built from it, without a seek). old is the
// 'L' record it replaces; sole says no other version is left.
func setNewest(txn *badger.Txn, nv *newVersion, old *latestRecord, sole bool) error {
	l := nv.rec.latest()
	l.Only = sole
	l.Sole = nv.rec.DeleteMarker && sole
	if len(nv.tags) > 0 {
		l.Tags = maps.Clone(nv.tags)
	}
	if err := reindexLatest(txn, nv.bucket, nv.key, old, &l); err != nil {
		return err
	}
	return setLatest(txn, nv.bucket, nv.key, old, l)
}

// writeVersion writes a version's own records: the version, its tags and
// its data references.
func writeVersion(txn *badger.Txn, nv *newVersion) error {
	o := nv.rec.order()
	v, err := encodeVersion(nv.rec)
	if err != nil {
		return err
	}
	if err := txn.Set(versionKey(nv.bucket, nv.key, o), v); err != nil {
		return err
	}
	if len(nv.tags) > 0 {
		tv, err := json.Marshal(nv.tags)
		if err != nil {
			return err
		}
		if err := txn.Set(tagsKey(nv.bucket, nv.key, o), tv); err != nil {
			return err
		}
	}
	for _, f := range nv.rec.files() {
		if err := txn.Set(dataRefKey(f), nil); err != nil {
			return err
		}
	}
	return nil
}

// removeVersion deletes one version's records (version, tags, data
// references, null pointer if it is the null version, noncurrent index). It
// does not touch the latest index; latest is the key's 'L' record (nil:
// unknown), as for neighbours. Missing: no error, ok false.
func removeVersion(txn *badger.Txn, bucket, key string, o order, latest *latestRecord) ([]string, *versionRecord, error) {
	rec, ok, err := getVersion(txn, bucket, key, o)
	if err != nil || !ok {
		return nil, nil, err
	}
	if err := unlinkVersion(txn, bucket, key, rec, latest); err != nil {
		return nil, nil, err
	}
	if err := txn.Delete(versionKey(bucket, key, o)); err != nil {
		return nil, nil, err
	}
	if err := txn.Delete(tagsKey(bucket, key, o)); err != nil {
		return nil, nil, err
	}
	files := rec.files()
	for _, f := range files {
		if err := txn.Delete(dataRefKey(f)); err != nil {
			return nil, nil, err
		}
	}
	if rec.Null {
		if n, ok, err := getNullOrder(txn, bucket, key); err != nil {
			return nil, nil, err
		} else if ok && n == o {
			if err := txn.Delete(nullKey(bucket, key)); err != nil {
				return nil, nil, err
			}
		}
	}
	return files, rec, nil
}

func getVersion(txn *badger.Txn, bucket, key string, o order) (*versionRecord, bool, error) {
	v, ok, err := getValue(txn, versionKey(bucket, key, o))
	if err != nil || !ok {
		return nil, false, err
	}
	rec, err := decodeVersion(v)
	if err != nil {
		return nil, false, fmt.Errorf("%s/%s: %w", bucket, key, err)
	}
	return rec, true, nil
}

func getLatest(txn *badger.Txn, bucket, key string) (*latestRecord, error) {
	v, ok, err := getValue(txn, latestKey(bucket, key))
	if err != nil || !ok {
		return nil, err
	}
	var l latestRecord
	if err := json.Unmarshal(v, &l); err != nil {
		return nil, fmt.Errorf("latest record %s/%s: %w", bucket, key, err)
	}
	return &l, nil
}

// setLatest writes the 'L' record of key, replacing old (nil: none), and
// keeps the live index 'A' in step: a copy of it while the latest version
// is not a delete marker, nothing otherwise. It deletes an 'A' record only
// where old says there is one, so keys that stay deleted leave no
// tombstones in the index that listings walk.
func setLatest(txn *badger.Txn, bucket, key string, old *latestRecord, l latestRecord) error {
	v, err := json.Marshal(l)
	if err != nil {
		return err
	}
	if err := txn.Set(latestKey(bucket, key), v); err != nil {
		return err
	}
	if !l.DeleteMarker {
		return txn.Set(liveKey(bucket, key), v)
	}
	if old.live() {
		return txn.Delete(liveKey(bucket, key))
	}
	return nil
}

// deleteLatest removes the 'L' record old of key (and its 'A' copy).
func deleteLatest(txn *badger.Txn, bucket, key string, old *latestRecord) error {
	if old.live() {
		if err := txn.Delete(liveKey(bucket, key)); err != nil {
			return err
		}
	}
	return txn.Delete(latestKey(bucket, key))
}

// live reports whether l is a key's latest version that is not a delete
// marker, that is, whether the key has an 'A' record.
func (l *latestRecord) live() bool { return l != nil && !l.DeleteMarker }

func getNullOrder(txn *badger.Txn, bucket, key string) (order, bool, error) {
	var o order
	v, ok, err := getValue(txn, nullKey(bucket, key))
	if err != nil || !ok {
		return o, false, err
	}
	if len(v) != orderLen {
		return o, false, fmt.Errorf("null pointer %s/%s: bad length", bucket, key)
	}
	copy(o[:], v)
	return o, true, nil
}

// checkConditions evaluates preconditions against the latest version, and
// the fencing token against the highest one issued for the key.
func checkConditions(txn *badger.Txn, bucket, key string, latest *latestRecord, c Conditions) error {
	if c.FencingToken > 0 {
		hi, err := getFence(txn, bucket, key)
		if err != nil {
			return err
		}
		if c.FencingToken < hi {
			return fmt.Errorf("%w: token %d < %d", ErrStaleFencingToken, c.FencingToken, hi)
		}
	}
	if c.CondLock > 0 {
		if err := checkCondLock(txn, bucket, key, c.CondLock); err != nil {
			return err
		}
	}
	exists := latest != nil && !latest.DeleteMarker
	if c.IfMatch != "" {
		if !exists {
			return fmt.Errorf("%w: If-Match on %s/%s", ErrNoSuchKey, bucket, key)
		}
		if !etagMatches(c.IfMatch, latest.ETag) {
			return fmt.Errorf("%w: If-Match", ErrPreconditionFailed)
		}
	}
	if c.IfNoneMatch != "" && exists {
		if c.IfNoneMatch == "*" || etagMatches(c.IfNoneMatch, latest.ETag) {
			return fmt.Errorf("%w: If-None-Match", ErrPreconditionFailed)
		}
	}
	return nil
}

// etagMatches compares an ETag condition as sent (a comma-separated list;
// quotes and a weak W/ prefix optional; "*" = any) with a stored ETag.
func etagMatches(sent, stored string) bool {
	for _, e := range strings.Split(sent, ",") {
		e = strings.TrimPrefix(strings.TrimSpace(e), "W/")
		if e == "*" || strings.EqualFold(strings.Trim(e, `"`), stored) {
			return true
		}
	}
	return false
}

func getFence(txn *badger.Txn, bucket, key string) (uint64, error) {
	v, ok, err := getValue(txn, fenceKey(bucket, key))
	if err != nil || !ok {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("fencing record %s/%s: bad length", bucket, key)
	}
	return binary.BigEndian.Uint64(v), nil
}
