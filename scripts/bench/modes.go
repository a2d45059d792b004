package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
)

// opFunc is one operation of worker w (its i-th); it returns the bytes moved.
type opFunc func(ctx context.Context, w, i int) (int64, error)

// phase runs op on conc workers until the duration ends (or maxOps
// operations started) and measures it, sampling the server's RSS.
func (b *bench) phase(name string, size int64, conc int, dur time.Duration, maxOps int, op opFunc) result {
	rec := &recorder{}
	rss := startRSS(b.cfg.pid)
	var started atomic.Int64
	deadline := time.Now().Add(dur)
	begin := time.Now()
	var wg sync.WaitGroup
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				if maxOps > 0 && started.Add(1) > int64(maxOps) {
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
				t0 := time.Now()
				n, err := op(ctx, w, i)
				rec.add(time.Since(t0), n, err)
				cancel()
			}
		}()
	}
	wg.Wait()
	res := rec.result(name, size, conc, time.Since(begin))
	res.PeakRSS = rss.Stop()
	return res
}

func (b *bench) putOpts() minio.PutObjectOptions {
	return minio.PutObjectOptions{DisableContentSha256: !b.cfg.signPayload, DisableMultipart: true,
		ContentType: "application/octet-stream"}
}

// standard: PUT and GET per size and client count, then LIST.
func (b *bench) standard(ctx context.Context) error {
	printHeader(os.Stdout)
	for _, size := range b.cfg.sizes {
		for _, conc := range b.cfg.concurrency {
			// Each worker overwrites a few keys of its own, so disk use stays
			// bounded while every PUT is a full write.
			slots := 8
			if size >= 16<<20 {
				slots = 2
			}
			key := func(w, i int) string {
				return fmt.Sprintf("std/%s/c%d/w%03d/%d", formatSize(size), conc, w, i%slots)
			}
			var mu sync.Mutex
			written := map[string]bool{}
			put := b.phase("PUT", size, conc, b.cfg.duration, b.cfg.maxOps, func(ctx context.Context, w, i int) (int64, error) {
				k := key(w, i)
				_, err := b.client.PutObject(ctx, b.bucket, k, bytes.NewReader(b.buf[:size]), size, b.putOpts())
				if err == nil {
					mu.Lock()
					written[k] = true
					mu.Unlock()
				}
				return size, err
			})
			printResult(os.Stdout, put)
			keys := make([]string, 0, len(written))
			for k := range written {
				keys = append(keys, k)
			}
			if len(keys) == 0 {
				return fmt.Errorf("PUT %s c=%d: nothing written: %v", formatSize(size), conc, put.FirstError)
			}
			get := b.phase("GET", size, conc, b.cfg.duration, b.cfg.maxOps, func(ctx context.Context, w, i int) (int64, error) {
				obj, err := b.client.GetObject(ctx, b.bucket, keys[rand.IntN(len(keys))], minio.GetObjectOptions{})
				if err != nil {
					return 0, err
				}
				defer obj.Close()
				n, err := io.Copy(io.Discard, obj)
				if err == nil && n != size {
					err = fmt.Errorf("read %d bytes, want %d", n, size)
				}
				return n, err
			})
			printResult(os.Stdout, get)
			if err := b.removeKeys(ctx, b.bucket, keys); err != nil {
				return err
			}
		}
	}
	if b.cfg.listKeys > 0 {
		return b.list(ctx)
	}
	return nil
}

func (b *bench) removeKeys(ctx context.Context, bucket string, keys []string) error {
	ch := make(chan minio.ObjectInfo, len(keys))
	for _, k := range keys {
		ch <- minio.ObjectInfo{Key: k}
	}
	close(ch)
	for e := range b.client.RemoveObjects(ctx, bucket, ch, minio.RemoveObjectsOptions{}) {
		return fmt.Errorf("delete %s: %v", e.ObjectName, e.Err)
	}
	return nil
}

