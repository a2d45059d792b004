package s3

import (
	"encoding/base64"
	"hash"
	"io"
	"maps"
	"net/http"
	"regexp"
	"strings"

	"github.com/bucketdb/bucketdb/store"
)

// Checksum algorithms of the S3 flexible-checksum API. A value travels as
// the base64 of the big-endian digest, in a request header
// (x-amz-checksum-crc32c: sOO8/Q==) or in an aws-chunked trailer.
//
// The names below are the keys of Payload.Checksums.
const (
	ChecksumCRC32     = "crc32"
	ChecksumCRC32C    = "crc32c"
	ChecksumSHA1      = "sha1"
	ChecksumSHA256    = "sha256"
	ChecksumCRC64NVME = "crc64nvme"
)

// checksumHeaderPrefix starts every checksum value header and trailer name.
const checksumHeaderPrefix = "x-amz-checksum-"

// checksumAlgos lists the supported algorithms with their digest size; the
// hashes themselves are the store's (store.ChecksumHash), which combines
// multipart checksums with the same ones.
var checksumAlgos = func() []checksumAlgo {
	var out []checksumAlgo
	for _, name := range []string{ChecksumCRC32, ChecksumCRC32C, ChecksumSHA1, ChecksumSHA256, ChecksumCRC64NVME} {
		newHash, size, ok := store.ChecksumHash(name)
		if !ok {
			panic("s3: the store has no checksum algorithm " + name)
		}
		out = append(out, checksumAlgo{name: name, size: size, new: newHash})
	}
	return out
}()

type checksumAlgo struct {
	name string
	size int
	new  func() hash.Hash
}

// checksumAlgoIndex returns the index in checksumAlgos of the algorithm
// named by a header or trailer name ("x-amz-checksum-crc32c", any case) or a
// bare algorithm name ("CRC32C"); -1 if it is none of them. Other headers
// that share the prefix (x-amz-checksum-algorithm, -type, -mode) are not
// checksum values and give -1.
func checksumAlgoIndex(name string) int {
	name = strings.ToLower(strings.TrimSpace(name))
	name = strings.TrimPrefix(name, checksumHeaderPrefix)
	for i, a := range checksumAlgos {
		if a.name == name {
			return i
		}
	}
	return -1
}

// checksumSet hashes a byte stream with a chosen set of algorithms and
// compares the results with expected values. It is not safe for
// concurrent use.
type checksumSet struct {
	hashes   [5]hash.Hash // by index in checksumAlgos; nil = not computed
	expected [5]string    // base64 values to verify; "" = none yet
}

// newHeaderChecksums returns a set that verifies every x-amz-checksum-<algo>
// header of h. A value that is not the base64 of a digest of the right size
// is an InvalidRequest error.
func newHeaderChecksums(h http.Header) (*checksumSet, error) {
	cs := &checksumSet{}
	for i, a := range checksumAlgos {
		v := h.Get(checksumHeaderPrefix + a.name)
		if v == "" {
			continue
		}
		if !validChecksumValue(i, v) {
			return nil, ErrInvalidRequest.WithMessage("Value for %s%s header is invalid.", checksumHeaderPrefix, a.name)
		}
		cs.add(i)
		cs.expected[i] = v
	}
	return cs, nil
}

func validChecksumValue(i int, v string) bool {
	b, err := base64.StdEncoding.DecodeString(v)
	return err == nil && len(b) == checksumAlgos[i].size
}

// add makes the set compute algorithm i.
func (cs *checksumSet) add(i int) {
	if cs.hashes[i] == nil {
		cs.hashes[i] = checksumAlgos[i].new()
	}
}

func (cs *checksumSet) Write(p []byte) {
	for _, h := range cs.hashes {
		if h != nil {
			h.Write(p)
		}
	}
}

