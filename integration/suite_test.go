package integration

import (
	"testing"
)

// suiteCase is one end-to-end object test. It runs against a single node
// (TestObjectSuite) and through every node of a three-node cluster
// (TestClusterObjectSuite); heavy cases run through one cluster node only.
type suiteCase struct {
	name  string
	heavy bool // large bodies or thousands of requests
	fn    func(t *testing.T, tg *target)
}

// objectSuite is every S3 behaviour of the foundation and the
// versioning/multipart issues that a client can observe.
var objectSuite = []suiteCase{
	// buckets
	{name: "Buckets", fn: testBuckets},
	{name: "BucketNames", fn: testBucketNames},
	{name: "DeleteBucketNotEmpty", fn: testDeleteBucketNotEmpty},
	// objects
	{name: "PutGetMetadata", fn: testPutGetMetadata},
	{name: "KeyNames", fn: testKeyNames},
	{name: "ContentMD5", fn: testContentMD5},
	{name: "TrailingChecksum", fn: testTrailingChecksum},
	{name: "LargeStream", heavy: true, fn: testLargeStream},
	{name: "Ranges", fn: testRanges},
	{name: "Conditional", fn: testConditional},
	{name: "ResponseOverrides", fn: testResponseOverrides},
	{name: "Copy", fn: testCopy},
	{name: "CopyConditions", fn: testCopyConditions},
	{name: "BatchDelete", fn: testBatchDelete},
	{name: "ACLs", fn: testACLs},
	{name: "PolicyPublicRead", fn: testPolicyPublicRead},
	{name: "CORS", fn: testCORS},
	{name: "ObjectAttributes", fn: testObjectAttributes},
	// listing
	{name: "ListLarge", heavy: true, fn: testListLarge},
	{name: "ListDelimiters", fn: testListDelimiters},
	{name: "ListEncoding", fn: testListEncoding},
	// errors
	{name: "Errors", fn: testErrors},
	{name: "AuthErrors", fn: testAuthErrors},
	{name: "MalformedXML", fn: testMalformedXML},
	// versioning
	{name: "Versioning", fn: testVersioning},
	{name: "VersioningSuspended", fn: testVersioningSuspended},
	{name: "VersionsBatchDelete", fn: testVersionsBatchDelete},
	{name: "ListVersionsPaging", heavy: true, fn: testListVersionsPaging},
	// multipart
	{name: "MultipartStream", heavy: true, fn: testMultipartStream},
	{name: "MultipartManual", fn: testMultipartManual},
	{name: "MultipartErrors", fn: testMultipartErrors},
	{name: "MultipartListing", fn: testMultipartListing},
	{name: "UploadPartCopy", fn: testUploadPartCopy},
	{name: "MultipartAbortFreesSpace", fn: testMultipartAbortFreesSpace},
	{name: "PartNumberGet", fn: testPartNumberGet},
	// other clients
	{name: "AWSSDK", fn: testAWSSDK},
	{name: "Presigned", fn: testPresigned},
	{name: "SignatureV2", fn: testSignatureV2},
}

// TestObjectSuite runs the object suite against one single node. The cases
// run one after another (the disk-space case measures the data directory);
// the top-level tests of this package, each with its own servers, run in
// parallel with each other (go test -parallel, GOMAXPROCS by default), as
// much of their time is spent waiting on fsync.
func TestObjectSuite(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	tg := newTarget(t, s, nil)
	for _, sc := range objectSuite {
		t.Run(sc.name, func(t *testing.T) { sc.fn(t, tg) })
	}
}
