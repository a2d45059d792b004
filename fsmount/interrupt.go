package fsmount

import "github.com/hanwen/go-fuse/v2/fuse"

// uninterruptible passes every FUSE request on without the kernel's
// interrupt, except a blocking lock wait (F_SETLKW, flock without
// LOCK_NB), which a signal must be able to end with EINTR.
//
// The kernel interrupts a request whenever the calling thread receives a
// signal it handles, and a Go program's runtime signals its own threads
// to preempt goroutines, so interrupts are routine. Honouring them would
// fail a stat, getxattr, read or close on a healthy mount with EINTR,
// which POSIX never lets an operation on a regular file do and which few
// programs retry (a close that fails so may even have left data
// unwritten). Every other operation is bounded by the mount's own
// timeouts.
type uninterruptible struct{ fuse.RawFileSystem }

func (u uninterruptible) Lookup(_ <-chan struct{}, h *fuse.InHeader, name string, out *fuse.EntryOut) fuse.Status {
	return u.RawFileSystem.Lookup(nil, h, name, out)
}

func (u uninterruptible) GetAttr(_ <-chan struct{}, in *fuse.GetAttrIn, out *fuse.AttrOut) fuse.Status {
	return u.RawFileSystem.GetAttr(nil, in, out)
}

func (u uninterruptible) SetAttr(_ <-chan struct{}, in *fuse.SetAttrIn, out *fuse.AttrOut) fuse.Status {
	return u.RawFileSystem.SetAttr(nil, in, out)
}

func (u uninterruptible) Mknod(_ <-chan struct{}, in *fuse.MknodIn, name string, out *fuse.EntryOut) fuse.Status {
	return u.RawFileSystem.Mknod(nil, in, name, out)
}

func (u uninterruptible) Mkdir(_ <-chan struct{}, in *fuse.MkdirIn, name string, out *fuse.EntryOut) fuse.Status {
	return u.RawFileSystem.Mkdir(nil, in, name, out)
}

func (u uninterruptible) Unlink(_ <-chan struct{}, h *fuse.InHeader, name string) fuse.Status {
	return u.RawFileSystem.Unlink(nil, h, name)
}

func (u uninterruptible) Rmdir(_ <-chan struct{}, h *fuse.InHeader, name string) fuse.Status {
	return u.RawFileSystem.Rmdir(nil, h, name)
}

func (u uninterruptible) Rename(_ <-chan struct{}, in *fuse.RenameIn, oldName, newName string) fuse.Status {
	return u.RawFileSystem.Rename(nil, in, oldName, newName)
}

func (u uninterruptible) Link(_ <-chan struct{}, in *fuse.LinkIn, name string, out *fuse.EntryOut) fuse.Status {
	return u.RawFileSystem.Link(nil, in, name, out)
}

func (u uninterruptible) Symlink(_ <-chan struct{}, h *fuse.InHeader, target, name string, out *fuse.EntryOut) fuse.Status {
	return u.RawFileSystem.Symlink(nil, h, target, name, out)
}

func (u uninterruptible) Readlink(_ <-chan struct{}, h *fuse.InHeader) ([]byte, fuse.Status) {
	return u.RawFileSystem.Readlink(nil, h)
}

func (u uninterruptible) Access(_ <-chan struct{}, in *fuse.AccessIn) fuse.Status {
	return u.RawFileSystem.Access(nil, in)
}

func (u uninterruptible) GetXAttr(_ <-chan struct{}, h *fuse.InHeader, attr string, dest []byte) (uint32, fuse.Status) {
	return u.RawFileSystem.GetXAttr(nil, h, attr, dest)
}

func (u uninterruptible) ListXAttr(_ <-chan struct{}, h *fuse.InHeader, dest []byte) (uint32, fuse.Status) {
	return u.RawFileSystem.ListXAttr(nil, h, dest)
}

func (u uninterruptible) SetXAttr(_ <-chan struct{}, in *fuse.SetXAttrIn, attr string, data []byte) fuse.Status {
	return u.RawFileSystem.SetXAttr(nil, in, attr, data)
}

func (u uninterruptible) RemoveXAttr(_ <-chan struct{}, h *fuse.InHeader, attr string) fuse.Status {
	return u.RawFileSystem.RemoveXAttr(nil, h, attr)
}

