package fsmount

import (
	"context"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
)

// Extended attributes are not stored (S3 metadata holds only the POSIX
// attributes): reads find none and writes report ENOTSUP, which tools such
// as cp -p and rsync -X treat as "not supported here".

var (
	_ fs.NodeGetxattrer    = (*nodeBase)(nil)
	_ fs.NodeSetxattrer    = (*nodeBase)(nil)
	_ fs.NodeListxattrer   = (*nodeBase)(nil)
	_ fs.NodeRemovexattrer = (*nodeBase)(nil)
)

func (n *nodeBase) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	return 0, syscall.ENODATA
}

func (n *nodeBase) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	return syscall.ENOTSUP
}

func (n *nodeBase) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	return 0, 0
}

func (n *nodeBase) Removexattr(ctx context.Context, attr string) syscall.Errno {
	return syscall.ENOTSUP
}
