package fsmount

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"
)

// streamUpload is one multipart upload fed from a staging file: parts are
// cut in order from offset 0 and uploaded in the background, at most
// UploadConcurrency at a time (start blocks beyond that, which is the
// back-pressure that bounds a sequential writer's staging). A part's bytes
// are punched out of the staging file once uploaded.
type streamUpload struct {
	fsys *FS
	key  string
	id   string
	// next is the offset up to which parts were started; nparts their count.
	next   int64
	nparts int
	// fullMeta is true when the upload was initiated with the complete
	// final metadata (mtime included); otherwise it is replaced after
	// completion if the attributes were set explicitly.
	fullMeta bool

	sem chan struct{}
	wg  sync.WaitGroup

	mu    sync.Mutex
	parts []Part
	err   error
}

func (f *FS) newStreamUpload(ctx context.Context, key string, meta Meta, fullMeta bool) (*streamUpload, error) {
	id, err := f.bucket.NewMultipart(ctx, key, meta)
	if err != nil {
		return nil, err
	}
	return &streamUpload{fsys: f, key: key, id: id, fullMeta: fullMeta, sem: make(chan struct{}, f.cfg.UploadConcurrency)}, nil
}

// partSize is the size of part num (1-based): the configured part size,
// growing every 1,000 parts so that 10,000 parts reach far beyond 10 GiB.
func (u *streamUpload) partSize(num int) int64 {
	return u.fsys.cfg.PartSize * int64(1+(num-1)/1000)
}

// maxObjectSize is the largest object S3 stores (5 TiB).
const maxObjectSize = 5 << 40

// maxFileSize is the largest file the mount can upload: 10,000 parts whose
// size grows by PartSize every 1,000 (partSize), that is PartSize × 1,000 ×
// (1+2+…+10), and no more than one object holds. Writes and truncations
// beyond it fail with EFBIG at once, as on a local file system at its
// limit, instead of failing at the upload after sending the rest.
func (c *Config) maxFileSize() int64 {
	return min(maxObjectSize, c.PartSize*1000*55)
}

// nextPartSize is the size of the next part to cut.
func (u *streamUpload) nextPartSize() int64 { return u.partSize(u.nparts + 1) }

// start uploads [u.next, u.next+n) of src as the next part. punch, if not
// nil, is called after the part was stored.
func (u *streamUpload) start(src io.ReaderAt, n int64, punch func(off, n int64)) error {
	if err := u.failed(); err != nil {
		return err
	}
	u.sem <- struct{}{}
	u.nparts++
	num, off := u.nparts, u.next
	u.next += n
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		defer func() { <-u.sem }()
		ctx, cancel := context.WithTimeout(context.Background(), u.fsys.cfg.OpTimeout+time.Duration(n>>20)*time.Second)
		defer cancel()
		p, err := u.fsys.bucket.PutPart(ctx, u.key, u.id, num, io.NewSectionReader(src, off, n), n)
		u.mu.Lock()
		defer u.mu.Unlock()
		if err != nil {
			if u.err == nil {
				u.err = fmt.Errorf("upload part %d of %s: %w", num, u.key, err)
			}
			return
		}
		u.parts = append(u.parts, p)
		if punch != nil {
			punch(off, n)
		}
	}()
	return nil
}

func (u *streamUpload) failed() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.err
}

// complete waits for all parts and completes the upload (aborting it on
// failure).
func (u *streamUpload) complete(ctx context.Context) (ObjectInfo, error) {
	u.wg.Wait()
	if err := u.failed(); err != nil {
		u.abort()
		return ObjectInfo{}, err
	}
	sort.Slice(u.parts, func(i, j int) bool { return u.parts[i].Num < u.parts[j].Num })
	info, err := u.fsys.bucket.CompleteMultipart(ctx, u.key, u.id, u.parts)
	if err != nil {
		u.abort()
		return ObjectInfo{}, err
	}
	return info, nil
}

// abort waits for in-flight parts and aborts the upload.
func (u *streamUpload) abort() {
	u.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), u.fsys.cfg.OpTimeout)
	defer cancel()
	if err := u.fsys.bucket.AbortMultipart(ctx, u.key, u.id); err != nil && !errors.Is(err, ErrNotExist) {
		u.fsys.logOnce("abort multipart", err)
	}
}
