package fsmount

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fstatNlink returns the link count fstat(2) reports for f.
func fstatNlink(t *testing.T, f *os.File) uint64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	return uint64(st.Nlink)
}

// A file unlinked or renamed over while open has no name left: fstat on
// its descriptors reports st_nlink 0, as on a local file system (and as
// pjdfstest's unlink tests check), while the content stays readable.
func TestMountUnlinkedOpenFileNlink(t *testing.T) {
	b := NewMemBucket()
	dir, _ := testMount(t, b, nil)
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("kept"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if n := fstatNlink(t, f); n != 1 {
		t.Fatalf("nlink before unlink = %d, want 1", n)
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if n := fstatNlink(t, f); n != 0 {
		t.Fatalf("nlink after unlink = %d, want 0", n)
	}
	buf := make([]byte, 8)
	if m, err := f.ReadAt(buf, 0); string(buf[:m]) != "kept" {
		t.Fatalf("read after unlink: %q %v", buf[:m], err)
	}

	// Replaced by a rename: the old file's descriptor sees 0, the new
	// name 1.
	q, src := filepath.Join(dir, "g"), filepath.Join(dir, "src")
	for _, name := range []string{q, src} {
		if err := os.WriteFile(name, []byte(filepath.Base(name)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	g, err := os.OpenFile(q, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if err := os.Rename(src, q); err != nil {
		t.Fatal(err)
	}
	if n := fstatNlink(t, g); n != 0 {
		t.Fatalf("nlink of a file renamed over = %d, want 0", n)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(q, &st); err != nil || st.Nlink != 1 {
		t.Fatalf("nlink of the new file = %d %v, want 1", st.Nlink, err)
	}
}

// utimensat's access time persists (x-amz-meta-atime, as s3fs stores it)
// for files and directories, alone (touch -a) or with mtime, and other
// attribute changes leave it alone: another mount reads it back.
func TestMountAtimePersists(t *testing.T) {
	b := NewMemBucket()
	dir, _ := testMount(t, b, nil)
	p, d := filepath.Join(dir, "f"), filepath.Join(dir, "d")
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(d, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{p, d} {
		if err := os.Chtimes(name, time.Unix(1000000000, 0), time.Unix(1500000000, 0)); err != nil {
			t.Fatal(err)
		}
	}
	waitMeta(t, b, "f", "atime", func(m Meta) bool { return m["atime"] == "1000000000" && m["mtime"] == "1500000000" })
	if _, m := mustObject(t, b, "d/"); m["atime"] != "1000000000" {
		t.Fatalf("directory marker: %v", m)
	}
	// touch -a: the access time alone.
	ts := []unix.Timespec{{Sec: 2000000000}, {Nsec: unix.UTIME_OMIT}}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, 0); err != nil {
		t.Fatal(err)
	}
	if _, m := mustObject(t, b, "f"); m["atime"] != "2000000000" || m["mtime"] != "1500000000" {
		t.Fatalf("after an atime-only change: %v", m)
	}
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}

	dir2, _ := testMount(t, b, nil)
	for name, want := range map[string]int64{"f": 2000000000, "d": 1000000000} {
		var st unix.Stat_t
		if err := unix.Stat(filepath.Join(dir2, name), &st); err != nil {
			t.Fatal(err)
		}
		if st.Atim.Sec != want || st.Mtim.Sec != 1500000000 {
			t.Errorf("%s in a second mount: atime %d mtime %d, want %d and 1500000000", name, st.Atim.Sec, st.Mtim.Sec, want)
		}
	}
}

// "user." alone names no attribute: Linux file systems answer EINVAL to
// every call with it, where the mount used to store it as a name.
func TestMountXattrEmptyUserName(t *testing.T) {
	b := NewMemBucket()
	dir, _ := testMount(t, b, nil)
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := unix.Setxattr(p, "user.", []byte("v"), 0); err != unix.EINVAL {
		t.Errorf("setxattr user.: %v, want EINVAL", err)
	}
	if _, err := unix.Getxattr(p, "user.", make([]byte, 16)); err != unix.EINVAL {
		t.Errorf("getxattr user.: %v, want EINVAL", err)
	}
	if err := unix.Removexattr(p, "user."); err != unix.EINVAL {
		t.Errorf("removexattr user.: %v, want EINVAL", err)
	}
	if _, m := mustObject(t, b, "f"); m["xattr"] != "" {
		t.Errorf("stored xattrs %q", m["xattr"])
	}
}

// A size the mount could never upload (past 10,000 parts, or S3's 5 TiB)
// fails at once with EFBIG, as write(2) and truncate(2) say, instead of
// failing at close after uploading the rest.
func TestMountFileSizeLimit(t *testing.T) {
	b := NewMemBucket()
	dir, fsys := testMount(t, b, nil)
	limit := fsys.cfg.maxFileSize()
	if want := min(int64(5<<40), 55000*fsys.cfg.PartSize); limit != want {
		t.Fatalf("limit %d, want %d", limit, want)
	}
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Nothing more is uploaded: a size the check let through fails fast.
	b.SetFail(func(op, key string) error {
		if key == "f" && (op == "put" || op == "newmultipart" || op == "putpart") {
			return errors.New("injected: no upload expected")
		}
		return nil
	})
	if err := os.Truncate(p, limit+1); !errors.Is(err, syscall.EFBIG) {
		t.Fatalf("truncate past the limit: %v, want EFBIG", err)
	}
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte("y"), limit); !errors.Is(err, syscall.EFBIG) {
		t.Fatalf("write at the limit: %v, want EFBIG", err)
	}
	if err := f.Truncate(limit + 1); !errors.Is(err, syscall.EFBIG) {
		t.Fatalf("ftruncate past the limit: %v, want EFBIG", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if data, _ := mustObject(t, b, "f"); string(data) != "x" {
		t.Fatalf("object holds %d bytes", len(data))
	}
}
