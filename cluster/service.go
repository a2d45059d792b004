package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/bucketdb/bucketdb/store"
)

// service is this node's Replica: the operations coordinators (this node
// included) run on its store.
type service struct {
	id    string
	st    *store.Store
	stage *stager
	tombs *tombstones
	reg   *registry
	clock *store.Clock
	stats func(context.Context) NodeStats
	lease func(LeaseRequest) LeaseResponse
}

var _ Replica = (*service)(nil)

func (s *service) Bucket(ctx context.Context, req BucketRequest) (BucketResponse, error) {
	var r BucketResponse
	var err error
	switch req.Op {
	case bucketCreate:
		err = s.st.CreateBucket(ctx, req.Bucket)
	case bucketDelete:
		err = s.st.DeleteBucket(ctx, req.Bucket)
	case bucketGet:
		r.Info, err = s.st.GetBucket(ctx, req.Bucket)
	case bucketList:
		r.Buckets, err = s.st.ListBuckets(ctx)
	case bucketVersioning:
		err = s.st.SetBucketVersioning(ctx, req.Bucket, req.Versioning)
	case bucketGetConfig:
		r.Doc, err = s.st.GetBucketConfig(ctx, req.Bucket, req.Kind)
	case bucketPutConfig:
		err = s.st.PutBucketConfig(ctx, req.Bucket, req.Kind, req.Doc)
	case bucketDelConfig:
		err = s.st.DeleteBucketConfig(ctx, req.Bucket, req.Kind)
	case bucketConfigs:
		r.Configs, err = s.st.BucketConfigs(ctx, req.Bucket)
	default:
		err = fmt.Errorf("%w: unknown bucket op %q", store.ErrInvalidArgument, req.Op)
	}
	return r, err
}

func (s *service) Prepare(ctx context.Context, req PrepareRequest, body io.Reader) (CommitResponse, error) {
	if req.Direct {
		return s.apply(ctx, req, body)
	}
	if req.Kind == opPut {
		// Refuse before staging the body: below the free-space floor the
		// staged copy alone could fill the disk.
		if err := s.st.CheckFree(req.Size); err != nil {
			return CommitResponse{}, err
		}
	}
	if req.Kind != opPut {
		// Fail early on what would fail at commit anyway.
		if _, err := s.st.GetBucket(ctx, req.Bucket); err != nil {
			return CommitResponse{}, err
		}
	}
	if err := s.checkFence(ctx, req); err != nil {
		return CommitResponse{}, err
	}
	return CommitResponse{}, s.stage.add(ctx, req, body)
}

func (s *service) Commit(ctx context.Context, ref StageRef) (CommitResponse, error) {
	e, err := s.stage.take(ref.StageID)
	if err != nil {
		return CommitResponse{}, err
	}
	defer e.release()
	if ref.VersionID != "" {
		switch e.req.Kind {
		case opPut:
			e.req.Put.VersionID, e.req.Put.ModTime = ref.VersionID, ref.ModTime
		case opDelete:
			if e.req.Delete.MarkerVersionID != "" {
				e.req.Delete.MarkerVersionID, e.req.Delete.ModTime = ref.VersionID, ref.ModTime
			}
		case opComplete:
			e.req.Complete.VersionID = ref.VersionID
		}
	}
	if e.body != nil {
		info, err := s.st.PutStaged(ctx, e.req.Bucket, e.req.Key, e.body, e.req.Put.options())
		return CommitResponse{Info: info}, err
	}
	return s.apply(ctx, e.req, nil)
}

func (s *service) Abort(ctx context.Context, ref StageRef) (Empty, error) {
	e, err := s.stage.take(ref.StageID)
	if err != nil {
		return Empty{}, nil // already gone: aborting is idempotent
	}
	e.release()
	return Empty{}, nil
}

