package store

import (
	"context"

	"github.com/dgraph-io/badger/v4"
)

// BucketConfigs returns every configuration document of a bucket, keyed by
// kind. The cluster layer compares them across nodes to heal bucket
// configuration a node missed. Read-only; it sits in the store only for its
// key layout.
func (s *Store) BucketConfigs(ctx context.Context, bucket string) (map[string][]byte, error) {
	done, err := s.begin()
	if err != nil {
		return nil, err
	}
	defer done()
	out := map[string][]byte{}
	err = s.view(func(txn *badger.Txn) error {
		if _, err := getBucket(txn, bucket); err != nil {
			return err
		}
		p := configPrefix(bucket)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: p, PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			out[string(it.Item().Key()[len(p):])] = v
		}
		return nil
	})
	return out, err
}
