package fsmount

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// Config configures a file system. Start from DefaultConfig.
type Config struct {
	// Bucket is the object store (required).
	Bucket Bucket
	// Prefix, if not empty, mounts only the keys under it; it ends in "/".
	Prefix string
	// ReadOnly refuses every change with EROFS.
	ReadOnly bool
	// UID, GID, FileMode, DirMode are used for objects that carry no
	// x-amz-meta-uid/gid/mode (permission bits only in the modes).
	UID, GID          uint32
	FileMode, DirMode uint32
	// CacheDir holds the staging files of files being written.
	CacheDir string
	// AttrTTL is how long attributes, entries and listings are trusted
	// before the server is asked again (close-to-open consistency).
	AttrTTL time.Duration
	// PartSize is the multipart part size; files larger than it are
	// uploaded in parts (at least 5 MiB).
	PartSize int64
	// UploadConcurrency bounds parallel part uploads per file.
	UploadConcurrency int
	// BlockSize is the unit of ranged reads and of the read cache.
	BlockSize int64
	// CacheBlocks bounds the read cache (memory = CacheBlocks*BlockSize).
	CacheBlocks int
	// MaxReadAhead is the largest read-ahead window, in blocks.
	MaxReadAhead int
	// KernelReadAhead is the kernel's read-ahead for the mount (bytes; the
	// mount's read_ahead_kb in /sys/class/bdi, set when writable). The
	// kernel's default, 128 KiB, cuts sequential reads into 128 KiB
	// requests; larger ones need fewer round trips. 0 leaves it alone.
	KernelReadAhead int64
	// OpTimeout bounds one metadata request attempt.
	OpTimeout time.Duration
	// LockTTL is the lease of a cluster lock taken for flock/fcntl; it is
	// renewed every LockTTL/3 while held, and expires LockTTL after the
	// mount dies.
	LockTTL time.Duration
	// LocalLocks keeps flock/fcntl locks local to the mount even when the
	// bucket has the lock API.
	LocalLocks bool
	// Logger receives errors; nil discards them.
	Logger *slog.Logger
}

// DefaultConfig returns the defaults of `bucketdb mount`.
func DefaultConfig() Config {
	return Config{
		FileMode:          0o644,
		DirMode:           0o755,
		CacheDir:          os.TempDir(),
		AttrTTL:           time.Second,
		PartSize:          16 << 20,
		UploadConcurrency: 4,
		BlockSize:         2 << 20,
		CacheBlocks:       48,
		MaxReadAhead:      8,
		KernelReadAhead:   4 << 20,
		OpTimeout:         2 * time.Minute,
		LockTTL:           30 * time.Second,
	}
}

