package store

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// fileOf returns the path of the first data file of key's latest version.
func fileOf(t *testing.T, s *Store, bucket, key string) string {
	t.Helper()
	var path string
	err := s.db.View(func(txn *badger.Txn) error {
		res, err := lookup(txn, nil, bucket, key, "")
		if err != nil {
			return err
		}
		path = s.dataPath(res.rec.Extents[0].File)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xFF
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptionDetected(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	mustBucket(t, s, "b", VersioningOff)
	data := randBytes(3*blockSize, 1)
	mustPut(t, s, "b", "k", data, PutOptions{})
	mustPut(t, s, "b", "ok", randBytes(2*blockSize, 2), PutOptions{})
	flipByte(t, fileOf(t, s, "b", "k"), diskBlock+100) // inside block 1
	// The whole object: an error wrapping ErrChecksumMismatch, never bad bytes.
	_, rc, err := s.GetObject(ctx, "b", "k", GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if !errors.Is(err, ErrChecksumMismatch) {
		t.Fatalf("read: %v", err)
	}
	if !bytes.Equal(got, data[:len(got)]) || len(got) > blockSize {
		t.Fatalf("returned %d bytes before the bad block, some wrong", len(got))
	}
	// Ranged reads verify only the blocks they touch.
	if _, b, err := readAll(t, s, "b", "k", GetOptions{Range: &Range{2 * blockSize, 10}}); err != nil || !bytes.Equal(b, data[2*blockSize:2*blockSize+10]) {
		t.Fatalf("range in a good block: %v", err)
	}
	if _, _, err := readAll(t, s, "b", "k", GetOptions{Range: &Range{blockSize + 50, 100}}); !errors.Is(err, ErrChecksumMismatch) {
		t.Fatalf("range in the bad block: %v", err)
	}
	// Truncation is detected too.
	p := fileOf(t, s, "b", "ok")
	if err := os.Truncate(p, diskBlock+10); err != nil {
		t.Fatal(err)
	}
	if _, _, err := readAll(t, s, "b", "ok", GetOptions{}); !errors.Is(err, ErrChecksumMismatch) {
		t.Fatalf("truncated file: %v", err)
	}
	// Scrub reports both, and only those.
	res, err := s.Scrub(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Versions != 2 || len(res.Bad) != 2 || !errors.Is(res.Bad[0].Err, ErrChecksumMismatch) || res.Bad[0].Key != "k" || res.Bad[1].Key != "ok" {
		t.Fatalf("scrub %+v", res)
	}
}

func TestInlineCorruptionDetected(t *testing.T) {
	rec := &versionRecord{ID: NewVersionID(1), Size: 3, Extents: []extent{{Size: 3, CRC: inlineCRC([]byte("abc")), inline: []byte("abc")}}}
	v, err := encodeVersion(rec)
	if err != nil {
		t.Fatal(err)
	}
	v[len(v)-1] ^= 1
	dec, err := decodeVersion(v)
	if err != nil {
		t.Fatal(err)
	}
	s := newTestStore(t)
	if _, err := s.newObjectReader(context.Background(), dec, Range{0, 3}); !errors.Is(err, ErrChecksumMismatch) {
		t.Fatalf("inline corruption: %v", err)
	}
	if err := s.verifyExtents(context.Background(), dec); !errors.Is(err, ErrChecksumMismatch) {
		t.Fatalf("scrub of inline corruption: %v", err)
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig(dir)
	cfg.NoSync, cfg.GCInterval, cfg.InlineThreshold, cfg.MinPartSize = true, 0, 1<<10, 10
	s, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	mustBucket(t, s, "b", VersioningEnabled)
	small, big := []byte("small"), randBytes(100000, 3)
	v1 := mustPut(t, s, "b", "small", small, PutOptions{Meta: ObjectMeta{Tags: map[string]string{"t": "1"}}})
	mustPut(t, s, "b", "big", big, PutOptions{})
	up, cps := uploadParts(t, s, "b", "mp", randBytes(20, 1))
	if err := s.PutBucketConfig(ctx, "b", "cors", []byte("c")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.HeadObject(ctx, "b", "small", GetOptions{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("use after close: %v", err)
	}
	s, err = Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if info, got := mustGet(t, s, "b", "small", GetOptions{}); !bytes.Equal(got, small) || info.VersionID != v1.VersionID || info.Tags["t"] != "1" {
		t.Fatalf("small after reopen: %q %+v", got, info)
	}
	if _, got := mustGet(t, s, "b", "big", GetOptions{}); !bytes.Equal(got, big) {
		t.Fatal("big after reopen differs")
	}
	if doc, err := s.GetBucketConfig(ctx, "b", "cors"); err != nil || string(doc) != "c" {
		t.Fatalf("config after reopen: %q %v", doc, err)
	}
	<-s.sweepDone // the start-up sweep must not take referenced files
	if _, err := s.CompleteMultipartUpload(ctx, "b", "mp", up.UploadID, cps, CompleteOptions{}); err != nil {
		t.Fatalf("complete after reopen: %v", err)
	}
	if _, got := mustGet(t, s, "b", "big", GetOptions{}); !bytes.Equal(got, big) {
		t.Fatal("big after sweep differs")
	}
	// New versions sort after the ones written before the restart.
	if v := mustPut(t, s, "b", "small", nil, PutOptions{}); v.VersionID <= v1.VersionID {
		t.Fatalf("version after reopen %s <= %s", v.VersionID, v1.VersionID)
	}
}

// plantOrphan writes an unreferenced data file with the given age.
func plantOrphan(t *testing.T, s *Store, age time.Duration) string {
	t.Helper()
	id := newFileID()
	p := s.dataPath(id)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, make([]byte, 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-age)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	return p
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func TestOrphanSweep(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig(dir)
	cfg.NoSync, cfg.GCInterval, cfg.InlineThreshold = true, 0, 10
	s, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mustBucket(t, s, "b", VersioningOff)
	mustPut(t, s, "b", "k", randBytes(5000, 1), PutOptions{})
	kept := fileOf(t, s, "b", "k")
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(kept, old, old); err != nil { // old but referenced
		t.Fatal(err)
	}
	crashed := plantOrphan(t, s, time.Minute)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Start-up sweep: files older than the process start go.
	s, err = Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	<-s.sweepDone
	if exists(crashed) || !exists(kept) {
		t.Fatalf("start-up sweep: crashed file exists=%v, referenced file exists=%v", exists(crashed), exists(kept))
	}
	// RunGC: only files older than the grace period go.
	young, aged := plantOrphan(t, s, time.Minute), plantOrphan(t, s, 2*time.Hour)
	res, err := s.RunGC(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if exists(aged) || !exists(young) || !exists(kept) || res.OrphanFiles != 1 || res.OrphanBytes != 1000 {
		t.Fatalf("RunGC %+v: aged exists=%v young exists=%v", res, exists(aged), exists(young))
	}
	// A file being written is never swept, however old.
	id := filepath.Base(young)
	untrack := s.track(id)
	s.cfg.OrphanGrace = time.Nanosecond
	if _, err := s.RunGC(context.Background()); err != nil || !exists(young) {
		t.Fatalf("in-flight file swept: %v", err)
	}
	untrack()
	if _, err := s.RunGC(context.Background()); err != nil || exists(young) {
		t.Fatalf("orphan kept after tracking ended: %v", err)
	}
	st, err := s.Stats(context.Background())
	if err != nil || st.Objects != 1 || st.Versions != 1 || st.Bytes != 5000 || st.DataFiles != 1 || st.LastGC.At.IsZero() {
		t.Fatalf("stats %+v %v", st, err)
	}
	if _, got := mustGet(t, s, "b", "k", GetOptions{}); len(got) != 5000 {
		t.Fatal("object damaged by GC")
	}
}

// cancelReader cancels its context after the first read.
type cancelReader struct {
	r      io.Reader
	cancel context.CancelFunc
}

func (c *cancelReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.cancel()
	return n, err
}

func TestCanceledPutStoresNothing(t *testing.T) {
	s := newTestStore(t)
	mustBucket(t, s, "b", VersioningOff)
	ctx, cancel := context.WithCancel(context.Background())
	data := randBytes(10*blockSize, 1)
	_, err := s.PutObject(ctx, "b", "k", &cancelReader{r: bytes.NewReader(data), cancel: cancel}, int64(len(data)), PutOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if err := headErr(s, "b", "k", ""); !errors.Is(err, ErrNoSuchKey) {
		t.Fatalf("object visible after canceled put: %v", err)
	}
	if n := dataBytes(t, s); n != 0 {
		t.Fatalf("canceled put left %d bytes", n)
	}
}

func TestBackgroundGCRuns(t *testing.T) {
	s := newTestStore(t, func(c *Config) { c.GCInterval = 20 * time.Millisecond; c.OrphanGrace = time.Nanosecond })
	<-s.sweepDone // so that only the GC loop can remove the orphan
	orphan := plantOrphan(t, s, time.Hour)
	ran := func() bool {
		s.gcMu.Lock()
		defer s.gcMu.Unlock()
		return !s.lastGC.At.IsZero()
	}
	deadline := time.Now().Add(20 * time.Second) // a bound against hanging, not a speed check
	for (exists(orphan) || !ran()) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if exists(orphan) || !ran() {
		t.Fatalf("background GC did not run: orphan exists=%v", exists(orphan))
	}
}
