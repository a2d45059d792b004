package cluster

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Read leases let a replica answer a read of a key from its own store
// alone (R = 1) and stay linearizable.
//
// Every node grants every other node a lease, renewed every leaseRenew
// for leaseTerm. A run of leases is unbroken while every renewal comes
// before the last grant ran out and no write went without the holder;
// the granter tells the holder when a run broke (Gap). A node that holds
// an unbroken run from every other live member has every acknowledged
// write of the keys it replicates, provided it had them all when the
// run began.
//
// That provision is the catch-up. A run begins after a gap (the node was
// cut off, restarted, or a write went without it), after a change of the
// member registry (keys move), or after this node failed to commit one of
// its own writes. The node then asks every peer for an anti-entropy pass
// and runs its own; once every pass that started after the run began has
// completed cleanly, and the run is still unbroken, it asks for its
// leases as a reader (Reading) and, holding such a lease from every other
// member, serves local reads. Until then, and whenever a lease is
// missing, reads take the quorum path.
//
// A granter promises a reader: a write it coordinates is acknowledged
// only once every replica holding its reader lease has committed it; a
// replica that did not is waited out (the write blocks until that lease
// has run out, and no renewal is granted meanwhile). A write that goes
// without a holder that is not reading costs no wait: it only breaks the
// holder's run. So a replica that keeps failing writes stalls at most the
// first of them.
//
// Leases and local reads are for one member registry (a fingerprint of
// it): a holder reads locally only keys placed under the registry its
// leases were granted for, and a coordinator whose registry changed
// acknowledges writes only once every reader lease it granted under the
// old one has run out (settle), since such a reader may replicate a key
// under the old placement that it does not under the new.
//
// Time is each node's monotonic clock, never the HLC: a holder counts
// its lease from the moment it sent the request (before the granter's
// grant) and gives up leaseMargin early, so the holder's lease always
// ends before the granter's promise does. A restarted granter that knew
// peers honours the promises of its previous life by treating every
// holder as a reader until leaseTerm after its start.
const (
	leaseTerm   = 2 * time.Second
	leaseRenew  = 700 * time.Millisecond
	leaseMargin = 250 * time.Millisecond
)

// LeaseRequest asks a peer for a read lease.
type LeaseRequest struct {
	Holder  string
	View    uint64 // fingerprint of the holder's member registry
	Heal    bool   // the holder is catching up: run an anti-entropy pass
	Reading bool   // the holder has caught up and reads locally
}

// LeaseResponse is a peer's answer. HealStarted counts the anti-entropy
// passes the granter started; HealClean is the number of the last one
// that completed with every replica reached.
type LeaseResponse struct {
	Granted     bool
	Gap         bool // the granter's previous promise had run out
	HealStarted int64
	HealClean   int64
}

// leases is a node's lease bookkeeping, as granter and as holder. Times
// are nanoseconds of the monotonic clock since base.
type leases struct {
	log  *slog.Logger
	base time.Time
	boot int64 // promises of a previous life end before this

	mu       sync.Mutex
	granted  map[string]int64 // holder -> end of the last grant
	reader   map[string]int64 // holder -> end of the last grant to a reader
	broken   map[string]bool  // holder -> a write went without it
	excluded map[string]int   // holder -> writes waiting it out

	view     uint64           // registry fingerprint of held
	held     map[string]int64 // granter -> end of the lease
	readHeld map[string]int64 // granter -> end of the lease asked as a reader
	inflight map[string]bool  // granter -> renewal in flight
	epoch    uint64           // bumped when a run of leases breaks
	synced   uint64           // the epoch whose catch-up completed
	catch    catchUp

	grantView uint64 // registry fingerprint the grants were made under
	barrier   int64  // writes are acknowledged only after this

	reads atomic.Pointer[readGrant] // local reads allowed, for one registry
}

// readGrant allows local reads under one registry fingerprint until a
// time.
type readGrant struct {
	view  uint64
	until int64
}

// catchUp is the progress of one epoch's catch-up.
type catchUp struct {
	epoch uint64
	start int64
	base  map[string]int64 // peer -> passes it had started, seen after start
	done  map[string]bool  // peer -> a later pass completed cleanly
	self  bool             // this node's own pass completed cleanly
	busy  bool             // this node's own pass is running
	next  int64            // no new own pass before (one failed)
}

// catchUpRetry spaces this node's own passes when one did not complete
// cleanly.
const catchUpRetry = 2 * time.Second

