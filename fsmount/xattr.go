package fsmount

import (
	"context"
	"strings"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
)

// Extended attributes are not stored (S3 metadata holds only the POSIX
// attributes): reads of user.* attributes find none and writes report
// ENOTSUP, which tools such as cp -p and rsync -X treat as "not supported
// here". The other namespaces (security labels, POSIX ACLs, trusted.*)
// are not supported at all and say so: ls -l asks for a security label and
// an ACL of every file it lists, and GNU ls stops asking on a device once
// an answer is ENOTSUP, where ENODATA cost two round trips per file.
// (The .versions tree serves user.bucketdb.* attributes, versions.go.)

var (
	_ fs.NodeGetxattrer    = (*nodeBase)(nil)
	_ fs.NodeSetxattrer    = (*nodeBase)(nil)
	_ fs.NodeListxattrer   = (*nodeBase)(nil)
	_ fs.NodeRemovexattrer = (*nodeBase)(nil)
)

func (n *nodeBase) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	return 0, missingXattr(attr)
}

// missingXattr is the answer for an attribute a node does not have.
func missingXattr(attr string) syscall.Errno {
	if strings.HasPrefix(attr, "user.") {
		return syscall.ENODATA
	}
	return syscall.ENOTSUP
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
