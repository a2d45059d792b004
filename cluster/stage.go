package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/bucketdb/bucketdb/store"
)

// stager holds prepared mutations until their coordinator commits or aborts
// them. A put's body is made durable by the store at once, in a data file no
// version references yet (store.StageBody), so a commit is a metadata
// transaction only; a staged body that is never committed is released (and
// after a crash the store's orphan GC removes it). Entries older than ttl
// are dropped by sweep.
type stager struct {
	ttl time.Duration
	st  *store.Store

	mu      sync.Mutex
	entries map[string]*staged
}

type staged struct {
	st      *store.Store
	req     PrepareRequest
	body    *store.StagedBody // put body; nil otherwise
	created time.Time
}

func newStager(st *store.Store, ttl time.Duration) *stager {
	return &stager{ttl: ttl, st: st, entries: map[string]*staged{}}
}

// add stages req, copying exactly req.Size body bytes for a put.
func (s *stager) add(ctx context.Context, req PrepareRequest, body io.Reader) error {
	if req.StageID == "" {
		return fmt.Errorf("%w: bad stage ID", store.ErrInvalidArgument)
	}
	e := &staged{st: s.st, req: req, created: time.Now()}
	if req.Kind == opPut {
		if req.Size < 0 || req.Size > store.MaxPutSize {
			return fmt.Errorf("%w: size %d out of range", store.ErrInvalidArgument, req.Size)
		}
		data, trailer := unframe(ctxReader{ctx, body}, req.Size)
		sb, err := s.st.StageBody(ctx, data, req.Size, req.Put.ContentMD5, len(req.Put.Parts) == 0)
		if err != nil {
			return err
		}
		e.body = sb
		e.req.Put.Meta.Checksums = mergeChecksums(e.req.Put.Meta.Checksums, trailer())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.entries[req.StageID]; dup {
		e.release()
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
	e.st.ReleaseStaged(e.body) // no-op once committed
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