// expect records a value (from a trailer) to verify for algorithm i. The
// algorithm must have been computed from the start: a value for one that
// was not announced cannot be checked and is a MalformedTrailer error.
func (cs *checksumSet) expect(i int, v string) error {
	name := checksumAlgos[i].name
	if cs.hashes[i] == nil {
		return ErrMalformedTrailer.WithMessage("The trailer %s%s was not declared in x-amz-trailer.", checksumHeaderPrefix, name)
	}
	if !validChecksumValue(i, v) {
		return ErrInvalidRequest.WithMessage("Value for %s%s trailing header is invalid.", checksumHeaderPrefix, name)
	}
	if cs.expected[i] != "" && cs.expected[i] != v {
		return ErrBadDigest.WithMessage("The %s%s header and trailer disagree.", checksumHeaderPrefix, name)
	}
	cs.expected[i] = v
	return nil
}

// verify compares every expected value with what was computed. It returns
// the verified values keyed by algorithm name, or a BadDigest error naming
// the first algorithm that did not match.
func (cs *checksumSet) verify() (map[string]string, error) {
	out := make(map[string]string)
	for i, h := range cs.hashes {
		if h == nil || cs.expected[i] == "" {
			continue
		}
		got := base64.StdEncoding.EncodeToString(h.Sum(nil))
		if got != cs.expected[i] {
			name := checksumAlgos[i].name
			return nil, ErrBadDigest.WithMessage("The %s you specified did not match the calculated checksum (%s%s).", strings.ToUpper(name), checksumHeaderPrefix, name)
		}
		out[checksumAlgos[i].name] = got
	}
	return out, nil
}

// Multipart uploads with a checksum algorithm (x-amz-checksum-algorithm
// and x-amz-checksum-type of CreateMultipartUpload). Every part carries a
// checksum of the upload's algorithm and completion gives the object a
// checksum computed from them by the object layer: COMPOSITE (the hash of
// the part checksums, "<base64>-<parts>") or FULL_OBJECT (the CRC of the
// whole object). S3 User Guide, "Checking object integrity": "Using
// part-level checksums for multipart uploads".

// compositeSum is a checksum of part checksums ("<base64>-<parts>").
var compositeSum = regexp.MustCompile(`-[0-9]+$`)

// checksumTypeHeader names the checksum type of an upload or an object.
const checksumTypeHeader = "x-amz-checksum-type"

// uploadChecksumFromHeaders reads the checksum algorithm (as keyed in
// ObjectMeta.Checksums) and type of a CreateMultipartUpload, with S3's
// default type when only the algorithm is given; "", "" for an upload
// without one.
func uploadChecksumFromHeaders(h http.Header) (algo, typ string, err error) {
	a := strings.TrimSpace(h.Get("x-amz-checksum-algorithm"))
	typ = strings.ToUpper(strings.TrimSpace(h.Get(checksumTypeHeader)))
	if a == "" {
		if typ != "" {
			return "", "", ErrInvalidRequest.WithMessage("The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.")
		}
		return "", "", nil
	}
	i := checksumAlgoIndex(a)
	if i < 0 || strings.HasPrefix(strings.ToLower(a), checksumHeaderPrefix) {
		return "", "", ErrInvalidRequest.WithMessage("Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]")
	}
	algo = checksumAlgos[i].name
	switch typ {
	case "":
		typ = store.DefaultChecksumType(algo)
	case store.ChecksumComposite, store.ChecksumFullObject:
	default:
		return "", "", ErrInvalidRequest.WithMessage("Value for x-amz-checksum-type header is invalid.")
	}
	if !store.ValidUploadChecksum(algo, typ) {
		return "", "", ErrInvalidRequest.WithMessage("The %s checksum type cannot be used with the %s checksum algorithm.", typ, algo)
	}
	return algo, typ, nil
}

// checksumAlgorithmName is the x-amz-checksum-algorithm / ChecksumAlgorithm
// value of an algorithm keyed like ObjectMeta.Checksums ("CRC64NVME").
func checksumAlgorithmName(algo string) string { return strings.ToUpper(algo) }

