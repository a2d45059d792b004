package fsmount

import (
	"context"
	"io"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// The .versions tree (see doc.go) is built on demand in Lookup and
// Readdir from ListVersions, like go-fuse's fs/dynamic_example_test.go:
//
//	.versions/            vdirNode vMirror, prefix = mount prefix (also accepts @TIME)
//	.versions/DIR/        vdirNode vMirror: every name that ever had a version
//	.versions/DIR/FILE/   vdirNode vFile: one entry per version of DIR/FILE
//	.versions/DIR/FILE/V  vfileNode: one version (read-only)
//	.versions/@T/...      vdirNode vTime and vfileNode: the tree as it was at T
//
// Everything in it is read-only: every change fails with EROFS.

type vdirKind int

const (
	vMirror vdirKind = iota
	vFile
	vTime
)

// vdirNode is a directory of the .versions tree.
type vdirNode struct {
	nodeBase
	kind vdirKind
	key  string    // vMirror, vTime: a prefix ("" or ending in "/"); vFile: the object key
	at   time.Time // vTime: the moment shown
	top  bool      // .versions itself: @TIME names resolve here

	lmu      sync.Mutex
	listing  map[string]*ventry // guarded by lmu; nil when none
	listedAt time.Time
}

// ventry is one child of a vdirNode as its listing shows it.
type ventry struct {
	name string
	// dir: a common prefix. In a time view, whether the directory existed
	// at the view's time is known only once checked.
	dir, checked, existed bool
	// file: vMirror: the key's newest entry; vFile: this version; vTime:
	// the version current at the view's time (never a delete marker).
	file *VersionEntry
}

// vfileNode is one version of an object: an entry of a vFile directory or
// a file of a time view.
type vfileNode struct {
	nodeBase
	key string
	v   VersionEntry // guarded by nodeBase.mu
	ra  readAhead
}

var (
	_ fs.NodeLookuper    = (*vdirNode)(nil)
	_ fs.NodeReaddirer   = (*vdirNode)(nil)
	_ fs.NodeGetattrer   = (*vdirNode)(nil)
	_ fs.NodeSetattrer   = (*vdirNode)(nil)
	_ fs.NodeMkdirer     = (*vdirNode)(nil)
	_ fs.NodeCreater     = (*vdirNode)(nil)
	_ fs.NodeMknoder     = (*vdirNode)(nil)
	_ fs.NodeUnlinker    = (*vdirNode)(nil)
	_ fs.NodeRmdirer     = (*vdirNode)(nil)
	_ fs.NodeRenamer     = (*vdirNode)(nil)
	_ fs.NodeSymlinker   = (*vdirNode)(nil)
	_ fs.NodeLinker      = (*vdirNode)(nil)
	_ fs.NodeStatfser    = (*vdirNode)(nil)
	_ fs.NodeSetxattrer  = (*vdirNode)(nil)
	_ fs.NodeGetattrer   = (*vfileNode)(nil)
	_ fs.NodeSetattrer   = (*vfileNode)(nil)
	_ fs.NodeOpener      = (*vfileNode)(nil)
	_ fs.NodeReader      = (*vfileNode)(nil)
	_ fs.NodeReadlinker  = (*vfileNode)(nil)
	_ fs.NodeGetxattrer  = (*vfileNode)(nil)
	_ fs.NodeListxattrer = (*vfileNode)(nil)
	_ fs.NodeSetxattrer  = (*vfileNode)(nil)
	_ fs.NodeStatfser    = (*vfileNode)(nil)
)

// lookupVersions resolves /.versions in the mount root. ENOSYS means the
// bucket cannot list versions and .versions is an ordinary name.
func (f *FS) lookupVersions(ctx context.Context, root *dirNode, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if f.versions == nil {
		return nil, syscall.ENOSYS
	}
	if ch := root.GetChild(versionsDir); ch != nil {
		if vd, ok := ch.Operations().(*vdirNode); ok {
			f.entryOut(vd.getAttr(), out)
			return ch, 0
		}
	}
	vd := f.newVdir(vMirror, f.cfg.Prefix, f.started)
	vd.top = true
	f.entryOut(vd.getAttr(), out)
	return root.NewInode(ctx, vd, fs.StableAttr{Mode: syscall.S_IFDIR}), 0
}

// isVersionsRoot reports whether name in d is the .versions tree.
func (d *dirNode) isVersionsRoot(name string) bool {
	return d.IsRoot() && name == versionsDir && d.fsys.versions != nil
}

func (f *FS) newVdir(kind vdirKind, key string, mtime time.Time) *vdirNode {
	a := attrs{mode: syscall.S_IFDIR | f.cfg.DirMode&07777, uid: f.cfg.UID, gid: f.cfg.GID, size: 4096,
		mtime: mtime, ctime: mtime, atime: mtime}
	return &vdirNode{nodeBase: nodeBase{fsys: f, attr: a, fetched: time.Now()}, kind: kind, key: key}
}

// --- listings ---

// cached returns the listing if it is fresh.
func (d *vdirNode) cached() map[string]*ventry {
	d.lmu.Lock()
	defer d.lmu.Unlock()
	if d.listing == nil || time.Since(d.listedAt) >= d.fsys.listTTL() {
		return nil
	}
	return d.listing
}

func (d *vdirNode) store(m map[string]*ventry) {
	d.lmu.Lock()
	d.listing, d.listedAt = m, time.Now()
	d.lmu.Unlock()
}

// list reads the directory's whole listing (all pages) and caches it.
func (d *vdirNode) list(ctx context.Context) (map[string]*ventry, syscall.Errno) {
	ctx, cancel := d.fsys.opCtx(ctx)
	defer cancel()
	var m map[string]*ventry
	var err error
	switch d.kind {
	case vFile:
		var vs []VersionEntry
		vs, err = d.fsys.keyVersions(ctx, d.key, true, nil)
		m = make(map[string]*ventry, len(vs))
		for i, name := range versionNames(d.key, vs) {
			m[name] = &ventry{name: name, file: &vs[i]}
		}
	default:
		m, err = d.fsys.listTree(ctx, d.key, d.kind == vTime, d.at)
	}
	if err != nil {
		return nil, d.fsys.errnoOf("list versions", err)
	}
	d.store(m)
	return m, 0
}

// keyVersions returns the versions and delete markers of key, newest
// first: all of them (all pages; the listing stops at the first other
// key), or, with enough set, up to the first one for which it is true.
func (f *FS) keyVersions(ctx context.Context, key string, withMeta bool, enough func(VersionEntry) bool) ([]VersionEntry, error) {
	var vs []VersionEntry
	opts := ListOptions{Prefix: key, Delimiter: "/", WithMeta: withMeta}
	if enough != nil {
		opts.PageSize = 10
	}
	err := f.versions.ListVersions(ctx, opts, func(e VersionEntry) bool {
		if e.IsPrefix {
			return true
		}
		if e.Key != key {
			return false // keys ascend and key is the first one
		}
		vs = append(vs, e)
		return enough == nil || !enough(e)
	})
	return vs, err
}

// listTree lists the children of prefix in the mirror (timed false) or as
// they were at at (timed).
func (f *FS) listTree(ctx context.Context, prefix string, timed bool, at time.Time) (map[string]*ventry, error) {
	m := map[string]*ventry{}
	var (
		cur string // the key whose versions are being read
		vs  []VersionEntry
	)
	flush := func() {
		defer func() { cur, vs = "", nil }()
		name := strings.TrimPrefix(cur, prefix)
		if name == "" || !validName(name) {
			return // the directory's own marker, or a hidden name
		}
		if v := pickVersion(vs, timed, at); v != nil {
			if m[name] == nil {
				m[name] = &ventry{name: name}
			}
			m[name].file = v
		}
	}
	err := f.versions.ListVersions(ctx, ListOptions{Prefix: prefix, Delimiter: "/", WithMeta: timed}, func(e VersionEntry) bool {
		if e.IsPrefix {
			name := strings.TrimSuffix(strings.TrimPrefix(e.Key, prefix), "/")
			if validName(name) {
				if m[name] == nil {
					m[name] = &ventry{name: name}
				}
				m[name].dir = true
			}
			return true
		}
		if e.Key != cur {
			flush()
			cur = e.Key
		}
		vs = append(vs, e)
		return true
	})
	flush()
	return m, err
}

// pickVersion returns what a listing shows of one key's entries (newest
// first): the newest (mirror), or the live version at at (timed; nil if
// it was deleted or did not exist yet).
func pickVersion(vs []VersionEntry, timed bool, at time.Time) *VersionEntry {
	if len(vs) == 0 {
		return nil
	}
	if !timed {
		return &vs[0]
	}
	if v := versionAt(vs, at); v != nil && !v.DeleteMarker {
		return v
	}
	return nil
}

// probeTree looks up one name below prefix without listing the whole
// directory: the versions of the key prefix+name, and (in parallel)
// whether the directory prefix+name/ exists, or existed at at (timed).
// It returns nil when neither does.
func (f *FS) probeTree(ctx context.Context, prefix, name string, timed bool, at time.Time) (*ventry, error) {
	e := &ventry{name: name}
	var (
		wg     sync.WaitGroup
		dirErr error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		if timed {
			e.existed, dirErr = f.existedAt(ctx, prefix+name+"/", at)
			e.dir, e.checked = e.existed, true
			return
		}
		dirErr = f.versions.ListVersions(ctx, ListOptions{Prefix: prefix + name + "/", PageSize: 1}, func(VersionEntry) bool {
			e.dir = true
			return false
		})
	}()
	// The newest entry (mirror), or the newest not after at (timed),
	// decides; a file's version directory lists the rest when read.
	vs, err := f.keyVersions(ctx, prefix+name, timed, func(v VersionEntry) bool {
		return !timed || !v.LastModified.After(at)
	})
	wg.Wait()
	if err == nil {
		err = dirErr
	}
	if err != nil {
		return nil, err
	}
	e.file = pickVersion(vs, timed, at)
	if !e.dir && e.file == nil {
		return nil, nil
	}
	return e, nil
}

// existedAt reports whether any key below prefix had a live version at t.
func (f *FS) existedAt(ctx context.Context, prefix string, t time.Time) (bool, error) {
	found := false
	skip := ""
	err := f.versions.ListVersions(ctx, ListOptions{Prefix: prefix}, func(e VersionEntry) bool {
		if e.IsPrefix || e.Key == skip || e.LastModified.After(t) {
			return true
		}
		// The newest entry of this key not after t decides it.
		if !e.DeleteMarker {
			found = true
			return false
		}
		skip = e.Key
		return true
	})
	return found, err
}

// checkDirs finds out which directories of a time view existed at its
// time, a few at a time.
func (d *vdirNode) checkDirs(ctx context.Context, es []*ventry) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		sem   = make(chan struct{}, 8)
	)
	if d.kind != vTime {
		return nil
	}
	for _, e := range es {
		d.lmu.Lock()
		done := e == nil || !e.dir || e.checked
		d.lmu.Unlock()
		if done {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ok, err := d.fsys.existedAt(ctx, d.key+e.name+"/", d.at)
			if err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
				return
			}
			d.lmu.Lock()
			e.existed, e.checked = ok, true
			d.lmu.Unlock()
		}()
	}
	wg.Wait()
	return first
}

