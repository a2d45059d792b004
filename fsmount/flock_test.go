package fsmount

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// twoMounts mounts two file systems over one MemBucket, as two machines
// mounting one bucket.
func twoMounts(t *testing.T, edit func(*Config)) (string, string, *MemBucket) {
	b := NewMemBucket()
	a, _ := testMount(t, b, edit)
	c, _ := testMount(t, b, edit)
	return a, c, b
}

func openFile(t *testing.T, p string, flag int) *os.File {
	t.Helper()
	f, err := os.OpenFile(p, flag, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestFlockAcrossMounts(t *testing.T) {
	// Long attribute TTL: only the lock's revalidation can make mount B
	// see what mount A wrote.
	a, b, bucket := twoMounts(t, func(c *Config) { c.AttrTTL = time.Minute })
	if err := os.WriteFile(filepath.Join(a, "f"), []byte("one\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fb := openFile(t, filepath.Join(b, "f"), os.O_RDWR)
	buf := make([]byte, 64)
	if n, err := fb.ReadAt(buf, 0); string(buf[:n]) != "one\n" {
		t.Fatalf("B reads %q, %v", buf[:n], err)
	}

	fa := openFile(t, filepath.Join(a, "f"), os.O_RDWR|os.O_APPEND)
	if err := unix.Flock(int(fa.Fd()), unix.LOCK_EX); err != nil {
		t.Fatalf("flock A: %v", err)
	}
	if err := unix.Flock(int(fb.Fd()), unix.LOCK_EX|unix.LOCK_NB); !errors.Is(err, unix.EWOULDBLOCK) {
		t.Fatalf("flock -n on B while A holds it: %v, want EWOULDBLOCK", err)
	}
	if err := unix.Flock(int(fb.Fd()), unix.LOCK_SH|unix.LOCK_NB); !errors.Is(err, unix.EWOULDBLOCK) {
		t.Fatalf("shared flock -n on B while A holds it: %v, want EWOULDBLOCK", err)
	}
	got := make(chan error, 1)
	go func() { got <- unix.Flock(int(fb.Fd()), unix.LOCK_EX) }()
	select {
	case err := <-got:
		t.Fatalf("flock on B returned (%v) while A holds the lock", err)
	case <-time.After(300 * time.Millisecond):
	}
	if _, err := fa.WriteString("two\n"); err != nil {
		t.Fatal(err)
	}
	if err := fa.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(fa.Fd()), unix.LOCK_UN); err != nil {
		t.Fatalf("unlock A: %v", err)
	}
	if err := <-got; err != nil {
		t.Fatalf("flock B after A released: %v", err)
	}
	// B sees A's write although its attributes were cached for a minute.
	if n, err := fb.ReadAt(buf, 0); string(buf[:n]) != "one\ntwo\n" {
		t.Fatalf("B reads %q after taking the lock, %v", buf[:n], err)
	}
	// Now A is refused, and closing B's descriptor releases the lock.
	if err := unix.Flock(int(fa.Fd()), unix.LOCK_EX|unix.LOCK_NB); !errors.Is(err, unix.EWOULDBLOCK) {
		t.Fatalf("flock -n on A while B holds it: %v", err)
	}
	fb.Close() // its RELEASE arrives after close returns: wait for it
	if err := unix.Flock(int(fa.Fd()), unix.LOCK_EX); err != nil {
		t.Fatalf("flock A after B closed: %v", err)
	}
	// Two processes' worth of owners on one mount exclude each other too.
	fa2 := openFile(t, filepath.Join(a, "f"), os.O_RDONLY)
	if err := unix.Flock(int(fa2.Fd()), unix.LOCK_EX|unix.LOCK_NB); !errors.Is(err, unix.EWOULDBLOCK) {
		t.Fatalf("second open file on A: %v", err)
	}
	fa.Close()
	// The kernel sends RELEASE after close returns: poll.
	for i := 0; ; i++ {
		bucket.mu.Lock()
		n := len(bucket.liveLocks("f"))
		bucket.mu.Unlock()
		if n == 0 {
			break
		}
		if i == 500 {
			t.Fatalf("%d leases left 5s after every descriptor closed", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestFlockShared(t *testing.T) {
	a, b, _ := twoMounts(t, nil)
	if err := os.WriteFile(filepath.Join(a, "s"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	fa := openFile(t, filepath.Join(a, "s"), os.O_RDONLY)
	fb := openFile(t, filepath.Join(b, "s"), os.O_RDONLY)
	if err := unix.Flock(int(fa.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(fb.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != nil {
		t.Fatalf("second shared lock: %v", err)
	}
	if err := unix.Flock(int(fb.Fd()), unix.LOCK_EX|unix.LOCK_NB); !errors.Is(err, unix.EWOULDBLOCK) {
		t.Fatalf("upgrade while the other mount shares: %v", err)
	}
}

func TestFcntlLocksAcrossMounts(t *testing.T) {
	a, b, _ := twoMounts(t, nil)
	if err := os.WriteFile(filepath.Join(a, "p"), []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	fa := openFile(t, filepath.Join(a, "p"), os.O_RDWR)
	fb := openFile(t, filepath.Join(b, "p"), os.O_RDWR)
	// A byte range is widened to the whole file.
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: 0, Len: 1}
	if err := unix.FcntlFlock(fa.Fd(), unix.F_SETLK, &lk); err != nil {
		t.Fatalf("F_SETLK on A: %v", err)
	}
	other := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: 2, Len: 1}
	if err := unix.FcntlFlock(fb.Fd(), unix.F_SETLK, &other); !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EACCES) {
		t.Fatalf("F_SETLK on B: %v, want EAGAIN", err)
	}
	q := unix.Flock_t{Type: unix.F_RDLCK, Whence: 0, Start: 0, Len: 0}
	if err := unix.FcntlFlock(fb.Fd(), unix.F_GETLK, &q); err != nil {
		t.Fatalf("F_GETLK: %v", err)
	}
	if q.Type != unix.F_WRLCK {
		t.Fatalf("F_GETLK on B reports type %d, want F_WRLCK", q.Type)
	}
	un := unix.Flock_t{Type: unix.F_UNLCK, Whence: 0}
	if err := unix.FcntlFlock(fa.Fd(), unix.F_SETLK, &un); err != nil {
		t.Fatal(err)
	}
	q = unix.Flock_t{Type: unix.F_WRLCK, Whence: 0}
	if err := unix.FcntlFlock(fb.Fd(), unix.F_GETLK, &q); err != nil || q.Type != unix.F_UNLCK {
		t.Fatalf("F_GETLK after release: type %d, %v", q.Type, err)
	}
	if err := unix.FcntlFlock(fb.Fd(), unix.F_SETLKW, &other); err != nil {
		t.Fatalf("F_SETLKW on B after release: %v", err)
	}
}

func TestLocalLocksOption(t *testing.T) {
	a, b, _ := twoMounts(t, func(c *Config) { c.LocalLocks = true })
	if err := os.WriteFile(filepath.Join(a, "l"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	fa := openFile(t, filepath.Join(a, "l"), os.O_RDONLY)
	fb := openFile(t, filepath.Join(b, "l"), os.O_RDONLY)
	fa2 := openFile(t, filepath.Join(a, "l"), os.O_RDONLY)
	if err := unix.Flock(int(fa.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	// Local: the other mount does not see it, this mount does.
	if err := unix.Flock(int(fb.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatalf("local locks: other mount refused: %v", err)
	}
	if err := unix.Flock(int(fa2.Fd()), unix.LOCK_EX|unix.LOCK_NB); !errors.Is(err, syscall.EWOULDBLOCK) {
		t.Fatalf("local locks: same mount: %v", err)
	}
}

// A write under an exclusive lock carries the lock's fencing token; lock
// requests are SigV4-signed.
func TestS3FencingAndLockRequests(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.RawQuery+" fence="+r.Header.Get(FencingHeader)+" signed="+
			strconv.FormatBool(strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ")))
		mu.Unlock()
		if r.URL.Query().Has("lock") && r.Method == http.MethodPost {
			fmt.Fprint(w, `<LockResult><LockToken>tok1</LockToken><FencingToken>42</FencingToken><Expires>2030-01-01T00:00:00Z</Expires></LockResult>`)
			return
		}
		w.Header().Set("ETag", `"abc"`)
	}))
	defer srv.Close()
	b, err := NewS3Bucket(S3Config{Endpoints: []string{srv.URL}, Bucket: "bkt", AccessKey: "ak", SecretKey: "sk"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	g, err := b.AcquireLock(ctx, "k", LockOptions{TTL: 30 * time.Second, Owner: "me"})
	if err != nil || g.Token != "tok1" || g.FencingToken != 42 {
		t.Fatalf("acquire: %+v %v", g, err)
	}
	if _, err := b.Put(withFencing(ctx, g.FencingToken), "k", strings.NewReader("x"), 1, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Put(ctx, "k", strings.NewReader("x"), 1, nil); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{
		"POST lock=&mode=exclusive&owner=me&ttl=30&wait=0 fence= signed=true",
		"PUT  fence=42 signed=true",
		"PUT  fence= signed=true",
	}
	if strings.Join(seen, "\n") != strings.Join(want, "\n") {
		t.Fatalf("requests:\n%s\nwant:\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
}

// Several byte ranges of one owner share one whole-file lease: it is held
// in the strongest mode a range needs and released with the last range,
// as SQLite's pending/reserved/shared locking needs.
func TestFcntlRangesOfOneOwner(t *testing.T) {
	a, b, _ := twoMounts(t, nil)
	if err := os.WriteFile(filepath.Join(a, "db"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	fa := openFile(t, filepath.Join(a, "db"), os.O_RDWR)
	fb := openFile(t, filepath.Join(b, "db"), os.O_RDWR)
	set := func(f *os.File, typ int16, start, n int64) error {
		lk := unix.Flock_t{Type: typ, Whence: 0, Start: start, Len: n}
		return unix.FcntlFlock(f.Fd(), unix.F_SETLK, &lk)
	}
	for _, step := range []struct {
		f           *os.File
		typ         int16
		start, n    int64
		wantRefused bool
	}{
		{fa, unix.F_RDLCK, 100, 1, false},  // pending
		{fa, unix.F_RDLCK, 200, 10, false}, // shared range
		{fa, unix.F_UNLCK, 100, 1, false},  // drop pending: still shared
		{fb, unix.F_WRLCK, 300, 1, true},   // so B cannot write-lock
		{fb, unix.F_RDLCK, 200, 10, false}, // but can share
		{fa, unix.F_WRLCK, 50, 1, true},    // A cannot upgrade while B shares
		{fb, unix.F_UNLCK, 0, 0, false},    // B drops everything
		{fa, unix.F_WRLCK, 50, 1, false},   // now A upgrades
		{fb, unix.F_RDLCK, 200, 10, true},  // and B is refused
		{fa, unix.F_UNLCK, 200, 10, false}, // A keeps the write range
		{fb, unix.F_RDLCK, 200, 10, true},  // still refused
		{fa, unix.F_UNLCK, 0, 0, false},    // A drops all
		{fb, unix.F_WRLCK, 0, 0, false},    // B takes it
	} {
		err := set(step.f, step.typ, step.start, step.n)
		refused := errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EACCES)
		if err != nil && !refused {
			t.Fatalf("%+v: %v", step, err)
		}
		if refused != step.wantRefused {
			t.Fatalf("%+v: refused=%v (%v)", step, refused, err)
		}
	}
}

// Closing any descriptor of a file drops the fcntl locks its closer took
// on it (POSIX), while flock locks stay with their open file.
func TestFcntlReleasedOnAnyClose(t *testing.T) {
	a, b, _ := twoMounts(t, nil)
	p := filepath.Join(a, "c")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	fb := openFile(t, filepath.Join(b, "c"), os.O_RDWR)
	wr := unix.Flock_t{Type: unix.F_WRLCK}
	done := make(chan error, 1)
	go func() {
		// One thread: FUSE identifies the closer by its thread ID.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		fa := openFile(t, p, os.O_RDWR)
		lk := unix.Flock_t{Type: unix.F_WRLCK}
		if err := unix.FcntlFlock(fa.Fd(), unix.F_SETLK, &lk); err != nil {
			done <- err
			return
		}
		if err := unix.FcntlFlock(fb.Fd(), unix.F_SETLK, &wr); !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EACCES) {
			done <- fmt.Errorf("B while A holds: %v", err)
			return
		}
		// Close a second descriptor of the file.
		other, err := os.Open(p)
		if err != nil {
			done <- err
			return
		}
		done <- other.Close()
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := unix.FcntlFlock(fb.Fd(), unix.F_SETLK, &wr); err != nil {
		t.Fatalf("B after A closed another descriptor: %v", err)
	}
}
