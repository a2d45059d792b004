package integration

// Real-mount tests of `bucketdb mount`: each test starts a server, mounts
// a bucket by running the real binary as a subprocess (what users run),
// drives the mount with ordinary syscalls and tools, and checks the objects
// with minio-go. A test that cannot mount fails.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// fuseMount is one running `bucketdb mount` process.
type fuseMount struct {
	t      *testing.T
	srv    *Server
	target string // BUCKET[/PREFIX]
	Dir    string
	args   []string
	cmd    *exec.Cmd
	done   chan struct{}
	log    *logBuffer
}

// mountBucket mounts target (BUCKET[/PREFIX]) with extra flags and unmounts
// it when the test ends (lazily if a clean unmount fails, so that no test
// leaves a stuck mount behind).
func mountBucket(t *testing.T, srv *Server, target string, args ...string) *fuseMount {
	t.Helper()
	m := &fuseMount{t: t, srv: srv, target: target, Dir: t.TempDir(), args: args}
	m.start()
	t.Cleanup(m.cleanup)
	return m
}

func (m *fuseMount) start() {
	m.t.Helper()
	args := append([]string{"mount", "--endpoint", m.srv.URL, "--cache-dir", filepath.Join(os.TempDir(), "bucketdb-test-cache")}, m.args...)
	args = append(args, m.target, m.Dir)
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+m.srv.AccessKey, "AWS_SECRET_ACCESS_KEY="+m.srv.SecretKey)
	m.log = &logBuffer{}
	cmd.Stdout, cmd.Stderr = m.log, m.log
	if err := cmd.Start(); err != nil {
		m.t.Fatalf("start mount: %v", err)
	}
	m.cmd, m.done = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(m.done) }()
	deadline := time.Now().Add(20 * time.Second)
	for !isMounted(m.Dir) {
		select {
		case <-m.done:
			m.t.Fatalf("mount exited before mounting: %v\n%s", cmd.ProcessState, m.log)
		default:
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("mount of %s did not appear within 20s\n%s", m.Dir, m.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func isMounted(dir string) bool {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && f[4] == dir {
			return true
		}
	}
	return false
}

// unmount unmounts cleanly and waits for the process to exit 0.
func (m *fuseMount) unmount() {
	m.t.Helper()
	if out, err := exec.Command("fusermount3", "-u", m.Dir).CombinedOutput(); err != nil {
		m.t.Fatalf("fusermount3 -u: %v %s", err, out)
	}
	select {
	case <-m.done:
	case <-time.After(30 * time.Second):
		m.t.Fatalf("mount process did not exit after unmount\n%s", m.log)
	}
	if !m.cmd.ProcessState.Success() {
		m.t.Fatalf("mount process: %v\n%s", m.cmd.ProcessState, m.log)
	}
}

// remount unmounts and mounts the same target again.
func (m *fuseMount) remount() {
	m.t.Helper()
	m.unmount()
	m.start()
}

func (m *fuseMount) cleanup() {
	if isMounted(m.Dir) {
		if err := exec.Command("fusermount3", "-u", m.Dir).Run(); err != nil {
			exec.Command("fusermount3", "-u", "-z", m.Dir).Run()
		}
	}
	select {
	case <-m.done:
	case <-time.After(15 * time.Second):
		m.cmd.Process.Kill()
		<-m.done
	}
	if m.t.Failed() {
		m.t.Logf("mount log:\n%s", m.log)
	}
}

func (m *fuseMount) path(p string) string { return filepath.Join(m.Dir, p) }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

// eventually polls cond for up to 15 s (the mount's --attr-ttl is 1 s).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func statMeta(t *testing.T, c *minio.Client, bucket, key string) minio.ObjectInfo {
	t.Helper()
	info, err := c.StatObject(context.Background(), bucket, key, minio.StatObjectOptions{})
	if err != nil {
		t.Fatalf("stat %s: %v", key, err)
	}
	return info
}

func TestFuseFileSemantics(t *testing.T) {
	srv := startServer(t)
	c := srv.Client(t)
	bucket := newBucket(t, c)
	m := mountBucket(t, srv, bucket, "--attr-ttl", "1s")
	local := t.TempDir()

	// touch creates an empty object.
	run(t, m.Dir, "touch", "empty")
	if info := statMeta(t, c, bucket, "empty"); info.Size != 0 {
		t.Fatalf("touch: size %d", info.Size)
	}

	// > then >>, mirrored on a local file.
	for _, dir := range []string{m.Dir, local} {
		run(t, dir, "sh", "-c", "echo first > f.txt && echo second >> f.txt")
	}
	if got := mustGet(t, c, bucket, "f.txt", minio.GetObjectOptions{}); string(got) != "first\nsecond\n" {
		t.Fatalf("> and >>: %q", got)
	}

	// truncate grow/shrink and a write past EOF match a local copy.
	for _, dir := range []string{m.Dir, local} {
		p := filepath.Join(dir, "t.bin")
		must(t, os.WriteFile(p, bytes.Repeat([]byte("0123456789"), 1000), 0o644))
		must(t, os.Truncate(p, 4321))
		must(t, os.Truncate(p, 20000))
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		must(t, err)
		_, err = f.WriteAt([]byte("tail"), 30000) // leaves a zero hole
		must(t, err)
		must(t, f.Truncate(25000))
		must(t, f.Close())
	}
	want, _ := os.ReadFile(filepath.Join(local, "t.bin"))
	if got := mustGet(t, c, bucket, "t.bin", minio.GetObjectOptions{}); !bytes.Equal(got, want) {
		t.Fatalf("truncate/hole object differs: len %d want %d", len(got), len(want))
	}
	if got, _ := os.ReadFile(m.path("t.bin")); !bytes.Equal(got, want) {
		t.Fatal("truncate/hole read-back differs")
	}

	// Two fds see each other's writes.
	f1, err := os.OpenFile(m.path("two"), os.O_CREATE|os.O_RDWR, 0o644)
	must(t, err)
	f2, err := os.OpenFile(m.path("two"), os.O_RDWR, 0)
	must(t, err)
	f1.WriteAt([]byte("hello"), 0)
	buf := make([]byte, 5)
	if _, err := f2.ReadAt(buf, 0); err != nil || string(buf) != "hello" {
		t.Fatalf("fd2 reads %q %v", buf, err)
	}
	f2.WriteAt([]byte("J"), 0)
	f1.ReadAt(buf, 0)
	must(t, f1.Close())
	must(t, f2.Close())
	if string(buf) != "Jello" || string(mustGet(t, c, bucket, "two", minio.GetObjectOptions{})) != "Jello" {
		t.Fatalf("two fds: %q", buf)
	}

	// Symlinks, dangling too, stored as s3fs does.
	must(t, os.Symlink("f.txt", m.path("ln")))
	must(t, os.Symlink("does/not/exist", m.path("dangling")))
	if got, err := os.ReadFile(m.path("ln")); err != nil || string(got) != "first\nsecond\n" {
		t.Fatalf("read via symlink: %q %v", got, err)
	}
	if info := statMeta(t, c, bucket, "dangling"); info.UserMetadata["Mode"] != strconv.Itoa(syscall.S_IFLNK|0o777) {
		t.Fatalf("symlink metadata %v", info.UserMetadata)
	}

	// chmod/chown/mtime persist as s3fs headers and survive a remount.
	must(t, os.Chmod(m.path("f.txt"), 0o640))
	must(t, os.Chown(m.path("f.txt"), 1001, 2002))
	mt := time.Unix(1600000000, 0)
	must(t, os.Chtimes(m.path("f.txt"), mt, mt))
	must(t, os.Mkdir(m.path("emptydir"), 0o700))
	meta := statMeta(t, c, bucket, "f.txt").UserMetadata
	if meta["Mode"] != strconv.Itoa(syscall.S_IFREG|0o640) || meta["Uid"] != "1001" || meta["Gid"] != "2002" || meta["Mtime"] != "1600000000" {
		t.Fatalf("s3fs headers: %v", meta)
	}

	// Hard links are not supported; over-long names are refused.
	if err := os.Link(m.path("f.txt"), m.path("hard")); !errors.Is(err, syscall.ENOTSUP) && !errors.Is(err, syscall.EPERM) {
		t.Fatalf("link: %v", err)
	}
	if err := os.WriteFile(m.path(strings.Repeat("n", 256)), nil, 0o644); !errors.Is(err, syscall.ENAMETOOLONG) {
		t.Fatalf("long name: %v", err)
	}

	// mkfifo and mknod make objects whose mode carries the type (as s3fs
	// does); the kernel carries a FIFO's data.
	must(t, syscall.Mkfifo(m.path("fifo"), 0o600))
	must(t, syscall.Mknod(m.path("sock"), syscall.S_IFSOCK|0o600, 0))
	if meta := statMeta(t, c, bucket, "fifo").UserMetadata; meta["Mode"] != strconv.Itoa(syscall.S_IFIFO|0o600) {
		t.Fatalf("fifo headers: %v", meta)
	}
	go func() {
		if f, err := os.OpenFile(m.path("fifo"), os.O_WRONLY, 0); err == nil {
			f.Write([]byte("piped"))
			f.Close()
		}
	}()
	if got, err := os.ReadFile(m.path("fifo")); err != nil || string(got) != "piped" {
		t.Fatalf("fifo: %q %v", got, err)
	}

	m.remount()
	if st, err := os.Lstat(m.path("fifo")); err != nil || st.Mode().Type() != os.ModeNamedPipe || st.Mode().Perm() != 0o600 {
		t.Fatalf("fifo after remount: %v %v", st, err)
	}
	if st, err := os.Lstat(m.path("sock")); err != nil || st.Mode().Type() != os.ModeSocket {
		t.Fatalf("socket after remount: %v %v", st, err)
	}
	st, err := os.Stat(m.path("f.txt"))
	must(t, err)
	sys := st.Sys().(*syscall.Stat_t)
	if st.Mode().Perm() != 0o640 || sys.Uid != 1001 || sys.Gid != 2002 || !st.ModTime().Equal(mt) {
		t.Fatalf("after remount: mode %v uid %d gid %d mtime %v", st.Mode(), sys.Uid, sys.Gid, st.ModTime())
	}
	if st, err := os.Stat(m.path("emptydir")); err != nil || !st.IsDir() || st.Mode().Perm() != 0o700 {
		t.Fatalf("empty dir after remount: %v %v", st, err)
	}
	if tgt, err := os.Readlink(m.path("dangling")); err != nil || tgt != "does/not/exist" {
		t.Fatalf("dangling symlink after remount: %q %v", tgt, err)
	}
}

// TestFusePermissions: with --allow-other, other users get exactly what
// the modes and owners allow, as on a local file system.
func TestFusePermissions(t *testing.T) {
	srv := startServer(t)
	c := srv.Client(t)
	bucket := newBucket(t, c)
	m := mountBucket(t, srv, bucket, "--allow-other")
	// Let the other user reach the mount point (t.TempDir makes 0700
	// directories).
	for p := m.Dir; p != os.TempDir() && p != "/"; p = filepath.Dir(p) {
		must(t, os.Chmod(p, 0o755))
	}
	must(t, os.WriteFile(m.path("secret"), []byte("root only"), 0o600))
	must(t, os.WriteFile(m.path("public"), []byte("for all"), 0o644))
	must(t, os.Mkdir(m.path("shared"), 0o777))
	must(t, os.Chmod(m.path("shared"), 0o777)) // past the umask

	// as runs a shell command as nobody and returns its output and error.
	as := func(script string) (string, error) {
		cmd := exec.Command("/bin/sh", "-c", script)
		cmd.Dir = m.Dir
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	for _, denied := range []string{
		"cat secret",                 // read without permission
		"echo x >> public",           // write without permission
		"echo x > new",               // create in a directory owned by root, 0755
		"rm public",                  // unlink there
		"chmod 666 public",           // chmod of another's file
		"touch -d 2001-01-01 public", // set times of another's file
	} {
		if out, err := as(denied); err == nil {
			t.Errorf("nobody could %q: %s", denied, out)
		}
	}
	if out, err := as("cat public && echo mine > shared/mine && chmod 600 shared/mine && cat shared/mine"); err != nil || out != "for allmine\n" {
		t.Fatalf("nobody's allowed operations: %q %v", out, err)
	}
	if got := mustGet(t, c, bucket, "secret", minio.GetObjectOptions{}); string(got) != "root only" {
		t.Fatalf("secret changed: %q", got)
	}
	if got := mustGet(t, c, bucket, "public", minio.GetObjectOptions{}); string(got) != "for all" {
		t.Fatalf("public changed: %q", got)
	}
	info := statMeta(t, c, bucket, "shared/mine")
	if info.UserMetadata["Uid"] != "65534" || info.UserMetadata["Mode"] != strconv.Itoa(syscall.S_IFREG|0o600) {
		t.Fatalf("nobody's file: %v", info.UserMetadata)
	}
}

// TestFuseOpenFileSurvivesRemoval: descriptors keep reading a file that
// was unlinked or replaced by a rename, a directory's times follow its
// entries, and fsync of a directory uploads the files pending in it.
func TestFuseOpenFileSurvivesRemoval(t *testing.T) {
	srv := startServer(t)
	c := srv.Client(t)
	bucket := newBucket(t, c)
	m := mountBucket(t, srv, bucket, "--attr-ttl", "1s")
	readAll := func(f *os.File) string {
		t.Helper()
		b, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<20))
		must(t, err)
		return string(b)
	}

	// Unlinked while open for reading.
	must(t, os.WriteFile(m.path("gone"), []byte("still here"), 0o644))
	f, err := os.Open(m.path("gone"))
	must(t, err)
	defer f.Close()
	must(t, os.Remove(m.path("gone")))
	if got := readAll(f); got != "still here" {
		t.Fatalf("read after unlink: %q", got)
	}
	if _, err := c.StatObject(context.Background(), bucket, "gone", minio.StatObjectOptions{}); err == nil {
		t.Fatal("unlinked object still on the server")
	}

	// Replaced by a rename (the atomic-replace pattern) while open.
	must(t, os.WriteFile(m.path("config"), []byte("old version"), 0o644))
	g, err := os.Open(m.path("config"))
	must(t, err)
	defer g.Close()
	must(t, os.WriteFile(m.path("config.tmp"), []byte("new version"), 0o644))
	must(t, os.Rename(m.path("config.tmp"), m.path("config")))
	if got := readAll(g); got != "old version" {
		t.Fatalf("old descriptor after rename over it: %q", got)
	}
	if got := mustGet(t, c, bucket, "config", minio.GetObjectOptions{}); string(got) != "new version" {
		t.Fatalf("config after rename: %q", got)
	}

	// fsync of the directory uploads a file still open for writing.
	must(t, os.Mkdir(m.path("d"), 0o755))
	w, err := os.Create(m.path("d/pending"))
	must(t, err)
	defer w.Close()
	_, err = w.WriteString("synced through the directory")
	must(t, err)
	dir, err := os.Open(m.path("d"))
	must(t, err)
	must(t, dir.Sync())
	must(t, dir.Close())
	if got := mustGet(t, c, bucket, "d/pending", minio.GetObjectOptions{}); string(got) != "synced through the directory" {
		t.Fatalf("after fsync of the directory: %q", got)
	}
	must(t, w.Close())

	// A directory's mtime moves on with its entries, and keeps doing so
	// once its attributes are read from the server again; explicit times
	// (tar restoring them) win.
	old := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	must(t, os.Chtimes(m.path("d"), old, old))
	before := time.Now().Add(-time.Second)
	must(t, os.WriteFile(m.path("d/new"), nil, 0o644))
	mtime := func() time.Time {
		fi, err := os.Stat(m.path("d"))
		must(t, err)
		return fi.ModTime()
	}
	if mt := mtime(); mt.Before(before) {
		t.Fatalf("directory mtime after a create: %v", mt)
	}
	time.Sleep(1500 * time.Millisecond) // past --attr-ttl
	if mt := mtime(); mt.Before(before) {
		t.Fatalf("directory mtime after the TTL: %v", mt)
	}
	must(t, os.Chtimes(m.path("d"), old, old))
	time.Sleep(1500 * time.Millisecond)
	if mt := mtime(); !mt.Equal(old) {
		t.Fatalf("directory mtime after utimens: %v, want %v", mt, old)
	}
}

