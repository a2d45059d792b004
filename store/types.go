package store

import (
	"errors"
	"time"
)

// Sentinel errors of the object layer. Every layer above compares them with
// errors.Is; s3/ maps them to S3 error codes in exactly one place.
var (
	ErrNoSuchBucket        = errors.New("no such bucket")
	ErrBucketExists        = errors.New("bucket already exists")
	ErrBucketNotEmpty      = errors.New("bucket not empty")
	ErrNoSuchKey           = errors.New("no such key")
	ErrNoSuchVersion       = errors.New("no such version")
	ErrNoSuchUpload        = errors.New("no such upload")
	ErrInvalidPart         = errors.New("invalid part")
	ErrInvalidPartOrder    = errors.New("invalid part order")
	ErrEntityTooSmall      = errors.New("entity too small")
	ErrBadDigest           = errors.New("content digest mismatch")
	ErrIncompleteBody      = errors.New("body shorter than declared size")
	ErrPreconditionFailed  = errors.New("precondition failed")
	ErrConditionalConflict = errors.New("conditional request conflict")
	ErrStaleFencingToken   = errors.New("stale fencing token")
	ErrChecksumMismatch    = errors.New("stored data checksum mismatch")
	ErrNoSuchConfig        = errors.New("no such bucket configuration")
	ErrMethodNotAllowed    = errors.New("method not allowed on a delete marker")
	ErrInvalidRange        = errors.New("invalid range")
	ErrClosed              = errors.New("store closed")
	ErrDiskFull            = errors.New("free disk space below the floor")
	ErrLockConflict        = errors.New("lock held by another owner")
	ErrLockLost            = errors.New("lock lease expired or taken")
	ErrNoSuchLock          = errors.New("no such lock")
	// ErrUnavailable: not enough replicas answered to reach a quorum.
	ErrUnavailable = errors.New("not enough replicas available")
	// ErrInvalidArgument: a parameter is out of range or malformed (part
	// number, version ID supplied by a caller, key with a NUL byte, …).
	ErrInvalidArgument = errors.New("invalid argument")
)

// NullVersionID is the version ID S3 shows for objects written while a bucket
// was unversioned or versioning was suspended.
const NullVersionID = "null"

// Versioning is a bucket's versioning state.
type Versioning string

const (
	VersioningOff       Versioning = ""          // never enabled
	VersioningEnabled   Versioning = "Enabled"   // every write makes a new version
	VersioningSuspended Versioning = "Suspended" // writes replace the null version
)

// BucketInfo describes a bucket.
type BucketInfo struct {
	Name       string
	Created    time.Time
	Versioning Versioning
}

// ObjectInfo is the metadata of one object version (or delete marker).
type ObjectInfo struct {
	Bucket       string
	Key          string
	VersionID    string // "null" for the null version
	IsLatest     bool
	DeleteMarker bool
	Size         int64
	ETag         string // quoted-less hex MD5, or "<md5>-N" for multipart
	ModTime      time.Time

	// Standard headers stored with the object and returned on GET/HEAD.
	ContentType        string
	CacheControl       string
	ContentDisposition string
	ContentEncoding    string
	ContentLanguage    string
	Expires            string

	// UserMeta holds x-amz-meta-* values keyed by the lower-case suffix
	// ("mode" for x-amz-meta-mode).
	UserMeta map[string]string
	// Checksums holds x-amz-checksum-* values keyed by lower-case algorithm
	// name ("crc32", "crc32c", "sha1", "sha256", "crc64nvme"), base64 as sent.
	Checksums map[string]string
	// Tags are the object's tags (issue: tagging); nil when none.
	Tags map[string]string
	// Parts is set for objects completed from a multipart upload.
	Parts []PartInfo
	// TagsStamp orders the changes of this version's tags across replicas:
	// the coordinator's clock when they were last set, 0 while they are the
	// ones the version was written with.
	TagsStamp uint64
	// InternalVersionID is the ID that orders this version among the key's
	// versions. It equals VersionID except for the null version, which shows
	// "null" but keeps the ID it was written with (replication needs it to
	// recreate the version exactly: PutOptions{VersionID: it, Null: true}).
	InternalVersionID string
}

