package fsmount

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// calls snapshots a MemBucket's request counts.
func calls(b *MemBucket) map[string]int {
	out := map[string]int{}
	for _, op := range []string{"stat", "list", "put", "copy", "get", "delete"} {
		out[op] = b.CallCount(op)
	}
	return out
}

// requestsSince returns the requests made since before, by operation.
func requestsSince(b *MemBucket, before map[string]int) map[string]int {
	out := map[string]int{}
	for op, n := range calls(b) {
		if d := n - before[op]; d != 0 {
			out[op] = d
		}
	}
	return out
}

// redirect does what a shell's `> p` does before the command writes: open
// p with O_TRUNC, dup the descriptor and close the original. It fails if
// that close sent any request (the file is still empty or truncated then)
// and returns the duplicate. Descriptors left open when a test fails would
// hang the exit of this process, which serves the mount: they are closed
// at the end of the test.
func redirect(t *testing.T, b *MemBucket, p string) *os.File {
	t.Helper()
	before := calls(b)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	fd2, err := unix.Dup(int(f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	f2 := os.NewFile(uintptr(fd2), p)
	t.Cleanup(func() { f2.Close() })
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if got := requestsSince(b, before); len(got) != 0 {
		t.Fatalf("close of the original descriptor uploaded the file: %v", got)
	}
	return f2
}

// TestCreateRequests pins the requests that creating a small file costs:
// at most one probe of the new name (HEAD and a one-key listing) however
// often the kernel looks it up, none in a directory whose listing the
// mount knows, and one PUT that carries data and attributes.
func TestCreateRequests(t *testing.T) {
	b := NewMemBucket()
	dir, _ := testMount(t, b, func(c *Config) { c.AttrTTL = time.Minute })
	if err := os.Mkdir(filepath.Join(dir, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	b.PutBytes("ext/other", []byte("x"), nil) // a directory made elsewhere
	data := []byte("four kilobytes, give or take")

	// create writes a new file as cp does and returns the requests made.
	create := func(t *testing.T, p string) map[string]int {
		t.Helper()
		before := calls(b)
		// cp: stat the destination, then create it exclusively (the
		// kernel looks an O_EXCL name up again), write, close.
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Fatalf("stat of a new name: %v", err)
		}
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(data); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		return requestsSince(b, before)
	}

	t.Run("cp into a directory made elsewhere", func(t *testing.T) {
		if fi, err := os.Stat(filepath.Join(dir, "ext")); err != nil || !fi.IsDir() {
			t.Fatalf("ext: %v %v", fi, err)
		}
		got := create(t, filepath.Join(dir, "ext", "new"))
		if want := (map[string]int{"stat": 1, "list": 1, "put": 1}); len(got) != 3 || got["stat"] != 1 || got["list"] != 1 || got["put"] != 1 {
			t.Fatalf("requests %v, want %v", got, want)
		}
	})

	t.Run("cp into a directory made here", func(t *testing.T) {
		// Its listing is known and kept current: no probe at all.
		for _, name := range []string{"first", "second"} {
			if got := create(t, filepath.Join(dir, "d", name)); len(got) != 1 || got["put"] != 1 {
				t.Fatalf("%s: requests %v, want one put", name, got)
			}
		}
		entries, err := os.ReadDir(filepath.Join(dir, "d"))
		if err != nil || len(entries) != 2 {
			t.Fatalf("readdir after creates: %v %v", entries, err)
		}
		if err := os.Remove(filepath.Join(dir, "d", "first")); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, "d", "first")); !os.IsNotExist(err) {
			t.Fatalf("stat after unlink: %v", err)
		}
		if fi, err := os.Stat(filepath.Join(dir, "d", "second")); err != nil || fi.Size() != int64(len(data)) {
			t.Fatalf("stat of the other file: %v %v", fi, err)
		}
	})

	t.Run("cp", func(t *testing.T) {
		if got := create(t, filepath.Join(dir, "d", "new")); len(got) != 1 || got["put"] != 1 {
			t.Fatalf("requests %v, want one put", got)
		}
		body, meta := mustObject(t, b, "d/new")
		if string(body) != string(data) || meta["mode"] != strconv.Itoa(syscall.S_IFREG|0o600) {
			t.Fatalf("object %q %v", body, meta)
		}
	})

	t.Run("touch", func(t *testing.T) {
		p := filepath.Join(dir, "d", "touched")
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Fatalf("stat of a new name: %v", err)
		}
		before := calls(b)
		// touch: open, move the descriptor (dup2 + close: a flush), set
		// the times to now, close.
		fd, err := unix.Open(p, unix.O_WRONLY|unix.O_CREAT|unix.O_NONBLOCK, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		fd2, err := unix.Dup(fd)
		if err != nil {
			t.Fatal(err)
		}
		unix.Close(fd)
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{{Nsec: unix.UTIME_NOW}, {Nsec: unix.UTIME_NOW}}, 0); err != nil {
			t.Fatal(err)
		}
		if err := unix.Close(fd2); err != nil {
			t.Fatal(err)
		}
		got := requestsSince(b, before)
		// The flush of the moved descriptor is skipped (the copy is
		// still open), so the times go with the one upload at the end.
		if len(got) != 1 || got["put"] != 1 {
			t.Fatalf("requests %v, want one put", got)
		}
		if body, _ := mustObject(t, b, "d/touched"); len(body) != 0 {
			t.Fatalf("touched file holds %q", body)
		}
	})

	t.Run("shell redirection", func(t *testing.T) {
		// printf x > f: open, dup2 and close the original, write, close.
		before := calls(b)
		f2 := redirect(t, b, filepath.Join(dir, "d", "redirected"))
		if _, err := f2.Write(data); err != nil {
			t.Fatal(err)
		}
		if err := f2.Close(); err != nil {
			t.Fatal(err)
		}
		// The last close uploads before it returns, not at RELEASE.
		if got := requestsSince(b, before); len(got) != 1 || got["put"] != 1 {
			t.Fatalf("requests %v, want one put", got)
		}
		if body, _ := mustObject(t, b, "d/redirected"); string(body) != string(data) {
			t.Fatalf("object holds %q", body)
		}

		// An empty file whose only descriptor closes is uploaded by that
		// close; so is one still open in another process only.
		for _, name := range []string{"empty", "shared"} {
			p := filepath.Join(dir, "d", name)
			f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if name == "shared" {
				child, err := os.StartProcess("/bin/sleep", []string{"sleep", "60"}, &os.ProcAttr{Files: []*os.File{nil, f, nil}})
				if err != nil {
					t.Fatal(err)
				}
				defer child.Wait()
				defer child.Kill()
			}
			before := calls(b)
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			if got := requestsSince(b, before); got["put"] != 1 {
				t.Fatalf("%s: close made %v, want one put", name, got)
			}
			if body, _ := mustObject(t, b, "d/"+name); len(body) != 0 {
				t.Fatalf("%s holds %q", name, body)
			}
		}
	})

	t.Run("shell redirection over a file", func(t *testing.T) {
		// printf y > f with f there: the first close finds the file
		// truncated and empty; uploading it would put an empty version
		// before the new content.
		p := filepath.Join(dir, "d", "redirected")
		if _, err := os.Stat(p); err != nil {
			t.Fatal(err)
		}
		before := calls(b)
		f2 := redirect(t, b, p)
		if _, err := f2.Write([]byte("overwritten")); err != nil {
			t.Fatal(err)
		}
		if err := f2.Close(); err != nil {
			t.Fatal(err)
		}
		if got := requestsSince(b, before); len(got) != 1 || got["put"] != 1 {
			t.Fatalf("requests %v, want one put", got)
		}
		if body, _ := mustObject(t, b, "d/redirected"); string(body) != "overwritten" {
			t.Fatalf("object holds %q", body)
		}
	})

	t.Run("chmod", func(t *testing.T) {
		p := filepath.Join(dir, "d", "new")
		before := calls(b)
		if err := os.Chmod(p, 0o600); err != nil { // unchanged
			t.Fatal(err)
		}
		if got := requestsSince(b, before); got["copy"] != 0 {
			t.Fatalf("chmod to the same mode: %v", got)
		}
		if err := os.Chmod(p, 0o640); err != nil {
			t.Fatal(err)
		}
		if got := requestsSince(b, before); got["copy"] != 1 {
			t.Fatalf("chmod: %v", got)
		}
		if _, meta := mustObject(t, b, "d/new"); meta["mode"] != strconv.Itoa(syscall.S_IFREG|0o640) {
			t.Fatalf("mode after chmod: %v", meta)
		}
		// Times that differ from the stored seconds are written.
		old := time.Unix(1_600_000_000, 0)
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
		if _, meta := mustObject(t, b, "d/new"); meta["mtime"] != "1600000000" {
			t.Fatalf("mtime after utimens: %v", meta)
		}
	})

	t.Run("directory attributes", func(t *testing.T) {
		// tar restores a directory's times, owner and mode at the end,
		// one call each; those that store nothing new cost nothing.
		p := filepath.Join(dir, "d", "sub")
		if err := os.Mkdir(p, 0o755); err != nil {
			t.Fatal(err)
		}
		before := calls(b)
		if err := os.Chown(p, os.Getuid(), os.Getgid()); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if got := requestsSince(b, before); len(got) != 0 {
			t.Fatalf("chown and chmod to the same values: %v", got)
		}
		old := time.Unix(1_600_000_000, 0)
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o700); err != nil {
			t.Fatal(err)
		}
		if got := requestsSince(b, before); len(got) != 1 || got["put"] != 2 {
			t.Fatalf("utimens and chmod: %v, want two puts", got)
		}
		if _, meta := mustObject(t, b, "d/sub/"); meta["mtime"] != "1600000000" || meta["mode"] != strconv.Itoa(syscall.S_IFDIR|0o700) {
			t.Fatalf("marker after utimens and chmod: %v", meta)
		}
		// A chmod makes the kernel look the directory up again; the
		// parent's listing answers, with the new attributes.
		before = calls(b)
		fi, err := os.Stat(p)
		if err != nil || fi.Mode() != os.ModeDir|0o700 || fi.ModTime().Unix() != 1_600_000_000 {
			t.Fatalf("stat after chmod: %v %v", fi, err)
		}
		// Making directories one after another keeps the listing known.
		for _, name := range []string{"sub2", "sub3"} {
			if err := os.Mkdir(filepath.Join(dir, "d", name), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if got := requestsSince(b, before); len(got) != 1 || got["put"] != 2 {
			t.Fatalf("stat and two mkdirs: %v, want two puts", got)
		}
	})
}

// TestMissingNameSeenAfterTTL checks that a remembered miss expires: an
// object created behind the mount's back appears one TTL later.
func TestMissingNameSeenAfterTTL(t *testing.T) {
	b := NewMemBucket()
	ttl := 200 * time.Millisecond
	dir, _ := testMount(t, b, func(c *Config) { c.AttrTTL = ttl })
	p := filepath.Join(dir, "later")
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatalf("stat: %v", err)
	}
	b.PutBytes("later", []byte("x"), nil)
	time.Sleep(2 * ttl)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("object written through S3 not seen after the TTL: %v", err)
	}
	// A name created through the mount is never answered from the miss.
	q := filepath.Join(dir, "mine")
	if _, err := os.Stat(q); !os.IsNotExist(err) {
		t.Fatalf("stat: %v", err)
	}
	if err := os.WriteFile(q, []byte("y"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(q); err != nil {
		t.Fatalf("created file: %v", err)
	}
}

// TestScanOutlastingListing checks that a scan of a large directory that
// outlasts the listing's lifetime lists the directory again instead of
// probing each name (two requests per entry).
func TestScanOutlastingListing(t *testing.T) {
	b := NewMemBucket()
	const n = 300
	for i := range n {
		b.PutBytes("big/f"+strconv.Itoa(i), []byte("x"), Meta{"mode": "33188"})
	}
	dir, fsys := testMount(t, b, func(c *Config) { c.AttrTTL = 50 * time.Millisecond })
	ents, err := os.ReadDir(filepath.Join(dir, "big"))
	if err != nil || len(ents) != n {
		t.Fatalf("readdir: %d entries, %v", len(ents), err)
	}
	time.Sleep(fsys.listTTL() + 100*time.Millisecond) // the listing expired
	var mu sync.Mutex
	got := map[string]int{}
	b.SetFail(func(op, key string) error {
		// Requests for the entries (the listing of big/, HEADs of big/f*),
		// and a few for big itself as the path walk revalidates it.
		if strings.HasPrefix(key, "big/") {
			mu.Lock()
			got[op+" "+strings.TrimRight(key, "0123456789")]++
			mu.Unlock()
		}
		return nil
	})
	defer b.SetFail(nil)
	for _, e := range ents {
		if _, err := os.Lstat(filepath.Join(dir, "big", e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if got["stat big/f"] != 0 || got["list big/"] == 0 || got["list big/"] > n/4 {
		t.Fatalf("lstat of %d entries after the listing expired: %v", n, got)
	}
}

// TestKernelReadAhead checks that the mount raises the kernel's
// read-ahead (the tests run as root, who may), so that sequential reads
// reach the mount as large requests rather than 128 KiB ones.
func TestKernelReadAhead(t *testing.T) {
	dir, _ := testMount(t, NewMemBucket(), func(c *Config) { c.KernelReadAhead = 2 << 20 })
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		t.Fatal(err)
	}
	p := "/sys/class/bdi/" + strconv.Itoa(int(unix.Major(st.Dev))) + ":" + strconv.Itoa(int(unix.Minor(st.Dev))) + "/read_ahead_kb"
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(b)); got != "2048" {
		t.Fatalf("%s = %s, want 2048", p, got)
	}
}
