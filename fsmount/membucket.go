package fsmount

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// MemBucket is an in-memory Bucket for tests. Listing metadata is returned
// unless NoListMeta is set (to exercise the HEAD fallback). Fail, when set,
// is consulted before every operation and its error returned.
type MemBucket struct {
	mu      sync.Mutex
	objs    map[string]*memObject
	uploads map[string]*memUpload
	nextID  int
	clock   time.Time
	// hist holds every key's versions and delete markers, oldest first
	// (one "null" version per live key while versioning is off).
	hist      map[string][]*memObject
	versioned bool
	nextVer   uint64
	// locks holds the leases of LockingBucket by key; fences the last
	// fencing token issued per key.
	locks  map[string][]*memLock
	fences map[string]uint64

	// NoListMeta makes List return entries without metadata, like a
	// plain S3 server.
	NoListMeta bool
	// PageSize caps listing pages (default 1000) to exercise pagination.
	PageSize int
	// Fail, if set, injects errors: called with the operation name and key.
	Fail func(op, key string) error
	// Calls counts operations by name ("stat", "list", "get", "put", …).
	Calls map[string]int
}

type memObject struct {
	data    []byte
	meta    Meta
	etag    string
	mtime   time.Time
	vid     string
	deleted bool // a delete marker
}

type memUpload struct {
	key   string
	meta  Meta
	parts map[int][]byte
}

var _ Bucket = (*MemBucket)(nil)

// NewMemBucket returns an empty in-memory bucket.
func NewMemBucket() *MemBucket {
	return &MemBucket{
		objs:    map[string]*memObject{},
		uploads: map[string]*memUpload{},
		hist:    map[string][]*memObject{},
		Calls:   map[string]int{},
		clock:   time.Unix(1700000000, 0),
	}
}

func (b *MemBucket) enter(op, key string) error {
	b.mu.Lock()
	b.Calls[op]++
	f := b.Fail
	b.mu.Unlock()
	if f != nil {
		return f(op, key)
	}
	return nil
}

// SetFail installs (or, with nil, removes) an error injector safely while
// the bucket is in use.
func (b *MemBucket) SetFail(f func(op, key string) error) {
	b.mu.Lock()
	b.Fail = f
	b.mu.Unlock()
}

// CallCount returns how many times op was called.
func (b *MemBucket) CallCount(op string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.Calls[op]
}

// PutBytes stores data under key directly (test helper).
func (b *MemBucket) PutBytes(key string, data []byte, meta Meta) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.store(key, bytes.Clone(data), meta, "")
}

// Bytes returns a copy of the object's data, or false if it does not exist.
func (b *MemBucket) Bytes(key string) ([]byte, Meta, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	o, ok := b.objs[key]
	if !ok {
		return nil, nil, false
	}
	return bytes.Clone(o.data), maps.Clone(o.meta), true
}

// Keys returns all keys in order.
func (b *MemBucket) Keys() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sortedKeys()
}

// Uploads returns the number of multipart uploads in progress.
func (b *MemBucket) Uploads() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.uploads)
}

func (b *MemBucket) store(key string, data []byte, meta Meta, etag string) *memObject {
	if etag == "" {
		sum := md5.Sum(data)
		etag = hex.EncodeToString(sum[:])
	}
	b.clock = b.clock.Add(time.Second)
	o := &memObject{data: data, meta: maps.Clone(meta), etag: etag, mtime: b.clock}
	b.objs[key] = o
	b.record(key, o)
	return o
}

// record adds o (a version or a delete marker) to key's history: a new
// version when versioning is on, else it replaces the "null" version (a
// delete marker then just removes it).
func (b *MemBucket) record(key string, o *memObject) {
	if b.versioned {
		b.nextVer++
		// Time-ordered head and a pseudo-random tail, like BucketDB's IDs.
		x := b.nextVer * 0x9e3779b97f4a7c15
		x ^= x >> 29
		o.vid = fmt.Sprintf("%016x%016x", b.nextVer, x*0xbf58476d1ce4e5b9)
		b.hist[key] = append(b.hist[key], o)
		return
	}
	o.vid = NullVersion
	h := slices.DeleteFunc(b.hist[key], func(v *memObject) bool { return v.vid == NullVersion })
	if !o.deleted {
		h = append(h, o)
	}
	if len(h) == 0 {
		delete(b.hist, key)
		return
	}
	b.hist[key] = h
}

