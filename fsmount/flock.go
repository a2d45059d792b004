package fsmount

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// Cross-mount locks: the FUSE lock operations of fileNode over the
// bucket's LockingBucket capability. See the package documentation
// ("Locks").

var (
	_ fs.NodeGetlker  = (*fileNode)(nil)
	_ fs.NodeSetlker  = (*fileNode)(nil)
	_ fs.NodeSetlkwer = (*fileNode)(nil)
)

// lockID is one holder as the kernel names it: a file and a lock owner
// (the open file description for flock, the process for fcntl locks).
type lockID struct {
	n     *fileNode
	owner uint64
}

// heldLock is a cluster lease held for a lockID. Its renewal goroutine
// runs until stop is closed or the lease is lost.
type heldLock struct {
	key  string
	fh   fs.FileHandle // the handle that took it, released with it
	stop chan struct{}

	// guarded by lockTable.mu
	grant LockGrant
}

// lockTable is the FS's bookkeeping of held leases.
type lockTable struct {
	mu     sync.Mutex
	held   map[lockID]*heldLock
	ranges map[lockID][]lockRange // what each owner locked
	// posix maps the owners of fcntl locks to the thread that took them
	// (the pid in FUSE requests is the thread's ID).
	posix map[lockID]uint32
	// instance names this mount in owner strings, so that F_GETLK can
	// tell its own holders from other mounts'.
	instance string
	host     string
}

func (t *lockTable) init() {
	t.held = map[lockID]*heldLock{}
	t.ranges = map[lockID][]lockRange{}
	t.posix = map[lockID]uint32{}
	var b [4]byte
	_, _ = rand.Read(b[:])
	t.instance = hex.EncodeToString(b[:])
	t.host, _ = os.Hostname()
}

// ownerSuffix identifies owner of this mount inside an owner string.
func (t *lockTable) ownerSuffix(owner uint64) string {
	return fmt.Sprintf("(mount %s, owner %x)", t.instance, owner)
}

func (f *FS) ownerName(ctx context.Context, owner uint64) string {
	pid := uint32(0)
	if c, ok := fuse.FromContext(ctx); ok {
		pid = c.Pid
	}
	return fmt.Sprintf("%s pid %d %s", f.lk.host, pid, f.lk.ownerSuffix(owner))
}

// Setlk takes or drops a lock without waiting: a lock held elsewhere
// fails with EAGAIN.
func (n *fileNode) Setlk(ctx context.Context, fh fs.FileHandle, owner uint64, lk *fuse.FileLock, flags uint32) syscall.Errno {
	return n.setLock(ctx, fh, owner, lk, flags, false)
}

// Setlkw takes a lock, waiting while another owner holds a conflicting
// one (until the caller is interrupted: EINTR).
func (n *fileNode) Setlkw(ctx context.Context, fh fs.FileHandle, owner uint64, lk *fuse.FileLock, flags uint32) syscall.Errno {
	return n.setLock(ctx, fh, owner, lk, flags, true)
}

// lockRange is one byte range an owner locked (end inclusive), kept so
// that the whole-file cluster lock is held in the strongest mode any of
// the owner's ranges needs and dropped only with its last range (SQLite,
// for one, locks and unlocks several ranges of a file).
type lockRange struct {
	start, end uint64
	typ        uint32
}

// applyRange applies a POSIX lock request to an owner's ranges: the
// request replaces whatever the owner had on [start, end].
func applyRange(rs []lockRange, start, end uint64, typ uint32) []lockRange {
	var out []lockRange
	for _, r := range rs {
		if r.end < start || r.start > end {
			out = append(out, r)
			continue
		}
		if r.start < start {
			out = append(out, lockRange{r.start, start - 1, r.typ})
		}
		if r.end > end {
			out = append(out, lockRange{end + 1, r.end, r.typ})
		}
	}
	if typ != syscall.F_UNLCK {
		out = append(out, lockRange{start, end, typ})
	}
	return out
}

