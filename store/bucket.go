package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// getBucket reads a bucket record inside txn (ErrNoSuchBucket if absent).
func getBucket(txn *badger.Txn, bucket string) (bucketRecord, error) {
	var r bucketRecord
	v, ok, err := getValue(txn, bucketKey(bucket))
	if err != nil {
		return r, err
	}
	if !ok {
		return r, fmt.Errorf("%w: %s", ErrNoSuchBucket, bucket)
	}
	if err := json.Unmarshal(v, &r); err != nil {
		return r, fmt.Errorf("bucket record %s: %w", bucket, err)
	}
	return r, nil
}

func putBucket(txn *badger.Txn, bucket string, r bucketRecord) error {
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return txn.Set(bucketKey(bucket), v)
}

// ListBuckets returns every bucket in name order.
func (s *Store) ListBuckets(ctx context.Context) ([]BucketInfo, error) {
	done, err := s.begin()
	if err != nil {
		return nil, err
	}
	defer done()
	var out []BucketInfo
	err = s.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: bucketsPrefix(), PrefetchValues: true, PrefetchSize: 100})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var r bucketRecord
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &r) }); err != nil {
				return err
			}
			out = append(out, BucketInfo{Name: string(it.Item().Key()[1:]), Created: r.Created, Versioning: r.Versioning})
		}
		return nil
	})
	return out, err
}

// CreateBucket creates an empty bucket (ErrBucketExists if it exists).
func (s *Store) CreateBucket(ctx context.Context, bucket string) error {
	done, err := s.begin()
	if err != nil {
		return err
	}
	defer done()
	return s.update(ctx, false, func(txn *badger.Txn) error {
		if _, err := getBucket(txn, bucket); err == nil {
			return fmt.Errorf("%w: %s", ErrBucketExists, bucket)
		}
		return putBucket(txn, bucket, bucketRecord{Created: time.Now().UTC()})
	})
}

// GetBucket returns a bucket's record.
func (s *Store) GetBucket(ctx context.Context, bucket string) (BucketInfo, error) {
	done, err := s.begin()
	if err != nil {
		return BucketInfo{}, err
	}
	defer done()
	r, gen, ok := s.buckets.get(bucket)
	if !ok {
		err = s.view(func(txn *badger.Txn) error {
			r, err = getBucket(txn, bucket)
			return err
		})
		if err == nil {
			s.buckets.fill(bucket, r, gen)
		}
	}
	return BucketInfo{Name: bucket, Created: r.Created, Versioning: r.Versioning}, err
}

// bucketCache keeps the bucket records GetBucket read, so the per-request
// bucket check costs no transaction (each one waits for commits in flight).
// Every change of a bucket record invalidates its entry after committing; a
// generation keeps a read that raced with a change from filling the cache
// with the old record. Missing buckets are not cached.
type bucketCache struct {
	mu      sync.Mutex
	gen     uint64
	m       map[string]bucketRecord
	configs map[string]map[string]configEntry // bucket -> kind -> document
}

// configEntry is a cached configuration document, or its absence.
type configEntry struct {
	doc []byte
	ok  bool
}

func (c *bucketCache) getConfig(bucket, kind string) (configEntry, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.configs[bucket][kind]
	return e, c.gen, ok
}

// fillConfig caches a document (or its absence), read when the generation
// was gen.
func (c *bucketCache) fillConfig(bucket, kind string, e configEntry, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if c.configs == nil {
		c.configs = map[string]map[string]configEntry{}
	}
	if c.configs[bucket] == nil {
		c.configs[bucket] = map[string]configEntry{}
	}
	c.configs[bucket][kind] = e
}

func (c *bucketCache) get(bucket string) (bucketRecord, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.m[bucket]
	return r, c.gen, ok
}

// fill caches r, read when the generation was gen.
func (c *bucketCache) fill(bucket string, r bucketRecord, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if c.m == nil {
		c.m = map[string]bucketRecord{}
	}
	c.m[bucket] = r
}

// invalidate drops bucket's entries (its record and its configuration
// documents); call it after the change is committed.
func (c *bucketCache) invalidate(bucket string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.m, bucket)
	delete(c.configs, bucket)
}

