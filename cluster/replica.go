package cluster

import (
	"context"
	"io"
	"time"

	"github.com/bucketdb/bucketdb/store"
)

// Replica is what one node does on its own store on behalf of a
// coordinator. The local node implements it directly (*service); a
// Transport reaches other nodes' implementations.
//
// Contract: every method is safe for concurrent use; errors are store
// sentinels (rebuilt after crossing the wire) or wrap errUnreachable when the
// node could not be reached; bodies passed in (Prepare of a put, PutVersion
// of a version, UploadPart) are framed: Size data bytes then a trailer frame
// (see frame.go), read to EOF or until an error; a returned ReadCloser must
// be closed.
type Replica interface {
	// Bucket runs one bucket operation (create, delete, get, list,
	// versioning, config get/put/delete).
	Bucket(ctx context.Context, req BucketRequest) (BucketResponse, error)
	// Prepare stages a mutation of one key: a put streams its body into a
	// staging file, other kinds only validate. Nothing becomes visible. With
	// req.Direct the mutation is applied at once (a single replica).
	Prepare(ctx context.Context, req PrepareRequest, body io.Reader) (CommitResponse, error)
	// Commit applies a prepared mutation to the store.
	Commit(ctx context.Context, req StageRef) (CommitResponse, error)
	// Abort drops a prepared mutation.
	Abort(ctx context.Context, req StageRef) (Empty, error)
	// PutVersion writes a version directly with pinned identity (healing).
	PutVersion(ctx context.Context, req PutVersionRequest, body io.Reader) (store.ObjectInfo, error)
	// DeleteVersion removes one version for good (healing, handoff,
	// tombstones).
	DeleteVersion(ctx context.Context, req DeleteVersionRequest) (Empty, error)
	// Get reads a version; Head skips the body (the ReadCloser is nil). For a
	// delete marker the info comes back together with the error.
	Get(ctx context.Context, req GetRequest) (store.ObjectInfo, io.ReadCloser, error)
	// List returns one page of the node's versions or uploads.
	List(ctx context.Context, req ListRequest) (ListResponse, error)
	// Upload creates, inspects (ListParts) or aborts a multipart upload.
	Upload(ctx context.Context, req UploadRequest) (UploadResponse, error)
	// UploadPart stores one part.
	UploadPart(ctx context.Context, req PartRequest, body io.Reader) (store.PartInfo, error)
	// Digests lists the node's versions and tombstones in a key range for
	// anti-entropy.
	Digests(ctx context.Context, req DigestRequest) (DigestResponse, error)
	// Members merges a member registry into the node's and returns the
	// result.
	Members(ctx context.Context, req MembersRequest) (MembersResponse, error)
	// Stats reports what the node holds.
	Stats(ctx context.Context, req Empty) (NodeStats, error)
	// Lease grants the holder a read lease (lease.go).
	Lease(ctx context.Context, req LeaseRequest) (LeaseResponse, error)
}

// Transport reaches other nodes.
//
// Contract: To never blocks and may be called concurrently; a call on the
// returned Replica that cannot reach the node fails with an error wrapping
// errUnreachable. Every request carries the caller's HLC reading and every
// reply the callee's; both sides observe them.
type Transport interface {
	To(node Member) Replica
}

// Empty is the request or reply of operations that carry nothing.
type Empty struct{}

// Bucket operation names.
const (
	bucketCreate     = "create"
	bucketDelete     = "delete"
	bucketGet        = "get"
	bucketList       = "list"
	bucketVersioning = "versioning"
	bucketGetConfig  = "getconfig"
	bucketPutConfig  = "putconfig"
	bucketDelConfig  = "delconfig"
	bucketConfigs    = "configs" // all config documents (healing)
)

// BucketRequest is one bucket operation.
type BucketRequest struct {
	Op         string
	Bucket     string
	Versioning store.Versioning `json:",omitempty"`
	Kind       string           `json:",omitempty"`
	Doc        []byte           `json:",omitempty"`
	// Force deletes even a non-empty bucket's leftovers (rollback).
	Force bool `json:",omitempty"`
}

// BucketResponse answers a BucketRequest.
type BucketResponse struct {
	Info    store.BucketInfo   `json:",omitzero"`
	Buckets []store.BucketInfo `json:",omitempty"`
	Doc     []byte             `json:",omitempty"`
	Configs map[string][]byte  `json:",omitempty"`
}

// Mutation kinds of Prepare.
const (
	opPut      = "put"
	opDelete   = "delete"
	opTags     = "tags"
	opComplete = "complete"
)

// PrepareRequest stages one mutation of Bucket/Key under StageID.
type PrepareRequest struct {
	StageID string `json:",omitempty"`
	Direct  bool   `json:",omitempty"`
	Kind    string
	Bucket  string
	Key     string
	// put
	Size int64   `json:",omitempty"`
	Put  wirePut `json:",omitzero"`
	// delete
	Delete store.DeleteOptions `json:",omitzero"`
	// tags, stamped by the coordinator's clock (store.SetObjectTagsAt)
	VersionID string            `json:",omitempty"`
	Tags      map[string]string `json:",omitempty"`
	TagsStamp uint64            `json:",omitempty"`
	// complete
	UploadID string                `json:",omitempty"`
	Parts    []store.CompletePart  `json:",omitempty"`
	Complete store.CompleteOptions `json:",omitzero"`
}

