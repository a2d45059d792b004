package store

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/klauspost/crc32"
)

// A data file is a sequence of blocks, each blockSize bytes of object data
// (the last one possibly shorter) followed by the CRC32C of those bytes, so a
// ranged read verifies only the blocks it touches.
const (
	blockSize  = 64 << 10
	crcSize    = 4
	diskBlock  = blockSize + crcSize
	fileIDSize = 16
)

// physicalSize is the on-disk size of a data file holding n bytes.
func physicalSize(n int64) int64 {
	return n + crcSize*((n+blockSize-1)/blockSize)
}

func newFileID() string {
	var b [fileIDSize]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return hex.EncodeToString(b[:])
}

func validFileID(id string) bool {
	if len(id) != 2*fileIDSize {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil
}

// dataPath is data/ab/cd/<id>.
func (s *Store) dataPath(id string) string {
	return filepath.Join(s.dataDir, id[:2], id[2:4], id)
}

// track marks a data file as being written (excluded from orphan sweeps);
// the returned func ends the tracking once the file is committed or removed.
func (s *Store) track(id string) func() {
	s.inflightMu.Lock()
	s.inflight[id] = struct{}{}
	s.inflightMu.Unlock()
	return func() {
		s.inflightMu.Lock()
		delete(s.inflight, id)
		s.inflightMu.Unlock()
	}
}

func (s *Store) isInflight(id string) bool {
	s.inflightMu.Lock()
	defer s.inflightMu.Unlock()
	_, ok := s.inflight[id]
	return ok
}

// removeFiles deletes data files no longer referenced (after a commit).
func (s *Store) removeFiles(ids []string) {
	for _, id := range ids {
		if err := os.Remove(s.dataPath(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("store: remove data file", "file", id, "err", err)
		}
	}
}

// writtenFile is the result of streaming a body into a new data file.
type writtenFile struct {
	id  string
	md5 []byte
}

// writeDataFile streams exactly size bytes from r into a new data file,
// computing the MD5 on the way, and makes it durable (file and directory
// fsync). The caller must call the returned untrack func after committing or
// removing the file. On error nothing is left behind.
func (s *Store) writeDataFile(ctx context.Context, r io.Reader, size int64) (writtenFile, func(), error) {
	id := newFileID()
	untrack := s.track(id)
	path := s.dataPath(id)
	md, err := s.writeBlocks(ctx, path, r, size)
	if err != nil {
		os.Remove(path)
		untrack()
		return writtenFile{}, nil, err
	}
	return writtenFile{id: id, md5: md}, untrack, nil
}

func (s *Store) writeBlocks(ctx context.Context, path string, r io.Reader, size int64) ([]byte, error) {
	dir := filepath.Dir(path)
	if err := s.ensureDir(dir); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create data file: %w", err)
	}
	defer f.Close()
	w := newBlockWriter(f)
	n, err := io.Copy(w, &ctxReader{ctx: ctx, r: io.LimitReader(r, size)})
	if err != nil {
		return nil, fmt.Errorf("write data file: %w", err)
	}
	if n < size {
		return nil, fmt.Errorf("%w: got %d of %d bytes", ErrIncompleteBody, n, size)
	}
	if err := w.flush(); err != nil {
		return nil, fmt.Errorf("write data file: %w", err)
	}
	if !s.cfg.NoSync {
		if err := f.Sync(); err != nil {
			return nil, fmt.Errorf("sync data file: %w", err)
		}
		if err := syncDir(dir); err != nil {
			return nil, err
		}
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("close data file: %w", err)
	}
	return w.md5.Sum(nil), nil
}

// ensureDir creates dir (and its parent below data/) durably if missing.
func (s *Store) ensureDir(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	if s.cfg.NoSync {
		return nil
	}
	if err := syncDir(filepath.Dir(dir)); err != nil {
		return err
	}
	return syncDir(s.dataDir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return nil
}

// blockWriter frames its input into checksummed blocks.
type blockWriter struct {
	w   io.Writer
	buf []byte // blockSize data + crcSize
	n   int
	md5 hash.Hash
}

func newBlockWriter(w io.Writer) *blockWriter {
	return &blockWriter{w: w, buf: make([]byte, diskBlock), md5: md5.New()}
}

func (b *blockWriter) Write(p []byte) (int, error) {
	b.md5.Write(p)
	total := len(p)
	for len(p) > 0 {
		c := copy(b.buf[b.n:blockSize], p)
		b.n += c
		p = p[c:]
		if b.n == blockSize {
			if err := b.flush(); err != nil {
				return total - len(p), err
			}
		}
	}
	return total, nil
}

func (b *blockWriter) flush() error {
	if b.n == 0 {
		return nil
	}
	binary.BigEndian.PutUint32(b.buf[b.n:], crc32.Checksum(b.buf[:b.n], castagnoli))
	_, err := b.w.Write(b.buf[:b.n+crcSize])
	b.n = 0
	return err
}

// ctxReader stops a long copy when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// readBlock reads and verifies block bi of a data file holding size bytes
// into buf, returning the block's data.
func readBlock(f *os.File, id string, size, bi int64, buf []byte) ([]byte, error) {
	n := min(int64(blockSize), size-bi*blockSize)
	if n <= 0 {
		return nil, fmt.Errorf("%w: block %d beyond end of file %s", ErrChecksumMismatch, bi, id)
	}
	b := buf[:n+crcSize]
	if _, err := f.ReadAt(b, bi*diskBlock); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: data file %s truncated at block %d", ErrChecksumMismatch, id, bi)
		}
		return nil, fmt.Errorf("read data file %s: %w", id, err)
	}
	want := binary.BigEndian.Uint32(b[n:])
	if crc32.Checksum(b[:n], castagnoli) != want {
		return nil, fmt.Errorf("%w: data file %s block %d", ErrChecksumMismatch, id, bi)
	}
	return b[:n], nil
}

// verifyFile checks every block of a data file and its length.
func (s *Store) verifyFile(ctx context.Context, id string, size int64) error {
	f, err := os.Open(s.dataPath(id))
	if err != nil {
		return fmt.Errorf("%w: open data file %s: %v", ErrChecksumMismatch, id, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() != physicalSize(size) {
		return fmt.Errorf("%w: data file %s has %d bytes, want %d", ErrChecksumMismatch, id, st.Size(), physicalSize(size))
	}
	buf := make([]byte, diskBlock)
	for bi := int64(0); bi*blockSize < size; bi++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := readBlock(f, id, size, bi, buf); err != nil {
			return err
		}
	}
	return nil
}

func inlineCRC(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }
