package s3

import (
	"context"
	"io"

	"github.com/bucketdb/bucketdb/store"
)

// Backend is the object layer the S3 protocol layer consumes. *cluster.Node
// implements it (cmd/ wires them and checks it at compile time).
//
// Contract:
//   - Every method is safe for concurrent use.
//   - Errors are the store sentinels (store.ErrNoSuchKey, …), possibly
//     wrapped; anything else becomes InternalError.
//   - Version IDs, null-version handling and the versioned/unversioned
//     delete decision are the Backend's: callers leave PutOptions.VersionID,
//     PutOptions.Null, DeleteOptions.MarkerVersionID, DeleteOptions.Null and
//     DeleteOptions.Versioned zero.
//   - Readers passed in are read to EOF or until an error; size is the exact
//     body length (-1 is not allowed). Returned ReadClosers must be closed.
type Backend interface {
	ListBuckets(ctx context.Context) ([]store.BucketInfo, error)
	CreateBucket(ctx context.Context, bucket string) error
	GetBucket(ctx context.Context, bucket string) (store.BucketInfo, error)
	DeleteBucket(ctx context.Context, bucket string) error
	SetBucketVersioning(ctx context.Context, bucket string, v store.Versioning) error

	// Bucket sub-resources stored as opaque documents (tagging, lifecycle,
	// policy, cors, …) keyed by kind. Missing: store.ErrNoSuchConfig.
	GetBucketConfig(ctx context.Context, bucket, kind string) ([]byte, error)
	PutBucketConfig(ctx context.Context, bucket, kind string, doc []byte) error
	DeleteBucketConfig(ctx context.Context, bucket, kind string) error

	PutObject(ctx context.Context, bucket, key string, r io.Reader, size int64, opts store.PutOptions) (store.ObjectInfo, error)
	GetObject(ctx context.Context, bucket, key string, opts store.GetOptions) (store.ObjectInfo, io.ReadCloser, error)
	HeadObject(ctx context.Context, bucket, key string, opts store.GetOptions) (store.ObjectInfo, error)
	DeleteObject(ctx context.Context, bucket, key string, opts store.DeleteOptions) (store.DeleteResult, error)
	// SetObjectTags replaces the tags of a version ("" = latest); nil removes them.
	SetObjectTags(ctx context.Context, bucket, key, versionID string, tags map[string]string) (store.ObjectInfo, error)
	ListObjects(ctx context.Context, bucket string, opts store.ListOptions) (store.ListResult, error)
	ListObjectVersions(ctx context.Context, bucket string, opts store.ListVersionsOptions) (store.ListVersionsResult, error)

	CreateMultipartUpload(ctx context.Context, bucket, key string, meta store.ObjectMeta) (store.UploadInfo, error)
	UploadPart(ctx context.Context, bucket, key, uploadID string, part int, r io.Reader, size int64, opts store.PartOptions) (store.PartInfo, error)
	ListParts(ctx context.Context, bucket, key, uploadID string, opts store.ListPartsOptions) (store.ListPartsResult, error)
	CompleteMultipartUpload(ctx context.Context, bucket, key, uploadID string, parts []store.CompletePart, opts store.CompleteOptions) (store.ObjectInfo, error)
	AbortMultipartUpload(ctx context.Context, bucket, key, uploadID string) error
	ListMultipartUploads(ctx context.Context, bucket string, opts store.ListUploadsOptions) (store.ListUploadsResult, error)
}