// DeleteBucket removes an empty bucket with its configuration and fencing
// records. Any version (delete markers included) or upload makes it
// ErrBucketNotEmpty.
func (s *Store) DeleteBucket(ctx context.Context, bucket string) error {
	done, err := s.begin()
	if err != nil {
		return err
	}
	defer done()
	s.gate.Lock()
	defer s.gate.Unlock()
	defer s.buckets.invalidate(bucket)
	return s.update(ctx, false, func(txn *badger.Txn) error {
		if _, err := getBucket(txn, bucket); err != nil {
			return err
		}
		for _, p := range [][]byte{versionBucketPrefix(bucket), uploadBucketPrefix(bucket)} {
			if hasPrefix(txn, p) {
				return fmt.Errorf("%w: %s", ErrBucketNotEmpty, bucket)
			}
		}
		for _, p := range [][]byte{configPrefix(bucket), fencePrefix(bucket)} {
			if err := deletePrefix(txn, p); err != nil {
				return err
			}
		}
		return txn.Delete(bucketKey(bucket))
	})
}

func hasPrefix(txn *badger.Txn, p []byte) bool {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: p})
	defer it.Close()
	it.Rewind()
	return it.Valid()
}

func deletePrefix(txn *badger.Txn, p []byte) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: p})
	defer it.Close()
	var keys [][]byte
	for it.Rewind(); it.Valid(); it.Next() {
		keys = append(keys, it.Item().KeyCopy(nil))
	}
	for _, k := range keys {
		if err := txn.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// SetBucketVersioning sets Enabled or Suspended. Off is only accepted while
// the bucket has never been versioned (S3 cannot turn versioning off).
func (s *Store) SetBucketVersioning(ctx context.Context, bucket string, v Versioning) error {
	done, err := s.begin()
	if err != nil {
		return err
	}
	defer done()
	switch v {
	case VersioningOff, VersioningEnabled, VersioningSuspended:
	default:
		return fmt.Errorf("%w: versioning state %q", ErrInvalidArgument, v)
	}
	defer s.buckets.invalidate(bucket)
	return s.update(ctx, false, func(txn *badger.Txn) error {
		r, err := getBucket(txn, bucket)
		if err != nil {
			return err
		}
		if v == VersioningOff && r.Versioning != VersioningOff {
			return fmt.Errorf("%w: versioning can only be suspended once enabled", ErrInvalidArgument)
		}
		r.Versioning = v
		return putBucket(txn, bucket, r)
	})
}

// GetBucketConfig returns the document of one configuration kind.
func (s *Store) GetBucketConfig(ctx context.Context, bucket, kind string) ([]byte, error) {
	done, err := s.begin()
	if err != nil {
		return nil, err
	}
	defer done()
	// Cached: the S3 layer reads the lifecycle document for every object
	// read and write (x-amz-expiration), the policy for every anonymous one.
	e, gen, cached := s.buckets.getConfig(bucket, kind)
	if !cached {
		err = s.view(func(txn *badger.Txn) error {
			if _, err := getBucket(txn, bucket); err != nil {
				return err
			}
			e.doc, e.ok, err = getValue(txn, configKey(bucket, kind))
			return err
		})
		if err != nil {
			return nil, err
		}
		s.buckets.fillConfig(bucket, kind, e, gen)
	}
	if !e.ok {
		return nil, fmt.Errorf("%w: %s %s", ErrNoSuchConfig, bucket, kind)
	}
	return slices.Clone(e.doc), nil
}

// PutBucketConfig stores (replaces) the document of one configuration kind.
func (s *Store) PutBucketConfig(ctx context.Context, bucket, kind string, doc []byte) error {
	return s.changeConfig(ctx, bucket, kind, doc, false)
}

// DeleteBucketConfig removes one configuration kind; deleting a missing one
// succeeds, as in S3.
func (s *Store) DeleteBucketConfig(ctx context.Context, bucket, kind string) error {
	return s.changeConfig(ctx, bucket, kind, nil, true)
}

func (s *Store) changeConfig(ctx context.Context, bucket, kind string, doc []byte, del bool) error {
	done, err := s.begin()
	if err != nil {
		return err
	}
	defer done()
	if kind == "" {
		return fmt.Errorf("%w: empty configuration kind", ErrInvalidArgument)
	}
	defer s.buckets.invalidate(bucket)
	return s.update(ctx, false, func(txn *badger.Txn) error {
		if _, err := getBucket(txn, bucket); err != nil {
			return err
		}
		if del {
			return txn.Delete(configKey(bucket, kind))
		}
		return txn.Set(configKey(bucket, kind), doc)
	})
}
