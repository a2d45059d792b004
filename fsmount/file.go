package fsmount

import (
	"context"
	"errors"
	"io"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// fileNode is a regular file or a symlink: one object.
//
// Concurrency: io serialises content operations (write, commit, reads of
// staged data); nodeBase.mu guards the attributes. Lock order: io, then mu.
type fileNode struct {
	nodeBase

	io     chanMutex
	st     *staging // local changes, nil when none (guarded by io)
	opens  int      // open handles (guarded by io)
	lost   bool     // a streamed upload failed after its bytes were released
	target string   // symlink target, once read
	ra     readAhead
	// pageETag is the ETag of the object whose content the kernel's page
	// cache of the file holds, as far as the mount knows (guarded by mu).
	// Open keeps the kernel's pages only while the object still has this
	// ETag: the attributes can learn of another client's write outside
	// Open (a Lookup or Getattr after the attribute TTL), so "the ETag did
	// not change during Open's revalidation" does not mean the pages are
	// current.
	pageETag string
}

var (
	_ fs.NodeGetattrer  = (*fileNode)(nil)
	_ fs.NodeSetattrer  = (*fileNode)(nil)
	_ fs.NodeOpener     = (*fileNode)(nil)
	_ fs.NodeReadlinker = (*fileNode)(nil)
	_ fs.NodeStatfser   = (*fileNode)(nil)
)

// chanMutex is a mutex whose Lock can be abandoned when ctx ends.
type chanMutex struct{ ch chan struct{} }

func (m *chanMutex) init() { m.ch = make(chan struct{}, 1) }

func (m *chanMutex) Lock() { m.ch <- struct{}{} }

func (m *chanMutex) Unlock() { <-m.ch }

func (m *chanMutex) TryLock() bool {
	select {
	case m.ch <- struct{}{}:
		return true
	default:
		return false
	}
}

func (f *FS) newFileNode(a attrs) *fileNode {
	n := &fileNode{nodeBase: nodeBase{fsys: f}}
	n.io.init()
	n.attr = a
	n.fetched = time.Now()
	return n
}

// ownETagLocked records that this mount moved the object from ETag old to
// new with content the kernel's pages already show (its own upload, or a
// copy that changed only metadata), so the next Open keeps them. n.mu must
// be held.
func (n *fileNode) ownETagLocked(old, new string) {
	if n.pageETag == old {
		n.pageETag = new
	}
}

// objectKey is the node's key; ok is false once it was unlinked.
func (n *fileNode) objectKey() (string, bool) {
	p, ok := n.relPath()
	return n.fsys.cfg.Prefix + p, ok
}

func (n *fileNode) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	n.fsys.statfs(out)
	return 0
}

// Getattr answers from local state while the file has changes or the
// attributes are fresh, else asks the server.
func (n *fileNode) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	// A node busy with a write or an upload has local attributes.
	local := true
	if n.io.TryLock() {
		local = n.st != nil || n.opens > 0
		n.io.Unlock()
	}
	if !local && !n.fresh() {
		if errno := n.refresh(ctx); errno != 0 {
			return errno
		}
	}
	n.fillAttr(&out.Attr)
	out.SetTimeout(n.fsys.cfg.AttrTTL)
	return 0
}

// fillAttr writes the attributes into out. A file that was unlinked or
// renamed over while open has no name left: its link count is 0, as
// fstat(2) shows it on a local file system.
func (n *fileNode) fillAttr(out *fuse.Attr) {
	n.getAttr().fill(out)
	if _, ok := n.relPath(); !ok {
		out.Nlink = 0
	}
}

// refresh re-reads the attributes from the server. It reports whether the
// content changed through the ETag.
func (n *fileNode) refresh(ctx context.Context) syscall.Errno {
	_, errno := n.refreshChanged(ctx)
	return errno
}

func (n *fileNode) refreshChanged(ctx context.Context) (bool, syscall.Errno) {
	key, ok := n.objectKey()
	if !ok {
		return false, 0
	}
	ctx, cancel := n.fsys.opCtx(ctx)
	defer cancel()
	info, err := n.fsys.bucket.Stat(ctx, key)
	if err != nil {
		return false, n.fsys.errnoOf("stat", err)
	}
	old := n.getAttr()
	a := n.fsys.cfg.attrsFromObject(info, syscall.S_IFREG)
	n.setAttr(a)
	changed := old.etag != a.etag
	if changed {
		n.mu.Lock()
		n.target = ""
		n.mu.Unlock()
	}
	return changed, 0
}

