package fsmount

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// testMount mounts fsys (over b) in a temporary directory and unmounts it
// when the test ends. A mount failure fails the test.
func testMount(t *testing.T, b *MemBucket, edit func(*Config)) (string, *FS) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Bucket = b
	cfg.CacheDir = t.TempDir()
	cfg.PartSize = 5 << 20
	cfg.BlockSize = 1 << 20
	cfg.AttrTTL = 0
	if edit != nil {
		edit(&cfg)
	}
	fsys, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	srv, err := fsys.Mount(dir, MountOptions{FsName: "memtest"})
	if err != nil {
		t.Fatalf("mount: %v", err)
	}
	if err := srv.WaitMount(); err != nil {
		t.Fatalf("wait mount: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Unmount(); err != nil {
			t.Errorf("unmount: %v", err)
		}
		fsys.Close()
	})
	return dir, fsys
}

func randBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func mustObject(t *testing.T, b *MemBucket, key string) ([]byte, Meta) {
	t.Helper()
	data, meta, ok := b.Bytes(key)
	if !ok {
		t.Fatalf("object %q missing; keys %v", key, b.Keys())
	}
	return data, meta
}

func TestMountWriteRead(t *testing.T) {
	b := NewMemBucket()
	dir, _ := testMount(t, b, nil)
	p := filepath.Join(dir, "f.txt")

	// touch, > and >>
	if err := os.WriteFile(p, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	if data, meta := mustObject(t, b, "f.txt"); len(data) != 0 || meta["mode"] != strconv.Itoa(syscall.S_IFREG|0o640) {
		t.Fatalf("touch: %q %v", data, meta)
	}
	if err := os.WriteFile(p, []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("world\n"))
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if data, _ := mustObject(t, b, "f.txt"); string(data) != "hello\nworld\n" {
		t.Fatalf("append: %q", data)
	}
	got, err := os.ReadFile(p)
	if err != nil || string(got) != "hello\nworld\n" {
		t.Fatalf("read back %q %v", got, err)
	}

	// truncate shrink and grow, write past EOF
	if err := os.Truncate(p, 3); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, 8); err != nil {
		t.Fatal(err)
	}
	f, _ = os.OpenFile(p, os.O_WRONLY, 0)
	f.WriteAt([]byte("Z"), 12)
	f.Close()
	want := []byte("hel\x00\x00\x00\x00\x00\x00\x00\x00\x00Z")
	if data, _ := mustObject(t, b, "f.txt"); !bytes.Equal(data, want) {
		t.Fatalf("truncate/hole: %q", data)
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, want) {
		t.Fatalf("read after hole: %q", got)
	}
}