// StageRef names a staged mutation. A commit may carry the version ID
// (and time) to write, minted by the coordinator after every replica's
// clock was observed in the prepare phase, so the new version sorts after
// everything those replicas hold even when the coordinator's clock is
// behind.
type StageRef struct {
	StageID   string
	VersionID string    `json:",omitempty"`
	ModTime   time.Time `json:",omitzero"`
}

// CommitResponse is the result of a committed mutation.
type CommitResponse struct {
	Info   store.ObjectInfo   `json:",omitzero"`
	Delete store.DeleteResult `json:",omitzero"`
}

// PutVersionRequest writes a version with pinned identity.
type PutVersionRequest struct {
	Bucket string
	Key    string
	Size   int64
	Opts   wirePut
	// Marker recreates a delete marker (no body).
	Marker bool `json:",omitempty"`
}

// DeleteVersionRequest removes one version for good.
type DeleteVersionRequest struct {
	Bucket string
	Key    string
	// InternalID is the version's ordering ID (also for the null version).
	InternalID string
	// Tombstone records a permanent-delete tombstone on the node.
	Tombstone bool `json:",omitempty"`
}

// GetRequest reads one version.
type GetRequest struct {
	Bucket string
	Key    string
	Opts   store.GetOptions
	Head   bool `json:",omitempty"`
}

// List kinds.
const (
	listObjects  = "objects"
	listVersions = "versions"
	listUploads  = "uploads"
)

// ListRequest asks for one page of versions or uploads.
type ListRequest struct {
	Kind     string
	Bucket   string
	Objects  store.ListOptions         `json:",omitzero"`
	Versions store.ListVersionsOptions `json:",omitzero"`
	Uploads  store.ListUploadsOptions  `json:",omitzero"`
}

// ListResponse is one page.
type ListResponse struct {
	Objects  store.ListResult         `json:",omitzero"`
	Versions store.ListVersionsResult `json:",omitzero"`
	Uploads  store.ListUploadsResult  `json:",omitzero"`
}

// Upload operations.
const (
	uploadCreate    = "create"
	uploadListParts = "parts"
	uploadAbort     = "abort"
)

// UploadRequest is one multipart-upload operation.
type UploadRequest struct {
	Op       string
	Bucket   string
	Key      string
	Create   store.UploadOptions    `json:",omitzero"`
	UploadID string                 `json:",omitempty"`
	Parts    store.ListPartsOptions `json:",omitzero"`
}

// UploadResponse answers an UploadRequest.
type UploadResponse struct {
	Upload store.UploadInfo      `json:",omitzero"`
	Parts  store.ListPartsResult `json:",omitzero"`
}

// PartRequest uploads one part.
type PartRequest struct {
	Bucket   string
	Key      string
	UploadID string
	Part     int
	Size     int64
	Opts     wirePart
}

// DigestRequest asks for the versions of keys in (After, Through] of a
// bucket (Through "" = no upper bound), at most Limit versions.
type DigestRequest struct {
	Bucket  string
	Prefix  string `json:",omitempty"`
	After   string
	Through string
	Limit   int
}

// Digest identifies one version for anti-entropy.
type Digest struct {
	Key          string
	ID           string // internal version ID
	Null         bool   `json:",omitempty"`
	DeleteMarker bool   `json:",omitempty"`
	ETag         string `json:",omitempty"`
	Size         int64  `json:",omitempty"`
	TagsStamp    uint64 `json:",omitempty"` // store.ObjectInfo.TagsStamp
}

// Tombstone records a version removed for good.
type Tombstone struct {
	Bucket string
	Key    string
	ID     string // internal version ID
	At     time.Time
}

// DigestResponse lists versions and tombstones in key order.
type DigestResponse struct {
	Digests    []Digest
	Tombstones []Tombstone `json:",omitempty"`
	// More: the range holds more versions than Limit; Next is the last key
	// covered completely.
	More bool   `json:",omitempty"`
	Next string `json:",omitempty"`
}

// MembersRequest carries a member registry.
type MembersRequest struct {
	Members []Member
}

// MembersResponse carries the merged registry.
type MembersResponse struct {
	Members []Member
}

// NodeStats is what a node holds.
type NodeStats struct {
	// Objects are keys whose latest version is not a delete marker;
	// Versions counts every version; Bytes their logical size.
	Objects  int64
	Versions int64
	Bytes    int64
	// Backlog is the number of versions its last anti-entropy pass found
	// missing or misplaced elsewhere and not yet repaired.
	Backlog int64
	// Healing: a pass is running.
	Healing  bool      `json:",omitempty"`
	LastHeal time.Time `json:",omitzero"`
	// LocalReads: the node holds read leases from every other member and
	// answers reads of the keys it replicates from its own store.
	LocalReads bool `json:",omitempty"`
}