// Open revalidates the attributes (close-to-open) and keeps the kernel's
// page cache only when the object did not change.
func (n *fileNode) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	write := flags&syscall.O_ACCMODE != syscall.O_RDONLY || flags&syscall.O_TRUNC != 0
	if write && n.fsys.cfg.ReadOnly {
		return nil, 0, syscall.EROFS
	}
	n.io.Lock()
	defer n.io.Unlock()
	var fuseFlags uint32 = fuse.FOPEN_KEEP_CACHE
	if n.st == nil || !n.st.dirty {
		if !n.fresh() {
			if _, errno := n.refreshChanged(ctx); errno != 0 {
				return nil, 0, errno
			}
		}
		// Compare with what the kernel's pages and the staging were
		// filled from, not with what the attributes said before the
		// revalidation: a Lookup or Getattr may have learnt of a new
		// version already.
		n.mu.Lock()
		etag := n.attr.etag
		if etag != n.pageETag {
			fuseFlags = 0
			n.pageETag = etag
		}
		n.mu.Unlock()
		if n.st != nil && n.st.baseETag != etag {
			n.dropStagingLocked()
		}
	}
	if flags&syscall.O_TRUNC != 0 {
		if errno := n.truncateLocked(0); errno != 0 {
			return nil, 0, errno
		}
		fuseFlags = 0
	}
	n.opens++
	return &fileHandle{n: n, append: flags&syscall.O_APPEND != 0}, fuseFlags, 0
}

func (n *fileNode) dropStagingLocked() {
	if n.st == nil {
		return
	}
	if n.st.stream != nil {
		n.st.stream.abort()
	}
	n.st.close()
	n.st = nil
}

// ensureStagingLocked returns the node's staging, creating it over the
// current object.
func (n *fileNode) ensureStagingLocked() (*staging, syscall.Errno) {
	if n.lost {
		return nil, syscall.EIO
	}
	if n.st != nil {
		return n.st, 0
	}
	a := n.getAttr()
	key, _ := n.objectKey()
	st, err := newStaging(n.fsys.cfg.CacheDir, key, a.etag, a.size)
	if err != nil {
		return nil, n.fsys.errnoOf("staging", err)
	}
	st.baseSize = a.size
	n.st = st
	return st, 0
}

func (n *fileNode) truncateLocked(size int64) syscall.Errno {
	if size > n.fsys.cfg.maxFileSize() {
		return syscall.EFBIG
	}
	st, errno := n.ensureStagingLocked()
	if errno != 0 {
		return errno
	}
	if st.stream != nil && size < st.stream.next {
		if err := n.commitLocked(context.Background()); err != nil {
			return n.fsys.errnoOf("truncate", err)
		}
	}
	if err := st.truncate(size); err != nil {
		return n.fsys.errnoOf("truncate", err)
	}
	now := attrNow()
	n.mu.Lock()
	n.attr.size = size
	n.attr.mtime, n.attr.ctime = now, now
	n.mu.Unlock()
	return 0
}

// Setattr changes mode, owner, times and size. Attribute changes of a file
// with pending changes are stored with its upload; otherwise they are
// written at once (CopyObject onto itself with new metadata). A size
// change without an open handle is uploaded at once.
func (n *fileNode) Setattr(ctx context.Context, fh fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if n.fsys.cfg.ReadOnly {
		return syscall.EROFS
	}
	n.io.Lock()
	defer n.io.Unlock()
	metaChanged := n.applyAttrChanges(in)
	size, hasSize := in.GetSize()
	if hasSize {
		if errno := n.truncateLocked(int64(size)); errno != 0 {
			return errno
		}
	}
	if errno := n.storeAttrsLocked(ctx, "setattr", metaChanged); errno != 0 {
		return errno
	}
	n.fillAttr(&out.Attr)
	out.SetTimeout(n.fsys.cfg.AttrTTL)
	return 0
}

