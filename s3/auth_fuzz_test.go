package s3

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Fuzz targets for the parsers that take bytes from the network. Their
// seed corpora run with the normal tests; fuzz with, for example,
//
//	go test -run XXX -fuzz FuzzChunkedDecoder -fuzztime 20s ./s3/

func FuzzParseAuthorization(f *testing.F) {
	sig := strings.Repeat("0a", 32)
	for _, s := range []string{
		"AWS4-HMAC-SHA256 Credential=AKID/20240102/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + sig,
		"AWS4-HMAC-SHA256 Credential=AK/ID/20240102/eu-west-3/s3/aws4_request,SignedHeaders=host,Signature=" + sig,
		"AWS4-HMAC-SHA256 Credential=,SignedHeaders=,Signature=",
		"AWS4-HMAC-SHA256 ,,,",
		"AWS AKID:c2ln",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		af, err := parseAuthorization(h)
		if err != nil {
			if _, ok := err.(*APIError); !ok {
				t.Fatalf("error %T is not an *APIError", err)
			}
			return
		}
		if af.accessKey == "" || af.region == "" || len(af.date) != 8 || !isHexSignature(af.signature) {
			t.Fatalf("accepted incomplete fields %+v", af)
		}
		hasHost := false
		for _, s := range af.signedHeaders {
			hasHost = hasHost || s == "host"
		}
		if !hasHost {
			t.Fatalf("accepted signed headers without host: %v", af.signedHeaders)
		}
	})
}

// FuzzAuthenticate feeds arbitrary Authorization headers, queries and
// content hashes to Authenticate: it must answer with an *APIError or a
// Payload, never panic.
func FuzzAuthenticate(f *testing.F) {
	at := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Add("AWS4-HMAC-SHA256 Credential="+testAccessKey+"/20240102/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature="+strings.Repeat("ab", 32), "", "UNSIGNED-PAYLOAD")
	f.Add("", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="+testAccessKey+"%2F20240102%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20240102T030405Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature="+strings.Repeat("ab", 32), "")
	f.Add("", "a=%zz&b", streamingUnsignedTrail)
	f.Add("", "", streamingSigned)
	v := NewVerifier(map[string]string{testAccessKey: testSecretKey}, "")
	v.Now = func() time.Time { return at }
	f.Fuzz(func(t *testing.T, authz, query, hashed string) {
		r := httptest.NewRequest(http.MethodPut, "http://example.com/bucket/key", strings.NewReader("3\r\nabc\r\n0\r\n\r\n"))
		r.URL.RawQuery = query
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		r.Header.Set("X-Amz-Date", at.Format(iso8601Basic))
		r.Header.Set("X-Amz-Content-Sha256", hashed)
		p, err := v.Authenticate(r)
		if err != nil {
			if _, ok := err.(*APIError); !ok {
				t.Fatalf("error %T is not an *APIError", err)
			}
			return
		}
		if _, err := io.ReadAll(p.Body); err != nil {
			if _, ok := err.(*APIError); !ok {
				t.Fatalf("body error %T is not an *APIError", err)
			}
		}
	})
}

func chunkedSeeds() [][]byte {
	data := []byte("hello, world: some data to cut in chunks")
	return [][]byte{
		chunkedStream(data, 7, nil, nil),
		chunkedStream(data, 7, nil, []string{"x-amz-checksum-crc32c:" + crc32cB64(data)}),
		chunkedStream(data, 16, testSigner(), nil),
		chunkedStream(data, minSignedChunk, testSigner(), []string{"x-amz-checksum-crc32:AAAAAA=="}),
		chunkedStream(payloadBytes(20000), minSignedChunk, testSigner(), nil),
		chunkedStream(nil, 1, testSigner(), []string{}),
		[]byte("3\r\nabc\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\n\r\n\r\n"),
		[]byte("ffffffffffffff\r\n"),
		[]byte("0;chunk-signature=\r\n"),
		[]byte("1\r\n"),
	}
}

// FuzzChunkedDecoder decodes arbitrary bytes as aws-chunked: the decoder
// must end with io.EOF or an *APIError, never panic or stall, and never
// return more bytes than it was given.
func FuzzChunkedDecoder(f *testing.F) {
	for _, s := range chunkedSeeds() {
		for mode := uint8(0); mode < 8; mode++ {
			f.Add(s, mode, uint16(7))
		}
	}
	f.Fuzz(func(t *testing.T, in []byte, mode uint8, bufSize uint16) {
		var sg *chunkSigner
		if mode&1 != 0 {
			sg = testSigner()
		}
		declared := int64(-1)
		if mode&4 != 0 {
			declared = int64(len(in) / 2)
		}
		c := newChunkedReader(bytes.NewReader(in), sg, mode&2 != 0, declared)
		buf := make([]byte, int(bufSize%4096)+1)
		var out int
		for reads := 0; ; reads++ {
			n, err := c.Read(buf)
			out += n
			if out > len(in) {
				t.Fatalf("decoded %d bytes out of %d", out, len(in))
			}
			if err == io.EOF {
				if declared >= 0 && int64(out) != declared {
					t.Fatalf("EOF after %d bytes, declared %d", out, declared)
				}
				return
			}
			if err != nil {
				if _, ok := err.(*APIError); !ok {
					t.Fatalf("error %T %v is not an *APIError", err, err)
				}
				if _, err2 := c.Read(buf); err2 != err {
					t.Fatalf("error not sticky: %v then %v", err, err2)
				}
				return
			}
			if n == 0 {
				t.Fatal("Read returned 0, nil")
			}
			if reads > len(in)+1 {
				t.Fatalf("%d reads of a %d-byte input", reads, len(in))
			}
		}
	})
}

// FuzzChunkedRoundTrip encodes arbitrary data in arbitrary chunk sizes,
// signed or not: decoding must give the data back, with no framing.
func FuzzChunkedRoundTrip(f *testing.F) {
	f.Add([]byte("abc"), uint16(1), false, false)
	f.Add([]byte("3\r\nabc\r\n0\r\n\r\n"), uint16(5), true, true)
	f.Add(bytes.Repeat([]byte{'x'}, 10000), uint16(4096), true, false)
	f.Fuzz(func(t *testing.T, data []byte, size uint16, signed, trailer bool) {
		var sg, vs *chunkSigner
		if signed {
			sg, vs = testSigner(), testSigner()
			size = max(size, minSignedChunk)
		}
		var lines []string
		if trailer {
			lines = []string{"x-amz-checksum-crc32c:" + crc32cB64(data)}
		}
		stream := chunkedStream(data, int(size)+1, sg, lines)
		c := newChunkedReader(bytes.NewReader(stream), vs, trailer || !signed, int64(len(data)))
		got, err := io.ReadAll(c)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("err %v, got %d bytes, want %d", err, len(got), len(data))
		}
	})
}

// FuzzCanonicalQuery checks that canonicalization is stable: the
// canonical form of a canonical query is itself.
func FuzzCanonicalQuery(f *testing.F) {
	for _, s := range []string{"", "a=1&b=2", "prefix=a+b&delimiter=%2F", "x=%zz", "k=%E6%97%A5&&=", "X-Amz-Signature=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		c := canonicalQuery(raw, false)
		if _, err := url.ParseQuery(c); err != nil {
			t.Fatalf("canonical query %q does not parse: %v", c, err)
		}
		if c2 := canonicalQuery(c, false); c2 != c {
			t.Fatalf("not idempotent: %q -> %q -> %q", raw, c, c2)
		}
	})
}
