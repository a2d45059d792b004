package fsmount

import (
	"context"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// dirNode is a directory: a "/"-terminated key prefix, with or without a
// marker object.
type dirNode struct {
	nodeBase

	hasMarker bool // guarded by nodeBase.mu
	// entriesChanged is when this mount last added, removed or renamed
	// an entry (guarded by nodeBase.mu). Such changes move mtime and
	// ctime on, as POSIX says, but only in memory (a marker write per
	// create would double its cost): attributes read from the server do
	// not move them back. Explicit times (utimens) clear it.
	entriesChanged time.Time

	lmu      sync.Mutex
	listing  map[string]*listedEntry // last listing, nil when none
	listedAt time.Time
	// absent holds names the server did not have when last asked, and
	// when, so that the lookups that precede a create (the kernel looks
	// an O_EXCL name up again) cost one probe, not two. Guarded by lmu;
	// dropped with the listing on every change in the directory.
	absent map[string]time.Time
	gen    uint64 // counts invalidations, so a slow probe cannot undo one
	// served counts the lookups the current listing answered (lmu). A
	// listing that answered many and expired moments ago is being
	// scanned (ls -l, find, rsync of a large directory outlasting the
	// TTL): it is listed again rather than probed name by name.
	served int
	relist sync.Mutex // one re-listing at a time
}

// scanLookups is how many lookups a listing must have answered before its
// expiry triggers a re-listing instead of per-name probes.
const scanLookups = 64

// maxAbsent bounds a directory's remembered missing names.
const maxAbsent = 4096

var (
	_ fs.NodeLookuper    = (*dirNode)(nil)
	_ fs.NodeReaddirer   = (*dirNode)(nil)
	_ fs.NodeMkdirer     = (*dirNode)(nil)
	_ fs.NodeCreater     = (*dirNode)(nil)
	_ fs.NodeUnlinker    = (*dirNode)(nil)
	_ fs.NodeRmdirer     = (*dirNode)(nil)
	_ fs.NodeRenamer     = (*dirNode)(nil)
	_ fs.NodeSymlinker   = (*dirNode)(nil)
	_ fs.NodeMknoder     = (*dirNode)(nil)
	_ fs.NodeGetattrer   = (*dirNode)(nil)
	_ fs.NodeSetattrer   = (*dirNode)(nil)
	_ fs.NodeFsyncer     = (*dirNode)(nil)
	_ fs.NodeStatfser    = (*dirNode)(nil)
	_ fs.NodeOnForgetter = (*dirNode)(nil)
)

// keyPrefix is the directory's key prefix ("" or ending in "/").
func (d *dirNode) keyPrefix() (string, bool) {
	if d.IsRoot() {
		return d.fsys.cfg.Prefix, true
	}
	p, ok := d.relPath()
	return d.fsys.cfg.Prefix + p + "/", ok
}

func (d *dirNode) OnForget() {}

func (d *dirNode) invalidate() {
	d.lmu.Lock()
	d.listing = nil
	d.absent = nil
	d.gen++
	d.lmu.Unlock()
}

func (d *dirNode) generation() uint64 {
	d.lmu.Lock()
	defer d.lmu.Unlock()
	return d.gen
}

// noteAbsent remembers that the server has no entry name, for AttrTTL,
// unless the directory changed since gen.
func (d *dirNode) noteAbsent(name string, gen uint64) {
	ttl := d.fsys.cfg.AttrTTL
	if ttl <= 0 {
		return
	}
	d.lmu.Lock()
	defer d.lmu.Unlock()
	if d.gen != gen {
		return
	}
	if len(d.absent) >= maxAbsent {
		for n, t := range d.absent {
			if time.Since(t) >= ttl {
				delete(d.absent, n)
			}
		}
		if len(d.absent) >= maxAbsent {
			d.absent = nil
		}
	}
	if d.absent == nil {
		d.absent = map[string]time.Time{}
	}
	d.absent[name] = time.Now()
}

// setEntry records in the directory's listing (when it has one) that name
// is now e, after this mount wrote it, so that the listing stays usable
// for lookups of other names instead of being dropped.
func (d *dirNode) setEntry(name string, e *listedEntry) {
	d.lmu.Lock()
	defer d.lmu.Unlock()
	if d.listing != nil {
		d.listing[name] = e
	}
	delete(d.absent, name)
	d.gen++
}

// dropEntry records that this mount deleted name.
func (d *dirNode) dropEntry(name string) {
	d.lmu.Lock()
	defer d.lmu.Unlock()
	if d.listing != nil {
		delete(d.listing, name)
	}
	delete(d.absent, name)
	d.gen++
}

// forgetAbsent records that name is being created here: it is no longer
// known to be missing (the listing cannot hold it yet: the new file answers
// lookups itself until it is uploaded, then setEntry records it).
func (d *dirNode) forgetAbsent(name string) {
	d.lmu.Lock()
	defer d.lmu.Unlock()
	delete(d.absent, name)
	d.gen++
}

// noteUploaded keeps the listing of in's directory current after in was
// uploaded as key with info (meta authoritative), or drops the listing
// when in is not, or no longer, where key says.
func noteUploaded(in *fs.Inode, key string, info ObjectInfo) {
	name, p := in.Parent()
	if p == nil {
		return
	}
	d, ok := p.Operations().(*dirNode)
	if !ok {
		return
	}
	if prefix, ok := d.keyPrefix(); !ok || prefix+name != key || !info.HasMeta {
		d.invalidate()
		return
	}
	d.setEntry(name, &listedEntry{name: name, info: info, hasInfo: true})
}

// invalidateParent drops the listing cache of the node's directory.
func invalidateParent(in *fs.Inode) {
	if _, p := in.Parent(); p != nil {
		if d, ok := p.Operations().(*dirNode); ok {
			d.invalidate()
		}
	}
}

func (d *dirNode) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	d.fsys.statfs(out)
	return 0
}

