package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Locks: the store keeps one node's votes of the cluster's lock service.
//
// A lock names (bucket, key, space): space "" holds the locks clients take
// through the lock API, LockSpaceCond the short locks a coordinator takes
// around a conditional write. Each (bucket, key, space) has one record in
// Badger ('K' bucket 0x00 objkey 0x00 space) with the holders this node
// granted and the highest fencing token it ever granted, so a restarted
// node neither forgets its grants nor grants a token twice. Granting in the
// client space also raises the key's fencing record ('F'), in the same
// transaction, so that a write carrying an older token is refused at commit.
//
// Leases are judged with this node's clock: a holder is live until the
// Expires this node stored (now + TTL at the grant or last renewal).

// Lock modes.
const (
	LockExclusive = "exclusive"
	LockShared    = "shared"
)

// LockSpaceCond is the lock space of conditional writes.
const LockSpaceCond = "cond"

// Bounds of a lock lease.
const (
	MinLockTTL         = time.Second
	MaxLockTTL         = time.Hour
	MaxLockOwnerLength = 1024
)

// LockOptions is what a client asks for when it acquires a lock.
type LockOptions struct {
	Mode  string        // LockExclusive ("" means exclusive) or LockShared
	TTL   time.Duration // lease length, within [MinLockTTL, MaxLockTTL]
	Wait  time.Duration // how long to wait for a held lock; 0 = fail at once
	Owner string        // free text shown to others
}

// LockGrant is a held lock as its holder sees it. Expires is the holder's
// own, conservative view: slightly before the replicas let the lease go.
type LockGrant struct {
	Token   string // secret that renews and releases the lock
	Fencing uint64 // fencing token of this grant
	Mode    string
	Owner   string
	Expires time.Time
}

// LockHolder is one holder of a lock as a replica (or Inspect) shows it.
type LockHolder struct {
	Token   string `json:",omitempty"` // set on replicas only; Inspect leaves it empty
	Owner   string `json:",omitempty"`
	Mode    string
	Fencing uint64
	Expires time.Time
}

// LockInfo lists the live holders of a lock.
type LockInfo struct {
	Bucket  string
	Key     string
	Holders []LockHolder
}

// LockConflictError is ErrLockConflict with the holders that were in the way.
type LockConflictError struct {
	Holders []LockHolder
}

func (e *LockConflictError) Error() string {
	if len(e.Holders) == 0 {
		return ErrLockConflict.Error()
	}
	var b strings.Builder
	b.WriteString(ErrLockConflict.Error())
	for i, h := range e.Holders {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s lock of %q until %s", h.Mode, h.Owner, h.Expires.UTC().Format(time.RFC3339))
	}
	return b.String()
}

func (e *LockConflictError) Unwrap() error { return ErrLockConflict }

// LockVote is one replica's part of a lock operation.
type LockVote struct {
	Space   string `json:",omitempty"`
	Token   string `json:",omitempty"`
	Owner   string `json:",omitempty"`
	Mode    string `json:",omitempty"`
	Fencing uint64 `json:",omitempty"`
	TTL     time.Duration
}

// LockState is what one replica knows of a lock: its live holders and the
// highest fencing token it granted (or observed) for the key.
type LockState struct {
	MaxToken uint64
	Holders  []LockHolder `json:",omitempty"`
}

// lockRecord is the persisted form of a LockState.
type lockRecord struct {
	MaxToken uint64       `json:"max"`
	Holders  []LockHolder `json:"holders,omitempty"`
}

// pfxLock prefixes lock records (see the key layout in keys.go).
const pfxLock = 'K'

func lockKey(b, key, space string) []byte { return mkKey(pfxLock, b, key, space) }

// prune drops the holders whose lease ended by now.
func (r *lockRecord) prune(now time.Time) {
	live := r.Holders[:0]
	for _, h := range r.Holders {
		if now.Before(h.Expires) {
			live = append(live, h)
		}
	}
	r.Holders = live
}

func getLock(txn *badger.Txn, bucket, key, space string) (*lockRecord, error) {
	v, ok, err := getValue(txn, lockKey(bucket, key, space))
	if err != nil || !ok {
		return &lockRecord{}, err
	}
	var r lockRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, fmt.Errorf("lock record %s/%s: %w", bucket, key, err)
	}
	return &r, nil
}

func putLock(txn *badger.Txn, bucket, key, space string, r *lockRecord) error {
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return txn.Set(lockKey(bucket, key, space), v)
}

// lockState reads the record (pruned) and the highest token that bounds a
// new grant.
func lockState(txn *badger.Txn, bucket, key, space string, now time.Time) (*lockRecord, LockState, error) {
	if _, err := getBucket(txn, bucket); err != nil {
		return nil, LockState{}, err
	}
	r, err := getLock(txn, bucket, key, space)
	if err != nil {
		return nil, LockState{}, err
	}
	r.prune(now)
	st := LockState{MaxToken: r.MaxToken, Holders: append([]LockHolder(nil), r.Holders...)}
	if space == "" {
		hi, err := getFence(txn, bucket, key)
		if err != nil {
			return nil, LockState{}, err
		}
		st.MaxToken = max(st.MaxToken, hi)
	}
	return r, st, nil
}