// storeAttrsLocked persists attributes just changed in memory (metaChanged:
// they differ from what the server stores): with the pending upload of a
// file being written, else at once by a copy of the object onto itself.
func (n *fileNode) storeAttrsLocked(ctx context.Context, op string, metaChanged bool) syscall.Errno {
	if n.st != nil && (n.st.dirty || n.opens > 0) {
		if metaChanged {
			n.st.metaDirty = true
		}
		if n.opens == 0 {
			if err := n.commitLocked(ctx); err != nil {
				return n.fsys.errnoOf(op, err)
			}
			n.dropStagingLocked()
		}
		return 0
	}
	key, ok := n.objectKey()
	if !metaChanged || !ok {
		return 0
	}
	meta := n.getAttr().meta()
	cctx, cancel := n.fsys.opCtx(ctx)
	info, err := n.fsys.bucket.Copy(cctx, key, key, meta)
	cancel()
	if err != nil {
		return n.fsys.errnoOf(op, err)
	}
	n.mu.Lock()
	n.ownETagLocked(n.attr.etag, info.ETag)
	n.attr.etag = info.ETag
	n.attr.stored = storedAttrMeta(meta)
	n.fetched = time.Now()
	n.mu.Unlock()
	return 0
}

// applyAttrChanges copies mode/owner/time changes into the attributes and
// reports whether the object's metadata must be rewritten: not when the
// server already stores the same rendering (times are stored in whole
// seconds, so touching a file in the second it was written changes
// nothing there).
func (n *fileNode) applyAttrChanges(in *fuse.SetAttrIn) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return applyAttrChanges(&n.attr, in) && !n.attr.metaUnchanged()
}

func applyAttrChanges(a *attrs, in *fuse.SetAttrIn) bool {
	changed := false
	if m, ok := in.GetMode(); ok {
		a.mode = a.kind() | m&07777
		changed = true
	}
	if u, ok := in.GetUID(); ok {
		a.uid = u
		changed = true
	}
	if g, ok := in.GetGID(); ok {
		a.gid = g
		changed = true
	}
	if t, ok := in.GetMTime(); ok {
		a.mtime = t.Truncate(time.Second)
		changed = true
	}
	if t, ok := in.GetATime(); ok {
		a.atime = t.Truncate(time.Second)
		changed = true
	}
	if changed {
		a.ctime = attrNow()
	}
	return changed
}

// Readlink returns a symlink's target: the object's body (s3fs's form).
func (n *fileNode) Readlink(ctx context.Context) ([]byte, syscall.Errno) {
	n.mu.Lock()
	t := n.target
	n.mu.Unlock()
	if t != "" {
		return []byte(t), 0
	}
	key, ok := n.objectKey()
	if !ok {
		return nil, syscall.ENOENT
	}
	ctx, cancel := n.fsys.opCtx(ctx)
	defer cancel()
	rc, err := n.fsys.bucket.Get(ctx, key, 0, 4096, "")
	if err != nil {
		return nil, n.fsys.errnoOf("readlink", err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, n.fsys.errnoOf("readlink", err)
	}
	n.mu.Lock()
	n.target = string(b)
	n.mu.Unlock()
	return b, 0
}

// read serves a read from staged bytes, the base object, or zeros.
func (n *fileNode) read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	n.io.Lock()
	st := n.st
	if st == nil {
		a := n.getAttr()
		n.io.Unlock()
		return n.readClean(ctx, dest, off, a)
	}
	defer n.io.Unlock()
	if st.stream != nil && off < st.stream.next {
		if err := n.commitLocked(ctx); err != nil {
			return nil, n.fsys.errnoOf("read", err)
		}
	}
	end := min(off+int64(len(dest)), st.size)
	if end <= off {
		return fuse.ReadResultData(nil), 0
	}
	dest = dest[:end-off]
	base := objectReader{fsys: n.fsys, key: st.baseKey, etag: st.baseETag, size: st.baseSize, ra: &n.ra}
	err := st.valid.segments(off, end, func(s, t int64, in bool) error {
		buf := dest[s-off : t-off]
		if in {
			_, err := st.f.ReadAt(buf, s)
			return err
		}
		baseEnd := min(t, st.baseLimit)
		if s < baseEnd {
			if err := base.readAt(ctx, buf[:baseEnd-s], s); err != nil {
				return err
			}
		}
		clear(buf[max(0, baseEnd-s):])
		return nil
	})
	if err != nil {
		return nil, n.fsys.errnoOf("read", err)
	}
	return fuse.ReadResultData(dest), 0
}