// newLeases starts the bookkeeping. A node that knew peers when it
// started may have granted them reader leases before a restart, and
// honours those for one term.
func newLeases(log *slog.Logger, knewPeers bool) *leases {
	l := &leases{log: log, base: time.Now(), granted: map[string]int64{}, reader: map[string]int64{},
		broken: map[string]bool{}, excluded: map[string]int{}, held: map[string]int64{},
		readHeld: map[string]int64{}, inflight: map[string]bool{}, epoch: 1}
	if knewPeers {
		l.boot = int64(leaseTerm)
	}
	return l
}

func (l *leases) now() int64 { return int64(time.Since(l.base)) }

// readable reports whether this node may answer reads of the keys it
// replicates under registry view from its own store.
func (l *leases) readable(view uint64) bool {
	g := l.reads.Load()
	return g != nil && g.view == view && l.now() < g.until
}

// breakRunLocked starts a new epoch: local reads stop until it has
// caught up.
func (l *leases) breakRunLocked(why string) {
	if l.synced == l.epoch {
		l.log.Info("read leases broken: reads take the quorum until caught up", "reason", why)
	}
	l.epoch++
	l.reads.Store(nil)
}

// lapse stops local reads until a catch-up: this node failed to commit a
// write that is acknowledged anyway.
func (l *leases) lapse() {
	l.mu.Lock()
	l.breakRunLocked("a local commit failed")
	l.mu.Unlock()
}

// grant answers holder's request (granter side). A restarted granter
// may have granted reader leases in its previous life: it treats every
// holder as a reader until boot.
func (l *leases) grant(holder string, view uint64, ok, reading bool) (granted, gap bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if !ok || l.excluded[holder] > 0 {
		return false, false
	}
	l.viewLocked(view)
	gap = l.broken[holder] || now >= max(l.granted[holder], l.boot)
	delete(l.broken, holder)
	l.granted[holder] = now + int64(leaseTerm)
	if reading {
		l.reader[holder] = now + int64(leaseTerm)
	}
	return true, gap
}

// readerUntilLocked is when the last reader lease granted to id ends.
func (l *leases) readerUntilLocked(id string) int64 { return max(l.reader[id], l.boot) }

// grace returns how long a coordinator waits for the slow replicas among
// ms: at least commitGrace, and as long as any of them holds a reader
// lease.
func (l *leases) grace(ms []Member) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	d := commitGrace
	now := l.now()
	for _, m := range ms {
		if until := l.readerUntilLocked(m.ID); until > now {
			d = max(d, time.Duration(until-now))
		}
	}
	return d
}

// waitOut is called before a write that replicas ids did not commit is
// acknowledged: it breaks their runs of leases and blocks until no reader
// lease granted to them is left, granting none of them a lease meanwhile.
func (l *leases) waitOut(ctx context.Context, ids []string) error {
	l.mu.Lock()
	now := l.now()
	until := int64(0)
	for _, id := range ids {
		l.excluded[id]++
		l.broken[id] = true
		until = max(until, l.readerUntilLocked(id))
	}
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		for _, id := range ids {
			l.excluded[id]--
		}
		l.mu.Unlock()
	}()
	return sleep(ctx, time.Duration(until-now))
}

// sleep waits for d (nothing if d <= 0) or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// settle is called before a write placed under registry view is
// acknowledged. When the view differs from the one this node granted
// leases under, a reader may still replicate, under the old view, a key
// whose new replicas do not include it: every run is broken and writes
// wait until every reader lease granted so far has run out.
func (l *leases) settle(ctx context.Context, view uint64) error {
	l.mu.Lock()
	l.viewLocked(view)
	wait := time.Duration(l.barrier - l.now())
	l.mu.Unlock()
	return sleep(ctx, wait)
}

// viewLocked records that grants and writes now follow registry view;
// if the leases granted so far followed another, they are broken and
// waited out.
func (l *leases) viewLocked(view uint64) {
	if view == l.grantView {
		return
	}
	l.barrier = max(l.barrier, l.boot)
	for id, until := range l.reader {
		l.barrier = max(l.barrier, until)
		l.broken[id] = true
	}
	l.grantView = view
}

// leaseLoop renews this node's leases and drives its catch-ups.
func (n *Node) leaseLoop() {
	defer n.wg.Done()
	t := time.NewTicker(leaseRenew)
	defer t.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
		}
		n.renewLeases()
	}
}

