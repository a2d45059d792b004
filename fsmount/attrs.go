package fsmount

import (
	"math"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"
)

// Metadata names, the ones s3fs and rclone use (x-amz-meta-<name>).
const (
	metaMode  = "mode"
	metaUID   = "uid"
	metaGID   = "gid"
	metaMtime = "mtime"
	metaCtime = "ctime"
	metaAtime = "atime"
	metaRdev  = "rdev" // device number of a character or block device node
	// metaXattr holds the user.* extended attributes as s3fs stores them:
	// a URL-encoded JSON object of names to base64 values.
	metaXattr = "xattr"
)

// attrs are the POSIX attributes of one node.
type attrs struct {
	mode  uint32 // st_mode including the file type bits
	rdev  uint32 // device number (device nodes only)
	uid   uint32
	gid   uint32
	size  int64
	mtime time.Time
	ctime time.Time
	atime time.Time
	etag  string
	xattr string // user.* extended attributes, encoded as stored (metaXattr)
	// stored is the attribute metadata the object carries on the server
	// (the keys meta renders), nil when unknown. A change whose rendering
	// equals it is not written (touch within the second of a create).
	stored Meta
}

// kind returns the file-type bits.
func (a attrs) kind() uint32 { return a.mode & syscall.S_IFMT }

// objectKind reports whether t is a file type stored as an object of its
// own whose mode says what it is (s3fs's representation): a symlink (the
// body is the target), a FIFO, a socket or a device node (empty bodies).
func objectKind(t uint32) bool {
	switch t {
	case syscall.S_IFLNK, syscall.S_IFIFO, syscall.S_IFSOCK, syscall.S_IFCHR, syscall.S_IFBLK:
		return true
	}
	return false
}

// parseEpoch reads decimal epoch seconds, integer (s3fs) or fractional
// (rclone).
func parseEpoch(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e15 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e9))), true
}

// attrsFromObject derives attributes from an object (or directory marker).
// kind is the file type to assume when the metadata carries none; mode
// bits that are missing or unparseable fall back to the configured defaults.
func (c *Config) attrsFromObject(info ObjectInfo, kind uint32) attrs {
	a := attrs{uid: c.UID, gid: c.GID, size: info.Size, etag: info.ETag}
	perm := c.FileMode
	if kind == syscall.S_IFDIR {
		perm = c.DirMode
	}
	a.mode = kind | perm&07777
	m := info.Meta
	if v, err := strconv.ParseUint(strings.TrimSpace(m[metaMode]), 10, 32); err == nil {
		mode := uint32(v)
		if mode&syscall.S_IFMT == 0 {
			mode |= kind
		}
		// A marker or object keeps the type it was found as, except
		// that a regular-file object may declare itself a symlink, FIFO,
		// socket or device node.
		if mode&syscall.S_IFMT != kind && !(kind == syscall.S_IFREG && objectKind(mode&syscall.S_IFMT)) {
			mode = kind | mode&07777
		}
		a.mode = mode
	}
	if v, err := strconv.ParseUint(strings.TrimSpace(m[metaUID]), 10, 32); err == nil {
		a.uid = uint32(v)
	}
	if k := a.kind(); k == syscall.S_IFCHR || k == syscall.S_IFBLK {
		if v, err := strconv.ParseUint(strings.TrimSpace(m[metaRdev]), 10, 32); err == nil {
			a.rdev = uint32(v)
		}
	}
	if v, err := strconv.ParseUint(strings.TrimSpace(m[metaGID]), 10, 32); err == nil {
		a.gid = uint32(v)
	}
	a.mtime = info.LastModified
	if t, ok := parseEpoch(m[metaMtime]); ok {
		a.mtime = t
	}
	a.ctime = a.mtime
	if t, ok := parseEpoch(m[metaCtime]); ok {
		a.ctime = t
	}
	a.atime = a.mtime
	if t, ok := parseEpoch(m[metaAtime]); ok {
		a.atime = t
	}
	if a.kind() == syscall.S_IFDIR {
		a.size = 4096
	}
	a.xattr = m[metaXattr]
	if info.HasMeta {
		a.stored = storedAttrMeta(m)
	}
	return a
}

// attrMetaKeys are the metadata keys meta renders.
var attrMetaKeys = []string{metaMode, metaUID, metaGID, metaMtime, metaCtime, metaAtime, metaRdev, metaXattr}

// storedAttrMeta returns the attribute keys of m (those meta renders).
func storedAttrMeta(m Meta) Meta {
	out := Meta{}
	for _, k := range attrMetaKeys {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}

// withAttrMeta returns the object metadata old with its attribute keys
// replaced by those of attr: metadata other tools stored stays.
func withAttrMeta(old, attr Meta) Meta {
	out := make(Meta, len(old)+len(attr))
	for k, v := range old {
		out[k] = v
	}
	for _, k := range attrMetaKeys {
		delete(out, k)
	}
	for k, v := range attr {
		out[k] = v
	}
	return out
}

// metaUnchanged reports whether the server already stores what meta
// renders, so that writing it again would change nothing that matters: a
// ctime that moved on alone (a chmod, chown or utimens to the values
// already stored, in a later second) is not worth a copy of the object.
func (a attrs) metaUnchanged() bool {
	if a.stored == nil {
		return false
	}
	m := a.meta()
	if len(m) != len(a.stored) {
		return false
	}
	for k, v := range m {
		if a.stored[k] != v && k != metaCtime {
			return false
		}
	}
	return true
}

// meta renders the attributes as object metadata in s3fs's form.
func (a attrs) meta() Meta {
	m := Meta{
		metaMode:  strconv.FormatUint(uint64(a.mode), 10),
		metaUID:   strconv.FormatUint(uint64(a.uid), 10),
		metaGID:   strconv.FormatUint(uint64(a.gid), 10),
		metaMtime: strconv.FormatInt(a.mtime.Unix(), 10),
		metaCtime: strconv.FormatInt(a.ctime.Unix(), 10),
	}
	// The access time is stored only when it is set and differs from the
	// modification time, which it reads back as when absent: a file
	// written and never given another atime carries no extra key.
	if at := a.atime.Unix(); !a.atime.IsZero() && at != a.mtime.Unix() {
		m[metaAtime] = strconv.FormatInt(at, 10)
	}
	if a.rdev != 0 {
		m[metaRdev] = strconv.FormatUint(uint64(a.rdev), 10)
	}
	if a.xattr != "" {
		m[metaXattr] = a.xattr
	}
	return m
}

// fill writes the attributes into a FUSE Attr.
func (a attrs) fill(out *fuse.Attr) {
	out.Mode = a.mode
	out.Rdev = a.rdev
	out.Uid = a.uid
	out.Gid = a.gid
	out.Size = uint64(a.size)
	out.Blocks = (uint64(a.size) + 511) / 512
	out.Blksize = 4096
	out.Nlink = 1
	if a.kind() == syscall.S_IFDIR {
		out.Nlink = 2
	}
	out.SetTimes(&a.atime, &a.mtime, &a.ctime)
}

// attrNow is the time a change made through the mount records. Times are
// stored in whole seconds (s3fs's form), so they are kept that way from
// the start and do not change when the attributes are next read from the
// server.
func attrNow() time.Time { return time.Now().Truncate(time.Second) }
