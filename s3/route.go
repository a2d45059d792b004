package s3

import (
	"net"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/gorilla/mux"

	"github.com/bucketdb/bucketdb/store"
)

// level is what a route's path addresses.
type level int

const (
	levelService level = iota // "/"
	levelBucket               // "/{bucket}" or "/{bucket}/"
	levelObject               // "/{bucket}/{key}"
)

// route is one row of the route table: an operation selected by method,
// path level, query markers ("uploads" = present, "list-type=2" = value)
// and optionally a header that must be present ("x-amz-copy-source") or
// whose media type must be the given one ("Content-Type=multipart/form-data").
type route struct {
	op      string
	method  string
	level   level
	queries []string
	header  string
}

// routes is THE route table. Order matters: the first match wins, so rows
// with more markers come before the plain ones.
var routes = []route{
	{"ListBuckets", http.MethodGet, levelService, nil, ""},

	// Bucket sub-resources.
	{"GetBucketLocation", http.MethodGet, levelBucket, []string{"location"}, ""},
	{"GetBucketVersioning", http.MethodGet, levelBucket, []string{"versioning"}, ""},
	{"PutBucketVersioning", http.MethodPut, levelBucket, []string{"versioning"}, ""},
	{"ListObjectVersions", http.MethodGet, levelBucket, []string{"versions"}, ""},
	{"ListMultipartUploads", http.MethodGet, levelBucket, []string{"uploads"}, ""},
	{"GetBucketTagging", http.MethodGet, levelBucket, []string{"tagging"}, ""},
	{"PutBucketTagging", http.MethodPut, levelBucket, []string{"tagging"}, ""},
	{"DeleteBucketTagging", http.MethodDelete, levelBucket, []string{"tagging"}, ""},
	{"GetBucketPolicy", http.MethodGet, levelBucket, []string{"policy"}, ""},
	{"GetBucketPolicyStatus", http.MethodGet, levelBucket, []string{"policyStatus"}, ""},
	{"PutBucketPolicy", http.MethodPut, levelBucket, []string{"policy"}, ""},
	{"DeleteBucketPolicy", http.MethodDelete, levelBucket, []string{"policy"}, ""},
	{"GetBucketCors", http.MethodGet, levelBucket, []string{"cors"}, ""},
	{"PutBucketCors", http.MethodPut, levelBucket, []string{"cors"}, ""},
	{"DeleteBucketCors", http.MethodDelete, levelBucket, []string{"cors"}, ""},
	{"GetBucketLifecycleConfiguration", http.MethodGet, levelBucket, []string{"lifecycle"}, ""},
	{"PutBucketLifecycleConfiguration", http.MethodPut, levelBucket, []string{"lifecycle"}, ""},
	{"DeleteBucketLifecycle", http.MethodDelete, levelBucket, []string{"lifecycle"}, ""},
	{"GetBucketAcl", http.MethodGet, levelBucket, []string{"acl"}, ""},
	{"PutBucketAcl", http.MethodPut, levelBucket, []string{"acl"}, ""},
	// Configurations not implemented, read as never set (unconfigured.go).
	{"GetBucketEncryption", http.MethodGet, levelBucket, []string{"encryption"}, ""},
	{"GetBucketOwnershipControls", http.MethodGet, levelBucket, []string{"ownershipControls"}, ""},
	{"GetPublicAccessBlock", http.MethodGet, levelBucket, []string{"publicAccessBlock"}, ""},
	{"GetObjectLockConfiguration", http.MethodGet, levelBucket, []string{"object-lock"}, ""},
	{"GetBucketWebsite", http.MethodGet, levelBucket, []string{"website"}, ""},
	{"GetBucketReplication", http.MethodGet, levelBucket, []string{"replication"}, ""},
	{"DeleteBucketEncryption", http.MethodDelete, levelBucket, []string{"encryption"}, ""},
	{"DeleteBucketWebsite", http.MethodDelete, levelBucket, []string{"website"}, ""},
	{"DeleteBucketReplication", http.MethodDelete, levelBucket, []string{"replication"}, ""},
	{"GetBucketLogging", http.MethodGet, levelBucket, []string{"logging"}, ""},
	{"GetBucketNotificationConfiguration", http.MethodGet, levelBucket, []string{"notification"}, ""},
	{"GetBucketAccelerateConfiguration", http.MethodGet, levelBucket, []string{"accelerate"}, ""},
	{"GetBucketRequestPayment", http.MethodGet, levelBucket, []string{"requestPayment"}, ""},
	{"DeleteObjects", http.MethodPost, levelBucket, []string{"delete"}, ""},
	{"PostObject", http.MethodPost, levelBucket, nil, "Content-Type=multipart/form-data"},
	{"CORSPreflight", http.MethodOptions, levelBucket, nil, ""},
	{"ListObjectsV2", http.MethodGet, levelBucket, []string{"list-type=2"}, ""},
	{"ListObjects", http.MethodGet, levelBucket, nil, ""},
	{"CreateBucket", http.MethodPut, levelBucket, nil, ""},
	{"HeadBucket", http.MethodHead, levelBucket, nil, ""},
	{"DeleteBucket", http.MethodDelete, levelBucket, nil, ""},

	// Object sub-resources.
	{"UploadPartCopy", http.MethodPut, levelObject, []string{"partNumber", "uploadId"}, "x-amz-copy-source"},
	{"UploadPart", http.MethodPut, levelObject, []string{"partNumber", "uploadId"}, ""},
	{"ListParts", http.MethodGet, levelObject, []string{"uploadId"}, ""},
	{"CompleteMultipartUpload", http.MethodPost, levelObject, []string{"uploadId"}, ""},
	{"AbortMultipartUpload", http.MethodDelete, levelObject, []string{"uploadId"}, ""},
	{"CreateMultipartUpload", http.MethodPost, levelObject, []string{"uploads"}, ""},
	{"GetObjectTagging", http.MethodGet, levelObject, []string{"tagging"}, ""},
	{"PutObjectTagging", http.MethodPut, levelObject, []string{"tagging"}, ""},
	{"DeleteObjectTagging", http.MethodDelete, levelObject, []string{"tagging"}, ""},
	{"GetObjectAcl", http.MethodGet, levelObject, []string{"acl"}, ""},
	{"PutObjectAcl", http.MethodPut, levelObject, []string{"acl"}, ""},
	{"GetObjectAttributes", http.MethodGet, levelObject, []string{"attributes"}, ""},
	// The lock extension (locks.go; NotImplemented unless the Backend is a
	// Locker).
	{"AcquireLock", http.MethodPost, levelObject, []string{"lock"}, ""},
	{"RenewLock", http.MethodPut, levelObject, []string{"lock"}, ""},
	{"ReleaseLock", http.MethodDelete, levelObject, []string{"lock"}, ""},
	{"GetLock", http.MethodGet, levelObject, []string{"lock"}, ""},
	{"CORSPreflight", http.MethodOptions, levelObject, nil, ""},
	{"CopyObject", http.MethodPut, levelObject, nil, "x-amz-copy-source"},
	{"PutObject", http.MethodPut, levelObject, nil, ""},
	{"GetObject", http.MethodGet, levelObject, nil, ""},
	{"HeadObject", http.MethodHead, levelObject, nil, ""},
	{"DeleteObject", http.MethodDelete, levelObject, nil, ""},
}

