package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bucketdb/bucketdb/fsmount"
)

const mountUsage = `usage: bucketdb mount [flags] BUCKET[/PREFIX] MOUNTPOINT

Mounts a bucket (or the keys under PREFIX/) as a local directory and stays in
the foreground until it is unmounted (umount MOUNTPOINT, fusermount3 -u
MOUNTPOINT) or receives SIGINT/SIGTERM (then it uploads pending writes and
unmounts). Credentials come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or
BUCKETDB_ACCESS_KEY/BUCKETDB_SECRET_KEY.

flags:
`

// runMount implements `bucketdb mount`.
func runMount(args []string) int {
	fl := flag.NewFlagSet("mount", flag.ContinueOnError)
	fl.Usage = func() {
		fmt.Fprint(fl.Output(), mountUsage)
		fl.PrintDefaults()
	}
	def := fsmount.DefaultConfig()
	var (
		endpoint   = fl.String("endpoint", "http://127.0.0.1:9000", "S3 endpoint URL; several comma-separated ones are failed over")
		readOnly   = fl.Bool("read-only", false, "mount read-only")
		uid        = fl.Int("uid", os.Getuid(), "owner of objects that carry no x-amz-meta-uid")
		gid        = fl.Int("gid", os.Getgid(), "group of objects that carry no x-amz-meta-gid")
		fileMode   = fl.String("file-mode", "0644", "permissions (octal) of files that carry no x-amz-meta-mode")
		dirMode    = fl.String("dir-mode", "0755", "permissions (octal) of directories that carry no x-amz-meta-mode")
		cacheDir   = fl.String("cache-dir", filepath.Join(os.TempDir(), "bucketdb-cache"), "directory for the staging files of files being written")
		attrTTL    = fl.Duration("attr-ttl", def.AttrTTL, "how long attributes and entries are cached before the server is asked again")
		allowOther = fl.Bool("allow-other", false, "let other users access the mount")
		partSize   = fl.Int64("part-size", def.PartSize>>20, "multipart part size in MiB")
		debug      = fl.Bool("debug", false, "log every FUSE request")
		lockTTL    = fl.Duration("lock-ttl", def.LockTTL, "lease of the cluster lock behind a flock/fcntl lock: renewed while held, expires this long after the mount dies")
		localLocks = fl.Bool("local-locks", false, "keep flock/fcntl locks local to this mount instead of taking cluster locks")
	)
	pos, err := parseInterspersed(fl, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if len(pos) != 2 {
		fl.Usage()
		return 2
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "bucketdb mount: "+format+"\n", a...)
		return 1
	}
	bucket, prefix, _ := strings.Cut(pos[0], "/")
	prefix = strings.Trim(prefix, "/")
	if prefix != "" {
		prefix += "/"
	}
	mnt := pos[1]
	if st, err := os.Stat(mnt); err != nil || !st.IsDir() {
		return fail("mount point %s is not a directory", mnt)
	}
	fm, err1 := strconv.ParseUint(*fileMode, 8, 32)
	dm, err2 := strconv.ParseUint(*dirMode, 8, 32)
	if err1 != nil || err2 != nil || fm > 0o7777 || dm > 0o7777 {
		return fail("--file-mode and --dir-mode take octal permissions such as 0644")
	}
	ak, sk := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if ak == "" || sk == "" {
		ak, sk = os.Getenv("BUCKETDB_ACCESS_KEY"), os.Getenv("BUCKETDB_SECRET_KEY")
	}
	if ak == "" || sk == "" {
		return fail("no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or BUCKETDB_ACCESS_KEY and BUCKETDB_SECRET_KEY)")
	}
	if err := os.MkdirAll(*cacheDir, 0o700); err != nil {
		return fail("cache dir: %v", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	b, err := fsmount.NewS3Bucket(fsmount.S3Config{
		Endpoints: strings.Split(*endpoint, ","),
		Bucket:    bucket,
		AccessKey: ak,
		SecretKey: sk,
		Logger:    log,
	})
	if err != nil {
		return fail("%v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	err = b.Check(ctx)
	cancel()
	if err != nil {
		return fail("%v", err)
	}

	cfg := def
	cfg.Bucket = b
	cfg.Prefix = prefix
	cfg.ReadOnly = *readOnly
	cfg.UID, cfg.GID = uint32(*uid), uint32(*gid)
	cfg.FileMode, cfg.DirMode = uint32(fm), uint32(dm)
	cfg.CacheDir = *cacheDir
	cfg.AttrTTL = *attrTTL
	cfg.PartSize = *partSize << 20
	cfg.LockTTL = *lockTTL
	cfg.LocalLocks = *localLocks
	cfg.Logger = log
	fsys, err := fsmount.New(cfg)
	if err != nil {
		return fail("%v", err)
	}
	srv, err := fsys.Mount(mnt, fsmount.MountOptions{AllowOther: *allowOther, FsName: "bucketdb:" + pos[0], Debug: *debug})
	if err != nil {
		return fail("mount %s: %v", mnt, err)
	}
	fmt.Fprintf(os.Stderr, "bucketdb mount: mounted %s at %s\n", pos[0], mnt)

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	served := make(chan struct{})
	go func() {
		srv.Wait()
		close(served)
	}()
	select {
	case <-served:
	case sig := <-sigs:
		fmt.Fprintf(os.Stderr, "bucketdb mount: %v: uploading pending writes, then unmounting\n", sig)
		code := 0
		if err := flushAll(fsys); err != nil {
			code = 1
		}
		unmount(srv.Unmount, mnt)
		// A lazily detached mount serves open files until they are
		// closed; their data is uploaded, so stop serving after a grace
		// period (the kernel then fails further calls on them).
		select {
		case <-served:
		case <-time.After(2 * time.Second):
			return code
		}
	}
	signal.Stop(sigs)
	// A lazy unmount can leave writes that were closed after the mount
	// was detached: upload them before exiting.
	code := 0
	if err := flushAll(fsys); err != nil {
		code = 1
	}
	fsys.Close()
	return code
}

func flushAll(fsys *fsmount.FS) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	err := fsys.FlushAll(ctx)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bucketdb mount: uploading pending writes: %v\n", err)
	}
	return err
}

// unmount detaches the mount: a clean unmount first, a lazy one if busy.
func unmount(clean func() error, mnt string) {
	if err := clean(); err == nil {
		return
	}
	if err := exec.Command("fusermount3", "-u", "-z", mnt).Run(); err == nil {
		return
	}
	if err := syscall.Unmount(mnt, syscall.MNT_DETACH); err != nil {
		fmt.Fprintf(os.Stderr, "bucketdb mount: unmount %s: %v\n", mnt, err)
	}
}

// parseInterspersed parses flags before, between and after the positional
// arguments ("bucketdb mount b /mnt --read-only" works too).
func parseInterspersed(fl *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fl.Parse(args); err != nil {
			return nil, err
		}
		args = fl.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" || !strings.HasPrefix(args[0], "-") {
			if args[0] == "--" {
				return append(pos, args[1:]...), nil
			}
			pos = append(pos, args[0])
			args = args[1:]
		}
	}
}