// apply performs a mutation on the store.
func (s *service) apply(ctx context.Context, req PrepareRequest, body io.Reader) (CommitResponse, error) {
	var r CommitResponse
	var err error
	switch req.Kind {
	case opPut:
		opts := req.Put.options()
		if req.Direct {
			body, opts.ChecksumsFunc = unframe(body, req.Size)
		}
		r.Info, err = s.st.PutObject(ctx, req.Bucket, req.Key, body, req.Size, opts)
	case opDelete:
		var victim string
		if req.Delete.VersionID != "" || !req.Delete.Versioned {
			victim = s.internalID(ctx, req.Bucket, req.Key, req.Delete.VersionID)
		}
		r.Delete, err = s.st.DeleteObject(ctx, req.Bucket, req.Key, req.Delete)
		if err == nil && victim != "" {
			s.tombs.add(Tombstone{Bucket: req.Bucket, Key: req.Key, ID: victim, At: time.Now()})
		}
	case opTags:
		r.Info, err = s.st.SetObjectTagsAt(ctx, req.Bucket, req.Key, req.VersionID, req.Tags, req.TagsStamp)
	case opComplete:
		r.Info, err = s.st.CompleteMultipartUpload(ctx, req.Bucket, req.Key, req.UploadID, req.Parts, req.Complete)
	default:
		err = fmt.Errorf("%w: unknown mutation %q", store.ErrInvalidArgument, req.Kind)
	}
	return r, err
}

// internalID resolves a shown version ID ("" or "null" = the null version)
// to the internal ID, or "" if there is no such version.
func (s *service) internalID(ctx context.Context, bucket, key, shown string) string {
	if shown == "" {
		shown = store.NullVersionID
	}
	info, err := s.st.HeadObject(ctx, bucket, key, store.GetOptions{VersionID: shown})
	if err != nil && info.InternalVersionID == "" {
		return ""
	}
	return info.InternalVersionID
}

func (s *service) PutVersion(ctx context.Context, req PutVersionRequest, body io.Reader) (store.ObjectInfo, error) {
	opts := req.Opts.options()
	if s.tombs.has(req.Bucket, req.Key, opts.VersionID) {
		return store.ObjectInfo{}, fmt.Errorf("%w: version %s was deleted", store.ErrNoSuchVersion, req.Opts.VersionID)
	}
	if req.Marker {
		_, err := s.st.DeleteObject(ctx, req.Bucket, req.Key, store.DeleteOptions{
			MarkerVersionID: opts.VersionID, Null: opts.Null, Versioned: true, ModTime: opts.ModTime})
		return store.ObjectInfo{}, err
	}
	body, opts.ChecksumsFunc = unframe(body, req.Size)
	return s.st.PutObject(ctx, req.Bucket, req.Key, body, req.Size, opts)
}

func (s *service) DeleteVersion(ctx context.Context, req DeleteVersionRequest) (Empty, error) {
	if req.Tombstone {
		s.tombs.add(Tombstone{Bucket: req.Bucket, Key: req.Key, ID: req.InternalID, At: time.Now()})
	}
	_, err := s.st.DeleteObject(ctx, req.Bucket, req.Key, store.DeleteOptions{VersionID: req.InternalID})
	if errors.Is(err, store.ErrNoSuchVersion) {
		err = nil
	}
	return Empty{}, err
}

func (s *service) Get(ctx context.Context, req GetRequest) (store.ObjectInfo, io.ReadCloser, error) {
	if req.Head {
		info, err := s.st.HeadObject(ctx, req.Bucket, req.Key, req.Opts)
		return info, nil, err
	}
	return s.st.GetObject(ctx, req.Bucket, req.Key, req.Opts)
}

func (s *service) List(ctx context.Context, req ListRequest) (ListResponse, error) {
	var r ListResponse
	var err error
	switch req.Kind {
	case listObjects:
		r.Objects, err = s.st.ListObjects(ctx, req.Bucket, req.Objects)
	case listVersions:
		r.Versions, err = s.st.ListObjectVersions(ctx, req.Bucket, req.Versions)
	case listUploads:
		r.Uploads, err = s.st.ListMultipartUploads(ctx, req.Bucket, req.Uploads)
	default:
		err = fmt.Errorf("%w: unknown listing %q", store.ErrInvalidArgument, req.Kind)
	}
	return r, err
}

