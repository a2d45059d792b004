package fsmount

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestVersionNames(t *testing.T) {
	lm := time.Date(2026, 11, 25, 18, 4, 5, 123e6, time.UTC)
	v := func(id string, dm bool, sec int) VersionEntry {
		return VersionEntry{ObjectInfo: ObjectInfo{VersionID: id, LastModified: lm.Add(time.Duration(sec) * time.Second)}, DeleteMarker: dm}
	}
	for _, tc := range []struct {
		name string
		key  string
		vs   []VersionEntry
		want []string
	}{
		{"null", "a/b.txt", []VersionEntry{v("null", false, 0)}, []string{"2026-11-25T18-04-05.123Z~null.txt"}},
		{"tail of 8", "b.txt", []VersionEntry{v("0000000000000001aaaaaaaa3f2a9c1e", false, 1), v("0000000000000000bbbbbbbb12345678", false, 0)},
			[]string{"2026-11-25T18-04-06.123Z~3f2a9c1e.txt", "2026-11-25T18-04-05.123Z~12345678.txt"}},
		{"tails collide: longer", "x.tar.gz", []VersionEntry{v("01aaaaaaaa", false, 0), v("02aaaaaaaa", false, 0), v("0003aaaaaaaa", false, 0)},
			[]string{"2026-11-25T18-04-05.123Z~1aaaaaaaa.gz", "2026-11-25T18-04-05.123Z~2aaaaaaaa.gz", "2026-11-25T18-04-05.123Z~3aaaaaaaa.gz"}},
		{"delete marker", "d/f.txt", []VersionEntry{v("m1234567890", true, 2)}, []string{"2026-11-25T18-04-07.123Z~34567890.deleted"}},
		{"dot file and no ext", ".bashrc", []VersionEntry{v("null", false, 0)}, []string{"2026-11-25T18-04-05.123Z~null"}},
		{"long ext dropped", "f." + strings.Repeat("e", 40), []VersionEntry{v("null", false, 0)}, []string{"2026-11-25T18-04-05.123Z~null"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := versionNames(tc.key, tc.vs); !slices.Equal(got, tc.want) {
				t.Errorf("got %q want %q", got, tc.want)
			}
		})
	}
}

func TestParseAt(t *testing.T) {
	want := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"@2026-11-25T18:00:00Z", true},
		{"@2026-11-25T19:00:00+01:00", true},
		{"@2026-11-25T18-00-00Z", true},
		{"@2026-11-25T18-00-00.000Z", true},
		{"@2026-11-25", false},
		{"@", false},
		{"2026-11-25T18:00:00Z", false},
		{"@yesterday", false},
	} {
		got, ok := parseAt(tc.in)
		if ok != tc.ok || ok && !got.Equal(want) {
			t.Errorf("parseAt(%q) = %v %v", tc.in, got, ok)
		}
	}
}