func (d *dirNode) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	d.getAttr().fill(&out.Attr)
	out.SetTimeout(d.fsys.cfg.AttrTTL)
	return 0
}

// Fsync of a directory uploads the pending writes of the files in it, so
// that their entries exist on the server when it returns (programs that
// replace a file atomically fsync the directory after the rename).
func (d *dirNode) Fsync(ctx context.Context, f fs.FileHandle, flags uint32) syscall.Errno {
	var first error
	for _, ch := range d.Children() {
		if fn, ok := ch.Operations().(*fileNode); ok {
			if err := fn.commitIfDirty(ctx); err != nil && first == nil {
				first = err
			}
		}
	}
	return d.fsys.errnoOf("fsync", first)
}

// Setattr stores mode, owner and times in the directory marker (creating
// it for an implicit directory). The mount root of a whole bucket has no
// marker; its attributes stay in memory.
func (d *dirNode) Setattr(ctx context.Context, fh fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if d.fsys.cfg.ReadOnly {
		return syscall.EROFS
	}
	d.mu.Lock()
	changed := applyAttrChanges(&d.attr, in) && !d.attr.metaUnchanged()
	if _, ok := in.GetMTime(); ok {
		d.entriesChanged = time.Time{}
	}
	a := d.attr
	d.mu.Unlock()
	if changed {
		if prefix, ok := d.keyPrefix(); ok && prefix != "" {
			if errno := d.rewriteMarker(ctx, prefix, a); errno != 0 {
				return errno
			}
		}
	}
	a.fill(&out.Attr)
	out.SetTimeout(d.fsys.cfg.AttrTTL)
	return 0
}

// putMarker writes the directory's marker, key, with attributes a and
// returns the listing entry (named name) that now describes the directory.
func (d *dirNode) putMarker(ctx context.Context, name, key string, a attrs) (*listedEntry, syscall.Errno) {
	ctx, cancel := d.fsys.opCtx(ctx)
	defer cancel()
	meta := a.meta()
	info, err := d.fsys.bucket.Put(ctx, key, strings.NewReader(""), 0, meta)
	if err != nil {
		return nil, d.fsys.errnoOf("put marker", err)
	}
	d.mu.Lock()
	d.hasMarker = true
	d.attr.stored = storedAttrMeta(meta)
	d.mu.Unlock()
	info = ObjectInfo{Key: key, ETag: info.ETag, LastModified: time.Now(), Meta: meta, HasMeta: true}
	return &listedEntry{name: name, isDir: true, info: info, hasInfo: true}, 0
}