// TestFuseXattrs: user.* extended attributes of files and directories
// persist on the server (x-amz-meta-xattr, s3fs's form), across a remount,
// a rewrite of the file and a rename, and cp --preserve=xattr copies them.
func TestFuseXattrs(t *testing.T) {
	srv := startServer(t)
	c := srv.Client(t)
	bucket := newBucket(t, c)
	m := mountBucket(t, srv, bucket)
	get := func(p, name string) string {
		t.Helper()
		buf := make([]byte, 256)
		n, err := syscall.Getxattr(m.path(p), name, buf)
		if err != nil {
			t.Fatalf("getxattr %s %s: %v", p, name, err)
		}
		return string(buf[:n])
	}
	must(t, os.WriteFile(m.path("f"), []byte("data"), 0o644))
	must(t, syscall.Setxattr(m.path("f"), "user.origin", []byte("camera 2"), 0))
	must(t, os.Mkdir(m.path("d"), 0o755))
	must(t, syscall.Setxattr(m.path("d"), "user.project", []byte("apollo"), 0))
	// A setxattr right after close may be uploaded at the kernel's RELEASE,
	// which arrives after close returned.
	eventually(t, "the xattr in the object's metadata", func() bool {
		return strings.Contains(statMeta(t, c, bucket, "f").Metadata.Get("X-Amz-Meta-Xattr"), "user.origin")
	})

	m.remount()
	if got := get("f", "user.origin"); got != "camera 2" {
		t.Fatalf("after remount: %q", got)
	}
	if got := get("d", "user.project"); got != "apollo" {
		t.Fatalf("directory after remount: %q", got)
	}
	must(t, os.WriteFile(m.path("f"), []byte("rewritten"), 0o644))
	must(t, os.Rename(m.path("f"), m.path("g")))
	run(t, m.Dir, "cp", "--preserve=xattr", "g", "h")
	for _, p := range []string{"g", "h"} {
		if got := get(p, "user.origin"); got != "camera 2" {
			t.Fatalf("%s after rewrite, rename and copy: %q", p, got)
		}
	}
	if got := mustGet(t, c, bucket, "h", minio.GetObjectOptions{}); string(got) != "rewritten" {
		t.Fatalf("copy: %q", got)
	}
}

