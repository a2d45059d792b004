package cluster

import (
	"context"
	"errors"
	"io"
	"sort"
	"sync"

	"github.com/bucketdb/bucketdb/store"
)

// Multipart uploads live on the replicas of their (bucket, key): the
// coordinator pins the upload ID and initiation time on each, parts are
// streamed to the same replicas, and completion is a two-phase mutation, so
// every replica completes from its own parts without copying.

// CreateMultipartUpload starts an upload on the key's replicas (W).
func (n *Node) CreateMultipartUpload(ctx context.Context, bucket, key string, meta store.ObjectMeta) (store.UploadInfo, error) {
	if _, err := n.GetBucket(ctx, bucket); err != nil {
		return store.UploadInfo{}, err
	}
	id, h := n.mint()
	req := UploadRequest{Op: uploadCreate, Bucket: bucket, Key: key,
		Create: store.UploadOptions{UploadID: id, Initiated: store.HLCTime(h), Meta: meta}}
	p := n.place(bucket, key)
	cctx, cancel := n.rpcCtx(ctx, 0)
	defer cancel()
	ch, _ := broadcast(cctx, n, p.nodes, 0, nil, 0, nil,
		func(ctx context.Context, r Replica, _ io.Reader) (UploadResponse, error) { return r.Upload(ctx, req) })
	var oks []result[UploadResponse]
	var errs []error
	for range p.nodes {
		r := <-ch
		if r.err == nil {
			oks = append(oks, r)
		} else {
			errs = append(errs, r.err)
		}
	}
	if len(oks) >= p.w {
		return oks[0].res.Upload, nil
	}
	var done []Member
	for _, r := range oks {
		done = append(done, r.m)
	}
	n.abortUploadOn(done, bucket, key, id)
	if err := commonDefinitive(errs); err != nil && len(oks) == 0 {
		return store.UploadInfo{}, err
	}
	return store.UploadInfo{}, unavailable("create upload", len(oks), p.w, errs)
}

// UploadInfo reads an upload's record (metadata, checksum algorithm and
// type) without its parts. The record never changes once created, so the
// first replica that holds it answers; NoSuchUpload needs R replicas that
// lack it. The S3 layer reads it before every part (s3.UploadReader), so
// a slow replica must not hold parts up as a full ListParts would.
func (n *Node) UploadInfo(ctx context.Context, bucket, key, uploadID string) (store.UploadInfo, error) {
	ck := bucket + "\x00" + key + "\x00" + uploadID
	if up, ok := n.uploads.get(ck); ok {
		return up, nil
	}
	up, err := n.readUploadInfo(ctx, bucket, key, uploadID)
	if err == nil {
		n.uploads.put(ck, up)
	}
	return up, err
}

// uploadCache keeps the upload records UploadInfo read, so that the parts
// of an upload after its first cost no round trip to the replicas. A record
// never changes once created; an entry that outlives its upload (completed
// or aborted) only lets a part go on to the replicas, which refuse it with
// NoSuchUpload as they would have anyway.
type uploadCache struct {
	mu sync.Mutex
	m  map[string]store.UploadInfo
}

// uploadCacheMax bounds the cache; when full it starts over.
const uploadCacheMax = 4096

func (c *uploadCache) get(k string) (store.UploadInfo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	up, ok := c.m[k]
	return up, ok
}

func (c *uploadCache) put(k string, up store.UploadInfo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= uploadCacheMax {
		c.m = map[string]store.UploadInfo{}
	}
	c.m[k] = up
}

// readUploadInfo is UploadInfo without the cache.
func (n *Node) readUploadInfo(ctx context.Context, bucket, key, uploadID string) (store.UploadInfo, error) {
	p := n.place(bucket, key)
	req := UploadRequest{Op: uploadListParts, Bucket: bucket, Key: key, UploadID: uploadID,
		Parts: store.ListPartsOptions{MaxParts: 0}}
	cctx, cancel := n.rpcCtx(ctx, 0)
	defer cancel()
	ch, _ := broadcast(cctx, n, p.nodes, 0, nil, 0, nil,
		func(ctx context.Context, r Replica, _ io.Reader) (UploadResponse, error) { return r.Upload(ctx, req) })
	var errs []error
	answered := 0
	for range p.nodes {
		r := <-ch // buffered for every target: the others never block
		if r.err == nil {
			return r.res.Parts.Upload, nil
		}
		if definitive(r.err) {
			answered++
		}
		errs = append(errs, r.err)
	}
	if answered < p.r {
		return store.UploadInfo{}, unavailable("read upload", answered, p.r, errs)
	}
	return store.UploadInfo{}, commonDefinitive(errs)
}

// abortUploadOn aborts an upload on some replicas in the background.
func (n *Node) abortUploadOn(ms []Member, bucket, key, uploadID string) {
	for _, m := range ms {
		n.goBackground(func(ctx context.Context) {
			cctx, cancel := n.rpcCtx(ctx, 0)
			defer cancel()
			n.replica(m).Upload(cctx, UploadRequest{Op: uploadAbort, Bucket: bucket, Key: key, UploadID: uploadID})
		})
	}
}