func (s *service) Upload(ctx context.Context, req UploadRequest) (UploadResponse, error) {
	var r UploadResponse
	var err error
	switch req.Op {
	case uploadCreate:
		r.Upload, err = s.st.CreateUpload(ctx, req.Bucket, req.Key, req.Create)
	case uploadListParts:
		r.Parts, err = s.st.ListParts(ctx, req.Bucket, req.Key, req.UploadID, req.Parts)
	case uploadAbort:
		err = s.st.AbortMultipartUpload(ctx, req.Bucket, req.Key, req.UploadID)
	default:
		err = fmt.Errorf("%w: unknown upload op %q", store.ErrInvalidArgument, req.Op)
	}
	return r, err
}

func (s *service) UploadPart(ctx context.Context, req PartRequest, body io.Reader) (store.PartInfo, error) {
	data, trailer := unframe(body, req.Size)
	opts := store.PartOptions{ContentMD5: req.Opts.ContentMD5, Checksums: req.Opts.Checksums, ChecksumsFunc: trailer}
	return s.st.UploadPart(ctx, req.Bucket, req.Key, req.UploadID, req.Part, data, req.Size, opts)
}

// Digests walks the node's versions in (After, Through].
func (s *service) Digests(ctx context.Context, req DigestRequest) (DigestResponse, error) {
	limit := req.Limit
	if limit <= 0 || limit > 10000 {
		limit = 10000
	}
	var r DigestResponse
	opts := store.ListVersionsOptions{Prefix: req.Prefix, KeyMarker: req.After, MaxKeys: store.MaxListKeys}
	for {
		page, err := s.st.ListObjectVersions(ctx, req.Bucket, opts)
		if err != nil {
			return DigestResponse{}, err
		}
		for _, v := range page.Versions {
			if req.Through != "" && v.Key > req.Through {
				r.Tombstones = s.tombs.inRange(req.Bucket, req.Prefix, req.After, req.Through)
				return r, nil
			}
			if len(r.Digests) >= limit && v.Key != r.Digests[len(r.Digests)-1].Key {
				r.More, r.Next = true, r.Digests[len(r.Digests)-1].Key
				r.Tombstones = s.tombs.inRange(req.Bucket, req.Prefix, req.After, r.Next)
				return r, nil
			}
			r.Digests = append(r.Digests, digestOf(v))
		}
		if !page.IsTruncated {
			break
		}
		opts.KeyMarker, opts.VersionIDMarker = page.NextKeyMarker, page.NextVersionIDMarker
	}
	r.Tombstones = s.tombs.inRange(req.Bucket, req.Prefix, req.After, req.Through)
	return r, nil
}

func digestOf(v store.ObjectInfo) Digest {
	return Digest{Key: v.Key, ID: internalOf(v), Null: v.VersionID == store.NullVersionID,
		DeleteMarker: v.DeleteMarker, ETag: v.ETag, Size: v.Size, TagsStamp: v.TagsStamp}
}

// internalOf is the ordering ID of a version.
func internalOf(v store.ObjectInfo) string {
	if v.InternalVersionID != "" {
		return v.InternalVersionID
	}
	return v.VersionID
}

func (s *service) Members(ctx context.Context, req MembersRequest) (MembersResponse, error) {
	s.reg.merge(req.Members)
	return MembersResponse{Members: s.reg.list()}, nil
}

func (s *service) Lease(ctx context.Context, req LeaseRequest) (LeaseResponse, error) {
	return s.lease(req), nil
}

func (s *service) Stats(ctx context.Context, _ Empty) (NodeStats, error) {
	return s.stats(ctx), nil
}

// checkFence refuses to stage a write whose fencing token is older than one
// this replica has seen. A lock is granted by a majority of the key's
// replicas and a write commits only once W of them prepared, so with
// R + W > N a stale holder's write is refused by at least one voter here and
// cannot gather its write quorum; the store checks the token again at commit.
func (s *service) checkFence(ctx context.Context, req PrepareRequest) error {
	var token uint64
	switch req.Kind {
	case opPut:
		token = req.Put.Cond.FencingToken
	case opDelete:
		token = req.Delete.Cond.FencingToken
	case opComplete:
		token = req.Complete.Cond.FencingToken
	}
	if token == 0 {
		return nil
	}
	seen, err := s.st.FencingToken(ctx, req.Bucket, req.Key)
	if err != nil {
		return err
	}
	if token < seen {
		return fmt.Errorf("%w: token %d, %d was issued", store.ErrStaleFencingToken, token, seen)
	}
	return nil
}
