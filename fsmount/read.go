package fsmount

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// blockCache is the shared read cache: fixed-size blocks of object bodies
// keyed by (key, ETag, block index), so a changed object never serves stale
// bytes and readers of one file share what any of them fetched. Fetches are
// single-flight. Memory is bounded by cap blocks; blocks still being
// fetched are never evicted from under their waiters.
type blockCache struct {
	mu      sync.Mutex
	cap     int
	entries map[blockKey]*list.Element
	lru     *list.List // of *block, most recent at front
}

type blockKey struct {
	key  string
	etag string
	idx  int64
}

type block struct {
	k     blockKey
	ready chan struct{}
	data  []byte
	err   error
}

func newBlockCache(capacity int) *blockCache {
	return &blockCache{cap: capacity, entries: map[blockKey]*list.Element{}, lru: list.New()}
}

// get returns the block, fetching it with fetch if absent. The caller
// waits for the fetch; if prefetch is set and the block is absent the
// fetch is started and nil returned at once.
func (c *blockCache) get(k blockKey, fetch func() ([]byte, error), wait bool) (*block, bool) {
	c.mu.Lock()
	if el, ok := c.entries[k]; ok {
		c.lru.MoveToFront(el)
		b := el.Value.(*block)
		c.mu.Unlock()
		return b, false
	}
	b := &block{k: k, ready: make(chan struct{})}
	c.entries[k] = c.lru.PushFront(b)
	for c.lru.Len() > c.cap {
		old := c.lru.Back()
		c.lru.Remove(old)
		delete(c.entries, old.Value.(*block).k)
	}
	c.mu.Unlock()
	run := func() {
		b.data, b.err = fetch()
		if b.err != nil {
			c.drop(b)
		}
		close(b.ready)
	}
	if wait {
		run()
	} else {
		go run()
	}
	return b, true
}

func (c *blockCache) drop(b *block) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[b.k]; ok && el.Value.(*block) == b {
		c.lru.Remove(el)
		delete(c.entries, b.k)
	}
}

func (c *blockCache) has(k blockKey) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.entries[k]
	return ok
}

// readAhead tracks one file's access pattern: the window doubles while
// reads are sequential and collapses on a random read.
type readAhead struct {
	mu      sync.Mutex
	lastEnd int64
	window  int // blocks
}

func (r *readAhead) observe(off, end, blockSize int64, maxWin int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if off >= r.lastEnd-2*blockSize && off <= r.lastEnd+2*blockSize {
		r.window = min(max(1, r.window*2), maxWin)
	} else {
		r.window = 0
	}
	if end > r.lastEnd || r.window == 0 {
		r.lastEnd = end
	}
	return r.window
}

// objectReader reads byte ranges of one object version through the cache.
// With version set it reads that version by ID (GetVersion) and the ETag
// only names the cache blocks.
type objectReader struct {
	fsys    *FS
	key     string
	etag    string
	version string
	size    int64
	ra      *readAhead
}

// readAt fills dest from off (dest is already clipped to size) and
// schedules read-ahead.
func (r objectReader) readAt(ctx context.Context, dest []byte, off int64) error {
	if len(dest) == 0 {
		return nil
	}
	bs := r.fsys.cfg.BlockSize
	end := off + int64(len(dest))
	first, last := off/bs, (end-1)/bs
	win := 0
	if r.ra != nil {
		win = r.ra.observe(off, end, bs, r.fsys.cfg.MaxReadAhead)
	}
	// Start all needed blocks at once, then the read-ahead ones.
	blocks := make([]*block, 0, last-first+1)
	for i := first; i <= last; i++ {
		b, _ := r.fsys.cache.get(r.blockKey(i), r.fetcher(i), false)
		blocks = append(blocks, b)
	}
	r.prefetch(last+1, win)
	for i, b := range blocks {
		select {
		case <-b.ready:
		case <-ctx.Done():
			return ctx.Err()
		}
		if b.err != nil {
			return b.err
		}
		bstart := (first + int64(i)) * bs
		lo := max(off, bstart)
		hi := min(end, bstart+int64(len(b.data)))
		if hi < lo || lo-bstart > int64(len(b.data)) {
			return fmt.Errorf("read %s: short block %d", r.key, first+int64(i))
		}
		copy(dest[lo-off:hi-off], b.data[lo-bstart:hi-bstart])
		if hi < min(end, bstart+bs) {
			// Object shorter than its recorded size: it changed.
			return fmt.Errorf("read %s: %w", r.key, ErrPrecondition)
		}
	}
	return nil
}

func (r objectReader) blockKey(i int64) blockKey {
	if r.version != "" {
		// A version is immutable: its ID names its bytes.
		return blockKey{r.key + "\x00" + r.version, "", i}
	}
	return blockKey{r.key, r.etag, i}
}

func (r objectReader) prefetch(from int64, win int) {
	bs := r.fsys.cfg.BlockSize
	nblocks := (r.size + bs - 1) / bs
	for i := from; i < from+int64(win) && i < nblocks; i++ {
		if r.fsys.cache.has(r.blockKey(i)) {
			continue
		}
		select {
		case r.fsys.prefetch <- struct{}{}:
		default:
			return // enough in flight
		}
		r.fsys.bg.Add(1)
		b, started := r.fsys.cache.get(r.blockKey(i), r.fetcher(i), false)
		go func() {
			defer r.fsys.bg.Done()
			if started {
				<-b.ready
			}
			<-r.fsys.prefetch
		}()
	}
}

// fetcher returns a function that GETs block i with If-Match on the ETag.
func (r objectReader) fetcher(i int64) func() ([]byte, error) {
	return func() ([]byte, error) {
		bs := r.fsys.cfg.BlockSize
		off := i * bs
		n := min(bs, r.size-off)
		if n <= 0 {
			return nil, nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), r.fsys.cfg.OpTimeout)
		defer cancel()
		var data []byte
		err := retryRead(ctx, func() error {
			var rc io.ReadCloser
			var err error
			if r.version != "" {
				rc, err = r.fsys.versions.GetVersion(ctx, r.key, r.version, off, n)
			} else {
				rc, err = r.fsys.bucket.Get(ctx, r.key, off, n, r.etag)
			}
			if err != nil {
				return err
			}
			defer rc.Close()
			data = make([]byte, n)
			got, err := io.ReadFull(rc, data)
			data = data[:got]
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
				return nil
			}
			return err
		})
		return data, err
	}
}

// retryRead retries a body read that failed mid-stream (the Bucket retried
// the request itself; a connection cut while streaming the body is only
// seen here).
func retryRead(ctx context.Context, fn func() error) error {
	var err error
	for attempt := range 3 {
		if err = fn(); err == nil || errors.Is(err, ErrNotExist) || errors.Is(err, ErrPrecondition) ||
			errors.Is(err, ErrAccessDenied) || ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Duration(attempt+1) * 100 * time.Millisecond)
	}
	return err
}