// UploadPart streams a part to the upload's replicas (W).
func (n *Node) UploadPart(ctx context.Context, bucket, key, uploadID string, part int, r io.Reader, size int64, opts store.PartOptions) (store.PartInfo, error) {
	p := n.place(bucket, key)
	req := PartRequest{Bucket: bucket, Key: key, UploadID: uploadID, Part: part, Size: size,
		Opts: wirePart{ContentMD5: opts.ContentMD5, Checksums: opts.Checksums}}
	ch, ferr := broadcast(ctx, n, p.nodes, p.w, r, size, opts.ChecksumsFunc,
		func(ctx context.Context, r Replica, body io.Reader) (store.PartInfo, error) {
			return r.UploadPart(ctx, req, body)
		})
	var first *store.PartInfo
	var errs []error
	oks := 0
	for range p.nodes {
		res := <-ch
		if res.err != nil {
			errs = append(errs, res.err)
			continue
		}
		oks++
		if first == nil {
			first = &res.res
		}
	}
	if ferr != nil {
		return store.PartInfo{}, ferr
	}
	if oks >= p.w {
		return *first, nil
	}
	if err := commonDefinitive(errs); err != nil && oks == 0 {
		return store.PartInfo{}, err
	}
	return store.PartInfo{}, unavailable("upload part", oks, p.w, errs)
}

// ListParts merges the parts the upload's replicas hold (R answers).
func (n *Node) ListParts(ctx context.Context, bucket, key, uploadID string, opts store.ListPartsOptions) (store.ListPartsResult, error) {
	p := n.place(bucket, key)
	req := UploadRequest{Op: uploadListParts, Bucket: bucket, Key: key, UploadID: uploadID, Parts: opts}
	cctx, cancel := n.rpcCtx(ctx, 0)
	defer cancel()
	ch, _ := broadcast(cctx, n, p.nodes, 0, nil, 0, nil,
		func(ctx context.Context, r Replica, _ io.Reader) (UploadResponse, error) { return r.Upload(ctx, req) })
	var oks []store.ListPartsResult
	var errs []error
	answered := 0
	for range p.nodes {
		r := <-ch
		if definitive(r.err) {
			answered++
		}
		if r.err == nil {
			oks = append(oks, r.res.Parts)
		} else {
			errs = append(errs, r.err)
		}
	}
	if answered < p.r {
		return store.ListPartsResult{}, unavailable("list parts", answered, p.r, errs)
	}
	if len(oks) == 0 {
		return store.ListPartsResult{}, commonDefinitive(errs)
	}
	max := opts.MaxParts
	if max <= 0 || max > 1000 {
		max = 1000
	}
	byNum := map[int]store.PartInfo{}
	truncated := false
	for _, r := range oks {
		truncated = truncated || r.IsTruncated
		for _, pi := range r.Parts {
			if cur, ok := byNum[pi.Number]; !ok || pi.ModTime.After(cur.ModTime) {
				byNum[pi.Number] = pi
			}
		}
	}
	out := store.ListPartsResult{Upload: oks[0].Upload}
	for _, pi := range byNum {
		out.Parts = append(out.Parts, pi)
	}
	sort.Slice(out.Parts, func(i, j int) bool { return out.Parts[i].Number < out.Parts[j].Number })
	if len(out.Parts) > max {
		out.Parts, truncated = out.Parts[:max], true
	}
	if truncated && len(out.Parts) > 0 {
		out.IsTruncated = true
		out.NextPartNumberMarker = out.Parts[len(out.Parts)-1].Number
	}
	return out, nil
}

// CompleteMultipartUpload completes the upload on its replicas in two
// phases, with a version ID minted here.
func (n *Node) CompleteMultipartUpload(ctx context.Context, bucket, key, uploadID string, parts []store.CompletePart, opts store.CompleteOptions) (store.ObjectInfo, error) {
	v, err := n.versioning(ctx, bucket)
	if err != nil {
		return store.ObjectInfo{}, err
	}
	release, err := n.condBegin(ctx, bucket, key, &opts.Cond)
	if err != nil {
		return store.ObjectInfo{}, err
	}
	defer release()
	id, _ := n.mint()
	opts.VersionID, opts.Null = id, v != store.VersioningEnabled
	res, err := n.mutate(ctx, PrepareRequest{Kind: opComplete, Bucket: bucket, Key: key, UploadID: uploadID,
		Parts: parts, Complete: opts}, nil, nil)
	return res.Info, err
}

// AbortMultipartUpload aborts the upload on its replicas (W).
func (n *Node) AbortMultipartUpload(ctx context.Context, bucket, key, uploadID string) error {
	p := n.place(bucket, key)
	req := UploadRequest{Op: uploadAbort, Bucket: bucket, Key: key, UploadID: uploadID}
	cctx, cancel := n.rpcCtx(ctx, 0)
	defer cancel()
	ch, _ := broadcast(cctx, n, p.nodes, 0, nil, 0, nil,
		func(ctx context.Context, r Replica, _ io.Reader) (UploadResponse, error) { return r.Upload(ctx, req) })
	oks, gone := 0, 0
	var errs []error
	for range p.nodes {
		r := <-ch
		switch {
		case r.err == nil:
			oks++
		case errors.Is(r.err, store.ErrNoSuchUpload):
			gone++
			errs = append(errs, r.err)
		default:
			errs = append(errs, r.err)
		}
	}
	if oks > 0 && oks+gone >= p.w {
		return nil
	}
	if oks == 0 && gone >= p.r {
		return commonDefinitive(errs)
	}
	if oks == 0 {
		if err := commonDefinitive(errs); err != nil && !errors.Is(err, store.ErrNoSuchUpload) {
			return err
		}
	}
	return unavailable("abort upload", oks+gone, p.w, errs)
}
