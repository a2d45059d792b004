package s3

import (
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"testing"
)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func be32(v uint32) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return b64(b[:])
}

func be64(v uint64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b64(b[:])
}

// TestChecksumVectors checks each algorithm against the standard check
// value of "123456789" (the CRC catalogue's) and known digests.
func TestChecksumVectors(t *testing.T) {
	want := map[string]string{
		ChecksumCRC32:     be32(0xcbf43926),
		ChecksumCRC32C:    be32(0xe3069283),
		ChecksumCRC64NVME: be64(0xae8b14860a799888),
		ChecksumSHA1:      "98O8HYCOBHMq32eZZczDTKeuNEE=",
		ChecksumSHA256:    "FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsiU=",
	}
	h := http.Header{}
	for name, v := range want {
		h.Set("x-amz-checksum-"+name, v)
	}
	cs, err := newHeaderChecksums(h)
	if err != nil {
		t.Fatal(err)
	}
	cs.Write([]byte("1234"))
	cs.Write([]byte("56789"))
	got, err := cs.verify()
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range want {
		if got[name] != v {
			t.Errorf("%s = %s, want %s", name, got[name], v)
		}
	}
}

func TestChecksumAlgoIndex(t *testing.T) {
	for name, want := range map[string]int{
		"crc32": 0, "CRC32C": 1, "x-amz-checksum-sha1": 2, "X-Amz-Checksum-Sha256": 3, "crc64nvme": 4,
		"x-amz-checksum-algorithm": -1, "x-amz-checksum-type": -1, "md5": -1, "": -1,
	} {
		if got := checksumAlgoIndex(name); got != want {
			t.Errorf("checksumAlgoIndex(%q) = %d, want %d", name, got, want)
		}
	}
}

func TestChecksumInvalidValues(t *testing.T) {
	for _, v := range []string{"", "AAAA", "AAAAAAAA", "!!!!!!==", "AAAAAA=="} {
		h := http.Header{}
		h.Set("x-amz-checksum-crc64nvme", v)
		_, err := newHeaderChecksums(h)
		if v == "" {
			if err != nil {
				t.Errorf("empty header: %v", err)
			}
			continue
		}
		if !isAPIError(err, ErrInvalidRequest) {
			t.Errorf("crc64nvme %q: got %v, want InvalidRequest", v, err)
		}
	}
	cs := &checksumSet{}
	if err := cs.expect(1, "AAAAAA=="); !isAPIError(err, ErrMalformedTrailer) {
		t.Errorf("undeclared trailer: got %v", err)
	}
	cs.add(1)
	if err := cs.expect(1, "AAAA"); !isAPIError(err, ErrInvalidRequest) {
		t.Errorf("short trailer value: got %v", err)
	}
}