// TestFuseAttrChangeKeepsMetadata: chmod, utimens, setxattr and rename
// through the mount change only the attribute metadata of an object that
// another client uploaded with its own Content-Type and user metadata.
func TestFuseAttrChangeKeepsMetadata(t *testing.T) {
	srv := startServer(t)
	c := srv.Client(t)
	bucket := newBucket(t, c)
	_, err := c.PutObject(context.Background(), bucket, "site/logo.png", strings.NewReader("png bytes"), 9, minio.PutObjectOptions{
		ContentType: "image/png", CacheControl: "max-age=60", UserMetadata: map[string]string{"author": "eve"}})
	must(t, err)
	m := mountBucket(t, srv, bucket)
	p := m.path("site/logo.png")
	must(t, os.Chmod(p, 0o600))
	old := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	must(t, os.Chtimes(p, old, old))
	must(t, syscall.Setxattr(p, "user.tag", []byte("v"), 0))
	must(t, os.Rename(p, m.path("site/renamed.png")))
	info := statMeta(t, c, bucket, "site/renamed.png")
	if info.ContentType != "image/png" || info.Metadata.Get("Cache-Control") != "max-age=60" || info.UserMetadata["Author"] != "eve" {
		t.Fatalf("metadata of the other client lost: %v %v", info.ContentType, info.Metadata)
	}
	if info.UserMetadata["Mode"] != strconv.Itoa(syscall.S_IFREG|0o600) || info.UserMetadata["Mtime"] != "978307200" ||
		!strings.Contains(info.UserMetadata["Xattr"], "user.tag") {
		t.Fatalf("attributes: %v", info.UserMetadata)
	}
	if got := mustGet(t, c, bucket, "site/renamed.png", minio.GetObjectOptions{}); string(got) != "png bytes" {
		t.Fatalf("body %q", got)
	}
}