func (c *Config) validate() error {
	switch {
	case c.Bucket == nil:
		return errors.New("fsmount: Config.Bucket is required")
	case c.Prefix != "" && !strings.HasSuffix(c.Prefix, "/"):
		return fmt.Errorf("fsmount: prefix %q must end in /", c.Prefix)
	case c.PartSize < 5<<20:
		return fmt.Errorf("fsmount: part size %d below 5 MiB", c.PartSize)
	case c.UploadConcurrency < 1, c.BlockSize < 4096, c.CacheBlocks < 2, c.MaxReadAhead < 0, c.KernelReadAhead < 0:
		return errors.New("fsmount: invalid concurrency or cache settings")
	case c.AttrTTL < 0:
		return errors.New("fsmount: negative attribute TTL")
	case c.LockTTL < time.Second:
		return errors.New("fsmount: lock TTL below 1s")
	}
	st, err := os.Stat(c.CacheDir)
	if err != nil {
		return fmt.Errorf("fsmount: cache dir: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("fsmount: cache dir %s is not a directory", c.CacheDir)
	}
	return nil
}

// FS is one mounted bucket (or prefix). Its nodes are built on demand by
// Lookup and Readdir; all state lives in the go-fuse inode tree below
// Root().
type FS struct {
	cfg    Config
	bucket Bucket
	// versions is the bucket's VersionedBucket capability, nil if it has
	// none (then there is no .versions tree).
	versions VersionedBucket
	// locks is the bucket's LockingBucket capability when the server has
	// the lock API (decided by Mount), else nil: locks are then local.
	locks  LockingBucket
	lk     lockTable
	log    *slog.Logger
	root   *dirNode
	cache  *blockCache
	logged sync.Map
	// started is shown as the time of directories without a marker.
	started time.Time

	// prefetch bounds background read-ahead requests.
	prefetch chan struct{}
	// bg tracks background goroutines (prefetch) so Close can wait.
	bg sync.WaitGroup
	// mntID is the kernel's ID of the mount (0 until mounted), which
	// /proc fdinfo shows for descriptors of this file system.
	mntID atomic.Uint64
}

// New builds a file system over cfg.Bucket.
func New(cfg Config) (*FS, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	f := &FS{
		cfg:      cfg,
		bucket:   cfg.Bucket,
		log:      log,
		cache:    newBlockCache(cfg.CacheBlocks, cfg.BlockSize),
		prefetch: make(chan struct{}, 8),
		started:  time.Now(),
	}
	f.versions, _ = cfg.Bucket.(VersionedBucket)
	f.locks, _ = cfg.Bucket.(LockingBucket)
	f.lk.init()
	f.root = &dirNode{nodeBase: nodeBase{fsys: f}}
	f.root.attr = attrs{mode: syscall.S_IFDIR | cfg.DirMode&07777, uid: cfg.UID, gid: cfg.GID, size: 4096,
		mtime: attrNow(), ctime: attrNow(), atime: attrNow()}
	f.root.fetched = time.Now()
	f.root.hasMarker = cfg.Prefix == ""
	return f, nil
}

// Root returns the root node to mount.
func (f *FS) Root() fs.InodeEmbedder { return f.root }

// MountOptions are the FUSE options of Mount.
type MountOptions struct {
	AllowOther bool
	FsName     string
	Debug      bool
}

// Mount mounts the file system at dir and returns the serving server.
func (f *FS) Mount(dir string, mo MountOptions) (*fuse.Server, error) {
	ttl := f.cfg.AttrTTL
	opts := &fs.Options{
		EntryTimeout:    &ttl,
		AttrTimeout:     &ttl,
		NegativeTimeout: &ttl,
		MountOptions: fuse.MountOptions{
			AllowOther:   mo.AllowOther,
			FsName:       mo.FsName,
			Name:         "bucketdb",
			MaxWrite:     1 << 20,
			MaxReadAhead: 1 << 20,
			// Reads answer from memory (fuse.ReadResultData): splicing
			// them only adds a copy into a pipe, and a 1 MiB read plus its
			// header does not fit the default pipe, which go-fuse then
			// logs on every such read.
			DisableSplice:     true,
			Debug:             mo.Debug,
			ExtraCapabilities: fuse.CAP_ATOMIC_O_TRUNC,
			DisableXAttrs:     false,
		},
	}
	opts.MountOptions.EnableLocks = f.setupLocks()
	// The kernel checks permissions against the modes and owners the
	// mount reports, as on a local file system; without this, anyone
	// let in by allow_other could read and write everything.
	opts.MountOptions.Options = append(opts.MountOptions.Options, "default_permissions")
	if f.cfg.ReadOnly {
		opts.MountOptions.Options = append(opts.MountOptions.Options, "ro")
	}
	srv, err := fuse.NewServer(uninterruptible{fs.NewNodeFS(f.root, opts)}, dir, &opts.MountOptions)
	if err != nil {
		return nil, err
	}
	go srv.Serve()
	if err := srv.WaitMount(); err != nil {
		return nil, err
	}
	if err := f.noteMountID(dir); err != nil {
		f.log.Debug("mount ID unknown", "err", err)
	}
	if f.cfg.KernelReadAhead > 0 {
		if err := setKernelReadAhead(dir, f.cfg.KernelReadAhead); err != nil {
			f.log.Debug("kernel read-ahead unchanged", "err", err)
		}
	}
	return srv, nil
}

// setKernelReadAhead sets the read-ahead of the mount's backing device
// info (only root may; others keep the kernel's default).
func setKernelReadAhead(dir string, bytes int64) error {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return err
	}
	p := fmt.Sprintf("/sys/class/bdi/%d:%d/read_ahead_kb", unix.Major(st.Dev), unix.Minor(st.Dev))
	return os.WriteFile(p, []byte(strconv.FormatInt(bytes>>10, 10)), 0)
}