func TestMountLargeFiles(t *testing.T) {
	b := NewMemBucket()
	dir, _ := testMount(t, b, nil)
	p := filepath.Join(dir, "big")
	data := randBytes(t, 23<<20+123)
	// Sequential write: streamed as multipart.
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	for off := 0; off < len(data); off += 1 << 20 {
		if _, err := f.Write(data[off:min(off+1<<20, len(data))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if got, _ := mustObject(t, b, "big"); !bytes.Equal(got, data) {
		t.Fatalf("streamed upload differs (len %d)", len(got))
	}
	if b.CallCount("putpart") < 4 || b.Uploads() != 0 {
		t.Fatalf("expected multipart: parts %d uploads %d", b.CallCount("putpart"), b.Uploads())
	}
	// Overwrite in the middle: only the middle is written, the rest is
	// fetched from the object at upload.
	f, _ = os.OpenFile(p, os.O_RDWR, 0)
	patch := randBytes(t, 100000)
	if _, err := f.WriteAt(patch, 11<<20); err != nil {
		t.Fatal(err)
	}
	copy(data[11<<20:], patch)
	// Read through the same fd sees the patch and the untouched rest.
	buf := make([]byte, 3<<20)
	if _, err := f.ReadAt(buf, 10<<20); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf, data[10<<20:13<<20]) {
		t.Fatal("read of dirty file differs")
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if got, _ := mustObject(t, b, "big"); !bytes.Equal(got, data) {
		t.Fatal("overwrite in the middle differs")
	}
	if got, err := os.ReadFile(p); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back differs: %v", err)
	}
}

func TestMountTwoFDs(t *testing.T) {
	b := NewMemBucket()
	dir, _ := testMount(t, b, nil)
	p := filepath.Join(dir, "two")
	f1, _ := os.Create(p)
	f2, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f1.WriteAt([]byte("abc"), 0)
	buf := make([]byte, 3)
	if _, err := f2.ReadAt(buf, 0); err != nil || string(buf) != "abc" {
		t.Fatalf("fd2 sees %q %v", buf, err)
	}
	f2.WriteAt([]byte("X"), 1)
	f1.ReadAt(buf, 0)
	if string(buf) != "aXc" {
		t.Fatalf("fd1 sees %q", buf)
	}
	f1.Close()
	f2.Close()
	if got, _ := mustObject(t, b, "two"); string(got) != "aXc" {
		t.Fatalf("object %q", got)
	}
}

func TestMountDirs(t *testing.T) {
	b := NewMemBucket()
	b.PutBytes("a/b/c", []byte("deep"), nil)
	b.PutBytes("odd//name", []byte("x"), nil)
	b.PutBytes("x", []byte("file"), nil)
	b.PutBytes("x/inner", []byte("dir wins"), nil)
	dir, _ := testMount(t, b, nil)

	if got, err := os.ReadFile(filepath.Join(dir, "a/b/c")); err != nil || string(got) != "deep" {
		t.Fatalf("implicit dirs: %q %v", got, err)
	}
	if st, err := os.Stat(filepath.Join(dir, "x")); err != nil || !st.IsDir() {
		t.Fatalf("x should be a dir: %v", err)
	}
	names := readNames(t, dir)
	if fmt.Sprint(names) != "[a odd x]" {
		t.Fatalf("root entries %v", names)
	}
	if n := readNames(t, filepath.Join(dir, "odd")); len(n) != 0 {
		t.Fatalf("odd// should be hidden: %v", n)
	}

	if err := os.Mkdir(filepath.Join(dir, "empty"), 0o750); err != nil {
		t.Fatal(err)
	}
	if _, meta := mustObject(t, b, "empty/"); meta["mode"] != strconv.Itoa(syscall.S_IFDIR|0o750) {
		t.Fatalf("marker meta %v", meta)
	}
	err := os.Remove(filepath.Join(dir, "a"))
	if !errors.Is(err, syscall.ENOTEMPTY) {
		t.Fatalf("rmdir non-empty: %v", err)
	}
	// Removing the last file of an implicit dir keeps the dir.
	if err := os.Remove(filepath.Join(dir, "a/b/c")); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(dir, "a/b")); err != nil || !st.IsDir() {
		t.Fatalf("a/b vanished: %v", err)
	}
	if err := os.Remove(filepath.Join(dir, "a/b")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "empty")); err != nil {
		t.Fatal(err)
	}
	long := make([]byte, 256)
	for i := range long {
		long[i] = 'n'
	}
	if err := os.WriteFile(filepath.Join(dir, string(long)), nil, 0o644); !errors.Is(err, syscall.ENAMETOOLONG) {
		t.Fatalf("long name: %v", err)
	}
}

func readNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