func TestFuseDirectoriesAndConsistency(t *testing.T) {
	srv := startServer(t)
	c := srv.Client(t)
	bucket := newBucket(t, c)
	m := mountBucket(t, srv, bucket, "--attr-ttl", "1s")

	// An object PUT through S3 as a/b/c makes a and a/b appear.
	putBytes(t, c, bucket, "a/b/c", []byte("via s3"), minio.PutObjectOptions{})
	eventually(t, "a/b/c to appear", func() bool {
		got, err := os.ReadFile(m.path("a/b/c"))
		return err == nil && string(got) == "via s3"
	})
	for _, d := range []string{"a", "a/b"} {
		if st, err := os.Stat(m.path(d)); err != nil || !st.IsDir() {
			t.Fatalf("%s is not a directory: %v", d, err)
		}
	}
	// rmdir of a non-empty directory.
	if err := syscall.Rmdir(m.path("a")); !errors.Is(err, syscall.ENOTEMPTY) {
		t.Fatalf("rmdir non-empty: %v", err)
	}

	// External overwrite and delete are seen.
	putBytes(t, c, bucket, "a/b/c", []byte("overwritten externally"), minio.PutObjectOptions{})
	eventually(t, "external overwrite", func() bool {
		got, err := os.ReadFile(m.path("a/b/c"))
		return err == nil && string(got) == "overwritten externally"
	})
	must(t, c.RemoveObject(context.Background(), bucket, "a/b/c", minio.RemoveObjectOptions{}))
	eventually(t, "external delete", func() bool {
		_, err := os.Stat(m.path("a/b/c"))
		return errors.Is(err, os.ErrNotExist)
	})

	// Keys that cannot be names are hidden, and a directory wins over a
	// same-named object.
	putBytes(t, c, bucket, "odd/"+strings.Repeat("n", 300), []byte("1"), minio.PutObjectOptions{})
	putBytes(t, c, bucket, "clash", []byte("file"), minio.PutObjectOptions{})
	putBytes(t, c, bucket, "clash/inner", []byte("dir"), minio.PutObjectOptions{})
	eventually(t, "clash to be a directory", func() bool {
		st, err := os.Stat(m.path("clash"))
		return err == nil && st.IsDir()
	})
	ents, err := os.ReadDir(m.path("odd"))
	if err != nil || len(ents) != 0 {
		t.Fatalf("a 300-byte name should be hidden: %v %v", ents, err)
	}
	// A page's common prefixes come after its objects from minio-go: a
	// subdirectory that sorts before a file of the same page is listed
	// too (and rm -r can remove it).
	must(t, os.MkdirAll(m.path("mixed/aa/deep"), 0o755))
	must(t, os.WriteFile(m.path("mixed/aa/deep/x"), []byte("x"), 0o644))
	must(t, os.WriteFile(m.path("mixed/zz.txt"), []byte("z"), 0o644))
	if got := run(t, m.path("mixed"), "ls"); got != "aa\nzz.txt\n" {
		t.Fatalf("ls of a directory with a subdirectory and a file: %q", got)
	}
	run(t, m.Dir, "rm", "-r", "mixed")
	// statfs gives usable numbers.
	var sfs syscall.Statfs_t
	must(t, syscall.Statfs(m.Dir, &sfs))
	if sfs.Blocks == 0 || sfs.Bavail == 0 || sfs.Namelen != 255 {
		t.Fatalf("statfs: %+v", sfs)
	}
}