// resolve turns a listed entry into what the directory shows: a
// directory, a file, or nothing (a time view's directory that did not
// exist yet, with no file of that name).
func (d *vdirNode) resolve(e *ventry) (isDir, exists bool) {
	d.lmu.Lock()
	defer d.lmu.Unlock()
	switch {
	case e == nil:
		return false, false
	case d.kind == vFile:
		return false, true
	case e.dir && (d.kind == vMirror || e.existed):
		return true, true
	case d.kind == vMirror:
		return true, e.file != nil // a file is a directory of its versions
	default:
		return false, e.file != nil
	}
}

// --- lookup and readdir ---

// Lookup resolves a child from a fresh listing, else by a listing of just
// that name (vMirror, vTime) or of all versions (vFile).
func (d *vdirNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if d.top && strings.HasPrefix(name, "@") {
		return d.lookupAt(ctx, name, out)
	}
	var e *ventry
	switch m := d.cached(); {
	case m != nil:
		e = m[name]
		if err := d.checkDirs(ctx, []*ventry{e}); err != nil {
			return nil, d.fsys.errnoOf("lookup versions", err)
		}
	case d.kind == vFile:
		m, errno := d.list(ctx)
		if errno != 0 {
			return nil, errno
		}
		e = m[name]
	default:
		cctx, cancel := d.fsys.opCtx(ctx)
		var err error
		e, err = d.fsys.probeTree(cctx, d.key, name, d.kind == vTime, d.at)
		cancel()
		if err != nil {
			return nil, d.fsys.errnoOf("lookup versions", err)
		}
	}
	isDir, ok := d.resolve(e)
	if !ok {
		return nil, syscall.ENOENT
	}
	return d.child(ctx, e, isDir, out), 0
}