func TestMountRename(t *testing.T) {
	b := NewMemBucket()
	dir, _ := testMount(t, b, nil)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "d1/sub/deeper"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "d1/sub/deeper/f"), []byte("F"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "d1/g"), []byte("G"), 0o644))
	must(os.Rename(filepath.Join(dir, "d1"), filepath.Join(dir, "d2")))
	if got, err := os.ReadFile(filepath.Join(dir, "d2/sub/deeper/f")); err != nil || string(got) != "F" {
		t.Fatalf("after dir rename: %q %v", got, err)
	}
	for _, k := range b.Keys() {
		if len(k) >= 3 && k[:3] == "d1/" {
			t.Fatalf("old key left: %v", b.Keys())
		}
	}
	// mv onto an existing file
	must(os.WriteFile(filepath.Join(dir, "src"), []byte("new"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "dst"), []byte("old"), 0o644))
	must(os.Rename(filepath.Join(dir, "src"), filepath.Join(dir, "dst")))
	if got, _ := mustObject(t, b, "dst"); string(got) != "new" {
		t.Fatalf("dst %q", got)
	}
	if _, _, ok := b.Bytes("src"); ok {
		t.Fatal("src still exists")
	}
	// rename before close
	f, err := os.Create(filepath.Join(dir, "tmp"))
	must(err)
	f.Write([]byte("part1"))
	must(os.Rename(filepath.Join(dir, "tmp"), filepath.Join(dir, "final")))
	f.Write([]byte("part2"))
	must(f.Close())
	if got, _ := mustObject(t, b, "final"); string(got) != "part1part2" {
		t.Fatalf("final %q", got)
	}
	if _, _, ok := b.Bytes("tmp"); ok {
		t.Fatal("tmp still exists")
	}
	// dir onto non-empty dir
	must(os.MkdirAll(filepath.Join(dir, "full/x"), 0o755))
	if err := os.Rename(filepath.Join(dir, "d2"), filepath.Join(dir, "full")); !errors.Is(err, syscall.ENOTEMPTY) && !errors.Is(err, syscall.EEXIST) {
		t.Fatalf("rename onto non-empty dir: %v", err)
	}
	// hard links are not supported
	if err := os.Link(filepath.Join(dir, "final"), filepath.Join(dir, "hl")); !errors.Is(err, syscall.ENOTSUP) && !errors.Is(err, syscall.EPERM) {
		t.Fatalf("link: %v", err)
	}
}

func TestMountAttrsAndSymlinks(t *testing.T) {
	b := NewMemBucket()
	dir, _ := testMount(t, b, nil)
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(p, 1234, 5678); err != nil {
		t.Fatal(err)
	}
	mt := time.Unix(1500000000, 0)
	if err := os.Chtimes(p, mt, mt); err != nil {
		t.Fatal(err)
	}
	waitMeta(t, b, "f", "chmod, chown and utimens after close", func(meta Meta) bool {
		return meta["mode"] == strconv.Itoa(syscall.S_IFREG|0o600) && meta["uid"] == "1234" &&
			meta["gid"] == "5678" && meta["mtime"] == "1500000000"
	})
	st, err := os.Stat(p)
	if err != nil || st.Mode().Perm() != 0o600 || !st.ModTime().Equal(mt) {
		t.Fatalf("stat %v %v", st, err)
	}
	if err := os.Symlink("f", filepath.Join(dir, "ln")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("nowhere", filepath.Join(dir, "dangling")); err != nil {
		t.Fatal(err)
	}
	if body, meta := mustObject(t, b, "ln"); string(body) != "f" || meta["mode"] != strconv.Itoa(syscall.S_IFLNK|0o777) {
		t.Fatalf("symlink object %q %v", body, meta)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "ln")); err != nil || string(got) != "x" {
		t.Fatalf("through symlink %q %v", got, err)
	}
	if tgt, err := os.Readlink(filepath.Join(dir, "dangling")); err != nil || tgt != "nowhere" {
		t.Fatalf("readlink %q %v", tgt, err)
	}
}

func TestMountListingMetadata(t *testing.T) {
	for _, noMeta := range []bool{false, true} {
		t.Run(fmt.Sprintf("noListMeta=%v", noMeta), func(t *testing.T) {
			b := NewMemBucket()
			b.PageSize = 7
			b.NoListMeta = noMeta
			for i := range 50 {
				b.PutBytes(fmt.Sprintf("d/f%03d", i), []byte("x"), Meta{"mode": "33152", "uid": "42"})
			}
			dir, _ := testMount(t, b, func(c *Config) { c.AttrTTL = 5 * time.Second })
			if _, err := os.Stat(filepath.Join(dir, "d")); err != nil {
				t.Fatal(err)
			}
			before := b.CallCount("stat")
			ents, err := os.ReadDir(filepath.Join(dir, "d"))
			if err != nil || len(ents) != 50 {
				t.Fatalf("readdir %d %v", len(ents), err)
			}
			for _, e := range ents {
				st, err := os.Lstat(filepath.Join(dir, "d", e.Name()))
				if err != nil || st.Mode().Perm() != 0o600 || st.Sys().(*syscall.Stat_t).Uid != 42 {
					t.Fatalf("lstat %s: %v %v", e.Name(), st, err)
				}
			}
			heads := b.CallCount("stat") - before
			if !noMeta && heads != 0 {
				t.Fatalf("ls -l cost %d HEADs with listing metadata", heads)
			}
			if noMeta && heads < 50 {
				t.Fatal("expected HEAD fallback without listing metadata")
			}
		})
	}
}

