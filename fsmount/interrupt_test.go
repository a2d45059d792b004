package fsmount

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// slowStatBucket answers Stat after a delay, or earlier with the
// context's error if the request is canceled.
type slowStatBucket struct {
	*MemBucket
	delay time.Duration
}

func (b *slowStatBucket) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	select {
	case <-time.After(b.delay):
	case <-ctx.Done():
		return ObjectInfo{}, ctx.Err()
	}
	return b.MemBucket.Stat(ctx, key)
}

// A signal to the calling thread while an operation waits for the server
// (the kernel then sends FUSE_INTERRUPT, as for every signal a Go runtime
// sends its threads) does not fail the operation with EINTR.
func TestSignalDoesNotInterruptOperations(t *testing.T) {
	mb := NewMemBucket()
	dir, _ := testMount(t, nil, func(c *Config) { c.Bucket = &slowStatBucket{MemBucket: mb, delay: 300 * time.Millisecond} })
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}

	var tid atomic.Int32
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tid.Store(int32(unix.Gettid()))
		var st unix.Stat_t
		// A name the mount has not seen: LOOKUP asks the server.
		err := unix.Stat(filepath.Join(dir, "missing"), &st)
		if err == nil {
			err = os.ErrExist
		}
		done <- err
	}()
	for {
		select {
		case err := <-done:
			if err != syscall.ENOENT {
				t.Fatalf("stat of a missing name under signals: %v, want ENOENT", err)
			}
			return
		case <-time.After(20 * time.Millisecond):
			if id := tid.Load(); id != 0 {
				unix.Tgkill(os.Getpid(), int(id), unix.SIGURG)
			}
		}
	}
}