// unsupported are sub-resources S3 has and BucketDB does not implement:
// addressed with a method no row serves (some are read as never set) they
// answer NotImplemented instead of being mistaken for a plain object or
// bucket operation.
var unsupported = []string{
	"accelerate", "analytics", "attributes", "encryption",
	"intelligent-tiering", "inventory", "legal-hold", "logging", "metrics",
	"notification", "object-lock", "ownershipControls", "policyStatus",
	"publicAccessBlock", "replication", "requestPayment", "restore",
	"retention", "select", "website", "torrent",
}

// buildRouter returns the gorilla/mux router that tells the path levels
// apart (route names are the levels, with the bucket and key as variables)
// and the handler of each operation. The operation within a level is chosen
// by selectOp from the route table: one pass over a few rows with the query
// parsed once, instead of a path regexp per row.
func (s *Server) buildRouter() (*mux.Router, map[string]handler) {
	handlers := s.handlers()
	for _, rw := range routes {
		if handlers[rw.op] == nil {
			panic("s3: no handler for " + rw.op)
		}
	}
	rt := mux.NewRouter().SkipClean(true)
	rt.NewRoute().Name(levelNames[levelService]).Path("/")
	rt.NewRoute().Name(levelNames[levelBucket]).Path("/{bucket}")
	rt.NewRoute().Name(levelNames[levelBucket]).Path("/{bucket}/")
	rt.NewRoute().Name(levelNames[levelObject]).Path(`/{bucket}/{key:[\s\S]+}`)
	handlers["NotImplemented"] = func(http.ResponseWriter, *http.Request, *call) error { return ErrNotImplemented }
	return rt, handlers
}

