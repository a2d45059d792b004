package store

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"maps"
	"strings"
)

// This file lets the cluster layer split a write in two phases without
// copying the body twice: StageBody makes the body durable in a data file
// that no version references yet (prepare), PutStaged turns it into a
// version (commit, a metadata transaction only), ReleaseStaged drops it
// (abort). PutStaged follows PutObject step for step after the ingest.

// StagedBody is an object body written by StageBody and not yet committed.
type StagedBody struct {
	b    *body
	size int64
}

// Size is the body's length.
func (sb *StagedBody) Size() int64 { return sb.size }

// StageBody reads exactly size bytes of r (then EOF) into a durable data
// file (or memory, when small and inline allowed), verifying contentMD5 when
// given. Release it with ReleaseStaged unless PutStaged consumed it.
func (s *Store) StageBody(ctx context.Context, r io.Reader, size int64, contentMD5 []byte, allowInline bool) (*StagedBody, error) {
	done, err := s.begin()
	if err != nil {
		return nil, err
	}
	defer done()
	b, err := s.ingest(ctx, r, size, contentMD5, allowInline)
	if err != nil {
		return nil, err
	}
	return &StagedBody{b: b, size: size}, nil
}

// ReleaseStaged drops a staged body that will not be committed.
func (s *Store) ReleaseStaged(sb *StagedBody) {
	if sb != nil && sb.b != nil {
		sb.b.release(s, false)
		sb.b = nil
	}
}

// PutStaged commits a staged body as a new version of key, exactly as
// PutObject would have (ContentMD5 was checked by StageBody; ChecksumsFunc is
// ignored: pass the checksums in Meta). The staged body is consumed whatever
// the outcome.
func (s *Store) PutStaged(ctx context.Context, bucket, key string, sb *StagedBody, opts PutOptions) (ObjectInfo, error) {
	if sb == nil || sb.b == nil {
		return ObjectInfo{}, errors.New("store: staged body already consumed")
	}
	b := sb.b
	sb.b = nil
	committed := false
	defer func() { b.release(s, committed) }()
	done, err := s.begin()
	if err != nil {
		return ObjectInfo{}, err
	}
	defer done()
	if err := checkKey(key); err != nil {
		return ObjectInfo{}, err
	}
	if err := checkParts(opts.Parts, sb.size); err != nil {
		return ObjectInfo{}, err
	}
	if len(opts.Parts) > 0 && b.ext.File == "" {
		return ObjectInfo{}, errors.New("store: a multipart layout needs a staged data file")
	}
	if _, err := s.GetBucket(ctx, bucket); err != nil {
		return ObjectInfo{}, err
	}
	nv, err := s.prepareVersion(bucket, key, opts.VersionID, opts.Null, opts.ModTime, opts.Cond)
	if err != nil {
		return ObjectInfo{}, err
	}
	rec := nv.rec
	rec.Size, rec.Extents, rec.Parts = sb.size, []extent{b.ext}, opts.Parts
	rec.ETag = hex.EncodeToString(b.md5)
	if opts.ETag != "" {
		rec.ETag = strings.Trim(opts.ETag, `"`)
	}
	rec.Meta = opts.Meta
	rec.Meta.Tags = nil
	rec.TagsStamp = opts.TagsStamp
	nv.tags = opts.Meta.Tags
	err = s.commit(ctx, nv)
	committed = err == nil
	if err != nil && !errors.Is(err, errStale) {
		return ObjectInfo{}, err
	}
	info := rec.info(bucket, key)
	info.Tags = maps.Clone(nv.tags)
	info.IsLatest = nv.isLatest
	return info, nil
}
