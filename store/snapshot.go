package store

import (
	"sync"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4"
)

// Read snapshots. A new Badger transaction waits at its start until every
// commit already in flight is applied, its value-log and WAL syncs
// included, so a read begun while a batch is being synced would wait for
// the disk. Reads instead share one read-only transaction, the published
// snapshot. Every writer publishes a new one after its commit and before
// it answers, so a read that starts after a write was answered sees that
// write, and no read waits for a sync. A snapshot is discarded once it is
// replaced and every read holding it has finished.

type snapshot struct {
	txn  *badger.Txn
	refs atomic.Int64 // readers, plus one while published
}

func (p *snapshot) release() {
	if p.refs.Add(-1) == 0 {
		p.txn.Discard()
	}
}

// snapshots holds the published snapshot.
type snapshots struct {
	mu     sync.RWMutex
	cur    *snapshot
	closed bool
}

// view runs fn on the published snapshot. fn must close its iterators.
func (s *Store) view(fn func(txn *badger.Txn) error) error {
	ss := &s.snaps
	ss.mu.RLock()
	p := ss.cur
	if p != nil {
		p.refs.Add(1)
	}
	ss.mu.RUnlock()
	if p == nil {
		return ErrClosed
	}
	defer p.release()
	return fn(p.txn)
}

// publish makes a snapshot of every commit finished so far the one that
// reads use, unless a newer one is already published.
func (s *Store) publish() {
	s.snaps.mu.RLock()
	closed := s.snaps.closed
	s.snaps.mu.RUnlock()
	if !closed {
		s.install(s.db.NewTransaction(false))
	}
}

// install publishes the read-only transaction txn unless the published
// snapshot is as new: concurrent writers may install out of order.
func (s *Store) install(txn *badger.Txn) {
	p := &snapshot{txn: txn}
	p.refs.Store(1)
	ss := &s.snaps
	ss.mu.Lock()
	old := ss.cur
	if ss.closed || old != nil && old.txn.ReadTs() >= txn.ReadTs() {
		ss.mu.Unlock()
		txn.Discard()
		return
	}
	ss.cur = p
	ss.mu.Unlock()
	if old != nil {
		old.release()
	}
}

// closeSnapshots retires the published snapshot; later views fail with
// ErrClosed.
func (s *Store) closeSnapshots() {
	ss := &s.snaps
	ss.mu.Lock()
	old := ss.cur
	ss.cur, ss.closed = nil, true
	ss.mu.Unlock()
	if old != nil {
		old.release()
	}
}
