package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Group commit. Every Badger transaction, read-only ones included, waits at
// its start for all transactions already committing to be applied. With one
// transaction per write, concurrent writers therefore advance in lock step,
// one commit and two syncs (value log and WAL) per few writes. Version
// commits, deletes and part records are instead queued to one committer
// goroutine that applies all waiting commits in a single transaction: one
// sync per batch, and a batch holds every write that arrived while the
// previous one was on disk. (Reads do not wait at all: they use the
// published snapshot, snapshot.go.)
//
// A commit's function validates before it writes (precondition, bucket,
// stale null version), so a failing function normally leaves nothing in the
// transaction; since it may have written, the batch is rebuilt without it
// anyway. A batch that conflicts with a transaction outside the committer is
// retried (conditional commits get ErrConditionalConflict, as in update).

type commitReq struct {
	fn          func(txn *badger.Txn) error
	conditional bool
	err         error
	done        chan struct{}
}

type committer struct {
	// batches, commits and busy (nanoseconds) are CommitStats.
	batches, commits, busy atomic.Int64

	mu      sync.Mutex
	queue   []*commitReq
	stopped bool
	wake    chan struct{} // capacity 1: work is queued
	stop    chan struct{}
	exited  chan struct{}
}

func newCommitter() *committer {
	return &committer{wake: make(chan struct{}, 1), stop: make(chan struct{}), exited: make(chan struct{})}
}

// groupUpdate runs fn in a transaction shared with other concurrent commits
// and returns once that transaction is durable (or failed). fn must be
// repeatable: a batch may be rebuilt and fn run again.
func (s *Store) groupUpdate(ctx context.Context, conditional bool, fn func(txn *badger.Txn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c := s.committer
	r := &commitReq{fn: fn, conditional: conditional, done: make(chan struct{})}
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return ErrClosed
	}
	c.queue = append(c.queue, r)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	<-r.done // once queued, the commit may happen: wait for its outcome
	return r.err
}

// runCommitter is the committer goroutine: it drains the queue a batch at a
// time until stopCommitter.
func (s *Store) runCommitter() {
	c := s.committer
	defer close(c.exited)
	for {
		select {
		case <-c.wake:
		case <-c.stop:
			// Callers are gone (Close waited for running operations);
			// answer anything left over all the same.
			c.mu.Lock()
			batch := c.queue
			c.queue, c.stopped = nil, true
			c.mu.Unlock()
			s.commitBatch(batch)
			return
		}
		for {
			c.mu.Lock()
			batch := c.queue
			c.queue = nil
			c.mu.Unlock()
			if len(batch) == 0 {
				break
			}
			s.commitBatch(batch)
		}
	}
}

func (s *Store) stopCommitter() {
	c := s.committer
	close(c.stop)
	<-c.exited
}

// commitBatch applies reqs in as few transactions as possible and answers
// each one.
func (s *Store) commitBatch(reqs []*commitReq) {
	if len(reqs) == 0 {
		return
	}
	start := time.Now()
	c := s.committer
	c.batches.Add(1)
	c.commits.Add(int64(len(reqs)))
	defer func() { c.busy.Add(int64(time.Since(start))) }()
	answer := func(r *commitReq, err error) {
		r.err = err
		close(r.done)
	}
	for attempt := 0; len(reqs) > 0; {
		txn := s.db.NewTransaction(true)
		n, failed := len(reqs), -1
		var ferr error
		for i, r := range reqs {
			if err := r.fn(txn); err != nil {
				if errors.Is(err, badger.ErrTxnTooBig) && i > 0 {
					n = i // commit what fits; the rest goes next
					break
				}
				failed, ferr = i, err
				break
			}
		}
		if failed >= 0 {
			txn.Discard()
			answer(reqs[failed], ferr)
			reqs = slices.Delete(reqs, failed, failed+1)
			continue
		}
		err := txn.Commit()
		txn.Discard()
		if err == nil {
			s.publish() // before anyone is answered
		}
		if errors.Is(err, badger.ErrConflict) {
			// Conditional commits were checked against a state that
			// changed: refuse them; retry the rest.
			rest := reqs[:0]
			for _, r := range reqs {
				if r.conditional {
					answer(r, fmt.Errorf("%w: %v", ErrConditionalConflict, err))
				} else {
					rest = append(rest, r)
				}
			}
			reqs = rest
			if attempt++; attempt <= maxConflictRetries {
				time.Sleep(time.Duration(attempt) * time.Millisecond)
				continue
			}
			err = fmt.Errorf("store: commit: %w", err)
			n = len(reqs)
		}
		for _, r := range reqs[:n] {
			answer(r, err)
		}
		reqs = reqs[n:]
	}
}

// CommitStats are the group committer's totals since the store opened.
// Commits/Batches is the mean batch size: each batch costs the value log's
// and the WAL's sync, so it is the figure that bounds small writes per
// second; Busy/Batches is the mean time a batch took.
type CommitStats struct {
	Batches, Commits int64
	Busy             time.Duration
}

// CommitStats returns the group committer's totals.
func (s *Store) CommitStats() CommitStats {
	c := s.committer
	return CommitStats{Batches: c.batches.Load(), Commits: c.commits.Load(), Busy: time.Duration(c.busy.Load())}
}