// rewriteMarker writes the marker of a directory in the tree and updates
// its entry in the parent's listing.
func (d *dirNode) rewriteMarker(ctx context.Context, key string, a attrs) syscall.Errno {
	name, p := d.Parent()
	e, errno := d.putMarker(ctx, name, key, a)
	if errno != 0 {
		return errno
	}
	if p != nil {
		if pd, ok := p.Operations().(*dirNode); ok {
			pd.setEntry(name, e)
		}
	}
	return 0
}

// keepAlive writes a marker for an implicit directory that is about to
// lose an entry, so that it does not vanish when it becomes empty.
func (d *dirNode) keepAlive(ctx context.Context) syscall.Errno {
	d.mu.Lock()
	has := d.hasMarker
	a := d.attr
	d.mu.Unlock()
	prefix, ok := d.keyPrefix()
	if has || !ok || prefix == "" {
		return 0
	}
	return d.rewriteMarker(ctx, prefix, a)
}

// cached answers a lookup from a fresh listing or a recent miss: the
// entry, whether it exists, and whether the answer was fresh at all.
func (d *dirNode) cached(name string) (*listedEntry, bool, bool) {
	d.lmu.Lock()
	defer d.lmu.Unlock()
	if t, ok := d.absent[name]; ok {
		if time.Since(t) < d.fsys.cfg.AttrTTL {
			return nil, false, true
		}
		delete(d.absent, name)
	}
	if d.listing == nil || time.Since(d.listedAt) >= d.fsys.listTTL() {
		return nil, false, false
	}
	e, ok := d.listing[name]
	d.served++
	return e, ok, true
}

// scanning reports whether the directory's expired listing was answering
// a scan (see dirNode.served).
func (d *dirNode) scanning() bool {
	d.lmu.Lock()
	defer d.lmu.Unlock()
	return d.listing != nil && d.served >= scanLookups && time.Since(d.listedAt) < 4*d.fsys.listTTL()
}

// relistForScan lists the directory again for a scan in progress (one
// caller lists; concurrent ones wait and use its listing).
func (d *dirNode) relistForScan(ctx context.Context) {
	d.relist.Lock()
	defer d.relist.Unlock()
	d.lmu.Lock()
	fresh := d.listing != nil && time.Since(d.listedAt) < d.fsys.listTTL()
	d.lmu.Unlock()
	if !fresh {
		d.list(ctx)
	}
}

// localChild returns the child's file node if it has changes not yet on
// the server (so the server's view must not override it).
func (d *dirNode) localChild(name string) *fileNode {
	ch := d.GetChild(name)
	if ch == nil {
		return nil
	}
	fn, ok := ch.Operations().(*fileNode)
	if !ok {
		return nil
	}
	if !fn.io.TryLock() {
		return fn // busy writing or uploading
	}
	defer fn.io.Unlock()
	if fn.st != nil || fn.opens > 0 {
		return fn
	}
	return nil
}

// Lookup finds a child: local state first, then a fresh listing, then the
// server (HEAD of the object and a one-key listing of the prefix, in
// parallel; a directory wins over an object of the same name).
func (d *dirNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if len(name) > maxNameLen {
		return nil, syscall.ENAMETOOLONG
	}
	if d.IsRoot() && name == versionsDir {
		if ch, errno := d.fsys.lookupVersions(ctx, d, out); errno != syscall.ENOSYS {
			return ch, errno
		}
	}
	if fn := d.localChild(name); fn != nil {
		d.fsys.entryOut(fn.getAttr(), out)
		return &fn.Inode, 0
	}
	e, exists, fresh := d.cached(name)
	if !fresh && d.scanning() {
		d.relistForScan(ctx)
		e, exists, fresh = d.cached(name)
	}
	if !fresh {
		if ch, ok := d.revalidateDir(ctx, name, out); ok {
			return ch, 0
		}
	}
	if !fresh {
		gen := d.generation()
		var errno syscall.Errno
		e, errno = d.probe(ctx, name)
		if errno != 0 {
			return nil, errno
		}
		exists = e != nil
		if !exists {
			d.noteAbsent(name, gen)
		}
	}
	if !exists {
		return nil, syscall.ENOENT
	}
	return d.childFromEntry(ctx, e, out)
}

