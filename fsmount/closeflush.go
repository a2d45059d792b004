package fsmount

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// A shell redirection (printf x > f) opens the file (O_TRUNC), moves the
// descriptor with dup2 and closes the original, writes, then closes the
// copy: two FLUSHes, the first on an empty file. Uploading at both would
// cost a PUT of an empty object that is replaced a moment later (and, in
// a versioned bucket, leave an empty version before every overwrite). So
// the FLUSH of a file that is new or truncated and still empty, holding
// nothing of its old object, is skipped while the closing thread holds
// another descriptor on the same file: that descriptor's close flushes
// again, and RELEASE uploads anything left in any case. A file whose only
// descriptor closes is uploaded at its close, as always.

// maxFDScan bounds the descriptor table a FLUSH reads; a process with more
// descriptors gets the plain upload.
const maxFDScan = 64

// closeFlush is flush for a close(2).
func (n *fileNode) closeFlush(ctx context.Context) syscall.Errno {
	n.io.Lock()
	defer n.io.Unlock()
	if st := n.st; st != nil && st.dirty && st.baseLimit == 0 && st.size == 0 && st.stream == nil && !n.lost {
		if c, ok := fuse.FromContext(ctx); ok && n.fsys.heldOpenBy(c.Pid, n.StableAttr().Ino) {
			return 0
		}
	}
	return n.fsys.errnoOf("flush", n.commitLocked(context.WithoutCancel(ctx)))
}

// heldOpenBy reports whether thread tid has a descriptor on the file with
// inode number ino in this mount. It reads /proc/TID/fdinfo, whose entries
// start "pos:, flags:, mnt_id:, ino:"; anything unreadable answers false.
func (f *FS) heldOpenBy(tid uint32, ino uint64) bool {
	mnt := f.mntID.Load()
	if tid == 0 || mnt == 0 {
		return false
	}
	dir := "/proc/" + strconv.FormatUint(uint64(tid), 10) + "/fdinfo/"
	d, err := os.Open(dir)
	if err != nil {
		return false
	}
	fds, err := d.Readdirnames(maxFDScan + 1)
	d.Close()
	if err != nil || len(fds) > maxFDScan {
		return false
	}
	want := []byte("\nmnt_id:\t" + strconv.FormatUint(mnt, 10) + "\nino:\t" + strconv.FormatUint(ino, 10) + "\n")
	buf := make([]byte, 256)
	for _, fd := range fds {
		fdi, err := unix.Open(dir+fd, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			continue
		}
		m, err := unix.Read(fdi, buf)
		unix.Close(fdi)
		if err == nil && bytes.Contains(buf[:max(m, 0)], want) {
			return true
		}
	}
	return false
}

// noteMountID records the mount's ID (as /proc fdinfo shows it) once the
// file system is mounted at dir; without it heldOpenBy answers false.
func (f *FS) noteMountID(dir string) error {
	var stx unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, dir, 0, unix.STATX_MNT_ID, &stx); err != nil {
		return err
	}
	if stx.Mask&unix.STATX_MNT_ID != 0 {
		f.mntID.Store(stx.Mnt_id)
	}
	return nil
}
