package store

import (
	"bytes"
	"maps"

	"github.com/dgraph-io/badger/v4"
)

// Index maintenance. Every transaction that changes a key's versions or the
// latest version's tags ends here, so the indexes declared in keys.go never
// disagree with the records they derive from:
//   - writeVersion and removeVersion keep the noncurrent index 'O' (linkVersion,
//     unlinkVersion: a version's entry is keyed by the modification time of
//     its next newer version, so inserting or removing a version re-keys its
//     older neighbour);
//   - refreshLatest recomputes the 'L' record from the newest version and
//     rewrites what derives from it ('A' with it, 'G', 'E', 'M' by
//     difference); setNewest does the same without a seek when the
//     version just written is the newest.

// neighbours returns the versions of key just newer and just older than o
// (o itself excluded; nil where there is none). latest is the key's 'L'
// record as of the start of the transaction (nil: unknown): no version is
// newer than it, so when o is not older than it there is no newer version
// to look for; that saves a reverse seek, which costs Badger's memtable a
// search per step, on every write of a key's newest version. When latest
// is the only version and o is it, there is no neighbour at all.
func neighbours(txn *badger.Txn, bucket, key string, o order, latest *latestRecord) (newer, older *versionRecord, err error) {
	if latest != nil && latest.Only && latest.order() == o {
		return nil, nil, nil // the key's only version
	}
	vk := versionKey(bucket, key, o)
	pfx := versionPrefix(bucket, key)
	for _, reverse := range []bool{true, false} {
		if reverse && latest != nil && latest.order().cmp(o) <= 0 {
			continue
		}
		rec, err := adjacent(txn, pfx, vk, reverse)
		if err != nil {
			return nil, nil, err
		}
		if reverse {
			newer = rec // inverted order: newer versions sort first
		} else {
			older = rec
		}
	}
	return newer, older, nil
}

// adjacent returns the first version record after (or, reverse, before) vk
// within pfx, skipping vk itself.
func adjacent(txn *badger.Txn, pfx, vk []byte, reverse bool) (*versionRecord, error) {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: pfx, Reverse: reverse})
	defer it.Close()
	it.Seek(vk)
	if it.Valid() && bytes.Equal(it.Item().Key(), vk) {
		it.Next()
	}
	if !it.Valid() {
		return nil, nil
	}
	v, err := it.Item().ValueCopy(nil)
	if err != nil {
		return nil, err
	}
	return decodeVersion(v)
}

func ncKey(bucket, key string, since int64, o order) []byte {
	return dueKey(pfxNcIdx, bucket, since, key, o[:])
}

// linkVersion records version rec (just written) in the noncurrent index,
// and re-keys its older neighbour, which is now noncurrent since rec. It
// reports whether rec has an older version. latest: as for neighbours.
func linkVersion(txn *badger.Txn, bucket, key string, rec *versionRecord, latest *latestRecord) (hasOlder bool, err error) {
	o := rec.order()
	newer, older, err := neighbours(txn, bucket, key, o, latest)
	if err != nil {
		return false, err
	}
	if newer != nil {
		if err := txn.Set(ncKey(bucket, key, newer.ModTime, o), nil); err != nil {
			return false, err
		}
	}
	if older != nil {
		if newer != nil {
			if err := txn.Delete(ncKey(bucket, key, newer.ModTime, older.order())); err != nil {
				return false, err
			}
		}
		return true, txn.Set(ncKey(bucket, key, rec.ModTime, older.order()), nil)
	}
	return false, nil
}

// unlinkVersion removes version rec (about to be removed) from the
// noncurrent index and re-keys its older neighbour to the newer one (or
// drops its entry when it becomes the latest). latest: as for neighbours.
func unlinkVersion(txn *badger.Txn, bucket, key string, rec *versionRecord, latest *latestRecord) error {
	o := rec.order()
	newer, older, err := neighbours(txn, bucket, key, o, latest)
	if err != nil {
		return err
	}
	if newer != nil {
		if err := txn.Delete(ncKey(bucket, key, newer.ModTime, o)); err != nil {
			return err
		}
	}
	if older != nil {
		if err := txn.Delete(ncKey(bucket, key, rec.ModTime, older.order())); err != nil {
			return err
		}
		if newer != nil {
			return txn.Set(ncKey(bucket, key, newer.ModTime, older.order()), nil)
		}
	}
	return nil
}