// list fills a prefix with listKeys keys and measures full listings of it
// (ListObjectsV2, 1000 keys a page).
func (b *bench) list(ctx context.Context) error {
	n := b.cfg.listKeys
	prefix := "list/"
	fill := b.phase("FILL", 1, 32, 24*time.Hour, n, func(ctx context.Context, w, i int) (int64, error) {
		k := fmt.Sprintf("%sw%02d-%06d", prefix, w, i)
		_, err := b.client.PutObject(ctx, b.bucket, k, bytes.NewReader(b.buf[:1]), 1, b.putOpts())
		return 1, err
	})
	fill.Note = fmt.Sprintf("%d keys for LIST", n)
	printResult(os.Stdout, fill)
	for _, conc := range b.cfg.concurrency {
		res := b.phase("LIST", 0, conc, b.cfg.duration, b.cfg.maxOps, func(ctx context.Context, w, i int) (int64, error) {
			count := 0
			for o := range b.client.ListObjects(ctx, b.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true, MaxKeys: 1000}) {
				if o.Err != nil {
					return 0, o.Err
				}
				count++
			}
			if count != n-fill.Errors {
				return 0, fmt.Errorf("listed %d keys, want %d", count, n-fill.Errors)
			}
			return 0, nil
		})
		res.Note = fmt.Sprintf("full listing of %d keys = 1 op (%.0f keys/s)", n, res.opsPerSec()*float64(n))
		printResult(os.Stdout, res)
	}
	return nil
}

// endlessReader yields size bytes cycling through a buffer, without Seek or
// ReadAt, so the client streams it.
type endlessReader struct {
	buf []byte
	off int
	n   int64
}

func (r *endlessReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.n {
		p = p[:r.n]
	}
	k := copy(p, r.buf[r.off:])
	r.off = (r.off + k) % len(r.buf)
	r.n -= int64(k)
	return k, nil
}

// stream: streamClients clients each PUT one streamSize object in a single
// streamed request.
func (b *bench) stream(ctx context.Context) error {
	size, conc := b.cfg.streamSize, b.cfg.streamClients
	printHeader(os.Stdout)
	res := b.phase("PUT", size, conc, 24*time.Hour, conc, func(ctx context.Context, w, i int) (int64, error) {
		r := &endlessReader{buf: b.buf[:1<<20], n: size}
		_, err := b.client.PutObject(ctx, b.bucket, fmt.Sprintf("stream/w%03d", w), r, size, b.putOpts())
		return size, err
	})
	res.Note = fmt.Sprintf("stream: %d clients × one %s object", conc, formatSize(size))
	printResult(os.Stdout, res)
	get := b.phase("GET", size, conc, 24*time.Hour, conc, func(ctx context.Context, w, i int) (int64, error) {
		obj, err := b.client.GetObject(ctx, b.bucket, fmt.Sprintf("stream/w%03d", w), minio.GetObjectOptions{})
		if err != nil {
			return 0, err
		}
		defer obj.Close()
		return io.Copy(io.Discard, obj)
	})
	get.Note = "stream: each client reads its object back"
	printResult(os.Stdout, get)
	var keys []string
	for w := range conc {
		keys = append(keys, fmt.Sprintf("stream/w%03d", w))
	}
	return b.removeKeys(ctx, b.bucket, keys)
}