// PartInfo describes one uploaded part, or one part of a completed object.
type PartInfo struct {
	Number    int
	Size      int64
	ETag      string // hex MD5 of the part
	ModTime   time.Time
	Checksums map[string]string
}

// ObjectMeta is what a writer supplies besides the body.
type ObjectMeta struct {
	ContentType        string
	CacheControl       string
	ContentDisposition string
	ContentEncoding    string
	ContentLanguage    string
	Expires            string
	UserMeta           map[string]string
	Checksums          map[string]string
	Tags               map[string]string
	// ChecksumAlgorithm and ChecksumType are set on a multipart upload
	// created with a checksum algorithm (x-amz-checksum-algorithm, keyed like
	// Checksums: "sha256") and its type (ChecksumComposite or
	// ChecksumFullObject): completion stores that algorithm's checksum of
	// the object. Object versions do not keep them.
	ChecksumAlgorithm string `json:",omitempty"`
	ChecksumType      string `json:",omitempty"`
}

// Checksum types of a multipart upload's object checksum.
const (
	// ChecksumComposite: the checksum of the concatenated part checksums,
	// stored as "<base64>-<parts>".
	ChecksumComposite = "COMPOSITE"
	// ChecksumFullObject: the CRC of the whole object, combined from the
	// part CRCs (CRC32, CRC32C and CRC64NVME only).
	ChecksumFullObject = "FULL_OBJECT"
)

// Conditions are the preconditions a write checks atomically with its
// commit against the current latest version of the key.
type Conditions struct {
	IfMatch     string // ETag the latest version must have
	IfNoneMatch string // "*": the key must not exist (or its latest is a delete marker)
	// FencingToken, when > 0, must be >= the highest fencing token issued
	// for the key (ErrStaleFencingToken otherwise).
	FencingToken uint64
	// CondLock, when > 0, is the fencing token of the conditional-write lock
	// the coordinator holds (LockSpaceCond): the commit fails with
	// ErrConditionalConflict if a newer one was granted for the key.
	CondLock uint64 `json:",omitempty"`
}

// PutOptions controls a write of a new version.
type PutOptions struct {
	// VersionID is minted by the coordinator with NewVersionID; it orders
	// versions of a key. Empty: the store mints one itself.
	VersionID string
	// Null stores the version as the null version (unversioned or suspended
	// bucket): it replaces the previous null version, and is shown as "null".
	Null bool
	Meta ObjectMeta
	// ContentMD5, when set (raw 16 bytes), must equal the body's MD5.
	ContentMD5 []byte
	Cond       Conditions
	// ModTime overrides the modification time (replication); zero = now.
	ModTime time.Time
	// TagsStamp is the version's ObjectInfo.TagsStamp (replication copies
	// keep it); 0 for a new version.
	TagsStamp uint64
	// ETag, when set, is kept instead of the MD5 computed from the body
	// (replication/healing recreating a multipart object).
	ETag string
	// Parts, when set, is the part layout of a multipart object being
	// recreated (sizes must add up to the object size), so that partNumber
	// reads work on a healed replica.
	Parts []PartInfo
	// ChecksumsFunc, when set, returns checksums of the body that are only
	// known once it has been read (aws-chunked trailer checksums, keyed like
	// ObjectMeta.Checksums). The store calls it after reading the body to
	// EOF and before committing, and stores its entries merged over
	// Meta.Checksums. Optional; nil means none.
	ChecksumsFunc func() map[string]string
}

// Range is a resolved byte range [Start, Start+Length).
type Range struct {
	Start, Length int64
}

// GetOptions selects what GetObject returns.
type GetOptions struct {
	VersionID  string // "" = latest
	Range      *Range // nil = whole object (after PartNumber selection)
	PartNumber int    // >0: only that part of a multipart object
}

// DeleteOptions controls DeleteObject.
type DeleteOptions struct {
	// VersionID: "" writes a delete marker (versioned) or removes the null
	// version (unversioned); otherwise that version is removed for good.
	VersionID string
	// MarkerVersionID is the ID for the delete marker, minted by the
	// coordinator; empty = the store mints one.
	MarkerVersionID string
	// Null makes the delete marker the null version (suspended bucket).
	Null bool
	// Versioned: the bucket has versioning Enabled or Suspended, so a delete
	// without VersionID writes a marker instead of removing the object.
	Versioned bool
	Cond      Conditions
	// ModTime of the delete marker (replication); zero = the time in its
	// version ID.
	ModTime time.Time
}