// refreshLatest points the latest index at the newest remaining version of
// key (one seek), with its tags and whether it is the only version, or
// removes it when no version is left; the indexes derived from the 'L'
// record follow.
func refreshLatest(txn *badger.Txn, bucket, key string) error {
	old, err := getLatest(txn, bucket, key)
	if err != nil {
		return err
	}
	cur, err := newestVersion(txn, bucket, key)
	if err != nil {
		return err
	}
	if err := reindexLatest(txn, bucket, key, old, cur); err != nil {
		return err
	}
	if cur == nil {
		if old == nil {
			return nil
		}
		return deleteLatest(txn, bucket, key, old)
	}
	return setLatest(txn, bucket, key, old, *cur)
}

// newestVersion builds the 'L' record of key from its versions (nil: none).
func newestVersion(txn *badger.Txn, bucket, key string) (*latestRecord, error) {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: versionPrefix(bucket, key), PrefetchValues: false})
	defer it.Close()
	it.Rewind()
	if !it.Valid() {
		return nil, nil
	}
	v, err := it.Item().ValueCopy(nil)
	if err != nil {
		return nil, err
	}
	rec, err := decodeVersion(v)
	if err != nil {
		return nil, err
	}
	it.Next()
	l := rec.latest()
	l.Only = !it.Valid()
	l.Sole = rec.DeleteMarker && l.Only
	if err := loadTags(txn, bucket, key, rec.order(), &l.Tags); err != nil {
		return nil, err
	}
	return &l, nil
}

// reindexLatest replaces the index entries derived from the 'L' record old
// with those derived from cur (either may be nil).
func reindexLatest(txn *badger.Txn, bucket, key string, old, cur *latestRecord) error {
	oldE, oldM, oldG := derived(bucket, key, old)
	curE, curM, curG := derived(bucket, key, cur)
	for _, pair := range [][2][]byte{{oldE, curE}, {oldM, curM}} {
		if pair[0] != nil && !bytes.Equal(pair[0], pair[1]) {
			if err := txn.Delete(pair[0]); err != nil {
				return err
			}
		}
	}
	for k := range oldG {
		if _, keep := curG[k]; !keep {
			if err := txn.Delete([]byte(k)); err != nil {
				return err
			}
		}
	}
	for k := range curG {
		if _, had := oldG[k]; !had {
			if err := txn.Set([]byte(k), nil); err != nil {
				return err
			}
		}
	}
	if curE != nil && (cur == nil || old == nil || old.ID != cur.ID || !bytes.Equal(oldE, curE)) {
		if err := txn.Set(curE, []byte(cur.ID)); err != nil {
			return err
		}
	}
	if curM != nil && (old == nil || old.ID != cur.ID || !bytes.Equal(oldM, curM)) {
		return txn.Set(curM, []byte(cur.ID))
	}
	return nil
}

// derived lists the index keys an 'L' record implies: its 'E' key (a
// current version), its 'M' key (a sole delete marker) and its 'G' keys.
func derived(bucket, key string, l *latestRecord) (e, m []byte, g map[string]struct{}) {
	if l == nil {
		return nil, nil, nil
	}
	if l.DeleteMarker {
		if l.Sole {
			m = dueKey(pfxDMIdx, bucket, l.ModTime, key, nil)
		}
		return nil, m, nil
	}
	e = dueKey(pfxCurIdx, bucket, l.ModTime, key, nil)
	g = make(map[string]struct{}, len(l.Tags))
	for tk, tv := range maps.All(l.Tags) {
		g[string(append(tagIdxPrefix(bucket, tk, tv), key...))] = struct{}{}
	}
	return e, m, g
}