// versionsMode compares operations on a key with one version and a key with
// many, in a versioned bucket.
func (b *bench) versionsMode(ctx context.Context) error {
	vb := fmt.Sprintf("%s-versions", b.bucket)
	if len(vb) > 63 {
		vb = vb[len(vb)-63:]
	}
	if err := b.client.MakeBucket(ctx, vb, minio.MakeBucketOptions{Region: b.cfg.region}); err != nil {
		return fmt.Errorf("create %s: %w", vb, err)
	}
	if err := b.client.EnableVersioning(ctx, vb); err != nil {
		return err
	}
	body := b.buf[:1024]
	oneInfo, err := b.client.PutObject(ctx, vb, "one", bytes.NewReader(body), int64(len(body)), b.putOpts())
	if err != nil {
		return err
	}
	var midID atomic.Value
	n := b.cfg.versions
	fill := b.phase("FILL", int64(len(body)), 16, 24*time.Hour, n, func(ctx context.Context, w, i int) (int64, error) {
		info, err := b.client.PutObject(ctx, vb, "many", bytes.NewReader(body), int64(len(body)), b.putOpts())
		if err == nil && midID.Load() == nil && w == 0 && i >= n/32 {
			midID.Store(info.VersionID)
		}
		return int64(len(body)), err
	})
	fill.Note = fmt.Sprintf("%d versions of one key", n)
	printHeader(os.Stdout)
	printResult(os.Stdout, fill)
	mid, _ := midID.Load().(string)
	type opDef struct {
		name string
		op   func(key, versionID string) opFunc
	}
	ops := []opDef{
		{"GET", func(key, _ string) opFunc {
			return func(ctx context.Context, _, _ int) (int64, error) {
				return b.getAll(ctx, vb, key, minio.GetObjectOptions{})
			}
		}},
		{"GETver", func(key, vid string) opFunc {
			return func(ctx context.Context, _, _ int) (int64, error) {
				return b.getAll(ctx, vb, key, minio.GetObjectOptions{VersionID: vid})
			}
		}},
		{"HEAD", func(key, _ string) opFunc {
			return func(ctx context.Context, _, _ int) (int64, error) {
				_, err := b.client.StatObject(ctx, vb, key, minio.StatObjectOptions{})
				return 0, err
			}
		}},
		{"LISTv2", func(key, _ string) opFunc {
			return func(ctx context.Context, _, _ int) (int64, error) {
				_, err := b.core.ListObjectsV2(vb, "", "", "", "", 1000)
				return 0, err
			}
		}},
		{"PUT", func(key, _ string) opFunc {
			return func(ctx context.Context, _, _ int) (int64, error) {
				_, err := b.client.PutObject(ctx, vb, key, bytes.NewReader(body), int64(len(body)), b.putOpts())
				return int64(len(body)), err
			}
		}},
	}
	for _, o := range ops {
		one := b.phase(o.name, int64(len(body)), 1, b.cfg.duration, b.cfg.maxOps, o.op("one", oneInfo.VersionID))
		one.Note = "key with 1 version"
		many := b.phase(o.name, int64(len(body)), 1, b.cfg.duration, b.cfg.maxOps, o.op("many", mid))
		many.Note = fmt.Sprintf("key with %d versions; p50 ratio %.2f, ops/s ratio %.2f", n,
			float64(many.P50)/float64(max(one.P50, 1)), many.opsPerSec()/max(one.opsPerSec(), 1e-9))
		printResult(os.Stdout, one)
		printResult(os.Stdout, many)
	}
	if !b.cfg.keep {
		if err := b.emptyBucket(ctx, vb); err != nil {
			return err
		}
		return b.client.RemoveBucket(ctx, vb)
	}
	return nil
}

func (b *bench) getAll(ctx context.Context, bucket, key string, opts minio.GetObjectOptions) (int64, error) {
	obj, err := b.client.GetObject(ctx, bucket, key, opts)
	if err != nil {
		return 0, err
	}
	defer obj.Close()
	return io.Copy(io.Discard, obj)
}

// complete measures CompleteMultipartUpload with 1 part and with many.
func (b *bench) complete(ctx context.Context) error {
	printHeader(os.Stdout)
	var times []time.Duration
	for _, parts := range []int{1, b.cfg.completeParts} {
		key := fmt.Sprintf("complete/%d", parts)
		id, err := b.core.NewMultipartUpload(ctx, b.bucket, key, minio.PutObjectOptions{})
		if err != nil {
			return err
		}
		done := make([]minio.CompletePart, parts)
		size := b.cfg.partSize
		var next atomic.Int64
		upload := b.phase("PART", size, 16, 24*time.Hour, parts, func(ctx context.Context, w, i int) (int64, error) {
			n := int(next.Add(1))
			p, err := b.core.PutObjectPart(ctx, b.bucket, key, id, n, bytes.NewReader(b.buf[:size]), size,
				minio.PutObjectPartOptions{DisableContentSha256: !b.cfg.signPayload})
			if err == nil {
				done[n-1] = minio.CompletePart{PartNumber: n, ETag: p.ETag}
			}
			return size, err
		})
		upload.Note = fmt.Sprintf("upload %d parts", parts)
		printResult(os.Stdout, upload)
		if upload.Errors > 0 {
			return fmt.Errorf("uploading parts: %v", upload.FirstError)
		}
		t0 := time.Now()
		_, err = b.core.CompleteMultipartUpload(ctx, b.bucket, key, id, done, minio.PutObjectOptions{})
		d := time.Since(t0)
		if err != nil {
			return fmt.Errorf("complete %d parts: %w", parts, err)
		}
		times = append(times, d)
		fmt.Printf("COMPLETE %8s %5d parts: %s\n", formatSize(size*int64(parts)), parts, fmtDur(d))
		if err := b.removeKeys(ctx, b.bucket, []string{key}); err != nil {
			return err
		}
	}
	fmt.Printf("COMPLETE ratio %d parts / 1 part: %.2f\n", b.cfg.completeParts, float64(times[1])/float64(times[0]))
	return nil
}