// modeOf returns whether ranges need a lock and whether a shared one does.
func modeOf(rs []lockRange) (want, shared bool) {
	shared = true
	for _, r := range rs {
		if r.typ != syscall.F_RDLCK {
			shared = false
		}
	}
	return len(rs) > 0, shared
}

func (n *fileNode) setLock(ctx context.Context, fh fs.FileHandle, owner uint64, lk *fuse.FileLock, flags uint32, wait bool) syscall.Errno {
	f := n.fsys
	if f.locks == nil {
		return syscall.ENOTSUP
	}
	id := lockID{n: n, owner: owner}
	f.lk.mu.Lock()
	h := f.lk.held[id]
	rs := applyRange(f.lk.ranges[id], lk.Start, max(lk.End, lk.Start), lk.Typ)
	sameMode := false
	want, shared := modeOf(rs)
	if h != nil {
		sameMode = h.grant.Shared == shared
	}
	f.lk.mu.Unlock()
	commit := func() {
		f.lk.mu.Lock()
		if len(rs) == 0 {
			delete(f.lk.ranges, id)
			delete(f.lk.posix, id)
		} else {
			f.lk.ranges[id] = rs
		}
		f.lk.mu.Unlock()
	}
	if !want {
		commit()
		f.unlock(id)
		return 0
	}
	if h != nil && sameMode {
		commit()
		return 0
	}
	key, ok := n.objectKey()
	if !ok {
		return syscall.ENOENT
	}
	if h != nil {
		// A conversion (shared <-> exclusive) is not atomic, as with
		// flock(2): the old lock is dropped first, and taken again
		// (without waiting) if the new one cannot be had.
		f.unlock(id)
	}
	opts := LockOptions{Shared: shared, TTL: f.cfg.LockTTL, Owner: f.ownerName(ctx, owner)}
	g, err := f.acquire(ctx, key, opts, wait)
	switch {
	case err == nil:
		commit()
		f.install(id, key, fh, g)
		if flags&fuse.FUSE_LK_FLOCK == 0 {
			f.notePOSIX(id, ctx)
		}
		n.revalidateAfterLock(ctx)
		return 0
	case h != nil:
		old := opts
		old.Shared = !shared
		cctx, cancel := f.opCtx(context.Background())
		g, rerr := f.locks.AcquireLock(cctx, key, old)
		cancel()
		if rerr == nil {
			f.install(id, key, h.fh, g)
		} else {
			f.log.Warn("lock lost during a conversion", "key", key, "err", rerr)
			f.lk.mu.Lock()
			delete(f.lk.ranges, id)
			f.lk.mu.Unlock()
		}
	}
	switch {
	case ctx.Err() != nil:
		return syscall.EINTR
	case errors.Is(err, ErrLockConflict):
		return syscall.EAGAIN
	}
	return f.errnoOf("lock", err)
}

// acquire takes key's lock, waiting (in long-poll slices of the server's
// wait=, so that an interrupt or a dead endpoint is noticed) if wait.
func (f *FS) acquire(ctx context.Context, key string, opts LockOptions, wait bool) (LockGrant, error) {
	if !wait {
		cctx, cancel := f.opCtx(ctx)
		defer cancel()
		return f.locks.AcquireLock(cctx, key, opts)
	}
	slice := time.Second
	for {
		opts.Wait = slice
		g, err := f.locks.AcquireLock(ctx, key, opts)
		if ctx.Err() != nil {
			if err == nil {
				f.releaseGrant(key, g)
			}
			return LockGrant{}, ctx.Err()
		}
		if !errors.Is(err, ErrLockConflict) {
			return g, err
		}
		slice = min(slice*2, 5*time.Second)
	}
}

// install records a grant for id and starts renewing it.
func (f *FS) install(id lockID, key string, fh fs.FileHandle, g LockGrant) {
	h := &heldLock{key: key, fh: fh, stop: make(chan struct{}), grant: g}
	f.lk.mu.Lock()
	old := f.lk.held[id]
	f.lk.held[id] = h
	f.lk.mu.Unlock()
	if old != nil {
		close(old.stop)
		f.releaseGrant(old.key, old.grant)
	}
	f.bg.Add(1)
	go f.renewLoop(h)
}

