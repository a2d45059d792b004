package fsmount

import (
	"context"
	"strings"
	"sync"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// renameFlags the kernel may pass (linux/fs.h).
const (
	renameNoReplace = 1 << 0
	renameExchange  = 1 << 1
)

// Rename moves a file (server-side copy, then delete) or a directory (every
// key below it, copied then deleted). An existing destination is replaced
// as POSIX says: a file by a file, an empty directory by a directory.
// S3 has no atomic rename: a crash in the middle leaves both names.
func (d *dirNode) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	if d.fsys.cfg.ReadOnly || d.isVersionsRoot(name) {
		return syscall.EROFS
	}
	if np, ok := newParent.(*dirNode); ok && np.isVersionsRoot(newName) {
		return syscall.EROFS
	}
	if _, ok := newParent.(*vdirNode); ok {
		return syscall.EROFS // into the read-only .versions tree
	}
	if flags&renameExchange != 0 {
		return syscall.EINVAL
	}
	if errno := checkNewName(newName); errno != 0 {
		return errno
	}
	np, ok := newParent.(*dirNode)
	if !ok {
		return syscall.EXDEV
	}
	srcPrefix, ok1 := d.keyPrefix()
	dstPrefix, ok2 := np.keyPrefix()
	if !ok1 || !ok2 {
		return syscall.ENOENT
	}
	src := d.GetChild(name)
	if src == nil {
		var out fuse.EntryOut
		ch, errno := d.Lookup(ctx, name, &out)
		if errno != 0 {
			return errno
		}
		src = ch
	}
	_, srcIsDir := src.Operations().(*dirNode)

	// The destination, as the server and local state see it.
	dstIsDir, dstExists := false, false
	if fn := np.localChild(newName); fn != nil {
		dstExists = true
	} else if e, errno := np.probe(ctx, newName); errno != 0 {
		return errno
	} else if e != nil {
		dstExists, dstIsDir = true, e.isDir
	}
	if dstExists {
		switch {
		case flags&renameNoReplace != 0:
			return syscall.EEXIST
		case srcIsDir && !dstIsDir:
			return syscall.ENOTDIR
		case !srcIsDir && dstIsDir:
			return syscall.EISDIR
		case dstIsDir:
			empty, errno := np.isEmptyDir(ctx, dstPrefix+newName+"/", np.GetChild(newName))
			if errno != 0 {
				return errno
			}
			if !empty {
				return syscall.ENOTEMPTY
			}
		default:
			if errno := np.keepChildIfOpen(ctx, newName); errno != 0 {
				return errno
			}
		}
	}
	if errno := d.keepAlive(ctx); errno != 0 {
		return errno
	}
	defer d.invalidate()
	defer np.invalidate()
	var errno syscall.Errno
	if !srcIsDir {
		errno = d.renameFile(ctx, src.Operations().(*fileNode), srcPrefix+name, dstPrefix+newName)
	} else {
		errno = d.renameDir(ctx, src, srcPrefix+name+"/", dstPrefix+newName+"/")
	}
	if errno == 0 {
		d.entriesChangedNow()
		np.entriesChangedNow()
	}
	return errno
}

func (d *dirNode) renameFile(ctx context.Context, fn *fileNode, srcKey, dstKey string) syscall.Errno {
	fn.io.Lock()
	defer fn.io.Unlock()
	// Upload pending changes first: the copy then moves the complete file.
	if err := fn.commitLocked(ctx); err != nil {
		return d.fsys.errnoOf("rename", err)
	}
	cctx, cancel := d.fsys.opCtx(ctx)
	defer cancel()
	// A rename changes the file's status: the copy stores the new ctime.
	fn.mu.Lock()
	fn.attr.ctime = attrNow()
	fn.mu.Unlock()
	meta := fn.getAttr().meta()
	info, err := d.fsys.bucket.Copy(cctx, srcKey, dstKey, meta)
	if err != nil {
		return d.fsys.errnoOf("rename", err)
	}
	if err := d.fsys.bucket.Delete(cctx, srcKey); err != nil {
		return d.fsys.errnoOf("rename", err)
	}
	if fn.st != nil {
		fn.st.baseKey, fn.st.baseETag = dstKey, info.ETag
	}
	fn.mu.Lock()
	fn.ownETagLocked(fn.attr.etag, info.ETag)
	fn.attr.etag = info.ETag
	fn.attr.stored = storedAttrMeta(meta)
	fn.mu.Unlock()
	return 0
}

func (d *dirNode) renameDir(ctx context.Context, src *fs.Inode, srcPrefix, dstPrefix string) syscall.Errno {
	// Pending writes below the directory go first.
	if err := flushTree(ctx, src); err != nil {
		return d.fsys.errnoOf("rename", err)
	}
	cctx, cancel := d.fsys.opCtx(ctx)
	defer cancel()
	var keys []ListEntry
	err := d.fsys.bucket.List(cctx, ListOptions{Prefix: srcPrefix}, func(e ListEntry) bool {
		keys = append(keys, e)
		return true
	})
	if err != nil {
		return d.fsys.errnoOf("rename", err)
	}
	newETags := make([]string, len(keys))
	err = parallel(cctx, len(keys), 8, func(i int) error {
		k := keys[i]
		info, err := d.fsys.bucket.Copy(cctx, k.Key, dstPrefix+strings.TrimPrefix(k.Key, srcPrefix), nil)
		newETags[i] = info.ETag
		return err
	})
	if err != nil {
		return d.fsys.errnoOf("rename", err)
	}
	err = parallel(cctx, len(keys), 8, func(i int) error {
		return d.fsys.bucket.Delete(cctx, keys[i].Key)
	})
	if err != nil {
		return d.fsys.errnoOf("rename", err)
	}
	// Clean staging files below still name the old keys as their base.
	moved := make(map[string]string, len(keys))
	for i, k := range keys {
		moved[k.Key] = newETags[i]
	}
	walkFiles(src, func(fn *fileNode) {
		fn.io.Lock()
		if st := fn.st; st != nil && strings.HasPrefix(st.baseKey, srcPrefix) {
			if etag, ok := moved[st.baseKey]; ok {
				st.baseKey, st.baseETag = dstPrefix+strings.TrimPrefix(st.baseKey, srcPrefix), etag
			}
		}
		fn.io.Unlock()
	})
	return 0
}

// walkFiles calls fn for every file node below in.
func walkFiles(in *fs.Inode, fn func(*fileNode)) {
	for _, ch := range in.Children() {
		switch op := ch.Operations().(type) {
		case *fileNode:
			fn(op)
		case *dirNode:
			walkFiles(ch, fn)
		}
	}
}

// flushTree uploads pending changes of every file below in.
func flushTree(ctx context.Context, in *fs.Inode) error {
	var first error
	walkFiles(in, func(fn *fileNode) {
		if err := fn.commitIfDirty(ctx); err != nil && first == nil {
			first = err
		}
	})
	return first
}

// parallel runs fn(0..n-1) on up to workers goroutines and returns the
// first error.
func parallel(ctx context.Context, n, workers int, fn func(i int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  int
	)
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				if next >= n || first != nil || ctx.Err() != nil {
					mu.Unlock()
					return
				}
				i := next
				next++
				mu.Unlock()
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}