// revalidateDir confirms a known directory with a marker by a HEAD of the
// marker: much cheaper than listing its prefix, and a directory wins over
// a same-named object anyway.
func (d *dirNode) revalidateDir(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, bool) {
	ch := d.GetChild(name)
	if ch == nil {
		return nil, false
	}
	dn, ok := ch.Operations().(*dirNode)
	if !ok {
		return nil, false
	}
	dn.mu.Lock()
	has := dn.hasMarker
	dn.mu.Unlock()
	prefix, ok := dn.keyPrefix()
	if !has || !ok {
		return nil, false
	}
	cctx, cancel := d.fsys.opCtx(ctx)
	info, err := d.fsys.bucket.Stat(cctx, prefix)
	cancel()
	if err != nil {
		return nil, false
	}
	a := dn.serverAttrs(d.fsys.cfg.attrsFromObject(info, syscall.S_IFDIR), true)
	d.fsys.entryOut(a, out)
	return ch, true
}

// serverAttrs installs attributes read from the server (a listing or the
// marker) and returns them, with times kept past this mount's own entry
// changes.
func (d *dirNode) serverAttrs(a attrs, hasMarker bool) attrs {
	d.mu.Lock()
	defer d.mu.Unlock()
	if t := d.entriesChanged; !t.IsZero() {
		if t.After(a.mtime) {
			a.mtime = t
		}
		if t.After(a.ctime) {
			a.ctime = t
		}
	}
	d.attr, d.fetched, d.hasMarker = a, time.Now(), hasMarker
	return a
}

// entriesChangedNow records that this mount changed the directory's
// entries: mtime and ctime become now.
func (d *dirNode) entriesChangedNow() {
	now := attrNow()
	d.mu.Lock()
	d.entriesChanged, d.attr.mtime, d.attr.ctime = now, now, now
	d.mu.Unlock()
}

// probe asks the server whether name is a directory or an object.
func (d *dirNode) probe(ctx context.Context, name string) (*listedEntry, syscall.Errno) {
	prefix, ok := d.keyPrefix()
	if !ok {
		return nil, syscall.ENOENT
	}
	ctx, cancel := d.fsys.opCtx(ctx)
	defer cancel()
	key := prefix + name
	var (
		wg      sync.WaitGroup
		info    ObjectInfo
		statErr error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		info, statErr = d.fsys.bucket.Stat(ctx, key)
	}()
	var first *ListEntry
	listErr := d.fsys.bucket.List(ctx, ListOptions{Prefix: key + "/", PageSize: 1, WithMeta: true}, func(e ListEntry) bool {
		first = &e
		return false
	})
	wg.Wait()
	if listErr != nil {
		return nil, d.fsys.errnoOf("lookup", listErr)
	}
	if first != nil {
		e := &listedEntry{name: name, isDir: true}
		if first.Key == key+"/" {
			e.info, e.hasInfo = first.ObjectInfo, true
		}
		return e, 0
	}
	if statErr != nil {
		if errno := d.fsys.errnoOf("lookup", statErr); errno != syscall.ENOENT {
			return nil, errno
		}
		return nil, 0
	}
	if m, ok := parseModeType(info.Meta); ok && m == syscall.S_IFDIR {
		return &listedEntry{name: name, isDir: true}, 0
	}
	return &listedEntry{name: name, info: info, hasInfo: true}, 0
}

