package integration

// Real-mount tests of MOUNT/.versions: the bucketdb binary mounts a
// versioned (or unversioned) bucket of a real server, and the version tree
// is driven with ordinary syscalls and tools and checked with minio-go.

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"golang.org/x/sys/unix"
)

// readDirNames lists dir, failing the test on error.
func readDirNames(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("readdir %s: %v", dir, err)
	}
	names := make([]string, 0, len(des))
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

// xattr reads one extended attribute (getfattr may not be installed).
func xattr(t *testing.T, p, name string) string {
	t.Helper()
	buf := make([]byte, 512)
	n, err := unix.Getxattr(p, name, buf)
	if err != nil {
		t.Fatalf("getxattr %s %s: %v", p, name, err)
	}
	return string(buf[:n])
}

// keyVersions returns key's versions and delete markers, oldest first.
func keyVersions(t *testing.T, c *minio.Client, bucket, key string) []minio.ObjectInfo {
	t.Helper()
	var vs []minio.ObjectInfo
	for o := range c.ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Prefix: key, WithVersions: true, Recursive: true}) {
		if o.Err != nil {
			t.Fatalf("list versions: %v", o.Err)
		}
		if o.Key == key {
			vs = append(vs, o)
		}
	}
	slices.Reverse(vs)
	return vs
}