// lookupAt resolves .versions/@TIME.
func (d *vdirNode) lookupAt(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	t, ok := parseAt(name)
	if !ok {
		return nil, syscall.ENOENT
	}
	if ch := d.GetChild(name); ch != nil {
		if vd, ok := ch.Operations().(*vdirNode); ok {
			d.fsys.entryOut(vd.getAttr(), out)
			return ch, 0
		}
	}
	vd := d.fsys.newVdir(vTime, d.key, t)
	vd.at = t
	d.fsys.entryOut(vd.getAttr(), out)
	return d.NewInode(ctx, vd, fs.StableAttr{Mode: syscall.S_IFDIR}), 0
}

// child returns the inode for a resolved entry, reusing the existing one
// when it still shows the same thing.
func (d *vdirNode) child(ctx context.Context, e *ventry, isDir bool, out *fuse.EntryOut) *fs.Inode {
	old := d.GetChild(e.name)
	if isDir {
		kind, key, mtime := vMirror, d.key+e.name+"/", d.fsys.started
		switch {
		case d.kind == vTime:
			kind, mtime = vTime, d.at
		case !e.dir:
			kind, key, mtime = vFile, d.key+e.name, e.file.LastModified
		}
		if old != nil {
			if vd, ok := old.Operations().(*vdirNode); ok && vd.kind == kind && vd.key == key {
				d.fsys.entryOut(vd.getAttr(), out)
				return old
			}
		}
		vd := d.fsys.newVdir(kind, key, mtime)
		vd.at = d.at
		d.fsys.entryOut(vd.getAttr(), out)
		return d.NewInode(ctx, vd, fs.StableAttr{Mode: syscall.S_IFDIR})
	}
	key := d.key
	if d.kind == vTime {
		key += e.name
	}
	a := d.fsys.versionAttrs(*e.file, d.kind == vTime)
	if old != nil {
		if vf, ok := old.Operations().(*vfileNode); ok && vf.key == key && old.StableAttr().Mode == a.kind() {
			vf.mu.Lock()
			same := vf.v.VersionID == e.file.VersionID
			if same {
				vf.v, vf.attr, vf.fetched = *e.file, a, time.Now()
			}
			vf.mu.Unlock()
			if same {
				d.fsys.entryOut(a, out)
				return old
			}
		}
	}
	vf := &vfileNode{nodeBase: nodeBase{fsys: d.fsys, attr: a, fetched: time.Now()}, key: key, v: *e.file}
	d.fsys.entryOut(a, out)
	return d.NewInode(ctx, vf, fs.StableAttr{Mode: a.kind()})
}