// childFromEntry returns the inode for a listed entry, reusing the
// existing child inode when its type did not change.
func (d *dirNode) childFromEntry(ctx context.Context, e *listedEntry, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	cfg := &d.fsys.cfg
	if e.isDir {
		info := e.info
		if !e.hasInfo || !info.HasMeta {
			// Listings show a directory as a common prefix: its marker
			// (if any) holds the attributes.
			prefix, _ := d.keyPrefix()
			cctx, cancel := d.fsys.opCtx(ctx)
			i, err := d.fsys.bucket.Stat(cctx, prefix+e.name+"/")
			cancel()
			if err == nil {
				info, e = i, &listedEntry{name: e.name, isDir: true, info: i, hasInfo: true}
			}
		}
		if info.LastModified.IsZero() {
			info.LastModified = d.fsys.started
		}
		a := cfg.attrsFromObject(info, syscall.S_IFDIR)
		if ch := d.GetChild(e.name); ch != nil {
			if dn, ok := ch.Operations().(*dirNode); ok {
				d.fsys.entryOut(dn.serverAttrs(a, e.hasInfo), out)
				return ch, 0
			}
		}
		dn := &dirNode{nodeBase: nodeBase{fsys: d.fsys, attr: a, fetched: time.Now()}, hasMarker: e.hasInfo}
		d.fsys.entryOut(a, out)
		return d.NewInode(ctx, dn, fs.StableAttr{Mode: syscall.S_IFDIR}), 0
	}
	info := e.info
	if !info.HasMeta {
		// The server returned no metadata with the listing: HEAD.
		prefix, _ := d.keyPrefix()
		cctx, cancel := d.fsys.opCtx(ctx)
		i, err := d.fsys.bucket.Stat(cctx, prefix+e.name)
		cancel()
		if err != nil {
			return nil, d.fsys.errnoOf("lookup", err)
		}
		info = i
	}
	a := cfg.attrsFromObject(info, syscall.S_IFREG)
	if ch := d.GetChild(e.name); ch != nil {
		if fn, ok := ch.Operations().(*fileNode); ok && ch.StableAttr().Mode == a.kind() {
			old := fn.getAttr()
			fn.setAttr(a)
			if old.etag != a.etag {
				fn.mu.Lock()
				fn.target = ""
				fn.mu.Unlock()
			}
			d.fsys.entryOut(a, out)
			return ch, 0
		}
	}
	fn := d.fsys.newFileNode(a)
	d.fsys.entryOut(a, out)
	return d.NewInode(ctx, fn, fs.StableAttr{Mode: a.kind()}), 0
}

// list reads the whole directory (all pages, with metadata) and caches it.
func (d *dirNode) list(ctx context.Context) (map[string]*listedEntry, syscall.Errno) {
	prefix, ok := d.keyPrefix()
	if !ok {
		return nil, syscall.ENOENT
	}
	ctx, cancel := d.fsys.opCtx(ctx)
	defer cancel()
	gen := d.generation()
	var all []ListEntry
	err := d.fsys.bucket.List(ctx, ListOptions{Prefix: prefix, Delimiter: "/", WithMeta: true}, func(e ListEntry) bool {
		all = append(all, e)
		return true
	})
	if err != nil {
		return nil, d.fsys.errnoOf("readdir", err)
	}
	m := childrenFromListing(prefix, all)
	if len(all) > 0 && all[0].Key == prefix && !all[0].IsPrefix {
		d.mu.Lock()
		d.hasMarker = true
		d.mu.Unlock()
	}
	d.lmu.Lock()
	if d.gen == gen {
		// Not when this mount changed the directory meanwhile: the
		// listing may predate the change.
		d.listing, d.listedAt, d.served = m, time.Now(), 0
	}
	d.lmu.Unlock()
	return m, 0
}

// Readdir lists the directory: the server's entries plus files created
// here and not yet uploaded. .versions is never listed.
func (d *dirNode) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	m, errno := d.list(ctx)
	if errno != 0 {
		return nil, errno
	}
	entries := make([]fuse.DirEntry, 0, len(m))
	for name, e := range m {
		if d.IsRoot() && name == versionsDir {
			continue
		}
		mode := uint32(syscall.S_IFREG)
		if e.isDir {
			mode = syscall.S_IFDIR
		} else if t, ok := parseModeType(e.info.Meta); ok && objectKind(t) {
			mode = t
		}
		entries = append(entries, fuse.DirEntry{Name: name, Mode: mode})
	}
	for name := range d.Children() {
		if _, ok := m[name]; ok {
			continue
		}
		if fn := d.localChild(name); fn != nil {
			entries = append(entries, fuse.DirEntry{Name: name, Mode: fn.getAttr().kind()})
		}
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name < entries[j].Name })
	dots := []fuse.DirEntry{{Name: ".", Mode: syscall.S_IFDIR}, {Name: "..", Mode: syscall.S_IFDIR}}
	return fs.NewListDirStream(append(dots, entries...)), 0
}