func TestFuseRename(t *testing.T) {
	srv := startServer(t)
	c := srv.Client(t)
	bucket := newBucket(t, c)
	m := mountBucket(t, srv, bucket)

	// Rename before close: the data lands under the new name.
	f, err := os.Create(m.path("draft"))
	must(t, err)
	f.Write([]byte("one,"))
	must(t, os.Rename(m.path("draft"), m.path("final")))
	f.Write([]byte("two"))
	must(t, f.Close())
	if got := mustGet(t, c, bucket, "final", minio.GetObjectOptions{}); string(got) != "one,two" {
		t.Fatalf("rename before close: %q", got)
	}
	if _, err := c.StatObject(context.Background(), bucket, "draft", minio.StatObjectOptions{}); err == nil {
		t.Fatal("draft still exists")
	}

	// mv onto an existing file replaces it.
	must(t, os.WriteFile(m.path("new"), []byte("new"), 0o644))
	must(t, os.WriteFile(m.path("old"), []byte("old"), 0o644))
	run(t, m.Dir, "mv", "new", "old")
	if got := mustGet(t, c, bucket, "old", minio.GetObjectOptions{}); string(got) != "new" {
		t.Fatalf("mv onto existing: %q", got)
	}

	// mv of a nested directory moves every key.
	must(t, os.MkdirAll(m.path("src/x/y"), 0o755))
	must(t, os.WriteFile(m.path("src/x/y/z"), []byte("deep"), 0o644))
	must(t, os.WriteFile(m.path("src/top"), []byte("top"), 0o644))
	must(t, os.Mkdir(m.path("src/emptysub"), 0o755))
	run(t, m.Dir, "mv", "src", "dst")
	if got, err := os.ReadFile(m.path("dst/x/y/z")); err != nil || string(got) != "deep" {
		t.Fatalf("after mv: %q %v", got, err)
	}
	if st, err := os.Stat(m.path("dst/emptysub")); err != nil || !st.IsDir() {
		t.Fatalf("empty subdir after mv: %v", err)
	}
	for o := range c.ListObjectsIter(context.Background(), bucket, minio.ListObjectsOptions{Prefix: "src/", Recursive: true}) {
		t.Fatalf("key left behind: %s %v", o.Key, o.Err)
	}
	if _, err := os.Stat(m.path("src")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("src still visible: %v", err)
	}
}