// versionAttrs are a version's attributes. A version entry (vFile) is a
// regular file whose times are the version's LastModified, whatever its
// x-amz-meta-mtime says, so that `ls -lt` agrees with the names; a file
// of a time view shows the file as it was (mode, owner and mtime from its
// metadata, as in the live tree). Delete markers are empty files.
func (f *FS) versionAttrs(v VersionEntry, asWas bool) attrs {
	a := f.cfg.attrsFromObject(v.ObjectInfo, syscall.S_IFREG)
	if v.DeleteMarker {
		a.size = 0
	}
	if !asWas {
		a.mode = syscall.S_IFREG | a.mode&07777
		a.mtime, a.ctime, a.atime = v.LastModified, v.LastModified, v.LastModified
	}
	return a
}

// Readdir lists the directory. .versions itself lists the mirror of the
// mount's root (time views are entered by name only).
func (d *vdirNode) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	m, errno := d.list(ctx)
	if errno != 0 {
		return nil, errno
	}
	if d.kind == vTime {
		es := make([]*ventry, 0, len(m))
		for _, e := range m {
			es = append(es, e)
		}
		if err := d.checkDirs(ctx, es); err != nil {
			return nil, d.fsys.errnoOf("readdir versions", err)
		}
	}
	entries := make([]fuse.DirEntry, 0, len(m)+2)
	for name, e := range m {
		isDir, ok := d.resolve(e)
		if !ok {
			continue
		}
		mode := uint32(syscall.S_IFREG)
		if isDir {
			mode = syscall.S_IFDIR
		} else if d.kind == vTime {
			mode = d.fsys.versionAttrs(*e.file, true).kind()
		}
		entries = append(entries, fuse.DirEntry{Name: name, Mode: mode})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name < entries[j].Name })
	dots := []fuse.DirEntry{{Name: ".", Mode: syscall.S_IFDIR}, {Name: "..", Mode: syscall.S_IFDIR}}
	return fs.NewListDirStream(append(dots, entries...)), 0
}

func (d *vdirNode) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	d.getAttr().fill(&out.Attr)
	out.SetTimeout(d.fsys.cfg.AttrTTL)
	return 0
}

func (d *vdirNode) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	d.fsys.statfs(out)
	return 0
}

// --- reading a version ---

// Open refuses writing; a version never changes, so the kernel may keep
// its pages.
func (n *vfileNode) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if flags&syscall.O_ACCMODE != syscall.O_RDONLY || flags&syscall.O_TRUNC != 0 {
		return nil, 0, syscall.EROFS
	}
	return nil, fuse.FOPEN_KEEP_CACHE, 0
}

