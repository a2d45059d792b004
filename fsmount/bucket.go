package fsmount

import (
	"context"
	"errors"
	"io"
	"time"
)

// Bucket is the object store a mount is built on: one bucket, addressed by
// full object keys. The file system declares it; S3Bucket implements it over
// S3 with minio-go and MemBucket in memory for tests.
//
// Contract:
//   - Every method is safe for concurrent use and honours ctx.
//   - Errors are (possibly wrapped) package sentinels where one applies:
//     ErrNotExist for a missing key, ErrPrecondition for a failed If-Match,
//     ErrAccessDenied, ErrNoBucket; transient failures have already been
//     retried by the implementation.
//   - Readers passed in (io.ReaderAt + size) may be read more than once, so
//     implementations can retry uploads.
type Bucket interface {
	// Stat returns the object's attributes and metadata (HEAD).
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// List calls fn for every object and common prefix under opts.Prefix,
	// across all pages, in key order within a page, until fn returns false.
	List(ctx context.Context, opts ListOptions, fn func(ListEntry) bool) error
	// Get returns the bytes [off, off+n) of the object (n < 0: to the end).
	// If etag is not empty the read fails with ErrPrecondition unless the
	// object still has that ETag.
	Get(ctx context.Context, key string, off, n int64, etag string) (io.ReadCloser, error)
	// Put stores size bytes read from r as the object key with meta.
	Put(ctx context.Context, key string, r io.ReaderAt, size int64, meta Meta) (ObjectInfo, error)
	// Copy copies src onto dst server-side. meta nil keeps the source's
	// metadata; otherwise meta's attribute keys replace the source's
	// (withAttrMeta), and its other user metadata and content headers
	// (Content-Type and the like) stay. src == dst changes metadata only.
	Copy(ctx context.Context, src, dst string, meta Meta) (ObjectInfo, error)
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error

	// Multipart upload.
	NewMultipart(ctx context.Context, key string, meta Meta) (uploadID string, err error)
	PutPart(ctx context.Context, key, uploadID string, num int, r io.ReaderAt, size int64) (Part, error)
	CompleteMultipart(ctx context.Context, key, uploadID string, parts []Part) (ObjectInfo, error)
	AbortMultipart(ctx context.Context, key, uploadID string) error
}

// VersionedBucket is the optional capability behind MOUNT/.versions,
// detected by type assertion on Config.Bucket (as database/sql/driver
// detects optional interfaces). Without it .versions is an ordinary name.
//
// Contract (in addition to Bucket's):
//   - ListVersions calls fn for every version, delete marker and (with a
//     delimiter) common prefix under opts.Prefix, across all pages, until
//     fn returns false. Keys come in ascending order; the entries of one
//     key come together, newest first; common prefixes may come anywhere.
//     An unversioned bucket lists one version per object, ID "null".
//   - GetVersion reads bytes [off, off+n) of one version (n < 0: to the
//     end); a missing version is ErrNotExist.
type VersionedBucket interface {
	ListVersions(ctx context.Context, opts ListOptions, fn func(VersionEntry) bool) error
	GetVersion(ctx context.Context, key, versionID string, off, n int64) (io.ReadCloser, error)
}

// NullVersion is the version ID S3 gives objects written while
// versioning is off (or suspended).
const NullVersion = "null"

// VersionEntry is one result of ListVersions: a version, a delete marker,
// or a common prefix (IsPrefix; only Key is set).
type VersionEntry struct {
	ObjectInfo   // VersionID is always set for versions and markers
	IsLatest     bool
	DeleteMarker bool
	IsPrefix     bool
}

// Sentinel errors of the Bucket interface. errnoOf maps them to errno values.
var (
	ErrNotExist     = errors.New("no such key")
	ErrNoBucket     = errors.New("no such bucket")
	ErrAccessDenied = errors.New("access denied")
	ErrPrecondition = errors.New("precondition failed")
	ErrUnavailable  = errors.New("endpoint unavailable")
)

// Meta is an object's user metadata: x-amz-meta-* names in lower case
// without the prefix ("mode", "uid", "gid", "mtime").
type Meta map[string]string

// ObjectInfo describes one object (or, in listings, one common prefix).
type ObjectInfo struct {
	Key          string
	Size         int64
	ETag         string
	LastModified time.Time
	Meta         Meta
	// HasMeta is true when Meta is authoritative: always after Stat, and in
	// listings only when the server returned metadata with the entry.
	HasMeta bool
	// VersionID is set by implementations that know it ("" otherwise).
	VersionID string
}

// ListOptions selects a listing.
type ListOptions struct {
	Prefix    string
	Delimiter string
	// StartAfter skips keys up to and including this one.
	StartAfter string
	// WithMeta asks the server to return user metadata with every entry
	// (the ListObjectsV2 metadata=true extension).
	WithMeta bool
	// PageSize bounds one page (0: the server's default, 1000).
	PageSize int
}

// ListEntry is one listing result: an object, or a common prefix (IsPrefix,
// Key ends in the delimiter).
type ListEntry struct {
	ObjectInfo
	IsPrefix bool
}

// Part is one uploaded part of a multipart upload.
type Part struct {
	Num  int
	ETag string
	Size int64
}

// copyLimit is the largest object a single CopyObject may copy.
const copyLimit = 5 << 30