func (n *fileNode) readClean(ctx context.Context, dest []byte, off int64, a attrs) (fuse.ReadResult, syscall.Errno) {
	key, ok := n.objectKey()
	if !ok {
		return nil, syscall.ENOENT
	}
	for attempt := 0; ; attempt++ {
		end := min(off+int64(len(dest)), a.size)
		if end <= off {
			return fuse.ReadResultData(nil), 0
		}
		buf := dest[:end-off]
		r := objectReader{fsys: n.fsys, key: key, etag: a.etag, size: a.size, ra: &n.ra}
		err := r.readAt(ctx, buf, off)
		if err == nil {
			return fuse.ReadResultData(buf), 0
		}
		if !errors.Is(err, ErrPrecondition) || attempt > 0 {
			return nil, n.fsys.errnoOf("read", err)
		}
		// The object changed under an open file: read the new version.
		if errno := n.refresh(ctx); errno != 0 {
			return nil, errno
		}
		a = n.getAttr()
	}
}

// write stores data in the staging file and, for a sequential writer,
// streams full parts to the server.
func (n *fileNode) write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	if n.fsys.cfg.ReadOnly {
		return 0, syscall.EROFS
	}
	if limit := n.fsys.cfg.maxFileSize(); off+int64(len(data)) > limit {
		// write(2): a write that would pass the limit writes what fits.
		if off >= limit {
			return 0, syscall.EFBIG
		}
		data = data[:limit-off]
	}
	n.io.Lock()
	defer n.io.Unlock()
	st, errno := n.ensureStagingLocked()
	if errno != 0 {
		return 0, errno
	}
	if st.stream != nil && off < st.stream.next {
		if err := n.commitLocked(ctx); err != nil {
			return 0, n.fsys.errnoOf("write", err)
		}
	}
	if err := st.write(data, off); err != nil {
		return 0, n.fsys.errnoOf("write", err)
	}
	now := attrNow()
	n.mu.Lock()
	n.attr.size = st.size
	n.attr.mtime, n.attr.ctime = now, now
	n.mu.Unlock()
	if err := n.streamPartsLocked(ctx, st); err != nil {
		return 0, n.fsys.errnoOf("write", err)
	}
	return uint32(len(data)), 0
}

// streamPartsLocked starts part uploads for every complete part a
// sequential writer has staged.
func (n *fileNode) streamPartsLocked(ctx context.Context, st *staging) error {
	ps := n.fsys.cfg.PartSize
	if st.stream == nil {
		if !st.streamEligible || !st.valid.covers(0, ps) || st.size <= ps {
			return nil
		}
		key, ok := n.objectKey()
		if !ok {
			return nil
		}
		meta := n.getAttr().meta()
		delete(meta, metaMtime)
		delete(meta, metaCtime)
		cctx, cancel := n.fsys.opCtx(ctx)
		u, err := n.fsys.newStreamUpload(cctx, key, meta, false)
		cancel()
		if err != nil {
			return err
		}
		st.stream = u
		st.streamEligible = false
	}
	u := st.stream
	for {
		size := u.nextPartSize()
		// Keep the last bytes back: the final part is cut at commit.
		if !st.valid.covers(u.next, u.next+size) || u.next+size >= st.size {
			return nil
		}
		if err := u.start(st.f, size, st.punch); err != nil {
			n.lost = true
			return err
		}
		st.valid = st.valid.remove(u.next-size, u.next)
	}
}

// commitIfDirty uploads pending changes (FlushAll).
func (n *fileNode) commitIfDirty(ctx context.Context) error {
	n.io.Lock()
	defer n.io.Unlock()
	return n.commitLocked(ctx)
}