func TestFuseLargeFiles(t *testing.T) {
	srv := startServer(t)
	c := srv.Client(t)
	bucket := newBucket(t, c)
	m := mountBucket(t, srv, bucket)
	local := t.TempDir()

	// Overwrite in the middle of a 64 MiB file matches a local copy.
	data := randomBytes(64 << 20)
	must(t, os.WriteFile(filepath.Join(local, "mid"), data, 0o644))
	must(t, os.WriteFile(m.path("mid"), data, 0o644))
	patch := randomBytes(1 << 20)
	for _, dir := range []string{local, m.Dir} {
		f, err := os.OpenFile(filepath.Join(dir, "mid"), os.O_RDWR, 0)
		must(t, err)
		_, err = f.WriteAt(patch, 30<<20+12345)
		must(t, err)
		must(t, f.Close())
	}
	want, _ := os.ReadFile(filepath.Join(local, "mid"))
	if got := mustGet(t, c, bucket, "mid", minio.GetObjectOptions{}); md5hex(got) != md5hex(want) {
		t.Fatal("overwrite in the middle: object differs")
	}

	// A 300 MiB file copies in as multipart with the same MD5.
	big := filepath.Join(local, "big")
	bf, err := os.Create(big)
	must(t, err)
	for range 30 {
		bf.Write(randomBytes(10 << 20))
	}
	must(t, bf.Close())
	run(t, local, "cp", big, m.path("big"))
	wantSum := fileMD5(t, big)
	if got := fileMD5(t, m.path("big")); got != wantSum {
		t.Fatalf("md5 through mount %s want %s", got, wantSum)
	}
	info := statMeta(t, c, bucket, "big")
	if info.Size != 300<<20 || !strings.Contains(info.ETag, "-") {
		t.Fatalf("big object: size %d etag %s (want multipart)", info.Size, info.ETag)
	}
	obj, err := c.GetObject(context.Background(), bucket, "big", minio.GetObjectOptions{})
	must(t, err)
	h := md5.New()
	io.Copy(h, obj)
	obj.Close()
	if fmt.Sprintf("%x", h.Sum(nil)) != wantSum {
		t.Fatal("object MD5 differs")
	}
}