// newAttrs returns the attributes of a new entry: owned by the caller,
// except that in a set-group-ID directory it takes the directory's group
// (and a new directory inherits the bit), as on a local file system.
func (d *dirNode) newAttrs(ctx context.Context, kind, mode uint32) attrs {
	uid, gid := d.fsys.callerOwner(ctx)
	mode = kind | mode&07777
	if pa := d.getAttr(); pa.mode&syscall.S_ISGID != 0 {
		gid = pa.gid
		if kind == syscall.S_IFDIR {
			mode |= syscall.S_ISGID
		}
	}
	now := attrNow()
	a := attrs{mode: mode, uid: uid, gid: gid, mtime: now, ctime: now, atime: now}
	if kind == syscall.S_IFDIR {
		a.size = 4096
	}
	return a
}

// Mkdir writes the "name/" marker so that the empty directory persists.
func (d *dirNode) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if d.fsys.cfg.ReadOnly || d.isVersionsRoot(name) {
		return nil, syscall.EROFS
	}
	if errno := checkNewName(name); errno != 0 {
		return nil, errno
	}
	prefix, ok := d.keyPrefix()
	if !ok {
		return nil, syscall.ENOENT
	}
	a := d.newAttrs(ctx, syscall.S_IFDIR, mode)
	dn := &dirNode{nodeBase: nodeBase{fsys: d.fsys, attr: a, fetched: time.Now()}}
	// The name was missing when looked up, so the new directory starts
	// with a known, empty listing: lookups of names about to be created
	// in it need no probe.
	dn.listing, dn.listedAt = map[string]*listedEntry{}, time.Now()
	e, errno := dn.putMarker(ctx, name, prefix+name+"/", a)
	if errno != 0 {
		return nil, errno
	}
	d.setEntry(name, e)
	d.entriesChangedNow()
	d.fsys.entryOut(a, out)
	return d.NewInode(ctx, dn, fs.StableAttr{Mode: syscall.S_IFDIR}), 0
}

// Create makes a new file whose empty staging is uploaded on close.
func (d *dirNode) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	if d.fsys.cfg.ReadOnly || d.isVersionsRoot(name) {
		return nil, nil, 0, syscall.EROFS
	}
	if errno := checkNewName(name); errno != 0 {
		return nil, nil, 0, errno
	}
	prefix, ok := d.keyPrefix()
	if !ok {
		return nil, nil, 0, syscall.ENOENT
	}
	a := d.newAttrs(ctx, syscall.S_IFREG, mode)
	fn := d.fsys.newFileNode(a)
	st, err := newStaging(d.fsys.cfg.CacheDir, prefix+name, "", 0)
	if err != nil {
		return nil, nil, 0, d.fsys.errnoOf("create", err)
	}
	st.dirty = true
	fn.st = st
	fn.opens = 1
	d.forgetAbsent(name)
	d.entriesChangedNow()
	d.fsys.entryOut(a, out)
	return d.NewInode(ctx, fn, fs.StableAttr{Mode: syscall.S_IFREG}), &fileHandle{n: fn, append: flags&syscall.O_APPEND != 0}, 0, 0
}

// Symlink stores the target as the object body with mode S_IFLNK|0777.
func (d *dirNode) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	a := d.newAttrs(ctx, syscall.S_IFLNK, 0o777)
	ch, fn, errno := d.createObject(ctx, "symlink", name, a, target, out)
	if errno == 0 {
		fn.target = target
	}
	return ch, errno
}

// Mknod makes a FIFO, a socket or a device node (or an empty regular file)
// as an empty object whose mode carries the type, as s3fs stores them. The
// kernel serves FIFOs and sockets itself; device nodes need CAP_MKNOD, and
// the mount is nodev.
func (d *dirNode) Mknod(ctx context.Context, name string, mode, dev uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	kind := mode & syscall.S_IFMT
	switch kind {
	case 0:
		kind = syscall.S_IFREG
	case syscall.S_IFREG, syscall.S_IFIFO, syscall.S_IFSOCK, syscall.S_IFCHR, syscall.S_IFBLK:
	default:
		return nil, syscall.EINVAL
	}
	a := d.newAttrs(ctx, kind, mode)
	if kind == syscall.S_IFCHR || kind == syscall.S_IFBLK {
		a.rdev = dev
	}
	ch, _, errno := d.createObject(ctx, "mknod", name, a, "", out)
	return ch, errno
}

