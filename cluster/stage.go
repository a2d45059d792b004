package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/bucketdb/bucketdb/store"
)

// stager holds prepared mutations until their coordinator commits or aborts
// them. Put bodies live in files under dir (not synced: a staged write that
// does not survive a crash was never acknowledged). Entries older than ttl
// are dropped by sweep.
type stager struct {
	dir string
	ttl time.Duration

	mu      sync.Mutex
	entries map[string]*staged
}

type staged struct {
	req     PrepareRequest
	path    string // put body; "" otherwise
	created time.Time
}

func newStager(dir string, ttl time.Duration) (*stager, error) {
	// Leftovers of a previous run can never be committed.
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("clear staging dir: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create staging dir: %w", err)
	}
	return &stager{dir: dir, ttl: ttl, entries: map[string]*staged{}}, nil
}

// add stages req, copying exactly req.Size body bytes for a put.
func (s *stager) add(ctx context.Context, req PrepareRequest, body io.Reader) error {
	if req.StageID == "" || filepath.Base(req.StageID) != req.StageID {
		return fmt.Errorf("%w: bad stage ID", store.ErrInvalidArgument)
	}
	e := &staged{req: req, created: time.Now()}
	if req.Kind == opPut {
		if req.Size < 0 || req.Size > store.MaxPutSize {
			return fmt.Errorf("%w: size %d out of range", store.ErrInvalidArgument, req.Size)
		}
		e.path = filepath.Join(s.dir, req.StageID)
		f, err := os.OpenFile(e.path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return fmt.Errorf("stage body: %w", err)
		}
		n, err := io.Copy(f, io.LimitReader(ctxReader{ctx, body}, req.Size))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil && n < req.Size {
			err = fmt.Errorf("%w: got %d of %d bytes", store.ErrIncompleteBody, n, req.Size)
		}
		if err == nil {
			var extra map[string]string
			if extra, err = readTrailer(ctxReader{ctx, body}); err == nil {
				e.req.Put.Meta.Checksums = mergeChecksums(e.req.Put.Meta.Checksums, extra)
			}
		}
		if err != nil {
			os.Remove(e.path)
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.entries[req.StageID]; dup {
		if e.path != "" {
			os.Remove(e.path)
		}
		return fmt.Errorf("%w: duplicate stage ID", store.ErrInvalidArgument)
	}
	s.entries[req.StageID] = e
	return nil
}

// take removes and returns a staged entry.
func (s *stager) take(id string) (*staged, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[id]
	if !ok {
		return nil, fmt.Errorf("%w: %s", errStaleStage, id)
	}
	delete(s.entries, id)
	return e, nil
}

func (e *staged) release() {
	if e.path != "" {
		os.Remove(e.path)
	}
}

// sweep drops expired entries.
func (s *stager) sweep(now time.Time) {
	s.mu.Lock()
	var old []*staged
	for id, e := range s.entries {
		if now.Sub(e.created) > s.ttl {
			old = append(old, e)
			delete(s.entries, id)
		}
	}
	s.mu.Unlock()
	for _, e := range old {
		e.release()
	}
}

// clear drops everything (Close).
func (s *stager) clear() {
	s.sweep(time.Now().Add(100 * 365 * 24 * time.Hour))
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.r.Read(p)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = io.EOF
	}
	return n, err
}