var levelNames = map[level]string{levelService: "service", levelBucket: "bucket", levelObject: "object"}

// selectOp returns the operation of the route table that r addresses at
// path level lv (first matching row wins; rows with query markers first),
// "NotImplemented" for a sub-resource no row serves with r's method, or ""
// when no row matches.
func selectOp(lv level, r *http.Request) string {
	q := r.URL.Query()
	match := func(withMarkers bool) string {
		for _, rw := range routes {
			if (len(rw.queries) > 0) == withMarkers && rw.level == lv && rw.method == r.Method &&
				queryMatches(q, rw.queries) && headerMatches(r.Header, rw.header) {
				return rw.op
			}
		}
		return ""
	}
	if op := match(true); op != "" {
		return op
	}
	if lv != levelService {
		for _, k := range unsupported {
			if _, ok := q[k]; ok {
				return "NotImplemented"
			}
		}
	}
	return match(false)
}

// route matches r to an operation: its name and the bucket and key the path
// names ("" op when none).
func (s *Server) route(r *http.Request) (op, bucket, key string) {
	var m mux.RouteMatch
	if !s.router.Match(r, &m) || m.Route == nil {
		return "", "", ""
	}
	var lv level
	switch m.Route.GetName() {
	case levelNames[levelBucket]:
		lv = levelBucket
	case levelNames[levelObject]:
		lv = levelObject
	}
	return selectOp(lv, r), m.Vars["bucket"], m.Vars["key"]
}

// handlers maps operation names to their implementations.
func (s *Server) handlers() map[string]handler {
	h := map[string]handler{
		"ListBuckets":                     s.listBuckets,
		"GetBucketAcl":                    s.getBucketACL,
		"PutBucketAcl":                    s.putBucketACL,
		"GetObjectAcl":                    s.getObjectACL,
		"GetObjectAttributes":             s.getObjectAttributes,
		"GetBucketPolicyStatus":           s.getBucketPolicyStatus,
		"PutObjectAcl":                    s.putObjectACL,
		"CreateBucket":                    s.createBucket,
		"HeadBucket":                      s.headBucket,
		"DeleteBucket":                    s.deleteBucket,
		"GetBucketLocation":               s.getBucketLocation,
		"GetBucketVersioning":             s.getBucketVersioning,
		"PutBucketVersioning":             s.putBucketVersioning,
		"ListObjectVersions":              s.listObjectVersions,
		"ListMultipartUploads":            s.listMultipartUploads,
		"GetBucketTagging":                s.getBucketTagging,
		"PutBucketTagging":                s.putBucketTagging,
		"DeleteBucketTagging":             s.deleteBucketTagging,
		"GetBucketPolicy":                 s.getBucketPolicy,
		"PutBucketPolicy":                 s.putBucketPolicy,
		"DeleteBucketPolicy":              s.deleteBucketPolicy,
		"GetBucketCors":                   s.getBucketCors,
		"PutBucketCors":                   s.putBucketCors,
		"DeleteBucketCors":                s.deleteBucketCors,
		"GetBucketLifecycleConfiguration": s.getBucketLifecycle,
		"PutBucketLifecycleConfiguration": s.putBucketLifecycle,
		"DeleteBucketLifecycle":           s.deleteBucketLifecycle,
		"DeleteObjects":                   s.deleteObjects,
		"PostObject":                      s.postObject,
		"CORSPreflight":                   s.corsPreflight,
		"ListObjectsV2":                   s.listObjectsV2,
		"ListObjects":                     s.listObjectsV1,
		"UploadPartCopy":                  s.uploadPartCopy,
		"UploadPart":                      s.uploadPart,
		"ListParts":                       s.listParts,
		"CompleteMultipartUpload":         s.completeMultipartUpload,
		"AbortMultipartUpload":            s.abortMultipartUpload,
		"CreateMultipartUpload":           s.createMultipartUpload,
		"GetObjectTagging":                s.getObjectTagging,
		"PutObjectTagging":                s.putObjectTagging,
		"DeleteObjectTagging":             s.deleteObjectTagging,
		"AcquireLock":                     s.acquireLock,
		"RenewLock":                       s.renewLock,
		"ReleaseLock":                     s.releaseLock,
		"GetLock":                         s.getLock,
		"CopyObject":                      s.copyObject,
		"PutObject":                       s.putObject,
		"GetObject":                       s.getObject,
		"HeadObject":                      s.headObject,
		"DeleteObject":                    s.deleteObject,
	}
	s.addUnconfiguredHandlers(h)
	return h
}