// createObject stores a new node that is complete at once (a symlink or
// a special file): body and attributes in one PUT.
func (d *dirNode) createObject(ctx context.Context, op, name string, a attrs, body string, out *fuse.EntryOut) (*fs.Inode, *fileNode, syscall.Errno) {
	if d.fsys.cfg.ReadOnly || d.isVersionsRoot(name) {
		return nil, nil, syscall.EROFS
	}
	if errno := checkNewName(name); errno != 0 {
		return nil, nil, errno
	}
	prefix, ok := d.keyPrefix()
	if !ok {
		return nil, nil, syscall.ENOENT
	}
	a.size = int64(len(body))
	cctx, cancel := d.fsys.opCtx(ctx)
	info, err := d.fsys.bucket.Put(cctx, prefix+name, strings.NewReader(body), int64(len(body)), a.meta())
	cancel()
	if err != nil {
		return nil, nil, d.fsys.errnoOf(op, err)
	}
	a.etag = info.ETag
	fn := d.fsys.newFileNode(a)
	d.invalidate()
	d.entriesChangedNow()
	d.fsys.entryOut(a, out)
	return d.NewInode(ctx, fn, fs.StableAttr{Mode: a.kind()}), fn, 0
}

// Unlink deletes the object (writing a marker first if the directory is
// implicit, so that it survives losing its last entry).
func (d *dirNode) Unlink(ctx context.Context, name string) syscall.Errno {
	if d.fsys.cfg.ReadOnly || d.isVersionsRoot(name) {
		return syscall.EROFS
	}
	prefix, ok := d.keyPrefix()
	if !ok {
		return syscall.ENOENT
	}
	if errno := d.keepAlive(ctx); errno != 0 {
		return errno
	}
	if errno := d.keepChildIfOpen(ctx, name); errno != 0 {
		return errno
	}
	cctx, cancel := d.fsys.opCtx(ctx)
	defer cancel()
	if err := d.fsys.bucket.Delete(cctx, prefix+name); err != nil {
		d.invalidate()
		return d.fsys.errnoOf("unlink", err)
	}
	d.dropEntry(name)
	d.entriesChangedNow()
	return 0
}

// keepChildIfOpen keeps the content of file name for its open
// descriptors before its object goes (see fileNode.keepIfOpen).
func (d *dirNode) keepChildIfOpen(ctx context.Context, name string) syscall.Errno {
	if ch := d.GetChild(name); ch != nil {
		if fn, ok := ch.Operations().(*fileNode); ok {
			return fn.keepIfOpen(ctx)
		}
	}
	return 0
}

// isEmptyDir reports whether no key other than the marker is below prefix
// and no file is pending in the node.
func (d *dirNode) isEmptyDir(ctx context.Context, prefix string, child *fs.Inode) (bool, syscall.Errno) {
	if child != nil {
		if cd, ok := child.Operations().(*dirNode); ok {
			for name := range cd.Children() {
				if cd.localChild(name) != nil {
					return false, 0
				}
			}
		}
	}
	cctx, cancel := d.fsys.opCtx(ctx)
	defer cancel()
	empty := true
	err := d.fsys.bucket.List(cctx, ListOptions{Prefix: prefix, PageSize: 2}, func(e ListEntry) bool {
		if e.Key != prefix {
			empty = false
			return false
		}
		return true
	})
	if err != nil {
		return false, d.fsys.errnoOf("rmdir", err)
	}
	return empty, 0
}

// Rmdir removes an empty directory's marker; ENOTEMPTY otherwise.
func (d *dirNode) Rmdir(ctx context.Context, name string) syscall.Errno {
	if d.fsys.cfg.ReadOnly || d.isVersionsRoot(name) {
		return syscall.EROFS
	}
	prefix, ok := d.keyPrefix()
	if !ok {
		return syscall.ENOENT
	}
	key := prefix + name + "/"
	empty, errno := d.isEmptyDir(ctx, key, d.GetChild(name))
	if errno != 0 {
		return errno
	}
	if !empty {
		return syscall.ENOTEMPTY
	}
	if errno := d.keepAlive(ctx); errno != 0 {
		return errno
	}
	cctx, cancel := d.fsys.opCtx(ctx)
	defer cancel()
	d.invalidate()
	if err := d.fsys.bucket.Delete(cctx, key); err != nil {
		return d.fsys.errnoOf("rmdir", err)
	}
	d.entriesChangedNow()
	return 0
}