func (s *Store) lockOp(ctx context.Context, bucket, key string, v LockVote, write bool,
	fn func(txn *badger.Txn, r *lockRecord, st *LockState, now time.Time) error) (LockState, error) {
	done, err := s.begin()
	if err != nil {
		return LockState{}, err
	}
	defer done()
	if err := checkKey(key); err != nil {
		return LockState{}, err
	}
	var st LockState
	body := func(txn *badger.Txn) error {
		now := time.Now()
		r, s0, err := lockState(txn, bucket, key, v.Space, now)
		if err != nil {
			return err
		}
		st = s0
		return fn(txn, r, &st, now)
	}
	if !write {
		err = s.view(body)
	} else {
		err = s.update(ctx, false, body)
	}
	return st, err
}

// LockPeek returns this node's view of a lock.
func (s *Store) LockPeek(ctx context.Context, bucket, key, space string) (LockState, error) {
	return s.lockOp(ctx, bucket, key, LockVote{Space: space}, false,
		func(*badger.Txn, *lockRecord, *LockState, time.Time) error { return nil })
}

// LockGrant votes for granting v: it records v.Token as a holder until now
// + v.TTL, unless a live holder conflicts (ErrLockConflict: an exclusive
// request meets any holder, a shared one an exclusive holder) or v.Fencing
// is not above every token this node granted or observed for the key
// (ErrStaleFencingToken). Granting the same token twice is idempotent. The
// returned state is the one after the vote (or the one that refused it).
func (s *Store) LockGrant(ctx context.Context, bucket, key string, v LockVote) (LockState, error) {
	if v.Mode != LockExclusive && v.Mode != LockShared {
		return LockState{}, fmt.Errorf("%w: lock mode %q", ErrInvalidArgument, v.Mode)
	}
	if v.Token == "" || v.TTL <= 0 || v.Fencing == 0 {
		return LockState{}, fmt.Errorf("%w: lock vote without token, TTL or fencing token", ErrInvalidArgument)
	}
	return s.lockOp(ctx, bucket, key, v, true, func(txn *badger.Txn, r *lockRecord, st *LockState, now time.Time) error {
		for i, h := range r.Holders {
			if h.Token == v.Token { // a retried vote
				r.Holders[i].Expires = now.Add(v.TTL)
				st.Holders = append([]LockHolder(nil), r.Holders...)
				return putLock(txn, bucket, key, v.Space, r)
			}
		}
		for _, h := range r.Holders {
			if v.Mode == LockExclusive || h.Mode == LockExclusive {
				return ErrLockConflict
			}
		}
		if v.Fencing <= st.MaxToken {
			return fmt.Errorf("%w: token %d <= %d", ErrStaleFencingToken, v.Fencing, st.MaxToken)
		}
		r.MaxToken = v.Fencing
		r.Holders = append(r.Holders, LockHolder{Token: v.Token, Owner: v.Owner, Mode: v.Mode,
			Fencing: v.Fencing, Expires: now.Add(v.TTL)})
		st.MaxToken, st.Holders = v.Fencing, append([]LockHolder(nil), r.Holders...)
		if v.Space == "" {
			if err := observeFence(txn, bucket, key, v.Fencing); err != nil {
				return err
			}
		}
		return putLock(txn, bucket, key, v.Space, r)
	})
}

// LockRenew extends the live lease of v.Token to now + v.TTL
// (ErrLockLost if this node holds no live lease under that token).
func (s *Store) LockRenew(ctx context.Context, bucket, key string, v LockVote) (LockState, error) {
	if v.TTL <= 0 {
		return LockState{}, fmt.Errorf("%w: lock TTL %v", ErrInvalidArgument, v.TTL)
	}
	return s.lockOp(ctx, bucket, key, v, true, func(txn *badger.Txn, r *lockRecord, st *LockState, now time.Time) error {
		for i, h := range r.Holders {
			if h.Token == v.Token {
				r.Holders[i].Expires = now.Add(v.TTL)
				st.Holders = append([]LockHolder(nil), r.Holders...)
				return putLock(txn, bucket, key, v.Space, r)
			}
		}
		return ErrLockLost
	})
}

// LockRelease drops v.Token's lease (ErrNoSuchLock if this node holds no
// live lease under that token). The highest token stays recorded.
func (s *Store) LockRelease(ctx context.Context, bucket, key string, v LockVote) (LockState, error) {
	return s.lockOp(ctx, bucket, key, v, true, func(txn *badger.Txn, r *lockRecord, st *LockState, now time.Time) error {
		for i, h := range r.Holders {
			if h.Token == v.Token {
				r.Holders = append(r.Holders[:i], r.Holders[i+1:]...)
				st.Holders = append([]LockHolder(nil), r.Holders...)
				return putLock(txn, bucket, key, v.Space, r)
			}
		}
		return ErrNoSuchLock
	})
}

// observeFence raises the key's fencing record to token.
func observeFence(txn *badger.Txn, bucket, key string, token uint64) error {
	hi, err := getFence(txn, bucket, key)
	if err != nil || token <= hi {
		return err
	}
	return txn.Set(fenceKey(bucket, key), binary.BigEndian.AppendUint64(nil, token))
}

// checkCondLock refuses a conditional write whose coordinator's
// conditional-write lock (token) was superseded by a newer grant on this
// node: the slow loser of a race cannot overwrite the winner.
func checkCondLock(txn *badger.Txn, bucket, key string, token uint64) error {
	r, err := getLock(txn, bucket, key, LockSpaceCond)
	if err != nil {
		return err
	}
	if token < r.MaxToken {
		return fmt.Errorf("%w: conditional-write lock %d superseded by %d", ErrConditionalConflict, token, r.MaxToken)
	}
	return nil
}