// queryMatches reports whether every marker is present in q ("uploads")
// or has the given value ("list-type=2").
func queryMatches(q url.Values, markers []string) bool {
	for _, m := range markers {
		k, v, hasValue := strings.Cut(m, "=")
		vs, ok := q[k]
		if !ok || hasValue && (len(vs) == 0 || vs[0] != v) {
			return false
		}
	}
	return true
}

// headerMatches reports whether h satisfies a route's header marker: ""
// always, "name" when the header is set, "name=media/type" when the
// header's media type (parameters ignored) is that one, in any case.
func headerMatches(h http.Header, marker string) bool {
	if marker == "" {
		return true
	}
	name, want, hasValue := strings.Cut(marker, "=")
	v := h.Get(name)
	if !hasValue {
		return v != ""
	}
	mt, _, _ := strings.Cut(v, ";")
	return strings.EqualFold(strings.TrimSpace(mt), want)
}

// operation names the operation r addresses ("" when none), for tests and
// for tools that want the same classification as the server.
func (s *Server) operation(r *http.Request) string {
	if s.healthHandler(r) != nil {
		return healthOp(r)
	}
	op, _, _ := s.route(s.addressed(r))
	return op
}

// addressed folds virtual-host-style addressing into the path: for Host
// "bucket.<domain>" it returns a shallow copy of r whose path starts with
// "/bucket". The original request (as signed) is left untouched.
func (s *Server) addressed(r *http.Request) *http.Request {
	bucket := s.hostBucket(r.Host)
	if bucket == "" {
		return r
	}
	r2 := new(http.Request)
	*r2 = *r
	u := new(url.URL)
	*u = *r.URL
	u.Path = "/" + bucket + r.URL.Path
	if u.RawPath != "" {
		u.RawPath = "/" + bucket + r.URL.RawPath
	}
	r2.URL = u
	return r2
}

// hostBucket returns the bucket named by a virtual-host Host header.
func (s *Server) hostBucket(host string) string {
	if len(s.cfg.Domains) == 0 {
		return ""
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(host)
	for _, d := range s.cfg.Domains {
		d = strings.ToLower(d)
		if b, ok := strings.CutSuffix(host, "."+d); ok && b != "" {
			return b
		}
	}
	return ""
}

// checkKey validates the object key of object-level operations.
func checkKey(c *call) error {
	if c.key == "" {
		return nil
	}
	if len(c.key) > store.MaxKeyLength {
		return ErrKeyTooLong
	}
	if !utf8.ValidString(c.key) {
		return ErrInvalidArgument.WithMessage("Object key is not valid UTF-8.")
	}
	return nil
}

// checkVersionID refuses an object request whose versionId parameter is
// present but empty, as S3 does: read as absent, it would address the
// latest version instead (a DeleteObject would remove the object).
func checkVersionID(r *http.Request, c *call) error {
	if c.key == "" {
		return nil
	}
	v, ok := r.URL.Query()["versionId"]
	if !ok {
		return nil
	}
	id := strings.Join(v, "")
	if id == "" {
		return ErrInvalidArgument.WithMessage("Version id cannot be the empty string.")
	}
	if _, minted := store.VersionIDTime(id); !minted && id != "null" {
		// No version ever has this ID; S3 says so rather than NoSuchVersion.
		return ErrInvalidArgument.WithMessage("Invalid version id specified")
	}
	return nil
}