func (n *vfileNode) version() VersionEntry {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.v
}

// Read returns the version's bytes: ranged GETs with its version ID,
// through the mount's read cache.
func (n *vfileNode) Read(ctx context.Context, fh fs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	v := n.version()
	if v.DeleteMarker {
		return fuse.ReadResultData(nil), 0
	}
	end := min(off+int64(len(dest)), v.Size)
	if end <= off {
		return fuse.ReadResultData(nil), 0
	}
	buf := dest[:end-off]
	r := objectReader{fsys: n.fsys, key: n.key, etag: v.ETag, version: v.VersionID, size: v.Size, ra: &n.ra}
	if err := r.readAt(ctx, buf, off); err != nil {
		return nil, n.fsys.errnoOf("read version", err)
	}
	return fuse.ReadResultData(buf), 0
}

// Readlink serves a symlink of a time view: the version's body.
func (n *vfileNode) Readlink(ctx context.Context) ([]byte, syscall.Errno) {
	v := n.version()
	if n.getAttr().kind() != syscall.S_IFLNK {
		return nil, syscall.EINVAL
	}
	ctx, cancel := n.fsys.opCtx(ctx)
	defer cancel()
	rc, err := n.fsys.versions.GetVersion(ctx, n.key, v.VersionID, 0, 4096)
	if err != nil {
		return nil, n.fsys.errnoOf("readlink version", err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, n.fsys.errnoOf("readlink version", err)
	}
	return b, 0
}

func (n *vfileNode) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	n.getAttr().fill(&out.Attr)
	out.SetTimeout(n.fsys.cfg.AttrTTL)
	return 0
}

func (n *vfileNode) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	n.fsys.statfs(out)
	return 0
}

// Extended attributes of a version.
const (
	xattrVersionID = "user.bucketdb.version_id"
	xattrETag      = "user.bucketdb.etag"
	xattrLatest    = "user.bucketdb.latest"
)

// xattrs returns the version's attributes in listing order (no ETag for a
// delete marker).
func (n *vfileNode) xattrs() [][2]string {
	v := n.version()
	out := [][2]string{{xattrVersionID, v.VersionID}}
	if !v.DeleteMarker {
		out = append(out, [2]string{xattrETag, v.ETag})
	}
	latest := "false"
	if v.IsLatest {
		latest = "true"
	}
	return append(out, [2]string{xattrLatest, latest})
}

func (n *vfileNode) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	for _, kv := range n.xattrs() {
		if kv[0] == attr {
			return copyXattr(dest, kv[1])
		}
	}
	return 0, missingXattr(attr)
}

func (n *vfileNode) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	var b strings.Builder
	for _, kv := range n.xattrs() {
		b.WriteString(kv[0])
		b.WriteByte(0)
	}
	return copyXattr(dest, b.String())
}

// copyXattr follows getxattr(2): an empty dest asks for the size; a
// too-small one is ERANGE.
func copyXattr(dest []byte, val string) (uint32, syscall.Errno) {
	if len(dest) == 0 {
		return uint32(len(val)), 0
	}
	if len(dest) < len(val) {
		return uint32(len(val)), syscall.ERANGE
	}
	return uint32(copy(dest, val)), 0
}

// --- everything else is read-only ---

func (n *vfileNode) Setattr(ctx context.Context, fh fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	return syscall.EROFS
}

func (n *vfileNode) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	return syscall.EROFS
}

func (n *vfileNode) Removexattr(ctx context.Context, attr string) syscall.Errno {
	return syscall.EROFS
}

func (d *vdirNode) Setattr(ctx context.Context, fh fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	return syscall.EROFS
}

func (d *vdirNode) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	return syscall.EROFS
}

func (d *vdirNode) Removexattr(ctx context.Context, attr string) syscall.Errno {
	return syscall.EROFS
}

func (d *vdirNode) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, syscall.EROFS
}

func (d *vdirNode) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	return nil, nil, 0, syscall.EROFS
}

func (d *vdirNode) Mknod(ctx context.Context, name string, mode uint32, dev uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, syscall.EROFS
}

func (d *vdirNode) Unlink(ctx context.Context, name string) syscall.Errno { return syscall.EROFS }

func (d *vdirNode) Rmdir(ctx context.Context, name string) syscall.Errno { return syscall.EROFS }

func (d *vdirNode) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	return syscall.EROFS
}

func (d *vdirNode) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, syscall.EROFS
}

func (d *vdirNode) Link(ctx context.Context, target fs.InodeEmbedder, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, syscall.EROFS
}