// FlushAll uploads every file with unsaved changes (used before unmount).
// It returns the first error.
func (f *FS) FlushAll(ctx context.Context) error {
	var first error
	var walk func(n *fs.Inode)
	walk = func(n *fs.Inode) {
		for _, ch := range n.Children() {
			switch op := ch.Operations().(type) {
			case *fileNode:
				if err := op.commitIfDirty(ctx); err != nil && first == nil {
					first = err
				}
			case *dirNode:
				walk(ch)
			}
		}
	}
	walk(f.root.EmbeddedInode())
	return first
}

// Close releases the cluster locks still held and waits for background
// work.
func (f *FS) Close() {
	f.releaseAllLocks()
	f.bg.Wait()
}

// opCtx bounds one metadata operation.
func (f *FS) opCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, f.cfg.OpTimeout)
}

// listTTL is how long a directory listing answers lookups: the attribute
// TTL, but at least a second so that `ls -l` does not turn into a HEAD per
// entry.
func (f *FS) listTTL() time.Duration {
	return max(f.cfg.AttrTTL, time.Second)
}

// nodeBase is embedded by every node: the inode, its attributes and when
// they were last confirmed by the server.
type nodeBase struct {
	fs.Inode
	fsys *FS

	mu      sync.Mutex // guards attr, fetched
	attr    attrs
	fetched time.Time
}

// relPath returns the node's path below the mount root; ok is false when
// the node was unlinked.
func (n *nodeBase) relPath() (string, bool) {
	var segs []string
	in := n.EmbeddedInode()
	for !in.IsRoot() {
		name, parent := in.Parent()
		if parent == nil {
			return "", false
		}
		segs = append(segs, name)
		in = parent
	}
	for i, j := 0, len(segs)-1; i < j; i, j = i+1, j-1 {
		segs[i], segs[j] = segs[j], segs[i]
	}
	return strings.Join(segs, "/"), true
}

func (n *nodeBase) getAttr() attrs {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.attr
}

func (n *nodeBase) setAttr(a attrs) {
	n.mu.Lock()
	n.attr = a
	n.fetched = time.Now()
	n.mu.Unlock()
}

func (n *nodeBase) fresh() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return time.Since(n.fetched) < n.fsys.cfg.AttrTTL
}

// callerOwner returns the uid/gid of the calling process, or the defaults.
func (f *FS) callerOwner(ctx context.Context) (uint32, uint32) {
	if c, ok := fuse.FromContext(ctx); ok {
		return c.Uid, c.Gid
	}
	return f.cfg.UID, f.cfg.GID
}

// Statfs reports a large fixed capacity: S3 has no notion of free space.
func (f *FS) statfs(out *fuse.StatfsOut) {
	const bsize = 4096
	const total = 1 << 50 / bsize // 1 PiB
	out.Bsize = bsize
	out.Frsize = bsize
	out.Blocks = total
	out.Bfree = total
	out.Bavail = total
	out.Files = 1 << 40
	out.Ffree = 1 << 40
	out.NameLen = maxNameLen
}

// entryOut fills a lookup answer.
func (f *FS) entryOut(a attrs, out *fuse.EntryOut) {
	a.fill(&out.Attr)
	out.SetEntryTimeout(f.cfg.AttrTTL)
	out.SetAttrTimeout(f.cfg.AttrTTL)
}