func TestVersionsFuse(t *testing.T) {
	srv := startServer(t)
	c := srv.Client(t)
	bucket := newBucket(t, c)
	must(t, c.EnableVersioning(context.Background(), bucket))
	m := mountBucket(t, srv, bucket, "--attr-ttl", "1s")

	// Write a file three times and delete it; a directory is deleted
	// entirely.
	must(t, os.MkdirAll(m.path("docs"), 0o755))
	contents := []string{"first\n", "second, longer\n", "third\n"}
	for _, s := range contents {
		must(t, os.WriteFile(m.path("docs/b.txt"), []byte(s), 0o644))
	}
	must(t, os.Remove(m.path("docs/b.txt")))
	must(t, os.MkdirAll(m.path("gone/deep"), 0o755))
	must(t, os.WriteFile(m.path("gone/deep/x.md"), []byte("deep"), 0o644))
	must(t, os.WriteFile(m.path("gone/top.txt"), []byte("top"), 0o644))
	run(t, m.Dir, "rm", "-r", "gone")

	vs := keyVersions(t, c, bucket, "docs/b.txt")
	if len(vs) != 4 || !vs[3].IsDeleteMarker {
		t.Fatalf("server has %d versions of docs/b.txt: %+v", len(vs), vs)
	}

	// .versions is not in the root's listing (nor in ls -a), but can be
	// entered; it mirrors deleted names too.
	if out := run(t, m.Dir, "ls", "-a"); strings.Contains(out, ".versions") {
		t.Fatalf("ls -a of the root shows .versions:\n%s", out)
	}
	var mirror []string
	eventually(t, ".versions/docs lists b.txt", func() bool {
		mirror = readDirNames(t, m.path(".versions/docs"))
		return slices.Equal(mirror, []string{"b.txt"})
	})
	if got := readDirNames(t, m.path(".versions")); !slices.Contains(got, "gone") || !slices.Contains(got, "docs") {
		t.Fatalf(".versions: %v", got)
	}

	// Three versions and a delete marker, oldest to newest, with the
	// right bytes, sizes, times and attributes.
	vdir := m.path(".versions/docs/b.txt")
	names := readDirNames(t, vdir)
	if len(names) != 4 || !sort.StringsAreSorted(names) {
		t.Fatalf("versions of b.txt: %v", names)
	}
	if out := strings.Fields(run(t, vdir, "ls")); !slices.Equal(out, names) {
		t.Fatalf("ls order %v, want %v", out, names)
	}
	for i, v := range vs {
		p := filepath.Join(vdir, names[i])
		wantPrefix := v.LastModified.UTC().Format("2006-01-02T15-04-05.000Z") + "~"
		if !strings.HasPrefix(names[i], wantPrefix) || !strings.Contains(v.VersionID, strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(names[i], wantPrefix), ".txt"), ".deleted")) {
			t.Errorf("entry %q for version %s at %v", names[i], v.VersionID, v.LastModified)
		}
		st, err := os.Stat(p)
		must(t, err)
		if !st.ModTime().Equal(v.LastModified) {
			t.Errorf("entry %d mtime %v, want %v", i, st.ModTime(), v.LastModified)
		}
		if got := xattr(t, p, "user.bucketdb.version_id"); got != v.VersionID {
			t.Errorf("entry %d version_id %q, want %q", i, got, v.VersionID)
		}
		wantLatest := "false"
		if i == 3 {
			wantLatest = "true"
		}
		if got := xattr(t, p, "user.bucketdb.latest"); got != wantLatest {
			t.Errorf("entry %d latest %q", i, got)
		}
		if i == 3 {
			if !strings.HasSuffix(names[i], ".deleted") || st.Size() != 0 {
				t.Errorf("delete marker entry %q size %d", names[i], st.Size())
			}
			continue
		}
		if !strings.HasSuffix(names[i], ".txt") || st.Size() != int64(len(contents[i])) {
			t.Errorf("entry %q size %d", names[i], st.Size())
		}
		if got, err := os.ReadFile(p); err != nil || string(got) != contents[i] {
			t.Errorf("entry %d reads %q %v", i, got, err)
		}
		if got := xattr(t, p, "user.bucketdb.etag"); got != v.ETag {
			t.Errorf("entry %d etag %q, want %q", i, got, v.ETag)
		}
	}

	// Read-only: writes inside .versions fail with EROFS.
	entry := filepath.Join(vdir, names[1])
	for what, err := range map[string]error{
		"write":  os.WriteFile(entry, []byte("x"), 0o644),
		"create": os.WriteFile(filepath.Join(vdir, "new.txt"), []byte("x"), 0o644),
		"mkdir":  os.Mkdir(m.path(".versions/docs/new"), 0o755),
		"unlink": os.Remove(entry),
		"rename": os.Rename(entry, filepath.Join(vdir, "renamed")),
		"chmod":  os.Chmod(entry, 0o600),
		"rmdir":  os.Remove(m.path(".versions")),
	} {
		if !errors.Is(err, syscall.EROFS) {
			t.Errorf("%s inside .versions: %v, want EROFS", what, err)
		}
	}

	// Time travel: between the second and third write the tree held the
	// second content; the deleted directory is browsable there.
	at := m.path(".versions/@" + vs[1].LastModified.UTC().Format(time.RFC3339Nano))
	if !vs[2].LastModified.After(vs[1].LastModified) {
		t.Fatalf("second and third write at the same instant %v", vs[1].LastModified)
	}
	if got, err := os.ReadFile(filepath.Join(at, "docs/b.txt")); err != nil || string(got) != contents[1] {
		t.Fatalf("time travel to %s: %q %v", at, got, err)
	}
	if got := readDirNames(t, at); !slices.Equal(got, []string{"docs"}) {
		t.Fatalf("time travel root %v", got)
	}
	gone := keyVersions(t, c, bucket, "gone/deep/x.md")
	at = m.path(".versions/@" + gone[0].LastModified.Add(time.Millisecond).UTC().Format(time.RFC3339Nano))
	if got := run(t, at, "find", "gone", "-type", "f"); !strings.Contains(got, "gone/deep/x.md") {
		t.Fatalf("find in the time view of a deleted directory:\n%s", got)
	}
	if got, err := os.ReadFile(filepath.Join(at, "gone/deep/x.md")); err != nil || string(got) != "deep" {
		t.Fatalf("deleted directory in the time view: %q %v", got, err)
	}
	if err := os.WriteFile(filepath.Join(at, "docs/new"), nil, 0o644); !errors.Is(err, syscall.EROFS) {
		t.Fatalf("create in a time view: %v", err)
	}

	// cp restores: a new version; the old ones stay.
	run(t, m.Dir, "cp", filepath.Join(vdir, names[1]), m.path("docs/b.txt"))
	if got := mustGet(t, c, bucket, "docs/b.txt", minio.GetObjectOptions{}); string(got) != contents[1] {
		t.Fatalf("restored object %q", got)
	}
	if vs := keyVersions(t, c, bucket, "docs/b.txt"); len(vs) != 5 {
		t.Fatalf("after restore %d versions", len(vs))
	}
	if got := readDirNames(t, vdir); len(got) != 5 || !slices.Equal(got[:4], names) {
		t.Fatalf("after restore: %v", got)
	}
	if got, err := os.ReadFile(m.path("docs/b.txt")); err != nil || string(got) != contents[1] {
		t.Fatalf("restored file reads %q %v", got, err)
	}
}

// On an unversioned bucket every file has one entry, version "null".
func TestVersionsFuseUnversioned(t *testing.T) {
	srv := startServer(t)
	c := srv.Client(t)
	bucket := newBucket(t, c)
	m := mountBucket(t, srv, bucket, "--attr-ttl", "1s")
	must(t, os.WriteFile(m.path("plain.dat"), []byte("one"), 0o644))
	must(t, os.WriteFile(m.path("plain.dat"), []byte("two!"), 0o644))
	vdir := m.path(".versions/plain.dat")
	var names []string
	eventually(t, "one entry", func() bool {
		names = readDirNames(t, vdir)
		return len(names) == 1
	})
	if !strings.HasSuffix(names[0], "~null.dat") {
		t.Fatalf("unversioned entry %q", names[0])
	}
	p := filepath.Join(vdir, names[0])
	if got, err := os.ReadFile(p); err != nil || string(got) != "two!" {
		t.Fatalf("reads %q %v", got, err)
	}
	if got := xattr(t, p, "user.bucketdb.version_id"); got != "null" {
		t.Fatalf("version_id %q", got)
	}
}
