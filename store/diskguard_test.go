package store

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
)

func TestDiskGuardRefusesWritesKeepsReads(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	open := func(mod func(*Config)) *Store {
		cfg := DefaultConfig(dir)
		cfg.NoSync, cfg.GCInterval, cfg.InlineThreshold, cfg.MinPartSize = true, 0, 1<<10, 100
		if mod != nil {
			mod(&cfg)
		}
		s, err := Open(cfg)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	}
	s := open(nil)
	mustBucket(t, s, "b", VersioningOff)
	body := randBytes(4<<10, 1)
	if _, err := s.PutObject(ctx, "b", "kept", bytes.NewReader(body), int64(len(body)), PutOptions{}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	up, err := s.CreateUpload(ctx, "b", "mp", UploadOptions{})
	if err != nil {
		t.Fatalf("CreateUpload: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(func(c *Config) { c.MinFreeBytes = 1 << 62 })
	defer s.Close()
	cases := map[string]func() error{
		"PutObject": func() error {
			_, err := s.PutObject(ctx, "b", "new", bytes.NewReader(body), int64(len(body)), PutOptions{})
			return err
		},
		"PutObject inline": func() error {
			_, err := s.PutObject(ctx, "b", "tiny", bytes.NewReader([]byte("x")), 1, PutOptions{})
			return err
		},
		"UploadPart": func() error {
			_, err := s.UploadPart(ctx, "b", "mp", up.UploadID, 1, bytes.NewReader(body), int64(len(body)), PartOptions{})
			return err
		},
		"CompleteMultipartUpload": func() error {
			_, err := s.CompleteMultipartUpload(ctx, "b", "mp", up.UploadID, []CompletePart{{Number: 1, ETag: "x"}}, CompleteOptions{})
			return err
		},
	}
	for name, write := range cases {
		t.Run(name, func(t *testing.T) {
			if err := write(); !errors.Is(err, ErrDiskFull) {
				t.Fatalf("got %v, want ErrDiskFull", err)
			}
		})
	}
	_, rc, err := s.GetObject(ctx, "b", "kept", GetOptions{})
	if err != nil {
		t.Fatalf("GetObject under the floor: %v", err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("read back under the floor: %d bytes, err %v", len(got), err)
	}
	if _, err := s.DeleteObject(ctx, "b", "kept", DeleteOptions{}); err != nil {
		t.Fatalf("deletes must work under the floor (they free space): %v", err)
	}
}

func TestDiskFloorAndUsage(t *testing.T) {
	s := newTestStore(t, func(c *Config) { c.MinFreeBytes = 1000; c.MinFreePercent = 10 })
	if got := s.DiskFloor(1 << 20); got != (1<<20)/10 {
		t.Errorf("DiskFloor(1 MiB) = %d, want 10%%", got)
	}
	if got := s.DiskFloor(5000); got != 1000 {
		t.Errorf("DiskFloor(5000) = %d, want the byte floor 1000", got)
	}
	du, err := s.DiskUsage()
	if err != nil {
		t.Fatal(err)
	}
	if du.Total <= 0 || du.Free < 0 || du.Free > du.Total {
		t.Fatalf("DiskUsage = %+v", du)
	}
	if err := s.CheckFree(0); err != nil && du.FreePercent() > 10 {
		t.Fatalf("CheckFree with %.1f%% free: %v", du.FreePercent(), err)
	}
}

func TestConfigRejectsBadFloorAndRatio(t *testing.T) {
	for name, mod := range map[string]func(*Config){
		"negative bytes": func(c *Config) { c.MinFreeBytes = -1 },
		"percent 100":    func(c *Config) { c.MinFreePercent = 100 },
		"ratio 1":        func(c *Config) { c.GCDiscardRatio = 1 },
		"ratio negative": func(c *Config) { c.GCDiscardRatio = -0.1 },
	} {
		cfg := DefaultConfig(t.TempDir())
		mod(&cfg)
		if s, err := Open(cfg); err == nil {
			s.Close()
			t.Errorf("%s: Open accepted the config", name)
		}
	}
}

func TestOnGCReportsRuns(t *testing.T) {
	var runs []GCResult
	s := newTestStore(t, func(c *Config) { c.OnGC = func(r GCResult) { runs = append(runs, r) } })
	if _, err := s.RunGC(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].At.IsZero() {
		t.Fatalf("OnGC saw %+v, want one run", runs)
	}
}

// TestCheckFreeSamples: far above the floor a recent statfs sample answers;
// near the floor, or for a write larger than the slack, every check asks the
// filesystem again, so the floor holds exactly.
func TestCheckFreeSamples(t *testing.T) {
	const gib = int64(1) << 30
	var calls int
	free := 50 * gib
	statfs = func(string) (DiskUsage, error) {
		calls++
		return DiskUsage{Total: 100 * gib, Free: free}, nil
	}
	t.Cleanup(func() { statfs = diskUsage })
	cfg := DefaultConfig(t.TempDir())
	cfg.NoSync, cfg.GCInterval, cfg.MinFreeBytes, cfg.MinFreePercent = true, 0, gib, 0
	s, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()

	calls = 0
	for range 10 {
		if err := s.CheckFree(4 << 10); err != nil {
			t.Fatalf("CheckFree far above the floor: %v", err)
		}
	}
	if calls != 1 {
		t.Fatalf("10 small writes far above the floor asked statfs %d times, want 1", calls)
	}
	if err := s.CheckFree(50*gib - gib + 1); !errors.Is(err, ErrDiskFull) {
		t.Fatalf("a write that crosses the floor: got %v, want ErrDiskFull", err)
	}
	if calls != 2 {
		t.Fatalf("a write larger than the slack used the sample (%d statfs calls, want 2)", calls)
	}

	free = gib + 8<<20 // 8 MiB above the floor
	s.disk.Store(nil)
	calls = 0
	for range 3 {
		if err := s.CheckFree(4 << 10); err != nil {
			t.Fatalf("CheckFree 8 MiB above the floor: %v", err)
		}
	}
	if calls != 3 {
		t.Fatalf("near the floor statfs was asked %d times for 3 writes, want 3", calls)
	}
	free = gib + 2<<10
	if err := s.CheckFree(4 << 10); !errors.Is(err, ErrDiskFull) {
		t.Fatalf("a write that crosses the floor right after a sample: got %v, want ErrDiskFull", err)
	}
}