func TestMountUploadFailureIsEIO(t *testing.T) {
	b := NewMemBucket()
	dir, _ := testMount(t, b, nil)
	b.SetFail(func(op, key string) error {
		if op == "put" && key == "bad" {
			return errors.New("injected")
		}
		return nil
	})
	f, err := os.Create(filepath.Join(dir, "bad"))
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("data"))
	if err := f.Close(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("close = %v, want EIO", err)
	}
}

func TestMountReadOnly(t *testing.T) {
	b := NewMemBucket()
	b.PutBytes("f", []byte("x"), nil)
	dir, _ := testMount(t, b, func(c *Config) { c.ReadOnly = true })
	if got, err := os.ReadFile(filepath.Join(dir, "f")); err != nil || string(got) != "x" {
		t.Fatalf("read %q %v", got, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "g"), nil, 0o644); !errors.Is(err, syscall.EROFS) {
		t.Fatalf("write on ro: %v", err)
	}
}

// A chmod right after close can reach the file before the kernel's
// RELEASE (it arrives after close returns): the change is uploaded, not
// dropped with the staging.
func TestChmodRightAfterClose(t *testing.T) {
	b := NewMemBucket()
	dir, _ := testMount(t, b, nil)
	for i := range 200 {
		name := fmt.Sprintf("f%d", i)
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o600); err != nil {
			t.Fatal(err)
		}
		waitMeta(t, b, name, "chmod after close", func(meta Meta) bool {
			return meta["mode"] == strconv.Itoa(syscall.S_IFREG|0o600)
		})
	}
}