func fileMD5(t *testing.T, p string) string {
	t.Helper()
	f, err := os.Open(p)
	must(t, err)
	defer f.Close()
	h := md5.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatalf("read %s: %v", p, err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func TestFuseTools(t *testing.T) {
	srv := startServer(t)
	c := srv.Client(t)
	bucket := newBucket(t, c)
	m := mountBucket(t, srv, bucket)
	local := t.TempDir()

	// A source tree with a fixed mtime.
	src := filepath.Join(local, "src")
	must(t, os.MkdirAll(filepath.Join(src, "sub"), 0o755))
	mt := time.Unix(1500000000, 0)
	for i, name := range []string{"a.txt", "sub/b.txt"} {
		p := filepath.Join(src, name)
		must(t, os.WriteFile(p, bytes.Repeat([]byte{byte('a' + i)}, 1000*(i+1)), 0o644))
		must(t, os.Chtimes(p, mt, mt))
	}
	run(t, local, "cp", "-p", filepath.Join(src, "a.txt"), m.path("cp-p.txt"))
	run(t, local, "rsync", "-a", src+"/", m.path("rsynced")+"/")
	m.remount()
	for _, p := range []string{"cp-p.txt", "rsynced/a.txt", "rsynced/sub/b.txt"} {
		st, err := os.Stat(m.path(p))
		if err != nil || !st.ModTime().Equal(mt) {
			t.Fatalf("%s: mtime %v want %v (%v)", p, st.ModTime(), mt, err)
		}
	}
	if out := run(t, local, "rsync", "-ai", "--dry-run", src+"/", m.path("rsynced")+"/"); strings.TrimSpace(out) != "" {
		t.Fatalf("rsync sees differences after remount:\n%s", out)
	}

	// git clone of a local repository onto the mount, then git fsck.
	repo := filepath.Join(local, "repo")
	must(t, os.Mkdir(repo, 0o755))
	git := func(dir string, args ...string) string {
		return run(t, dir, "git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main"}, args...)...)
	}
	git(repo, "init", "-q")
	for i := range 20 {
		must(t, os.WriteFile(filepath.Join(repo, fmt.Sprintf("f%02d.txt", i)), []byte(strings.Repeat(fmt.Sprintf("line %d\n", i), 50)), 0o644))
		if i%5 == 4 {
			git(repo, "add", ".")
			git(repo, "commit", "-q", "-m", fmt.Sprintf("commit %d", i))
		}
	}
	git(m.Dir, "clone", "-q", "--no-hardlinks", repo, "clone")
	git(m.path("clone"), "fsck", "--full")
	if out := git(m.path("clone"), "status", "--porcelain"); strings.TrimSpace(out) != "" {
		t.Fatalf("clone is dirty:\n%s", out)
	}
	if a, b := git(repo, "rev-parse", "HEAD"), git(m.path("clone"), "rev-parse", "HEAD"); a != b {
		t.Fatalf("HEAD %s vs %s", a, b)
	}
}

func TestFuseReaddir10000(t *testing.T) {
	srv := startServer(t)
	c := srv.Client(t)
	bucket := newBucket(t, c)
	const n = 10000
	var wg sync.WaitGroup
	keys := make(chan int)
	var failed sync.Once
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range keys {
				_, err := c.PutObject(context.Background(), bucket, fmt.Sprintf("many/f%05d", i), bytes.NewReader(nil), 0, minio.PutObjectOptions{})
				if err != nil {
					failed.Do(func() { t.Errorf("put: %v", err) })
				}
			}
		}()
	}
	for i := range n {
		keys <- i
	}
	close(keys)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	m := mountBucket(t, srv, bucket)
	f, err := os.Open(m.path("many"))
	must(t, err)
	names, err := f.Readdirnames(-1)
	f.Close()
	must(t, err)
	sort.Strings(names)
	if len(names) != n {
		t.Fatalf("readdir returned %d entries, want %d", len(names), n)
	}
	for i, name := range names {
		if want := fmt.Sprintf("f%05d", i); name != want {
			t.Fatalf("entry %d is %q, want %q (duplicate or gap)", i, name, want)
		}
	}
	// ls -l works from the listing.
	out := run(t, m.Dir, "ls", "-l", "many")
	if lines := strings.Count(out, "\n"); lines != n+1 {
		t.Fatalf("ls -l printed %d lines", lines)
	}
}

