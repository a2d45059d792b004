package fsmount

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"sort"
	"strings"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"golang.org/x/sys/unix"
)

// Extended attributes in the user.* namespace are stored with the other
// attributes, in x-amz-meta-xattr as s3fs stores them (a URL-encoded JSON
// object of names to base64 values), so they survive a remount and show
// in s3fs too. S3 caps user metadata at 2 KB: a setxattr that would not
// fit answers ENOSPC. The other namespaces (security labels, POSIX ACLs,
// trusted.*) are not supported and say so: ls -l asks for a security
// label and an ACL of every file it lists, and GNU ls stops asking on a
// device once an answer is ENOTSUP, where ENODATA cost two round trips per
// file. (The .versions tree serves user.bucketdb.* attributes,
// versions.go.)

// userXattrPrefix is the one namespace stored. The prefix alone names no
// attribute: Linux answers EINVAL for it (the kernel leaves that check to
// FUSE file systems, which it hands every name).
const userXattrPrefix = "user."

// maxXattrMeta bounds the encoded attributes, leaving room in S3's 2 KB of
// user metadata for mode, owner and times.
const maxXattrMeta = 1800

var (
	_ fs.NodeGetxattrer    = (*nodeBase)(nil)
	_ fs.NodeSetxattrer    = (*nodeBase)(nil)
	_ fs.NodeListxattrer   = (*nodeBase)(nil)
	_ fs.NodeRemovexattrer = (*nodeBase)(nil)
	_ fs.NodeSetxattrer    = (*fileNode)(nil)
	_ fs.NodeRemovexattrer = (*fileNode)(nil)
	_ fs.NodeSetxattrer    = (*dirNode)(nil)
	_ fs.NodeRemovexattrer = (*dirNode)(nil)
)

// decodeXattrs parses a stored metaXattr value; an unreadable one reads as
// no attributes.
func decodeXattrs(enc string) map[string][]byte {
	if enc == "" {
		return nil
	}
	raw, err := url.PathUnescape(enc)
	if err != nil {
		return nil
	}
	var m map[string]string
	if json.Unmarshal([]byte(raw), &m) != nil {
		return nil
	}
	out := make(map[string][]byte, len(m))
	for k, v := range m {
		if b, err := base64.StdEncoding.DecodeString(v); err == nil {
			out[k] = b
		}
	}
	return out
}

// encodeXattrs renders attributes for metaXattr ("" when there are none).
func encodeXattrs(x map[string][]byte) string {
	if len(x) == 0 {
		return ""
	}
	m := make(map[string]string, len(x))
	for k, v := range x {
		m[k] = base64.StdEncoding.EncodeToString(v)
	}
	raw, _ := json.Marshal(m) // sorted keys: equal sets encode equally
	return strings.ReplaceAll(url.QueryEscape(string(raw)), "+", "%20")
}

// missingXattr is the answer for an attribute a node does not have.
func missingXattr(attr string) syscall.Errno {
	if attr == userXattrPrefix {
		return syscall.EINVAL
	}
	if strings.HasPrefix(attr, userXattrPrefix) {
		return syscall.ENODATA
	}
	return syscall.ENOTSUP
}

func (n *nodeBase) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	if v, ok := decodeXattrs(n.getAttr().xattr)[attr]; ok {
		return copyXattr(dest, string(v))
	}
	return 0, missingXattr(attr)
}

func (n *nodeBase) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	x := decodeXattrs(n.getAttr().xattr)
	names := make([]string, 0, len(x))
	for k := range x {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		b.WriteString(k)
		b.WriteByte(0)
	}
	return copyXattr(dest, b.String())
}

func (n *nodeBase) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	return syscall.ENOTSUP
}

func (n *nodeBase) Removexattr(ctx context.Context, attr string) syscall.Errno {
	return syscall.ENOTSUP
}

// editXattr applies a setxattr (or, with remove, a removexattr) to the
// node's attributes in memory and reports whether the stored metadata must
// change. The caller holds what orders writes of the node's attributes.
func (n *nodeBase) editXattr(attr string, data []byte, flags uint32, remove bool) (bool, syscall.Errno) {
	if attr == userXattrPrefix {
		return false, syscall.EINVAL
	}
	if !strings.HasPrefix(attr, userXattrPrefix) {
		return false, syscall.ENOTSUP
	}
	if n.fsys.cfg.ReadOnly {
		return false, syscall.EROFS
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	x := decodeXattrs(n.attr.xattr)
	_, exists := x[attr]
	switch {
	case remove && !exists:
		return false, syscall.ENODATA
	case !remove && flags&unix.XATTR_CREATE != 0 && exists:
		return false, syscall.EEXIST
	case !remove && flags&unix.XATTR_REPLACE != 0 && !exists:
		return false, syscall.ENODATA
	}
	if x == nil {
		x = map[string][]byte{}
	}
	if remove {
		delete(x, attr)
	} else {
		x[attr] = bytes.Clone(data)
	}
	enc := encodeXattrs(x)
	if len(enc) > maxXattrMeta {
		return false, syscall.ENOSPC
	}
	n.attr.xattr = enc
	n.attr.ctime = attrNow()
	return !n.attr.metaUnchanged(), 0
}

func (n *fileNode) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	return n.changeXattr(ctx, attr, data, flags, false)
}

func (n *fileNode) Removexattr(ctx context.Context, attr string) syscall.Errno {
	return n.changeXattr(ctx, attr, nil, 0, true)
}

func (n *fileNode) changeXattr(ctx context.Context, attr string, data []byte, flags uint32, remove bool) syscall.Errno {
	n.io.Lock()
	defer n.io.Unlock()
	changed, errno := n.editXattr(attr, data, flags, remove)
	if errno != 0 {
		return errno
	}
	return n.storeAttrsLocked(ctx, "setxattr", changed)
}

func (d *dirNode) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	return d.changeXattr(ctx, attr, data, flags, false)
}

func (d *dirNode) Removexattr(ctx context.Context, attr string) syscall.Errno {
	return d.changeXattr(ctx, attr, nil, 0, true)
}

func (d *dirNode) changeXattr(ctx context.Context, attr string, data []byte, flags uint32, remove bool) syscall.Errno {
	changed, errno := d.editXattr(attr, data, flags, remove)
	if errno != 0 || !changed {
		return errno
	}
	prefix, ok := d.keyPrefix()
	if !ok || prefix == "" {
		return 0 // the root of a whole bucket keeps its attributes in memory
	}
	return d.rewriteMarker(ctx, prefix, d.getAttr())
}
