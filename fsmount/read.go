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
// single-flight. Memory is bounded by cap blocks plus those still in use;
// blocks still being fetched are never evicted from under their waiters.
//
// Block buffers are reused: a block is counted while its fetch runs and
// while a reader copies from it, and once it is evicted and no longer
// counted its buffer goes back to a free list that the next fetch takes.
// A long sequential read thus cycles through the same memory instead of
// allocating a new buffer per block, which the garbage collector would
// reclaim only later and the runtime return to the kernel, to be faulted
// in again. A block whose every byte was read out is evicted at once: the
// kernel's page cache now holds those bytes, and recycling its buffer
// keeps a stream within its read-ahead window of memory (touching fresh
// memory costs more than copying into warm buffers).
type blockCache struct {
	mu      sync.Mutex
	cap     int
	size    int64 // buffer size (the block size)
	entries map[blockKey]*list.Element
	lru     *list.List // of *block, most recent at front
	free    [][]byte
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

	refs    int   // fetch + readers holding it (under blockCache.mu)
	evicted bool  // out of the cache: recycle once refs is 0
	copied  int64 // bytes read out of it (under blockCache.mu)
}

func newBlockCache(capacity int, blockSize int64) *blockCache {
	return &blockCache{cap: capacity, size: blockSize, entries: map[blockKey]*list.Element{}, lru: list.New()}
}

// get returns the block, counted for the caller (release it), fetching it
// with fetch if absent: in the caller's goroutine with wait, else in the
// background. fetch fills a buffer of the block size and returns how much
// of it is the block. started reports whether this call began the fetch.
func (c *blockCache) get(k blockKey, fetch func(buf []byte) (int, error), wait bool) (b *block, started bool) {
	c.mu.Lock()
	if el, ok := c.entries[k]; ok {
		c.lru.MoveToFront(el)
		b := el.Value.(*block)
		b.refs++
		c.mu.Unlock()
		return b, false
	}
	b = &block{k: k, ready: make(chan struct{}), refs: 2} // the caller and the fetch
	c.entries[k] = c.lru.PushFront(b)
	for c.lru.Len() > c.cap {
		c.evictLocked(c.lru.Back())
	}
	var buf []byte
	if n := len(c.free); n > 0 {
		buf, c.free = c.free[n-1], c.free[:n-1]
	}
	c.mu.Unlock()
	run := func() {
		if buf == nil {
			buf = make([]byte, c.size)
		}
		n, err := fetch(buf)
		if err != nil {
			b.err = err
			c.recycle(buf)
			c.drop(b)
		} else {
			b.data = buf[:n]
		}
		close(b.ready)
		c.release(b)
	}
	if wait {
		run()
	} else {
		go run()
	}
	return b, true
}

// release ends the caller's use of b.
func (c *blockCache) release(b *block) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b.refs--
	if b.refs == 0 && b.evicted && b.data != nil {
		c.recycleLocked(b.data)
		b.data = nil
	}
}

// readOut records that n bytes of b were copied to a reader and evicts b
// once as many bytes as it holds were.
func (c *blockCache) readOut(b *block, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b.copied += int64(n)
	if b.copied < int64(len(b.data)) {
		return
	}
	if el, ok := c.entries[b.k]; ok && el.Value.(*block) == b {
		c.evictLocked(el)
	}
}

// evictLocked takes a block out of the cache; its buffer is recycled now
// or when its last user releases it.
func (c *blockCache) evictLocked(el *list.Element) {
	b := el.Value.(*block)
	c.lru.Remove(el)
	delete(c.entries, b.k)
	b.evicted = true
	if b.refs == 0 && b.data != nil {
		c.recycleLocked(b.data)
		b.data = nil
	}
}

func (c *blockCache) recycle(buf []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recycleLocked(buf)
}

func (c *blockCache) recycleLocked(buf []byte) {
	if int64(cap(buf)) == c.size && len(c.free) < c.cap {
		c.free = append(c.free, buf[:cap(buf)])
	}
}

// drop takes a failed block out of the cache (the next reader fetches
// again).
func (c *blockCache) drop(b *block) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[b.k]; ok && el.Value.(*block) == b {
		c.lru.Remove(el)
		delete(c.entries, b.k)
	}
	b.evicted = true
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
	defer func() {
		for _, b := range blocks {
			r.fsys.cache.release(b)
		}
	}()
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
		r.fsys.cache.readOut(b, int(hi-lo))
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
			r.fsys.cache.release(b)
			<-r.fsys.prefetch
		}()
	}
}

// fetcher returns a function that GETs block i with If-Match on the ETag.
func (r objectReader) fetcher(i int64) func(buf []byte) (int, error) {
	return func(buf []byte) (int, error) {
		bs := r.fsys.cfg.BlockSize
		off := i * bs
		n := min(bs, r.size-off)
		if n <= 0 {
			return 0, nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), r.fsys.cfg.OpTimeout)
		defer cancel()
		got := 0
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
			got, err = readBody(rc, buf[:n])
			return err
		})
		return got, err
	}
}

// readBody reads r into buf until buf is full or the body ends. A body that
// ends early but cleanly (io.EOF: the object is shorter than the mount
// thought, which readAt reports as a change) is no error. A body cut off is:
// net/http reports a response shorter than its Content-Length, as when the
// node sending it dies, as io.ErrUnexpectedEOF, and the block must be
// fetched again (from another node), never kept short.
func readBody(r io.Reader, buf []byte) (int, error) {
	got := 0
	for got < len(buf) {
		m, err := r.Read(buf[got:])
		got += m
		switch {
		case err == io.EOF:
			return got, nil
		case err != nil:
			return got, err
		}
	}
	return got, nil
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
