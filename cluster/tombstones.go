package cluster

import (
	"bufio"
	"encoding/json"
	"os"
	"sort"
	"sync"
	"time"
)

// tombstones remembers versions removed for good, so that anti-entropy
// deletes them on replicas that missed the delete instead of copying them
// back. They live in an append-only JSON-lines file, compacted when expired
// entries are dropped. Safe for concurrent use.
type tombstones struct {
	path string
	ttl  time.Duration

	mu   sync.Mutex
	set  map[tombKey]time.Time
	file *os.File
}

type tombKey struct{ bucket, key, id string }

func openTombstones(path string, ttl time.Duration) (*tombstones, error) {
	t := &tombstones{path: path, ttl: ttl, set: map[tombKey]time.Time{}}
	if f, err := os.Open(path); err == nil {
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 8<<20)
		for sc.Scan() {
			var ts Tombstone
			if json.Unmarshal(sc.Bytes(), &ts) == nil {
				t.set[tombKey{ts.Bucket, ts.Key, ts.ID}] = ts.At
			}
		}
		f.Close()
	}
	if err := t.rewrite(time.Now()); err != nil {
		return nil, err
	}
	return t, nil
}

// rewrite drops expired entries and rewrites the file.
func (t *tombstones) rewrite(now time.Time) error {
	for k, at := range t.set {
		if now.Sub(at) > t.ttl {
			delete(t.set, k)
		}
	}
	tmp := t.path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for k, at := range t.set {
		enc.Encode(Tombstone{Bucket: k.bucket, Key: k.key, ID: k.id, At: at})
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
	k := tombKey{ts.Bucket, ts.Key, ts.ID}
	if _, ok := t.set[k]; ok {
		return
	}
	t.set[k] = ts.At
	if t.file != nil {
		b, _ := json.Marshal(ts)
		t.file.Write(append(b, '\n'))
	}
}

// has reports whether a version is tombstoned.
func (t *tombstones) has(bucket, key, id string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.set[tombKey{bucket, key, id}]
	return ok
}

// inRange returns the tombstones of bucket with keys in (after, through]
// ("" through = unbounded), in key order.
func (t *tombstones) inRange(bucket, after, through string) []Tombstone {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []Tombstone
	for k, at := range t.set {
		if k.bucket == bucket && k.key > after && (through == "" || k.key <= through) {
			out = append(out, Tombstone{Bucket: k.bucket, Key: k.key, ID: k.id, At: at})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Key != out[j].Key {
			return out[i].Key < out[j].Key
		}
		return out[i].ID < out[j].ID
	})
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
