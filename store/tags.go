package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"maps"

	"github.com/dgraph-io/badger/v4"
)

// SetObjectTags replaces the tags of a version ("" = latest); nil or empty
// removes them. A delete marker cannot be tagged (ErrNoSuchKey for the
// latest, ErrMethodNotAllowed when named).
func (s *Store) SetObjectTags(ctx context.Context, bucket, key, versionID string, tags map[string]string) (ObjectInfo, error) {
	return s.SetObjectTagsAt(ctx, bucket, key, versionID, tags, 0)
}

// SetObjectTagsAt is SetObjectTags for a change stamped by its coordinator
// (replicas may receive two changes in either order): the change applies
// only if stamp is newer than the version's TagsStamp, which it becomes;
// otherwise the version is left as it is and its current state returned.
// Stamp 0 always applies and keeps the TagsStamp.
func (s *Store) SetObjectTagsAt(ctx context.Context, bucket, key, versionID string, tags map[string]string, stamp uint64) (ObjectInfo, error) {
	done, err := s.begin()
	if err != nil {
		return ObjectInfo{}, err
	}
	defer done()
	var info ObjectInfo
	err = s.update(ctx, false, func(txn *badger.Txn) error {
		res, err := lookup(txn, nil, bucket, key, versionID) // it rewrites the record
		if err != nil {
			if res != nil {
				info = res.info(bucket, key)
			}
			return err
		}
		if stamp > 0 && stamp <= res.rec.TagsStamp {
			info = res.info(bucket, key) // a newer change is already here
			return nil
		}
		if stamp > 0 {
			res.rec.TagsStamp = stamp
			v, err := encodeVersion(res.rec)
			if err != nil {
				return err
			}
			if err := txn.Set(versionKey(bucket, key, res.rec.order()), v); err != nil {
				return err
			}
		}
		k := tagsKey(bucket, key, res.rec.order())
		res.tags = maps.Clone(tags)
		info = res.info(bucket, key)
		if len(tags) == 0 {
			info.Tags = nil
			err = txn.Delete(k)
		} else {
			var v []byte
			if v, err = json.Marshal(tags); err == nil {
				err = txn.Set(k, v)
			}
		}
		if err != nil || !res.isLatest {
			return err
		}
		return refreshLatest(txn, bucket, key) // the tag index follows the latest version
	})
	return info, err
}

// ObserveFencingToken records that the lock service issued token for key:
// the stored token becomes max(stored, token). Writes whose
// Conditions.FencingToken is below it then fail with ErrStaleFencingToken.
func (s *Store) ObserveFencingToken(ctx context.Context, bucket, key string, token uint64) error {
	done, err := s.begin()
	if err != nil {
		return err
	}
	defer done()
	if err := checkKey(key); err != nil {
		return err
	}
	return s.update(ctx, false, func(txn *badger.Txn) error {
		hi, err := getFence(txn, bucket, key)
		if err != nil || token <= hi {
			return err
		}
		return txn.Set(fenceKey(bucket, key), binary.BigEndian.AppendUint64(nil, token))
	})
}

// FencingToken returns the highest fencing token observed for key (0 if none).
func (s *Store) FencingToken(ctx context.Context, bucket, key string) (uint64, error) {
	done, err := s.begin()
	if err != nil {
		return 0, err
	}
	defer done()
	var hi uint64
	err = s.view(func(txn *badger.Txn) error {
		hi, err = getFence(txn, bucket, key)
		return err
	})
	return hi, err
}