// waitMeta waits (bounded) until the stored metadata of name satisfies ok:
// a change made right after close may be uploaded at the kernel's RELEASE,
// which arrives after close returned.
func waitMeta(t *testing.T, b *MemBucket, name, what string, ok func(Meta) bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, meta, found := b.Bytes(name)
		if found && ok(meta) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s never reached the server: %v", name, what, meta)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestMountSpecialFiles: mknod makes FIFOs, sockets and device nodes as
// empty objects whose mode carries the type; they keep it across mounts,
// list with it, take chmod, and a FIFO carries data (the kernel serves it).
func TestMountSpecialFiles(t *testing.T) {
	b := NewMemBucket()
	dir, _ := testMount(t, b, nil)
	fifo, cdev, sock := filepath.Join(dir, "fifo"), filepath.Join(dir, "cdev"), filepath.Join(dir, "sock")
	if err := syscall.Mkfifo(fifo, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mknod(cdev, syscall.S_IFCHR|0o600, int(unix.Mkdev(1, 7))); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mknod(sock, syscall.S_IFSOCK|0o700, 0); err != nil {
		t.Fatal(err)
	}
	if body, meta := mustObject(t, b, "fifo"); len(body) != 0 || meta["mode"] != strconv.Itoa(syscall.S_IFIFO|0o640) {
		t.Fatalf("fifo object %q %v", body, meta)
	}
	if _, meta := mustObject(t, b, "cdev"); meta["mode"] != strconv.Itoa(syscall.S_IFCHR|0o600) || meta["rdev"] != strconv.Itoa(int(unix.Mkdev(1, 7))) {
		t.Fatalf("device object %v", meta)
	}
	if err := os.Chmod(fifo, 0o604); err != nil {
		t.Fatal(err)
	}
	if _, meta := mustObject(t, b, "fifo"); meta["mode"] != strconv.Itoa(syscall.S_IFIFO|0o604) {
		t.Fatalf("fifo after chmod %v", meta)
	}
	go func() {
		if f, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
			f.Write([]byte("through the pipe"))
			f.Close()
		}
	}()
	if got, err := os.ReadFile(fifo); err != nil || string(got) != "through the pipe" {
		t.Fatalf("read fifo %q %v", got, err)
	}

	// A second mount of the bucket sees the same types.
	dir2, _ := testMount(t, b, nil)
	want := map[string]fs.FileMode{"fifo": fs.ModeNamedPipe, "cdev": fs.ModeDevice | fs.ModeCharDevice, "sock": fs.ModeSocket}
	ents, err := os.ReadDir(dir2)
	if err != nil || len(ents) != 3 {
		t.Fatalf("readdir %v %v", ents, err)
	}
	for _, e := range ents {
		if e.Type() != want[e.Name()] {
			t.Errorf("readdir %s: type %v, want %v", e.Name(), e.Type(), want[e.Name()])
		}
		st, err := os.Lstat(filepath.Join(dir2, e.Name()))
		if err != nil || st.Mode().Type() != want[e.Name()] {
			t.Errorf("lstat %s: %v %v", e.Name(), st, err)
		}
	}
	if st, err := os.Lstat(filepath.Join(dir2, "cdev")); err != nil || uint64(st.Sys().(*syscall.Stat_t).Rdev) != unix.Mkdev(1, 7) {
		t.Fatalf("device number %v %v", st, err)
	}
	if err := os.Remove(filepath.Join(dir2, "fifo")); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := b.Bytes("fifo"); ok {
		t.Fatal("fifo object still there after unlink")
	}
}

// Only user.* attributes exist on the mount; the other namespaces are not
// supported, which ls -l learns from the first file.
func TestMountXattrNamespaces(t *testing.T) {
	b := NewMemBucket()
	dir, _ := testMount(t, b, nil)
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	for name, want := range map[string]error{
		"user.anything":           unix.ENODATA,
		"security.selinux":        unix.ENOTSUP,
		"system.posix_acl_access": unix.ENOTSUP,
		"trusted.x":               unix.ENOTSUP,
	} {
		if _, err := unix.Lgetxattr(p, name, buf); err != want {
			t.Errorf("getxattr %s: %v, want %v", name, err, want)
		}
	}
	if err := unix.Setxattr(p, "security.selinux", []byte("1"), 0); err != unix.ENOTSUP {
		t.Errorf("setxattr security.selinux: %v", err)
	}
}

// TestMountXattrs: user.* attributes are stored in x-amz-meta-xattr as
// s3fs stores them, read back from there, and follow getxattr(2)'s rules.
func TestMountXattrs(t *testing.T) {
	b := NewMemBucket()
	// As s3fs wrote it: {"user.color":"blue"}, URL-encoded, base64 value.
	b.PutBytes("s3fs", []byte("x"), Meta{"mode": "33188", "xattr": "%7B%22user.color%22%3A%22Ymx1ZQ%3D%3D%22%7D"})
	dir, _ := testMount(t, b, nil)
	buf := make([]byte, 64)
	if n, err := unix.Getxattr(filepath.Join(dir, "s3fs"), "user.color", buf); err != nil || string(buf[:n]) != "blue" {
		t.Fatalf("attribute written by s3fs: %q %v", buf[:n], err)
	}

	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, kv := range [][2]string{{"user.color", "blue"}, {"user.bin", "\x00\xff"}} {
		if err := unix.Setxattr(p, kv[0], []byte(kv[1]), 0); err != nil {
			t.Fatalf("setxattr %s: %v", kv[0], err)
		}
	}
	waitMeta(t, b, "f", "setxattr after close", func(meta Meta) bool {
		got := decodeXattrs(meta["xattr"])
		return len(got) == 2 && string(got["user.bin"]) == "\x00\xff" && meta["mode"] == "33188"
	})
	if n, err := unix.Listxattr(p, buf); err != nil || string(buf[:n]) != "user.bin\x00user.color\x00" {
		t.Fatalf("listxattr: %q %v", buf[:n], err)
	}
	if n, err := unix.Getxattr(p, "user.color", nil); err != nil || n != 4 {
		t.Fatalf("size query: %d %v", n, err)
	}
	if _, err := unix.Getxattr(p, "user.color", make([]byte, 2)); err != unix.ERANGE {
		t.Fatalf("small buffer: %v", err)
	}
	for _, c := range []struct {
		name  string
		flags int
		want  error
	}{
		{"user.color", unix.XATTR_CREATE, unix.EEXIST},
		{"user.new", unix.XATTR_REPLACE, unix.ENODATA},
	} {
		if err := unix.Setxattr(p, c.name, []byte("v"), c.flags); err != c.want {
			t.Errorf("setxattr %s flags %d: %v, want %v", c.name, c.flags, err, c.want)
		}
	}
	if err := unix.Setxattr(p, "user.big", make([]byte, 4096), 0); err != unix.ENOSPC {
		t.Errorf("setxattr beyond S3's metadata limit: %v", err)
	}
	if err := unix.Setxattr(p, "user.empty", nil, 0); err != nil {
		t.Fatalf("setxattr of an empty value: %v", err)
	}
	if n, err := unix.Getxattr(p, "user.empty", buf); err != nil || n != 0 {
		t.Fatalf("empty value: %d %v", n, err)
	}
	if err := unix.Removexattr(p, "user.empty"); err != nil {
		t.Fatal(err)
	}
	if err := unix.Removexattr(p, "user.color"); err != nil {
		t.Fatal(err)
	}
	if err := unix.Removexattr(p, "user.color"); err != unix.ENODATA {
		t.Fatalf("second removexattr: %v", err)
	}
	// A write keeps the attributes in the new upload.
	if err := os.WriteFile(p, []byte("new content"), 0o644); err != nil {
		t.Fatal(err)
	}
	body, meta, _ := b.Bytes("f")
	if got := decodeXattrs(meta["xattr"]); string(body) != "new content" || len(got) != 1 || string(got["user.bin"]) != "\x00\xff" {
		t.Fatalf("after a write: %q %v", body, meta)
	}
}

// TestMountSetgidDirectory: entries made in a set-group-ID directory take
// its group, and new directories keep the bit.
func TestMountSetgidDirectory(t *testing.T) {
	b := NewMemBucket()
	dir, _ := testMount(t, b, nil)
	sg := filepath.Join(dir, "shared")
	if err := os.Mkdir(sg, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(sg, 0, 1234); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Chmod(sg, 0o2775); err != nil { // os.Chmod would drop the bit
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sg, "f"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(sg, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for key, mode := range map[string]int{"shared/f": syscall.S_IFREG | 0o644, "shared/sub/": syscall.S_IFDIR | syscall.S_ISGID | 0o755} {
		_, meta := mustObject(t, b, key)
		if meta["gid"] != "1234" || meta["mode"] != strconv.Itoa(mode) {
			t.Errorf("%s: %v, want gid 1234 mode %o", key, meta, mode)
		}
	}
}

// TestMountTimesStable: times are shown in the whole seconds they are
// stored in, so they do not change when the attributes are read from the
// server again; a rename moves ctime on and leaves mtime.
func TestMountTimesStable(t *testing.T) {
	b := NewMemBucket()
	dir, _ := testMount(t, b, nil) // attribute TTL 0: every stat asks the server
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	var before unix.Stat_t
	if err := unix.Stat(p, &before); err != nil {
		t.Fatal(err)
	}
	if before.Mtim.Nsec != 0 || before.Ctim.Nsec != 0 {
		t.Fatalf("times with sub-second parts: %v %v", before.Mtim, before.Ctim)
	}
	time.Sleep(1100 * time.Millisecond)
	q := filepath.Join(dir, "g")
	if err := os.Rename(p, q); err != nil {
		t.Fatal(err)
	}
	var after unix.Stat_t
	if err := unix.Stat(q, &after); err != nil {
		t.Fatal(err)
	}
	if after.Mtim != before.Mtim || after.Ctim.Sec <= before.Ctim.Sec {
		t.Fatalf("after rename: mtime %v (was %v), ctime %v (was %v)", after.Mtim, before.Mtim, after.Ctim, before.Ctim)
	}
}