// objectChecksumType is the x-amz-checksum-type of an object with these
// checksums: COMPOSITE when a value is a checksum of part checksums
// ("<base64>-<parts>"), FULL_OBJECT otherwise, "" without checksums.
func objectChecksumType(sums map[string]string) string {
	typ := ""
	for _, name := range checksumNames {
		v := sums[name]
		if v == "" {
			continue
		}
		typ = store.ChecksumFullObject
		if compositeSum.MatchString(v) {
			return store.ChecksumComposite
		}
	}
	return typ
}

// setChecksumTypeHeader sets x-amz-checksum-type for an object's checksums.
func setChecksumTypeHeader(h http.Header, sums map[string]string) {
	if typ := objectChecksumType(sums); typ != "" {
		h.Set(checksumTypeHeader, typ)
	}
}

// sentChecksums returns the algorithms (indexes in checksumAlgos) whose
// checksum a request carries: as x-amz-checksum-<algo> headers or
// announced as trailers by x-amz-trailer.
func sentChecksums(h http.Header) []int {
	var out []int
	var seen [5]bool // by index in checksumAlgos
	for i, a := range checksumAlgos {
		if h.Get(checksumHeaderPrefix+a.name) != "" {
			seen[i] = true
			out = append(out, i)
		}
	}
	for _, v := range h.Values("X-Amz-Trailer") {
		for _, name := range strings.Split(v, ",") {
			if i := checksumAlgoIndex(name); i >= 0 && !seen[i] {
				seen[i] = true
				out = append(out, i)
			}
		}
	}
	return out
}

// completesUpload reports whether r is a CompleteMultipartUpload (the only
// POST to an object with uploadId), whose x-amz-checksum-<algo> headers are
// the object checksum the client expects (completeChecksums), not checksums
// of the XML body: the payload does not verify them.
func completesUpload(r *http.Request) bool {
	return r.Method == http.MethodPost && r.URL.Query().Has("uploadId")
}

// checksumTypeMismatch is S3's answer to a checksum of another algorithm
// than the upload's ("null" when there is none).
func checksumTypeMismatch(want, got string) *APIError {
	return ErrInvalidRequest.WithMessage("Checksum Type mismatch occurred, expected checksum Type: %s, actual checksum Type: %s", want, got)
}

// partChecksumPlan decides what UploadPart does about the checksum of an
// upload with algorithm algo and type typ (both "" for none). A part must
// carry that algorithm's checksum, in a header or a trailer; a checksum
// of another algorithm alone is an InvalidRequest, as is none at all for
// a COMPOSITE upload. A FULL_OBJECT part without one gets it computed
// here (compute), as S3 does.
func partChecksumPlan(h http.Header, algo, typ string) (compute int, err error) {
	if algo == "" {
		return -1, nil
	}
	sent := sentChecksums(h)
	for _, i := range sent {
		if checksumAlgos[i].name == algo {
			return -1, nil
		}
	}
	if len(sent) > 0 {
		return -1, checksumTypeMismatch(algo, checksumAlgos[sent[0]].name)
	}
	if typ != store.ChecksumFullObject {
		return -1, checksumTypeMismatch(algo, "null")
	}
	return checksumAlgoIndex(algo), nil
}

// summingReader computes one checksum algorithm of the bytes read through
// it, for a part whose checksum the client did not send.
type summingReader struct {
	r    io.Reader
	name string
	h    hash.Hash
}

func newSummingReader(r io.Reader, i int) *summingReader {
	return &summingReader{r: r, name: checksumAlgos[i].name, h: checksumAlgos[i].new()}
}

func (sr *summingReader) Read(p []byte) (int, error) {
	n, err := sr.r.Read(p)
	sr.h.Write(p[:n])
	return n, err
}

// checksums returns, once the body was read, late's checksums with this
// reader's added: a PartOptions.ChecksumsFunc.
func (sr *summingReader) checksums(late func() map[string]string) func() map[string]string {
	return func() map[string]string {
		var out map[string]string
		if late != nil {
			out = maps.Clone(late())
		}
		if out == nil {
			out = make(map[string]string, 1)
		}
		out[sr.name] = base64.StdEncoding.EncodeToString(sr.h.Sum(nil))
		return out
	}
}
