package fsmount

import (
	"context"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// lookupVersions resolves /.versions in the mount root. ENOSYS means the
// bucket cannot list versions and .versions is an ordinary name.
func (f *FS) lookupVersions(ctx context.Context, root *dirNode, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, syscall.ENOSYS
}