// commitLocked uploads the file's current content and attributes, if they
// changed, and returns once the server committed them.
func (n *fileNode) commitLocked(ctx context.Context) error {
	st := n.st
	if n.lost {
		return syscall.EIO
	}
	if st == nil || (!st.dirty && !st.metaDirty) {
		return nil
	}
	key, ok := n.objectKey()
	if !ok {
		if st.stream != nil {
			st.stream.abort()
			st.stream = nil
		}
		st.dirty, st.metaDirty = false, false
		return nil
	}
	a := n.getAttr()
	meta := a.meta()
	// A write made under an exclusive lock carries its fencing token.
	ctx = withFencing(ctx, n.fsys.fencingToken(key))
	// A streamed upload that was started without the times keeps them
	// out of the object unless they were set explicitly.
	stored := storedAttrMeta(meta)
	if st.dirty && st.stream != nil && !st.stream.fullMeta && !st.metaDirty {
		stored = nil
	}
	var info ObjectInfo
	var err error
	switch {
	case !st.dirty:
		cctx, cancel := n.fsys.opCtx(ctx)
		info, err = n.fsys.bucket.Copy(cctx, key, key, meta)
		cancel()
	case st.stream != nil:
		info, err = n.completeStreamLocked(ctx, st, key, meta)
	default:
		info, err = n.uploadLocked(ctx, st, key, meta)
	}
	if err != nil {
		return err
	}
	base := st.baseETag
	st.baseKey, st.baseETag, st.baseSize, st.baseLimit = key, info.ETag, st.size, st.size
	st.dirty, st.metaDirty, st.streamEligible = false, false, false
	n.mu.Lock()
	n.ownETagLocked(base, info.ETag)
	n.attr.etag = info.ETag
	n.attr.stored = stored
	n.fetched = time.Now()
	n.mu.Unlock()
	noteUploaded(&n.Inode, key, ObjectInfo{Key: key, Size: st.size, ETag: info.ETag,
		LastModified: time.Now(), Meta: meta, HasMeta: stored != nil})
	return nil
}

func (n *fileNode) completeStreamLocked(ctx context.Context, st *staging, key string, meta Meta) (ObjectInfo, error) {
	u := st.stream
	st.stream = nil
	for u.next < st.size {
		size := min(u.nextPartSize(), st.size-u.next)
		if err := u.start(st.f, size, nil); err != nil {
			u.abort()
			n.lost = true
			return ObjectInfo{}, err
		}
	}
	cctx, cancel := n.fsys.opCtx(ctx)
	defer cancel()
	info, err := u.complete(cctx)
	if err != nil {
		n.lost = true
		return ObjectInfo{}, err
	}
	if st.metaDirty && !u.fullMeta {
		return n.fsys.bucket.Copy(cctx, key, key, meta)
	}
	return info, nil
}

// uploadLocked fills the staging file's gaps from the base object and
// uploads it, in one PUT or as parallel multipart parts.
func (n *fileNode) uploadLocked(ctx context.Context, st *staging, key string, meta Meta) (ObjectInfo, error) {
	if err := n.fillAllLocked(ctx, st); err != nil {
		return ObjectInfo{}, err
	}
	if st.size <= n.fsys.cfg.PartSize {
		cctx, cancel := context.WithTimeout(ctx, n.fsys.cfg.OpTimeout+time.Duration(st.size>>20)*time.Second)
		defer cancel()
		return n.fsys.bucket.Put(cctx, key, st.f, st.size, meta)
	}
	cctx, cancel := n.fsys.opCtx(ctx)
	defer cancel()
	u, err := n.fsys.newStreamUpload(cctx, key, meta, true)
	if err != nil {
		return ObjectInfo{}, err
	}
	for u.next < st.size {
		if err := u.start(st.f, min(u.nextPartSize(), st.size-u.next), nil); err != nil {
			u.abort()
			return ObjectInfo{}, err
		}
	}
	return u.complete(cctx)
}

// fillAllLocked makes the staging file hold the whole content: the parts
// not written here are copied from the base object.
func (n *fileNode) fillAllLocked(ctx context.Context, st *staging) error {
	base := objectReader{fsys: n.fsys, key: st.baseKey, etag: st.baseETag, size: st.baseSize}
	err := st.valid.segments(0, min(st.size, st.baseLimit), func(s, t int64, in bool) error {
		if in {
			return nil
		}
		return n.fillFromBase(ctx, st, base, s, t)
	})
	if err != nil {
		return err
	}
	st.valid = extents{{0, st.size}}
	return nil
}

// maxKeptOnUnlink bounds the size of an open file whose content is copied
// to the cache directory when its object is deleted or replaced; larger
// ones are not copied (reads through their descriptors then fail).
const maxKeptOnUnlink = 256 << 20