func TestFuseKillAndUnmount(t *testing.T) {
	srv := startServer(t)
	c := srv.Client(t)
	bucket := newBucket(t, c)

	// kill -9 of the mount mid-upload leaves no partial object (dd's
	// dup2 of the new file closes one descriptor, which commits the empty
	// file: an empty object is allowed, partial data is not).
	m := mountBucket(t, srv, bucket, "--part-size", "5")
	dd := exec.Command("dd", "if=/dev/urandom", "of="+m.path("partial"), "bs=1M", "count=400")
	must(t, dd.Start())
	eventually(t, "a part to be uploaded", func() bool {
		for u := range c.ListIncompleteUploads(context.Background(), bucket, "partial", true) {
			return u.Err == nil
		}
		return false
	})
	m.cmd.Process.Kill()
	<-m.done
	dd.Wait()
	exec.Command("fusermount3", "-u", "-z", m.Dir).Run()
	if info, err := c.StatObject(context.Background(), bucket, "partial", minio.StatObjectOptions{}); err == nil && info.Size != 0 {
		t.Fatalf("partial object after kill -9: %d bytes", info.Size)
	} else if err != nil && minio.ToErrorResponse(err).Code != "NoSuchKey" {
		t.Fatalf("stat after kill -9: %v", err)
	}

	// SIGTERM with dirty data in an open file uploads it before unmounting.
	m2 := mountBucket(t, srv, bucket)
	holder := exec.Command("sh", "-c", "exec 3>"+m2.path("dirty")+"; echo pending >&3; echo ready; sleep 60")
	stdout, _ := holder.StdoutPipe()
	must(t, holder.Start())
	defer func() { holder.Process.Kill(); holder.Wait() }()
	if line, _ := bufio.NewReader(stdout).ReadString('\n'); line != "ready\n" {
		t.Fatalf("holder: %q", line)
	}
	must(t, m2.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-m2.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("mount did not exit on SIGTERM\n%s", m2.log)
	}
	if got := mustGet(t, c, bucket, "dirty", minio.GetObjectOptions{}); string(got) != "pending\n" {
		t.Fatalf("dirty data after SIGTERM: %q", got)
	}
}

func TestFuseMountErrors(t *testing.T) {
	srv := startServer(t)
	c := srv.Client(t)
	bucket := newBucket(t, c)
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"missing bucket", nil, []string{"--endpoint", srv.URL, "no-such-bucket-x", dir}, "does not exist"},
		{"bad credentials", []string{"AWS_SECRET_ACCESS_KEY=wrong"}, []string{"--endpoint", srv.URL, bucket, dir}, "access denied"},
		{"unreachable", nil, []string{"--endpoint", "http://127.0.0.1:1", bucket, dir}, "no endpoint reachable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(binPath, append([]string{"mount"}, tc.args...)...)
			cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+srv.AccessKey, "AWS_SECRET_ACCESS_KEY="+srv.SecretKey)
			cmd.Env = append(cmd.Env, tc.env...)
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), tc.want) {
				t.Fatalf("err %v, output %q; want failure mentioning %q", err, out, tc.want)
			}
			if isMounted(dir) {
				exec.Command("fusermount3", "-u", "-z", dir).Run()
				t.Fatal("left a mount behind")
			}
		})
	}
}

// A mount given every node of a cluster keeps working when the node it
// talks to hangs (stopped: its connections stay open and never answer):
// the node misses its liveness probe and the mount moves to the next
// endpoint within seconds, instead of waiting out the 60 s response
// header timeout on every request.
func TestFuseHungNodeFailsOver(t *testing.T) {
	nodes := startCluster(t, 3)
	c := nodes[1].Client(t)
	bucket := newBucket(t, c)
	putBytes(t, c, bucket, "before", []byte("one"), minio.PutObjectOptions{})
	m := mountBucket(t, nodes[0], bucket, "--attr-ttl", "100ms",
		"--endpoint", nodes[0].URL+","+nodes[1].URL+","+nodes[2].URL)
	if got, err := os.ReadFile(m.path("before")); err != nil || string(got) != "one" {
		t.Fatalf("read through node 1: %q %v", got, err)
	}
	pid := nodes[0].PID()
	must(t, syscall.Kill(pid, syscall.SIGSTOP))
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGCONT) })

	putBytes(t, c, bucket, "after", []byte("two"), minio.PutObjectOptions{})
	done := make(chan error, 1)
	go func() {
		got, err := os.ReadFile(m.path("after"))
		if err == nil && string(got) != "two" {
			err = fmt.Errorf("read %q", got)
		}
		if err == nil {
			err = os.WriteFile(m.path("written"), []byte("three"), 0o644)
		}
		done <- err
	}()
	select {
	case err := <-done:
		must(t, err)
	case <-time.After(40 * time.Second):
		t.Fatalf("the mount still waits on the stopped node after 40 s\n%s", m.log)
	}
	if got, err := getBytes(ctxT(t), c, bucket, "written", minio.GetObjectOptions{}); err != nil || string(got) != "three" {
		t.Fatalf("written through the mount, read through node 2: %q %v", got, err)
	}
	if !strings.Contains(m.log.String(), "liveness probe") {
		t.Fatalf("no failover logged:\n%s", m.log)
	}
	must(t, syscall.Kill(pid, syscall.SIGCONT))
}