func TestMemBucketVersions(t *testing.T) {
	ctx := context.Background()
	b := NewMemBucket()
	b.PutBytes("u.txt", []byte("unversioned"), nil)
	b.EnableVersioning()
	for i := range 3 {
		b.PutBytes("d/f.txt", []byte(fmt.Sprint("v", i)), nil)
	}
	if err := b.Delete(ctx, "d/f.txt"); err != nil {
		t.Fatal(err)
	}
	b.PutBytes("d/sub/g", []byte("g"), nil)

	var got []string
	err := b.ListVersions(ctx, ListOptions{Prefix: "d/", Delimiter: "/"}, func(e VersionEntry) bool {
		got = append(got, fmt.Sprintf("%s p=%v dm=%v latest=%v", e.Key, e.IsPrefix, e.DeleteMarker, e.IsLatest))
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"d/f.txt p=false dm=true latest=true",
		"d/f.txt p=false dm=false latest=false",
		"d/f.txt p=false dm=false latest=false",
		"d/f.txt p=false dm=false latest=false",
		"d/sub/ p=true dm=false latest=false",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("listing:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The version written before versioning was on is "null"; versions
	// read back by ID.
	var ids []string
	b.ListVersions(ctx, ListOptions{Prefix: "u.txt"}, func(e VersionEntry) bool { ids = append(ids, e.VersionID); return true })
	if !slices.Equal(ids, []string{NullVersion}) {
		t.Fatalf("unversioned ids %v", ids)
	}
	var first VersionEntry
	b.ListVersions(ctx, ListOptions{Prefix: "d/f.txt"}, func(e VersionEntry) bool { first = e; return true }) // oldest last
	rc, err := b.GetVersion(ctx, "d/f.txt", first.VersionID, 1, -1)
	if err != nil {
		t.Fatal(err)
	}
	if data, _ := io.ReadAll(rc); string(data) != "0" {
		t.Fatalf("GetVersion: %q", data)
	}
	if _, err := b.GetVersion(ctx, "d/f.txt", "nope", 0, -1); !errors.Is(err, ErrNotExist) {
		t.Fatalf("missing version: %v", err)
	}
}

// versionEntries lists dir (a file's version directory) with ReadDir.
func versionEntries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("readdir %s: %v", dir, err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

func getxattr(t *testing.T, p, name string) string {
	t.Helper()
	buf := make([]byte, 256)
	n, err := unix.Getxattr(p, name, buf)
	if err != nil {
		t.Fatalf("getxattr %s %s: %v", p, name, err)
	}
	return string(buf[:n])
}

func TestMountVersions(t *testing.T) {
	b := NewMemBucket()
	b.EnableVersioning()
	dir, _ := testMount(t, b, nil)
	p := filepath.Join(dir, "docs", "b.txt")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Mkdir(filepath.Join(dir, "docs"), 0o755))
	contents := []string{"first", "second!", "third..."}
	var times []time.Time
	for _, c := range contents {
		must(os.WriteFile(p, []byte(c), 0o640))
		times = append(times, b.Now())
	}
	must(os.Remove(p))
	b.PutBytes("gone/deep/x.md", []byte("x"), nil)
	beforeGone := b.Now()
	must(b.Delete(context.Background(), "gone/deep/x.md"))

	// .versions is not listed but can be entered.
	for _, e := range versionEntries(t, dir) {
		if e == versionsDir {
			t.Fatal(".versions listed in the root")
		}
	}
	if got := versionEntries(t, filepath.Join(dir, ".versions")); !slices.Equal(got, []string{"docs", "gone"}) {
		t.Fatalf(".versions: %v", got)
	}
	if got := versionEntries(t, filepath.Join(dir, ".versions", "docs")); !slices.Equal(got, []string{"b.txt"}) {
		t.Fatalf(".versions/docs: %v", got)
	}

	// Three versions and a delete marker, oldest first, with their bytes,
	// sizes, times and attributes.
	vdir := filepath.Join(dir, ".versions", "docs", "b.txt")
	names := versionEntries(t, vdir)
	if len(names) != 4 || !sort.StringsAreSorted(names) || !strings.HasSuffix(names[3], ".deleted") {
		t.Fatalf("versions of b.txt: %v", names)
	}
	var ids []string
	b.ListVersions(context.Background(), ListOptions{Prefix: "docs/b.txt"}, func(e VersionEntry) bool {
		ids = append([]string{e.VersionID}, ids...)
		return true
	})
	for i, c := range contents {
		vp := filepath.Join(vdir, names[i])
		if !strings.HasSuffix(names[i], ".txt") || !strings.HasPrefix(names[i], times[i].UTC().Format(versionTimeLayout)+"~") {
			t.Errorf("name %q for version at %v", names[i], times[i])
		}
		got, err := os.ReadFile(vp)
		if err != nil || string(got) != c {
			t.Errorf("version %d reads %q %v", i, got, err)
		}
		st, err := os.Stat(vp)
		must(err)
		if st.Size() != int64(len(c)) || !st.ModTime().Equal(times[i]) || st.Mode().Perm() != 0o640 {
			t.Errorf("version %d: size %d mtime %v mode %v", i, st.Size(), st.ModTime(), st.Mode())
		}
		if g := getxattr(t, vp, "user.bucketdb.version_id"); g != ids[i] {
			t.Errorf("version_id %q want %q", g, ids[i])
		}
		if g := getxattr(t, vp, "user.bucketdb.latest"); g != "false" {
			t.Errorf("latest %q", g)
		}
		if g := getxattr(t, vp, "user.bucketdb.etag"); len(g) != 32 {
			t.Errorf("etag %q", g)
		}
	}
	marker := filepath.Join(vdir, names[3])
	if st, err := os.Stat(marker); err != nil || st.Size() != 0 {
		t.Fatalf("delete marker: %v %v", st, err)
	}
	if g := getxattr(t, marker, "user.bucketdb.latest"); g != "true" {
		t.Errorf("marker latest %q", g)
	}
	buf := make([]byte, 256)
	n, err := unix.Listxattr(marker, buf)
	must(err)
	if got := string(buf[:n]); got != "user.bucketdb.version_id\x00user.bucketdb.latest\x00" {
		t.Errorf("listxattr of marker %q", got)
	}

	// Read-only: EROFS for every change inside.
	for what, err := range map[string]error{
		"write":   os.WriteFile(filepath.Join(vdir, names[0]), []byte("x"), 0o644),
		"create":  os.WriteFile(filepath.Join(vdir, "new"), []byte("x"), 0o644),
		"mkdir":   os.Mkdir(filepath.Join(dir, ".versions", "docs", "new"), 0o755),
		"unlink":  os.Remove(filepath.Join(vdir, names[0])),
		"rmdir":   os.Remove(vdir),
		"rename":  os.Rename(filepath.Join(vdir, names[0]), filepath.Join(vdir, "r")),
		"chmod":   os.Chmod(filepath.Join(vdir, names[0]), 0o600),
		"setx":    unix.Setxattr(filepath.Join(vdir, names[0]), "user.x", []byte("1"), 0),
		"rm root": os.Remove(filepath.Join(dir, ".versions")),
		"mv in":   os.Rename(filepath.Join(dir, "docs"), filepath.Join(dir, ".versions", "docs2")),
	} {
		if !errors.Is(err, syscall.EROFS) {
			t.Errorf("%s inside .versions: %v, want EROFS", what, err)
		}
	}

	// Restore with cp: a new version; the old ones stay.
	src, err := os.ReadFile(filepath.Join(vdir, names[1]))
	must(err)
	must(os.WriteFile(p, src, 0o644))
	if got, _, _ := b.Bytes("docs/b.txt"); string(got) != "second!" {
		t.Fatalf("restored %q", got)
	}
	if names := versionEntries(t, vdir); len(names) != 5 {
		t.Fatalf("after restore: %v", names)
	}

	// Time travel: between the second and third write the tree showed the
	// second content; the deleted directory is there before its deletion.
	at := func(tm time.Time) string {
		return filepath.Join(dir, ".versions", "@"+tm.UTC().Format(time.RFC3339Nano))
	}
	if got, err := os.ReadFile(filepath.Join(at(times[1]), "docs", "b.txt")); err != nil || string(got) != "second!" {
		t.Fatalf("time travel: %q %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(at(times[2].Add(time.Second)), "docs", "b.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("deleted file in the past view after deletion: %v", err)
	}
	if got := versionEntries(t, at(beforeGone)); !slices.Equal(got, []string{"docs", "gone"}) {
		t.Fatalf("view before gone's deletion: %v", got)
	}
	if got, err := os.ReadFile(filepath.Join(at(beforeGone), "gone", "deep", "x.md")); err != nil || string(got) != "x" {
		t.Fatalf("deleted dir in the past view: %q %v", got, err)
	}
	if got := versionEntries(t, at(beforeGone.Add(time.Second))); !slices.Equal(got, []string{"docs"}) {
		t.Fatalf("view after gone's deletion: %v", got)
	}
	if got := versionEntries(t, at(times[0].Add(-2*time.Second))); len(got) != 0 {
		t.Fatalf("view before anything: %v", got)
	}
	if err := os.WriteFile(filepath.Join(at(times[1]), "docs", "b.txt"), nil, 0o644); !errors.Is(err, syscall.EROFS) {
		t.Fatalf("write in time view: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".versions", "@not-a-time")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("bad time: %v", err)
	}
	// The mirror keeps deleted directories.
	if got := versionEntries(t, filepath.Join(dir, ".versions", "gone", "deep", "x.md")); len(got) != 2 {
		t.Fatalf("deleted dir's versions: %v", got)
	}
}

func TestMountVersionsUnversioned(t *testing.T) {
	b := NewMemBucket()
	b.PutBytes("a.bin", []byte("hello"), nil)
	dir, _ := testMount(t, b, nil)
	if err := os.WriteFile(filepath.Join(dir, "a.bin"), []byte("world!"), 0o644); err != nil {
		t.Fatal(err)
	}
	vdir := filepath.Join(dir, ".versions", "a.bin")
	names := versionEntries(t, vdir)
	if len(names) != 1 || !strings.HasSuffix(names[0], "~null.bin") {
		t.Fatalf("unversioned: %v", names)
	}
	if got, err := os.ReadFile(filepath.Join(vdir, names[0])); err != nil || string(got) != "world!" {
		t.Fatalf("read %q %v", got, err)
	}
	if g := getxattr(t, filepath.Join(vdir, names[0]), "user.bucketdb.latest"); g != "true" {
		t.Fatalf("latest %q", g)
	}
}

// A bucket without the capability has no .versions tree: the name is an
// ordinary one.
func TestMountNoVersionCapability(t *testing.T) {
	b := NewMemBucket()
	b.PutBytes(".versions", []byte("plain"), nil)
	cfg := DefaultConfig()
	cfg.Bucket = struct{ Bucket }{b}
	fsys, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if fsys.versions != nil {
		t.Fatal("capability detected on a plain Bucket")
	}
}

// A file with thousands of versions: paginated, one listing per directory
// read, names unique and in time order.
func TestMountManyVersions(t *testing.T) {
	b := NewMemBucket()
	b.EnableVersioning()
	b.PageSize = 100
	const n = 3000
	for i := range n {
		b.PutBytes("many.log", []byte(fmt.Sprint(i)), nil)
	}
	b.PutBytes("many.log2", []byte("other"), nil)
	// Listings stay fresh for the whole test, so the count of pages does
	// not depend on how fast the test runs.
	dir, _ := testMount(t, b, func(c *Config) { c.AttrTTL = time.Hour })
	before := b.CallCount("listversions")
	names := versionEntries(t, filepath.Join(dir, ".versions", "many.log"))
	if len(names) != n || !sort.StringsAreSorted(names) || len(slices.Compact(slices.Clone(names))) != n {
		t.Fatalf("%d names", len(names))
	}
	if calls := b.CallCount("listversions") - before; calls > n/100+3 {
		t.Fatalf("%d listing pages for %d versions", calls, n)
	}
	got, err := os.ReadFile(filepath.Join(dir, ".versions", "many.log", names[1234]))
	if err != nil || string(got) != "1234" {
		t.Fatalf("version 1234 reads %q %v", got, err)
	}
}

func BenchmarkVersionNames(b *testing.B) {
	vs := make([]VersionEntry, 5000)
	t0 := time.Now()
	for i := range vs {
		vs[i] = VersionEntry{ObjectInfo: ObjectInfo{VersionID: fmt.Sprintf("%016x%016x", i, uint64(i)*0x9e3779b97f4a7c15), LastModified: t0.Add(time.Duration(i) * time.Millisecond)}}
	}
	b.ResetTimer()
	for range b.N {
		versionNames("dir/file.txt", vs)
	}
}