func (u uninterruptible) Create(_ <-chan struct{}, in *fuse.CreateIn, name string, out *fuse.CreateOut) fuse.Status {
	return u.RawFileSystem.Create(nil, in, name, out)
}

func (u uninterruptible) Tmpfile(_ <-chan struct{}, in *fuse.CreateIn, out *fuse.CreateOut) fuse.Status {
	return u.RawFileSystem.Tmpfile(nil, in, out)
}

func (u uninterruptible) Open(_ <-chan struct{}, in *fuse.OpenIn, out *fuse.OpenOut) fuse.Status {
	return u.RawFileSystem.Open(nil, in, out)
}

func (u uninterruptible) Read(_ <-chan struct{}, in *fuse.ReadIn, buf []byte) (fuse.ReadResult, fuse.Status) {
	return u.RawFileSystem.Read(nil, in, buf)
}

func (u uninterruptible) Lseek(_ <-chan struct{}, in *fuse.LseekIn, out *fuse.LseekOut) fuse.Status {
	return u.RawFileSystem.Lseek(nil, in, out)
}

func (u uninterruptible) GetLk(_ <-chan struct{}, in *fuse.LkIn, out *fuse.LkOut) fuse.Status {
	return u.RawFileSystem.GetLk(nil, in, out)
}

func (u uninterruptible) SetLk(_ <-chan struct{}, in *fuse.LkIn) fuse.Status {
	return u.RawFileSystem.SetLk(nil, in)
}

// SetLkw keeps the interrupt: it may wait for another holder indefinitely.

func (u uninterruptible) Release(_ <-chan struct{}, in *fuse.ReleaseIn) {
	u.RawFileSystem.Release(nil, in)
}

func (u uninterruptible) Write(_ <-chan struct{}, in *fuse.WriteIn, data []byte) (uint32, fuse.Status) {
	return u.RawFileSystem.Write(nil, in, data)
}

func (u uninterruptible) Writev(_ <-chan struct{}, in *fuse.WriteIn, data [][]byte) (uint32, fuse.Status) {
	return u.RawFileSystem.Writev(nil, in, data)
}

func (u uninterruptible) CopyFileRange(_ <-chan struct{}, in *fuse.CopyFileRangeIn) (uint32, fuse.Status) {
	return u.RawFileSystem.CopyFileRange(nil, in)
}

func (u uninterruptible) Ioctl(_ <-chan struct{}, in *fuse.IoctlIn, inbuf []byte, out *fuse.IoctlOut, outbuf []byte) fuse.Status {
	return u.RawFileSystem.Ioctl(nil, in, inbuf, out, outbuf)
}

func (u uninterruptible) Flush(_ <-chan struct{}, in *fuse.FlushIn) fuse.Status {
	return u.RawFileSystem.Flush(nil, in)
}

func (u uninterruptible) Fsync(_ <-chan struct{}, in *fuse.FsyncIn) fuse.Status {
	return u.RawFileSystem.Fsync(nil, in)
}

func (u uninterruptible) Fallocate(_ <-chan struct{}, in *fuse.FallocateIn) fuse.Status {
	return u.RawFileSystem.Fallocate(nil, in)
}

func (u uninterruptible) OpenDir(_ <-chan struct{}, in *fuse.OpenIn, out *fuse.OpenOut) fuse.Status {
	return u.RawFileSystem.OpenDir(nil, in, out)
}

func (u uninterruptible) ReadDir(_ <-chan struct{}, in *fuse.ReadIn, out *fuse.DirEntryList) fuse.Status {
	return u.RawFileSystem.ReadDir(nil, in, out)
}

func (u uninterruptible) ReadDirPlus(_ <-chan struct{}, in *fuse.ReadIn, out *fuse.DirEntryList) fuse.Status {
	return u.RawFileSystem.ReadDirPlus(nil, in, out)
}

func (u uninterruptible) FsyncDir(_ <-chan struct{}, in *fuse.FsyncIn) fuse.Status {
	return u.RawFileSystem.FsyncDir(nil, in)
}

func (u uninterruptible) StatFs(_ <-chan struct{}, h *fuse.InHeader, out *fuse.StatfsOut) fuse.Status {
	return u.RawFileSystem.StatFs(nil, h, out)
}

func (u uninterruptible) Statx(_ <-chan struct{}, in *fuse.StatxIn, out *fuse.StatxOut) fuse.Status {
	return u.RawFileSystem.Statx(nil, in, out)
}
