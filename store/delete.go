package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// DeleteObject removes a version or writes a delete marker, as S3 does:
//   - VersionID set: that version ("null" included) is removed for good; if
//     it was the latest, the next newest becomes latest (removing a latest
//     delete marker undeletes). Missing: ErrNoSuchVersion, except "null",
//     which succeeds like S3 does.
//   - otherwise, in a versioned bucket (Enabled, or Suspended: a null
//     marker replacing the null version) a delete marker is written, even if
//     the key does not exist;
//   - otherwise (never versioned) the object is removed; deleting a missing
//     key succeeds.
//
// The caller may pin MarkerVersionID/Null/Versioned; when it leaves
// Versioned false and MarkerVersionID empty, the bucket's state decides.
func (s *Store) DeleteObject(ctx context.Context, bucket, key string, opts DeleteOptions) (DeleteResult, error) {
	done, err := s.begin()
	if err != nil {
		return DeleteResult{}, err
	}
	defer done()
	if err := checkKey(key); err != nil {
		return DeleteResult{}, err
	}
	if opts.VersionID != "" {
		return s.deleteVersion(ctx, bucket, key, opts.VersionID, opts.Cond)
	}
	b, err := s.GetBucket(ctx, bucket)
	if err != nil {
		return DeleteResult{}, err
	}
	pinned := opts.Versioned || opts.MarkerVersionID != ""
	if !pinned && b.Versioning == VersioningOff {
		_, err := s.deleteVersion(ctx, bucket, key, NullVersionID, opts.Cond)
		return DeleteResult{}, err // an unversioned bucket reports no version
	}
	null := opts.Null
	if !pinned {
		null = b.Versioning == VersioningSuspended
	}
	return s.putDeleteMarker(ctx, bucket, key, null, opts)
}

func (s *Store) putDeleteMarker(ctx context.Context, bucket, key string, null bool, opts DeleteOptions) (DeleteResult, error) {
	nv, err := s.prepareVersion(bucket, key, opts.MarkerVersionID, null, opts.ModTime, opts.Cond)
	if err != nil {
		return DeleteResult{}, err
	}
	nv.decideNull = false
	nv.rec.Null = null
	nv.rec.DeleteMarker = true
	if err := s.commit(ctx, nv); err != nil && !errors.Is(err, errStale) {
		return DeleteResult{}, err
	}
	return DeleteResult{VersionID: shownID(nv.rec.ID, null), DeleteMarker: true}, nil
}

// deleteVersion removes one version for good. For the unversioned delete
// (versionID "null" reached without the caller naming it) a missing version
// is no error.
func (s *Store) deleteVersion(ctx context.Context, bucket, key, versionID string, c Conditions) (DeleteResult, error) {
	var o order
	if versionID != NullVersionID {
		p, ok := parseVersionID(versionID)
		if !ok {
			return DeleteResult{}, fmt.Errorf("%w: malformed version ID %q", ErrNoSuchVersion, versionID)
		}
		o = p
	}
	var garbage []string
	var res DeleteResult
	s.gate.RLock()
	defer s.gate.RUnlock()
	// Through the committer: concurrent deletes (a DeleteObjects batch, a
	// recursive remove) share syncs with each other and with puts.
	err := s.groupUpdate(ctx, c.given(), func(txn *badger.Txn) error {
		var err error
		garbage, res, err = removeNamed(txn, bucket, key, versionID, o, c)
		return err
	})
	if err != nil {
		return DeleteResult{}, err
	}
	s.removeFiles(garbage)
	return res, nil
}

func removeNamed(txn *badger.Txn, bucket, key, versionID string, o order, c Conditions) ([]string, DeleteResult, error) {
	if _, err := getBucket(txn, bucket); err != nil {
		return nil, DeleteResult{}, err
	}
	latest, err := getLatest(txn, bucket, key)
	if err != nil {
		return nil, DeleteResult{}, err
	}
	if err := checkConditions(txn, bucket, key, latest, c); err != nil {
		return nil, DeleteResult{}, err
	}
	if versionID == NullVersionID {
		n, ok, err := getNullOrder(txn, bucket, key)
		if err != nil || !ok {
			return nil, DeleteResult{VersionID: NullVersionID}, err
		}
		o = n
	}
	garbage, rec, err := removeVersion(txn, bucket, key, o, latest)
	if err != nil {
		return nil, DeleteResult{}, err
	}
	if rec == nil {
		return nil, DeleteResult{}, fmt.Errorf("%w: %s/%s %s", ErrNoSuchVersion, bucket, key, versionID)
	}
	// Also when a noncurrent version goes: a delete marker may now be the
	// only version left.
	if err := refreshLatest(txn, bucket, key); err != nil {
		return nil, DeleteResult{}, err
	}
	return garbage, DeleteResult{VersionID: shownID(rec.ID, rec.Null), DeleteMarker: rec.DeleteMarker}, nil
}
