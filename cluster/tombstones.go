package cluster

import (
	"bufio"
	"encoding/json"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

// tombstones remembers versions removed for good, so that anti-entropy
// deletes them on replicas that missed the delete instead of copying them
// back. They live in an append-only JSON-lines file, rewritten when expired
// entries are dropped, and in memory indexed by bucket and key. Safe for
// concurrent use.
type tombstones struct {
	path string
	ttl  time.Duration

	mu      sync.Mutex
	buckets map[string]*tombBucket
	file    *os.File
}

type tombBucket struct {
	keys   map[string]map[string]time.Time // key -> version ID -> when
	sorted []string                        // keys in order; nil when stale
}

func openTombstones(path string, ttl time.Duration) (*tombstones, error) {
	t := &tombstones{path: path, ttl: ttl, buckets: map[string]*tombBucket{}}
	if f, err := os.Open(path); err == nil {
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 8<<20)
		for sc.Scan() {
			var ts Tombstone
			if json.Unmarshal(sc.Bytes(), &ts) == nil {
				t.put(ts)
			}
		}
		f.Close()
	}
	if err := t.rewrite(time.Now()); err != nil {
		return nil, err
	}
	return t, nil
}

// put adds ts to the index; it reports whether it was new.
func (t *tombstones) put(ts Tombstone) bool {
	b := t.buckets[ts.Bucket]
	if b == nil {
		b = &tombBucket{keys: map[string]map[string]time.Time{}}
		t.buckets[ts.Bucket] = b
	}
	ids := b.keys[ts.Key]
	if ids == nil {
		ids = map[string]time.Time{}
		b.keys[ts.Key] = ids
		b.sorted = nil
	}
	if _, ok := ids[ts.ID]; ok {
		return false
	}
	ids[ts.ID] = ts.At
	return true
}

// rewrite drops expired entries and rewrites the file.
func (t *tombstones) rewrite(now time.Time) error {
	tmp := t.path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for name, b := range t.buckets {
		for key, ids := range b.keys {
			for id, at := range ids {
				if now.Sub(at) > t.ttl {
					delete(ids, id)
					continue
				}
				enc.Encode(Tombstone{Bucket: name, Key: key, ID: id, At: at})
			}
			if len(ids) == 0 {
				delete(b.keys, key)
				b.sorted = nil
			}
		}
		if len(b.keys) == 0 {
			delete(t.buckets, name)
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	f.Close()
	if err := os.Rename(tmp, t.path); err != nil {
		return err
	}
	if t.file != nil {
		t.file.Close()
	}
	t.file, err = os.OpenFile(t.path, os.O_APPEND|os.O_WRONLY, 0o600)
	return err
}

// add records a tombstone.
func (t *tombstones) add(ts Tombstone) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.put(ts) || t.file == nil {
		return
	}
	b, _ := json.Marshal(ts)
	t.file.Write(append(b, '\n'))
}

// has reports whether a version is tombstoned.
func (t *tombstones) has(bucket, key, id string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buckets[bucket]
	if b == nil {
		return false
	}
	_, ok := b.keys[key][id]
	return ok
}

// inRange returns the tombstones of bucket with keys in (after, through]
// ("" through = unbounded) that start with prefix, in key order.
func (t *tombstones) inRange(bucket, prefix, after, through string) []Tombstone {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buckets[bucket]
	if b == nil {
		return nil
	}
	if b.sorted == nil {
		b.sorted = make([]string, 0, len(b.keys))
		for k := range b.keys {
			b.sorted = append(b.sorted, k)
		}
		sort.Strings(b.sorted)
	}
	var out []Tombstone
	// Keys starting with prefix are contiguous from the first key >= prefix.
	for i := sort.SearchStrings(b.sorted, max(after, prefix)); i < len(b.sorted); i++ {
		k := b.sorted[i]
		if k <= after {
			continue
		}
		if !strings.HasPrefix(k, prefix) || through != "" && k > through {
			break
		}
		ids := make([]string, 0, len(b.keys[k]))
		for id := range b.keys[k] {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			out = append(out, Tombstone{Bucket: bucket, Key: k, ID: id, At: b.keys[k][id]})
		}
	}
	return out
}

// compact drops expired entries.
func (t *tombstones) compact(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rewrite(now)
}

func (t *tombstones) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.file != nil {
		t.file.Close()
		t.file = nil
	}
}
