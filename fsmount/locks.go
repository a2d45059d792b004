package fsmount

import (
	"context"
	"errors"
	"time"
)

// Locks across mounts rest on LockingBucket, an optional capability
// detected by type assertion like VersionedBucket. S3Bucket implements it
// over BucketDB's ?lock API (POST/PUT/DELETE/GET on an object with the
// "lock" sub-resource), MemBucket in memory; fileNode implements
// Getlk/Setlk/Setlkw on it (flock.go). Against a server without the API
// (LockProber says so) the mount does not ask the kernel to forward locks,
// so they stay local to the mount.

// LockingBucket is the optional capability behind cross-mount locks.
//
// Contract:
//   - AcquireLock grants key in opts.Mode for opts.TTL, waiting at most
//     opts.Wait while another owner holds a conflicting lock; then it fails
//     with ErrLockConflict. Fencing tokens of a key only ever increase.
//   - RenewLock extends a live lease (ErrLockLost once it expired or was
//     taken); ReleaseLock drops it.
//   - InspectLock returns the live holders (none: an empty slice).
type LockingBucket interface {
	AcquireLock(ctx context.Context, key string, opts LockOptions) (LockGrant, error)
	RenewLock(ctx context.Context, key, token string, ttl time.Duration) (LockGrant, error)
	ReleaseLock(ctx context.Context, key, token string) error
	InspectLock(ctx context.Context, key string) ([]LockGrant, error)
}

// LockProber is optionally implemented by a LockingBucket that can tell
// whether the server behind it has the lock API (S3Bucket).
type LockProber interface {
	LocksSupported(ctx context.Context) bool
}

// LockOptions selects a lock request.
type LockOptions struct {
	Shared bool // a read lock; otherwise exclusive
	TTL    time.Duration
	Wait   time.Duration
	Owner  string // shown to other holders (F_GETLK)
}

// LockGrant is a held lease.
type LockGrant struct {
	Token        string
	FencingToken uint64
	Expires      time.Time
	Shared       bool
	Owner        string
}

// Lock errors of LockingBucket.
var (
	ErrLockConflict = errors.New("lock held by another owner")
	ErrLockLost     = errors.New("lock lease lost")
)