// EnableVersioning turns versioning on: from now on every write adds a
// version and every delete adds a delete marker.
func (b *MemBucket) EnableVersioning() {
	b.mu.Lock()
	b.versioned = true
	b.mu.Unlock()
}

// Now returns the bucket's clock: the LastModified of the latest change.
// Every change advances it by one second.
func (b *MemBucket) Now() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.clock
}

func (o *memObject) info(key string) ObjectInfo {
	return ObjectInfo{Key: key, Size: int64(len(o.data)), ETag: o.etag, LastModified: o.mtime, Meta: maps.Clone(o.meta), HasMeta: true, VersionID: o.vid}
}

func (b *MemBucket) sortedKeys() []string {
	keys := make([]string, 0, len(b.objs))
	for k := range b.objs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Stat implements Bucket.
func (b *MemBucket) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	if err := b.enter("stat", key); err != nil {
		return ObjectInfo{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	o, ok := b.objs[key]
	if !ok {
		return ObjectInfo{}, fmt.Errorf("stat %q: %w", key, ErrNotExist)
	}
	return o.info(key), nil
}

// List implements Bucket. Pages are computed under the lock and delivered
// without it, like a real server.
func (b *MemBucket) List(ctx context.Context, opts ListOptions, fn func(ListEntry) bool) error {
	after := opts.StartAfter
	for {
		if err := b.enter("list", opts.Prefix); err != nil {
			return err
		}
		page, more := b.listPage(opts, after)
		for _, e := range page {
			if !fn(e) {
				return nil
			}
		}
		if !more || len(page) == 0 {
			return nil
		}
		last := page[len(page)-1].Key
		if page[len(page)-1].IsPrefix {
			// Skip everything rolled up into this prefix.
			last += "\xff"
		}
		after = last
	}
}

func (b *MemBucket) listPage(opts ListOptions, after string) ([]ListEntry, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	size := b.PageSize
	if opts.PageSize > 0 && (size == 0 || opts.PageSize < size) {
		size = opts.PageSize
	}
	if size <= 0 {
		size = 1000
	}
	var page []ListEntry
	lastPrefix := ""
	for _, k := range b.sortedKeys() {
		if !strings.HasPrefix(k, opts.Prefix) || k <= after {
			continue
		}
		if opts.Delimiter != "" {
			rest := k[len(opts.Prefix):]
			if i := strings.Index(rest, opts.Delimiter); i >= 0 {
				p := opts.Prefix + rest[:i+len(opts.Delimiter)]
				if p == lastPrefix || p <= after {
					continue
				}
				if len(page) == size {
					return page, true
				}
				lastPrefix = p
				page = append(page, ListEntry{ObjectInfo: ObjectInfo{Key: p}, IsPrefix: true})
				continue
			}
		}
		if len(page) == size {
			return page, true
		}
		info := b.objs[k].info(k)
		if b.NoListMeta || !opts.WithMeta {
			info.Meta, info.HasMeta = nil, false
		}
		page = append(page, ListEntry{ObjectInfo: info})
	}
	return page, false
}

// Get implements Bucket.
func (b *MemBucket) Get(ctx context.Context, key string, off, n int64, etag string) (io.ReadCloser, error) {
	if err := b.enter("get", key); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	o, ok := b.objs[key]
	if !ok {
		return nil, fmt.Errorf("get %q: %w", key, ErrNotExist)
	}
	if etag != "" && etag != o.etag {
		return nil, fmt.Errorf("get %q: %w", key, ErrPrecondition)
	}
	size := int64(len(o.data))
	if off > size {
		off = size
	}
	end := size
	if n >= 0 && off+n < size {
		end = off + n
	}
	return io.NopCloser(bytes.NewReader(o.data[off:end])), nil
}

func readAll(r io.ReaderAt, size int64) ([]byte, error) {
	data := make([]byte, size)
	if _, err := r.ReadAt(data, 0); err != nil && !(err == io.EOF) {
		return nil, err
	}
	return data, nil
}

// Put implements Bucket.
func (b *MemBucket) Put(ctx context.Context, key string, r io.ReaderAt, size int64, meta Meta) (ObjectInfo, error) {
	if err := b.enter("put", key); err != nil {
		return ObjectInfo{}, err
	}
	data, err := readAll(r, size)
	if err != nil {
		return ObjectInfo{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.store(key, data, meta, "").info(key), nil
}

// Copy implements Bucket.
func (b *MemBucket) Copy(ctx context.Context, src, dst string, meta Meta) (ObjectInfo, error) {
	if err := b.enter("copy", dst); err != nil {
		return ObjectInfo{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	o, ok := b.objs[src]
	if !ok {
		return ObjectInfo{}, fmt.Errorf("copy %q: %w", src, ErrNotExist)
	}
	meta = withAttrMeta(o.meta, meta)
	return b.store(dst, o.data, meta, o.etag).info(dst), nil
}

// Delete implements Bucket.
func (b *MemBucket) Delete(ctx context.Context, key string) error {
	if err := b.enter("delete", key); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	_, live := b.objs[key]
	delete(b.objs, key)
	if live || b.versioned {
		b.clock = b.clock.Add(time.Second)
		b.record(key, &memObject{mtime: b.clock, deleted: true})
	}
	return nil
}

// NewMultipart implements Bucket.
func (b *MemBucket) NewMultipart(ctx context.Context, key string, meta Meta) (string, error) {
	if err := b.enter("newmultipart", key); err != nil {
		return "", err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.nextID++
	id := fmt.Sprintf("upload-%d", b.nextID)
	b.uploads[id] = &memUpload{key: key, meta: maps.Clone(meta), parts: map[int][]byte{}}
	return id, nil
}

// PutPart implements Bucket.
func (b *MemBucket) PutPart(ctx context.Context, key, uploadID string, num int, r io.ReaderAt, size int64) (Part, error) {
	if err := b.enter("putpart", key); err != nil {
		return Part{}, err
	}
	data, err := readAll(r, size)
	if err != nil {
		return Part{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	u, ok := b.uploads[uploadID]
	if !ok {
		return Part{}, fmt.Errorf("upload %s: %w", uploadID, ErrNotExist)
	}
	u.parts[num] = data
	sum := md5.Sum(data)
	return Part{Num: num, ETag: hex.EncodeToString(sum[:]), Size: size}, nil
}

// CompleteMultipart implements Bucket.
func (b *MemBucket) CompleteMultipart(ctx context.Context, key, uploadID string, parts []Part) (ObjectInfo, error) {
	if err := b.enter("complete", key); err != nil {
		return ObjectInfo{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	u, ok := b.uploads[uploadID]
	if !ok {
		return ObjectInfo{}, fmt.Errorf("upload %s: %w", uploadID, ErrNotExist)
	}
	var data []byte
	for i, p := range parts {
		d, ok := u.parts[p.Num]
		if !ok || (i > 0 && p.Num <= parts[i-1].Num) {
			return ObjectInfo{}, fmt.Errorf("complete %s: bad part %d", uploadID, p.Num)
		}
		if i < len(parts)-1 && len(d) < 5<<20 {
			return ObjectInfo{}, fmt.Errorf("complete %s: part %d too small", uploadID, p.Num)
		}
		data = append(data, d...)
	}
	delete(b.uploads, uploadID)
	sum := md5.Sum(data)
	return b.store(key, data, u.meta, fmt.Sprintf("%x-%d", sum, len(parts))).info(key), nil
}

// AbortMultipart implements Bucket.
func (b *MemBucket) AbortMultipart(ctx context.Context, key, uploadID string) error {
	if err := b.enter("abort", key); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.uploads, uploadID)
	return nil
}

var _ VersionedBucket = (*MemBucket)(nil)

// ListVersions implements VersionedBucket. The listing is computed under
// the lock and delivered in pages (each page counts as a "listversions"
// call) without it.
func (b *MemBucket) ListVersions(ctx context.Context, opts ListOptions, fn func(VersionEntry) bool) error {
	if err := b.enter("listversions", opts.Prefix); err != nil {
		return err
	}
	all := b.versionListing(opts)
	size := b.PageSize
	if opts.PageSize > 0 && (size == 0 || opts.PageSize < size) {
		size = opts.PageSize
	}
	if size <= 0 {
		size = 1000
	}
	for i, e := range all {
		if i > 0 && i%size == 0 {
			if err := b.enter("listversions", opts.Prefix); err != nil {
				return err
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !fn(e) {
			return nil
		}
	}
	return nil
}

func (b *MemBucket) versionListing(opts ListOptions) []VersionEntry {
	b.mu.Lock()
	defer b.mu.Unlock()
	keys := make([]string, 0, len(b.hist))
	for k := range b.hist {
		if strings.HasPrefix(k, opts.Prefix) && k > opts.StartAfter {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var out []VersionEntry
	lastPrefix := ""
	for _, k := range keys {
		if opts.Delimiter != "" {
			if i := strings.Index(k[len(opts.Prefix):], opts.Delimiter); i >= 0 {
				p := k[:len(opts.Prefix)+i+len(opts.Delimiter)]
				if p != lastPrefix {
					lastPrefix = p
					out = append(out, VersionEntry{ObjectInfo: ObjectInfo{Key: p}, IsPrefix: true})
				}
				continue
			}
		}
		h := b.hist[k]
		for i := len(h) - 1; i >= 0; i-- {
			v := h[i]
			e := VersionEntry{ObjectInfo: v.info(k), IsLatest: i == len(h)-1, DeleteMarker: v.deleted}
			if v.deleted {
				e.ETag, e.Meta, e.HasMeta = "", nil, false
			} else if b.NoListMeta || !opts.WithMeta {
				e.Meta, e.HasMeta = nil, false
			}
			out = append(out, e)
		}
	}
	return out
}

// GetVersion implements VersionedBucket.
func (b *MemBucket) GetVersion(ctx context.Context, key, versionID string, off, n int64) (io.ReadCloser, error) {
	if err := b.enter("getversion", key); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, v := range b.hist[key] {
		if v.vid != versionID {
			continue
		}
		if v.deleted {
			return nil, fmt.Errorf("get %q version %s: delete marker: %w", key, versionID, ErrNotExist)
		}
		size := int64(len(v.data))
		off = min(off, size)
		end := size
		if n >= 0 && off+n < size {
			end = off + n
		}
		return io.NopCloser(bytes.NewReader(v.data[off:end])), nil
	}
	return nil, fmt.Errorf("get %q version %s: %w", key, versionID, ErrNotExist)
}

// memLock is one lease of MemBucket's lock table.
type memLock struct {
	LockGrant
}

var _ LockingBucket = (*MemBucket)(nil)

// liveLocks drops expired leases of key and returns the rest (b.mu held).
func (b *MemBucket) liveLocks(key string) []*memLock {
	now := time.Now()
	ls := slices.DeleteFunc(b.locks[key], func(l *memLock) bool { return !now.Before(l.Expires) })
	if b.locks == nil {
		b.locks = map[string][]*memLock{}
	}
	b.locks[key] = ls
	return ls
}

// AcquireLock implements LockingBucket: leases expire on the real clock,
// and a waiting request polls every 10 ms.
func (b *MemBucket) AcquireLock(ctx context.Context, key string, opts LockOptions) (LockGrant, error) {
	if err := b.enter("lock", key); err != nil {
		return LockGrant{}, err
	}
	deadline := time.Now().Add(opts.Wait)
	for {
		b.mu.Lock()
		ls := b.liveLocks(key)
		free := len(ls) == 0 || opts.Shared && !slices.ContainsFunc(ls, func(l *memLock) bool { return !l.Shared })
		if free {
			if b.fences == nil {
				b.fences = map[string]uint64{}
			}
			b.fences[key]++
			b.nextID++
			l := &memLock{LockGrant{Token: fmt.Sprintf("lk%d", b.nextID), FencingToken: b.fences[key],
				Expires: time.Now().Add(opts.TTL), Shared: opts.Shared, Owner: opts.Owner}}
			b.locks[key] = append(ls, l)
			b.mu.Unlock()
			return l.LockGrant, nil
		}
		b.mu.Unlock()
		if !time.Now().Before(deadline) {
			return LockGrant{}, ErrLockConflict
		}
		select {
		case <-ctx.Done():
			return LockGrant{}, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// RenewLock implements LockingBucket.
func (b *MemBucket) RenewLock(ctx context.Context, key, token string, ttl time.Duration) (LockGrant, error) {
	if err := b.enter("renew lock", key); err != nil {
		return LockGrant{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, l := range b.liveLocks(key) {
		if l.Token == token {
			l.Expires = time.Now().Add(ttl)
			return l.LockGrant, nil
		}
	}
	return LockGrant{}, ErrLockLost
}

// ReleaseLock implements LockingBucket.
func (b *MemBucket) ReleaseLock(ctx context.Context, key, token string) error {
	if err := b.enter("unlock", key); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.locks[key] = slices.DeleteFunc(b.liveLocks(key), func(l *memLock) bool { return l.Token == token })
	return nil
}

// InspectLock implements LockingBucket.
func (b *MemBucket) InspectLock(ctx context.Context, key string) ([]LockGrant, error) {
	if err := b.enter("inspect lock", key); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	out := []LockGrant{}
	for _, l := range b.liveLocks(key) {
		g := l.LockGrant
		g.Token = ""
		out = append(out, g)
	}
	return out, nil
}