// revalidateAfterLock makes the next read see what the previous holder
// wrote: it re-reads the attributes (dropping an unchanged-but-stale
// staging) and drops the kernel's attributes and pages of the file.
func (n *fileNode) revalidateAfterLock(ctx context.Context) {
	n.io.Lock()
	if n.st == nil || !n.st.dirty {
		changed, errno := n.refreshChanged(ctx)
		if errno == 0 && changed && n.st != nil {
			n.dropStagingLocked()
		}
	}
	n.io.Unlock()
	n.EmbeddedInode().NotifyContent(0, 0)
}

// Getlk reports a lock held by another owner that conflicts with lk, or
// F_UNLCK. Holders on other mounts have no pid here (0).
func (n *fileNode) Getlk(ctx context.Context, fh fs.FileHandle, owner uint64, lk *fuse.FileLock, flags uint32, out *fuse.FileLock) syscall.Errno {
	f := n.fsys
	*out = fuse.FileLock{Typ: syscall.F_UNLCK}
	if f.locks == nil {
		return syscall.ENOTSUP
	}
	key, ok := n.objectKey()
	if !ok {
		return syscall.ENOENT
	}
	cctx, cancel := f.opCtx(ctx)
	holders, err := f.locks.InspectLock(cctx, key)
	cancel()
	if err != nil {
		return f.errnoOf("getlk", err)
	}
	mine := f.lk.ownerSuffix(owner)
	for _, h := range holders {
		if strings.HasSuffix(h.Owner, mine) || h.Shared && lk.Typ == syscall.F_RDLCK {
			continue
		}
		out.Typ = syscall.F_WRLCK
		if h.Shared {
			out.Typ = syscall.F_RDLCK
		}
		out.Start, out.End = 0, math.MaxInt64
		if strings.Contains(h.Owner, "(mount "+f.lk.instance+",") {
			var host string
			var pid uint32
			if _, err := fmt.Sscanf(h.Owner, "%s pid %d", &host, &pid); err == nil {
				out.Pid = pid
			}
		}
		return 0
	}
	return 0
}

// renewLoop renews h every LockTTL/3 until it is released or lost.
func (f *FS) renewLoop(h *heldLock) {
	defer f.bg.Done()
	every := f.cfg.LockTTL / 3
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
		f.lk.mu.Lock()
		tok := h.grant.Token
		f.lk.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), every)
		g, err := f.locks.RenewLock(ctx, h.key, tok, f.cfg.LockTTL)
		cancel()
		switch {
		case errors.Is(err, ErrLockLost):
			f.log.Warn("lock lost", "key", h.key, "err", err)
			return
		case err != nil:
			f.log.Warn("lock renewal failed", "key", h.key, "err", err)
			continue
		}
		f.lk.mu.Lock()
		h.grant.Expires = g.Expires
		f.lk.mu.Unlock()
	}
}

// notePOSIX records the thread that took id's fcntl lock.
func (f *FS) notePOSIX(id lockID, ctx context.Context) {
	if c, ok := fuse.FromContext(ctx); ok && c.Pid != 0 {
		f.lk.mu.Lock()
		f.lk.posix[id] = c.Pid
		f.lk.mu.Unlock()
	}
}

// closedBy drops the fcntl locks on n taken by the thread that closes a
// descriptor of n (FLUSH): POSIX releases a process's locks on a file
// when it closes any descriptor of it. go-fuse does not pass FLUSH's lock
// owner, so the thread ID stands in for it: locks taken by another
// thread of the process stay until the descriptor that took them closes.
func (f *FS) closedBy(ctx context.Context, n *fileNode) {
	c, ok := fuse.FromContext(ctx)
	if f.locks == nil || !ok || c.Pid == 0 {
		return
	}
	f.lk.mu.Lock()
	var ids []lockID
	for id, pid := range f.lk.posix {
		if id.n == n && pid == c.Pid {
			ids = append(ids, id)
		}
	}
	f.lk.mu.Unlock()
	for _, id := range ids {
		f.dropOwner(id)
	}
}