// keepIfOpen copies the content of a file that is open to the staging
// file before its object is deleted or replaced (unlink, rename over it):
// as on a local file system, descriptors still open keep reading what the
// file held.
func (n *fileNode) keepIfOpen(ctx context.Context) syscall.Errno {
	n.io.Lock()
	defer n.io.Unlock()
	if n.opens == 0 || n.lost || (n.st != nil && n.st.stream != nil) {
		return 0
	}
	if n.st == nil && n.getAttr().size > maxKeptOnUnlink {
		return 0
	}
	st, errno := n.ensureStagingLocked()
	if errno != 0 {
		return errno
	}
	if min(st.size, st.baseLimit) > maxKeptOnUnlink {
		return 0
	}
	return n.fsys.errnoOf("unlink", n.fillAllLocked(context.WithoutCancel(ctx), st))
}

// fillFromBase copies [s, t) of the base object into the staging file in
// block-sized pieces (bypassing the read cache).
func (n *fileNode) fillFromBase(ctx context.Context, st *staging, base objectReader, s, t int64) error {
	const chunk = 8 << 20
	for off := s; off < t; off += chunk {
		m := min(chunk, t-off)
		cctx, cancel := n.fsys.opCtx(ctx)
		err := retryRead(cctx, func() error {
			rc, err := n.fsys.bucket.Get(cctx, base.key, off, m, base.etag)
			if err != nil {
				return err
			}
			defer rc.Close()
			got, err := io.Copy(io.NewOffsetWriter(st.f, off), io.LimitReader(rc, m))
			if err == nil && got < m {
				// The base is at least t long: a shorter body was cut.
				err = io.ErrUnexpectedEOF
			}
			return err
		})
		cancel()
		if err != nil {
			return err
		}
	}
	return nil
}

// flush uploads pending changes (close, fsync).
func (n *fileNode) flush(ctx context.Context) syscall.Errno {
	n.io.Lock()
	defer n.io.Unlock()
	return n.fsys.errnoOf("flush", n.commitLocked(context.WithoutCancel(ctx)))
}

// release drops the staging when the last handle closes. A change that
// came after the last flush is uploaded first: the kernel sends RELEASE
// after close returns, so a chmod, chown or utimens made right after
// close can reach the file while it is still open (and is then left for
// the next upload) with no flush to follow.
func (n *fileNode) release() {
	n.io.Lock()
	defer n.io.Unlock()
	n.opens--
	if n.opens == 0 && n.st != nil {
		if n.st.dirty || n.st.metaDirty {
			if err := n.commitLocked(context.Background()); err != nil {
				n.fsys.log.Error("upload at release failed", "err", err)
			}
		}
		n.dropStagingLocked()
		n.lost = false
	}
}

// fileHandle is one open file; the content state lives in the node so
// that all handles see each other's writes.
type fileHandle struct {
	n *fileNode
	// append: opened with O_APPEND. Its writes go to the end of the file
	// as this mount knows it, not where the kernel's possibly stale size
	// says (a lock taken since may have revealed another mount's appends).
	append bool
}

var (
	_ fs.FileReader    = (*fileHandle)(nil)
	_ fs.FileWriter    = (*fileHandle)(nil)
	_ fs.FileFlusher   = (*fileHandle)(nil)
	_ fs.FileFsyncer   = (*fileHandle)(nil)
	_ fs.FileReleaser  = (*fileHandle)(nil)
	_ fs.FileGetattrer = (*fileHandle)(nil)
)

func (h *fileHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	return h.n.read(ctx, dest, off)
}

func (h *fileHandle) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	if h.append {
		off = h.n.getAttr().size
	}
	return h.n.write(ctx, data, off)
}

func (h *fileHandle) Flush(ctx context.Context) syscall.Errno {
	errno := h.n.closeFlush(ctx)
	h.n.fsys.closedBy(ctx, h.n)
	return errno
}

func (h *fileHandle) Fsync(ctx context.Context, flags uint32) syscall.Errno { return h.n.flush(ctx) }

func (h *fileHandle) Release(ctx context.Context) syscall.Errno {
	h.n.fsys.releaseLocksOf(h)
	h.n.release()
	return 0
}

func (h *fileHandle) Getattr(ctx context.Context, out *fuse.AttrOut) syscall.Errno {
	h.n.fillAttr(&out.Attr)
	out.SetTimeout(h.n.fsys.cfg.AttrTTL)
	return 0
}
