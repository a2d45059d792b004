package store

import (
	"container/list"
	"errors"
	"sync"

	"github.com/dgraph-io/badger/v4"
)

// recordCache keeps the decoded version records of multipart objects for
// reads. Such a record lists every part (file, size, ETag, time,
// checksums), and decoding it is most of the cost of a ranged GET of a
// large object: clients read those in many ranges (the mount in 2 MiB
// blocks, SDKs in 8 MiB ones). Entries are keyed by the record's key and
// Badger version, so a rewritten record is never served from here.
// Cached records are shared between readers and must not be modified.
type recordCache struct {
	mu    sync.Mutex
	lru   list.List // of *cachedRecord, most recent first
	byKey map[string]*list.Element
	parts int // parts held, bounded by maxCachedParts
}

type cachedRecord struct {
	key     string
	version uint64
	rec     *versionRecord
}

// maxCachedParts bounds the cache by the parts its records list (a part
// costs a few hundred bytes decoded).
const maxCachedParts = 16384

// getVersionForRead is getVersion for lookups that only read the record:
// records of multipart objects come from, and go to, c.
func (c *recordCache) getVersionForRead(txn *badger.Txn, bucket, key string, o order) (*versionRecord, bool, error) {
	if c == nil {
		return getVersion(txn, bucket, key, o)
	}
	k := versionKey(bucket, key, o)
	item, err := txn.Get(k)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if rec := c.get(string(k), item.Version()); rec != nil {
		return rec, true, nil
	}
	v, err := item.ValueCopy(nil)
	if err != nil {
		return nil, false, err
	}
	rec, err := decodeVersion(v)
	if err != nil {
		return nil, false, err
	}
	if len(rec.Parts) > 1 {
		c.put(string(k), item.Version(), rec)
	}
	return rec, true, nil
}

func (c *recordCache) get(key string, version uint64) *versionRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		return nil
	}
	e := el.Value.(*cachedRecord)
	if e.version != version {
		return nil
	}
	c.lru.MoveToFront(el)
	return e.rec
}

func (c *recordCache) put(key string, version uint64, rec *versionRecord) {
	if len(rec.Parts) > maxCachedParts {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byKey == nil {
		c.byKey = map[string]*list.Element{}
	}
	if el, ok := c.byKey[key]; ok {
		c.remove(el)
	}
	c.byKey[key] = c.lru.PushFront(&cachedRecord{key: key, version: version, rec: rec})
	c.parts += len(rec.Parts)
	for c.parts > maxCachedParts {
		c.remove(c.lru.Back())
	}
}

func (c *recordCache) remove(el *list.Element) {
	e := c.lru.Remove(el).(*cachedRecord)
	delete(c.byKey, e.key)
	c.parts -= len(e.rec.Parts)
}