// dropOwner forgets id's ranges and drops its lock.
func (f *FS) dropOwner(id lockID) {
	f.lk.mu.Lock()
	delete(f.lk.ranges, id)
	delete(f.lk.posix, id)
	f.lk.mu.Unlock()
	f.unlock(id)
}

// unlock drops the lock of id, if any (its ranges stay).
func (f *FS) unlock(id lockID) {
	f.lk.mu.Lock()
	h := f.lk.held[id]
	delete(f.lk.held, id)
	f.lk.mu.Unlock()
	if h != nil {
		close(h.stop)
		f.releaseGrant(h.key, h.grant)
	}
}

func (f *FS) releaseGrant(key string, g LockGrant) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.locks.ReleaseLock(ctx, key, g.Token); err != nil {
		f.log.Warn("lock release failed (the lease will expire)", "key", key, "err", err)
	}
}

// releaseLocksOf drops every lock taken through fh (its last close: flock
// locks belong to the open file, and a process's fcntl locks end with
// its descriptors).
func (f *FS) releaseLocksOf(fh fs.FileHandle) {
	if f.locks == nil {
		return
	}
	f.lk.mu.Lock()
	var ids []lockID
	for id, h := range f.lk.held {
		if h.fh == fh {
			ids = append(ids, id)
		}
	}
	f.lk.mu.Unlock()
	for _, id := range ids {
		f.dropOwner(id)
	}
}

// releaseAllLocks drops every held lock (Close).
func (f *FS) releaseAllLocks() {
	f.lk.mu.Lock()
	var ids []lockID
	for id := range f.lk.held {
		ids = append(ids, id)
	}
	f.lk.mu.Unlock()
	for _, id := range ids {
		f.dropOwner(id)
	}
}

// fencingToken returns the highest fencing token held on the node's key
// by any owner of this mount (0: none).
func (f *FS) fencingToken(key string) uint64 {
	if f.locks == nil {
		return 0
	}
	f.lk.mu.Lock()
	defer f.lk.mu.Unlock()
	var tok uint64
	for _, h := range f.lk.held {
		if h.key == key && !h.grant.Shared {
			tok = max(tok, h.grant.FencingToken)
		}
	}
	return tok
}

// setupLocks decides at mount time whether locks are cluster-wide: the
// bucket must be a LockingBucket and, if it can tell (LockProber), the
// server must have the lock API. Otherwise the kernel keeps locks local.
func (f *FS) setupLocks() bool {
	if f.locks == nil || f.cfg.LocalLocks {
		f.locks = nil
		return false
	}
	if p, ok := f.locks.(LockProber); ok {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if !p.LocksSupported(ctx) {
			f.log.Warn("server has no lock API: flock and fcntl locks are local to this mount")
			f.locks = nil
			return false
		}
	}
	return true
}

// fencingKey is the context key of the fencing token that writes carry.
type fencingKey struct{}

// withFencing returns ctx carrying token (0: ctx unchanged). S3Bucket
// sends it as x-bucketdb-fencing-token with every request made under ctx.
func withFencing(ctx context.Context, token uint64) context.Context {
	if token == 0 {
		return ctx
	}
	return context.WithValue(ctx, fencingKey{}, token)
}

func fencingFrom(ctx context.Context) uint64 {
	tok, _ := ctx.Value(fencingKey{}).(uint64)
	return tok
}

// FencingHeader is the header that carries a lock's fencing token with a
// write; the server refuses the write once a newer token was issued.
const FencingHeader = "X-Bucketdb-Fencing-Token"

// fencingTransport adds the fencing token of the request's context, if
// any, to requests. The header is not signed (SigV4 signs only the
// headers it names), so it can be added below minio-go.
type fencingTransport struct{ base http.RoundTripper }

func (t fencingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if tok := fencingFrom(req.Context()); tok != 0 {
		req = req.Clone(req.Context())
		req.Header.Set(FencingHeader, strconv.FormatUint(tok, 10))
	}
	return t.base.RoundTrip(req)
}