// renewLeases asks every peer without a renewal in flight for a lease.
func (n *Node) renewLeases() {
	l := n.lease
	v := n.reg.view()
	peers := slices.DeleteFunc(slices.Clone(v.live), func(id string) bool { return id == n.id })
	self, _ := n.reg.get(n.id)
	l.mu.Lock()
	if l.view != v.fp {
		l.view = v.fp
		clear(l.held)
		clear(l.readHeld)
		l.breakRunLocked("member registry changed")
	}
	if len(peers) == 0 || self.State == stateRemoved {
		l.mu.Unlock()
		return
	}
	n.catchUpLocked(peers)
	reading := l.synced == l.epoch
	catching := !reading && l.catch.epoch == l.epoch
	type call struct {
		id   string
		heal bool // this peer still owes the catch-up a pass
	}
	var ask []call
	for _, id := range peers {
		if !l.inflight[id] {
			l.inflight[id] = true
			ask = append(ask, call{id, catching && !l.catch.done[id]})
		}
	}
	l.mu.Unlock()
	for _, a := range ask {
		id, heal, m := a.id, a.heal, v.byID[a.id]
		go func() {
			ctx, cancel := context.WithTimeout(n.ctx, leaseTerm)
			defer cancel()
			sent := l.now()
			res, err := n.replica(m).Lease(ctx, LeaseRequest{Holder: n.id, View: v.fp, Heal: heal, Reading: reading})
			l.mu.Lock()
			defer l.mu.Unlock()
			delete(l.inflight, id)
			if err != nil || !res.Granted || l.view != v.fp {
				return
			}
			switch {
			case res.Gap:
				l.breakRunLocked("a write went without this node, or " + id + "'s lease ran out")
			case sent >= l.held[id]:
				l.breakRunLocked(id + "'s lease ran out")
			}
			end := sent + int64(leaseTerm-leaseMargin)
			l.held[id] = max(l.held[id], end)
			if reading {
				l.readHeld[id] = max(l.readHeld[id], end)
			}
			if c := &l.catch; c.epoch == l.epoch && sent >= c.start {
				switch b, ok := c.base[id]; {
				case !ok:
					c.base[id] = res.HealStarted
				case res.HealStarted < b:
					// The peer restarted since: all of its passes
					// started after this catch-up did.
					c.base[id] = 0
				case res.HealClean > b:
					c.done[id] = true
				}
			}
			n.updateReadableLocked(peers)
		}()
	}
}

// catchUpLocked starts the catch-up of the current epoch once every lease
// is held, and completes it once every pass it needs has. Without
// background passes (HealInterval <= 0, tests) there is no catch-up and
// reads always take the quorum path.
func (n *Node) catchUpLocked(peers []string) {
	l := n.lease
	if l.synced == l.epoch || n.cfg.HealInterval <= 0 {
		return
	}
	now := l.now()
	for _, id := range peers {
		if l.held[id] <= now {
			return
		}
	}
	c := &l.catch
	if c.epoch != l.epoch {
		*c = catchUp{epoch: l.epoch, start: now, base: map[string]int64{}, done: map[string]bool{}}
	}
	if !c.self && !c.busy && now >= c.next {
		c.busy = true
		epoch := c.epoch
		n.goBackground(func(ctx context.Context) {
			clean, err := n.healPass(ctx)
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.catch.epoch == epoch {
				l.catch.busy = false
				l.catch.self = clean && err == nil
				l.catch.next = l.now() + int64(catchUpRetry)
			}
		})
	}
	if !c.self {
		return
	}
	for _, id := range peers {
		if !c.done[id] {
			return
		}
	}
	l.synced = l.epoch
	l.log.Info("caught up: reading locally", "took", time.Duration(now-c.start).Round(time.Millisecond))
	n.updateReadableLocked(peers)
}

// updateReadableLocked sets how long local reads are allowed: until the
// first of the reader leases ends, if the current run has caught up.
func (n *Node) updateReadableLocked(peers []string) {
	l := n.lease
	if l.synced != l.epoch {
		l.reads.Store(nil)
		return
	}
	until := int64(-1)
	for _, id := range peers {
		h := l.readHeld[id]
		if until < 0 || h < until {
			until = h
		}
	}
	l.reads.Store(&readGrant{view: l.view, until: max(until, 0)})
}

// grantLease answers a peer's lease request.
func (n *Node) grantLease(req LeaseRequest) LeaseResponse {
	v := n.reg.view()
	self, _ := n.reg.get(n.id)
	holder, known := v.byID[req.Holder]
	ok := req.View == v.fp && known && holder.State != stateRemoved && self.State != stateRemoved
	var res LeaseResponse
	res.Granted, res.Gap = n.lease.grant(req.Holder, v.fp, ok, req.Reading)
	if req.Heal {
		n.heal.kick()
	}
	res.HealStarted, res.HealClean = n.heal.started.Load(), n.heal.clean.Load()
	return res
}