// DeleteResult says what a delete did.
type DeleteResult struct {
	VersionID    string // the removed version, or the new marker's ID
	DeleteMarker bool   // a marker was written, or the removed version was one
}

// ListOptions are the ListObjects (V1/V2) parameters, already decoded.
type ListOptions struct {
	Prefix    string
	Delimiter string
	// Marker: list keys strictly after it (V1 marker, V2 start-after or
	// continuation token, decoded).
	Marker  string
	MaxKeys int
	// Tags, when set, lists only keys whose latest version carries every
	// one of these tags (an extension of S3), found through the tag index
	// rather than by scanning the bucket.
	Tags map[string]string `json:",omitempty"`
}

// ListResult is one page of a listing. Objects and CommonPrefixes are both
// in key order; together at most MaxKeys entries.
type ListResult struct {
	Objects        []ObjectInfo
	CommonPrefixes []string
	IsTruncated    bool
	// NextMarker is the last key or common prefix returned when truncated.
	NextMarker string
}

// ListVersionsOptions are the ListObjectVersions parameters.
type ListVersionsOptions struct {
	Prefix          string
	Delimiter       string
	KeyMarker       string
	VersionIDMarker string
	MaxKeys         int
}

// ListVersionsResult is one page of versions: key ascending, newest first.
type ListVersionsResult struct {
	Versions            []ObjectInfo // includes delete markers (DeleteMarker set)
	CommonPrefixes      []string
	IsTruncated         bool
	NextKeyMarker       string
	NextVersionIDMarker string
}

// UploadInfo describes an in-progress multipart upload.
type UploadInfo struct {
	Bucket    string
	Key       string
	UploadID  string
	Initiated time.Time
	Meta      ObjectMeta
}

// UploadOptions controls CreateUpload, the form of CreateMultipartUpload
// that lets a coordinator pin the upload ID on every replica.
type UploadOptions struct {
	UploadID  string    // "" = the store mints one (same form as version IDs)
	Initiated time.Time // zero = now
	Meta      ObjectMeta
}

// PartOptions controls UploadPart.
type PartOptions struct {
	ContentMD5 []byte
	Checksums  map[string]string
	// ChecksumsFunc is as PutOptions.ChecksumsFunc: called after the part
	// body reached EOF, before the part is committed; its entries are
	// merged over Checksums. Optional.
	ChecksumsFunc func() map[string]string
}

// CompletePart names a part in CompleteMultipartUpload.
type CompletePart struct {
	Number int
	ETag   string // as sent, quotes optional
	// Checksums the client sent for the part, keyed like
	// ObjectMeta.Checksums; each must equal what the part was stored with.
	Checksums map[string]string `json:",omitempty"`
}

// CompleteOptions controls CompleteMultipartUpload.
type CompleteOptions struct {
	VersionID string
	Null      bool
	Cond      Conditions
	// Checksums the client expects of the object, keyed like
	// ObjectMeta.Checksums (composite values end in "-<parts>"): a value
	// for the upload's algorithm that differs from the one computed is
	// ErrBadDigest.
	Checksums map[string]string `json:",omitempty"`
}

// ListPartsOptions pages ListParts.
type ListPartsOptions struct {
	PartNumberMarker int
	MaxParts         int
}

// ListPartsResult is one page of parts.
type ListPartsResult struct {
	Upload               UploadInfo
	Parts                []PartInfo
	IsTruncated          bool
	NextPartNumberMarker int
}

// ListUploadsOptions pages ListMultipartUploads.
type ListUploadsOptions struct {
	Prefix         string
	Delimiter      string
	KeyMarker      string
	UploadIDMarker string
	MaxUploads     int
}

// ListUploadsResult is one page of uploads.
type ListUploadsResult struct {
	Uploads            []UploadInfo
	CommonPrefixes     []string
	IsTruncated        bool
	NextKeyMarker      string
	NextUploadIDMarker string
}

// Limits of S3 that the store enforces.
const (
	MaxKeyLength  = 1024
	MaxPartNumber = 10000
	MinPartSize   = 5 << 20
	MaxObjectSize = 5 << 40
	MaxPutSize    = 5 << 30
	MaxListKeys   = 1000
)
