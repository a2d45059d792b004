package s3

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"net/http"
	"strings"

	"github.com/klauspost/crc32"
	"github.com/minio/crc64nvme"
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

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// checksumAlgos lists the supported algorithms with their digest size.
var checksumAlgos = []struct {
	name string
	size int
	new  func() hash.Hash
}{
	{ChecksumCRC32, 4, func() hash.Hash { return crc32.NewIEEE() }},
	{ChecksumCRC32C, 4, func() hash.Hash { return crc32.New(castagnoli) }},
	{ChecksumSHA1, sha1.Size, sha1.New},
	{ChecksumSHA256, sha256.Size, sha256.New},
	{ChecksumCRC64NVME, 8, func() hash.Hash { return crc64nvme.New() }},
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
