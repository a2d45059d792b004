package s3

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/minio/minio-go/v7/pkg/signer"
)

// sha256Hasher adapts crypto/sha256 to the hasher minio-go's streaming
// signer takes.
type sha256Hasher struct{ hash.Hash }

func (sha256Hasher) Close() {}

func crc32cB64(b []byte) string {
	return be32(crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
}

// flipReader flips one bit of the byte at offset at of r's stream.
type flipReader struct {
	r   io.ReadCloser
	at  int64
	pos int64
}

func (f *flipReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if f.at >= f.pos && f.at < f.pos+int64(n) {
		p[f.at-f.pos] ^= 1
	}
	f.pos += int64(n)
	return n, err
}

func (f *flipReader) Close() error { return f.r.Close() }

// minioStreamingRequest builds a PUT signed with minio-go's
// STREAMING-AWS4-HMAC-SHA256-PAYLOAD signer (with a signed trailer when
// trailer is not nil).
func minioStreamingRequest(t *testing.T, url string, body []byte, secret string, trailer http.Header) *http.Request {
	t.Helper()
	req := newReq(t, http.MethodPut, url, body)
	req.Trailer = trailer
	return signer.StreamingSignV4(req, testAccessKey, secret, "", "us-east-1", int64(len(body)), time.Now().UTC(), sha256Hasher{sha256.New()})
}

func TestChunkedMinioStreamingSigned(t *testing.T) {
	s := newAuthServer(t, false)
	for _, n := range []int{0, 1, 8192, 64 << 10, 64<<10 + 1, 200000} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			body := payloadBytes(n)
			got := s.do(t, minioStreamingRequest(t, s.URL+"/bucket/key", body, testSecretKey, nil))
			wantCode(t, got, "OK")
			if got.Mode != streamingSigned || !bytes.Equal(got.Body, body) || got.Size != int64(n) {
				t.Fatalf("mode %s size %d len %d", got.Mode, got.Size, len(got.Body))
			}
		})
	}
	body := payloadBytes(150000)
	t.Run("wrong secret", func(t *testing.T) {
		wantCode(t, s.do(t, minioStreamingRequest(t, s.URL+"/bucket/key", body, "bad", nil)), "SignatureDoesNotMatch")
	})
	// Offsets into the framed stream: each chunk header is
	// "10000;chunk-signature=<64 hex>\r\n", then 64 KiB of data and CRLF.
	hdr := int64(len("10000;chunk-signature=") + 64 + 2)
	for name, off := range map[string]int64{
		"flip in first chunk data":    hdr + 10,
		"flip in second chunk data":   2*hdr + 2 + 64<<10 + 100,
		"flip in first signature":     hdr - 10,
		"flip in final chunk header":  int64(len(body)) + 3*hdr + 3*2 + 30,
		"flip in data chunk size hex": 0,
	} {
		t.Run(name, func(t *testing.T) {
			req := minioStreamingRequest(t, s.URL+"/bucket/key", body, testSecretKey, nil)
			req.Body = &flipReader{r: req.Body, at: off}
			wantCode(t, s.do(t, req), "SignatureDoesNotMatch")
		})
	}
	t.Run("decoded length mismatch", func(t *testing.T) {
		req := minioStreamingRequest(t, s.URL+"/bucket/key", body, testSecretKey, nil)
		req.Header.Set("X-Amz-Decoded-Content-Length", "149999") // signed header: must fail either way
		wantCode(t, s.do(t, req), "SignatureDoesNotMatch")
	})
}

func TestChunkedMinioSignedTrailer(t *testing.T) {
	s := newAuthServer(t, false)
	body := payloadBytes(100000)
	good := crc32cB64(body)
	trailer := func(v string) http.Header { return http.Header{"x-amz-checksum-crc32c": {v}} }

	got := s.do(t, minioStreamingRequest(t, s.URL+"/bucket/key", body, testSecretKey, trailer(good)))
	wantCode(t, got, "OK")
	if got.Mode != streamingSignedTrailer || !bytes.Equal(got.Body, body) || got.Checksums[ChecksumCRC32C] != good {
		t.Fatalf("mode %s checksums %v", got.Mode, got.Checksums)
	}

	got = s.do(t, minioStreamingRequest(t, s.URL+"/bucket/key", body, testSecretKey, trailer(crc32cB64(body[1:]))))
	wantCode(t, got, "BadDigest")
	if !strings.Contains(got.Message, "CRC32C") {
		t.Fatalf("message %q", got.Message)
	}

	// Tamper with the trailer value in transit: the trailer signature
	// no longer matches.
	req := minioStreamingRequest(t, s.URL+"/bucket/key", body, testSecretKey, trailer(good))
	trailerOff := req.ContentLength - int64(len("x-amz-trailer-signature:")+64+4) - 3 - 5
	req.Body = &flipReader{r: req.Body, at: trailerOff}
	got = s.do(t, req)
	wantCode(t, got, "SignatureDoesNotMatch")
}

func TestChunkedMinioUnsignedTrailer(t *testing.T) {
	s := newAuthServer(t, false)
	body := payloadBytes(70000)
	send := func(v string, mutate func(*http.Request)) authResult {
		req := newReq(t, http.MethodPut, s.URL+"/bucket/key", body)
		req.Header.Set("X-Amz-Content-Sha256", streamingUnsignedTrail)
		req = signer.SignV4Trailer(*req, testAccessKey, testSecretKey, "", "us-east-1", http.Header{"x-amz-checksum-crc32c": {v}})
		if mutate != nil {
			mutate(req)
		}
		return s.do(t, req)
	}
	got := send(crc32cB64(body), nil)
	wantCode(t, got, "OK")
	if got.Mode != streamingUnsignedTrail || got.Encoding != "aws-chunked" || !bytes.Equal(got.Body, body) || got.Checksums[ChecksumCRC32C] != crc32cB64(body) {
		t.Fatalf("mode %s encoding %s checksums %v", got.Mode, got.Encoding, got.Checksums)
	}
	wantCode(t, send(crc32cB64(body[2:]), nil), "BadDigest")
	// An unsigned payload: a changed byte is caught by the checksum.
	got = send(crc32cB64(body), func(r *http.Request) { r.Body = &flipReader{r: r.Body, at: 5000} })
	wantCode(t, got, "BadDigest")
	// The header signature still covers the request.
	wantCode(t, send(crc32cB64(body), func(r *http.Request) { r.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32") }), "SignatureDoesNotMatch")
}

// chunkedStream builds an aws-chunked stream of data cut in chunks of
// size, signed by sg when not nil, followed by the given trailer lines.
func chunkedStream(data []byte, size int, sg *chunkSigner, trailer []string) []byte {
	var b bytes.Buffer
	writeChunk := func(c []byte) {
		b.WriteString(strconv.FormatInt(int64(len(c)), 16))
		if sg != nil {
			sum := sha256.Sum256(c)
			sg.prev = sg.next(false, sum[:])
			b.WriteString(";chunk-signature=" + sg.prev)
		}
		b.WriteString("\r\n")
		if len(c) > 0 {
			b.Write(c)
			b.WriteString("\r\n")
		}
	}
	for len(data) > 0 {
		n := min(size, len(data))
		writeChunk(data[:n])
		data = data[n:]
	}
	writeChunk(nil)
	var canon bytes.Buffer
	for _, l := range trailer {
		b.WriteString(l + "\r\n")
		canon.WriteString(l + "\n")
	}
	if sg != nil && trailer != nil {
		sum := sha256.Sum256(canon.Bytes())
		b.WriteString(trailerSigName + ":" + sg.next(true, sum[:]) + "\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

func testSigner() *chunkSigner {
	return &chunkSigner{key: signingKey(testSecretKey, "20240102", "us-east-1"), amzDate: "20240102T030405Z",
		scope: "20240102/us-east-1/s3/aws4_request", prev: strings.Repeat("0", 64)}
}

func decodeAll(r io.Reader) ([]byte, error) {
	var out bytes.Buffer
	buf := make([]byte, 1000)
	for i := 0; ; i++ {
		n, err := r.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			return out.Bytes(), err
		}
		if i > 10_000_000 {
			return nil, errors.New("decoder loops")
		}
	}
}

func TestChunkedDecoder(t *testing.T) {
	data := payloadBytes(50000)
	for _, signed := range []bool{false, true} {
		for _, trailer := range [][]string{nil, {"x-amz-checksum-crc32c:" + crc32cB64(data)}} {
			name := fmt.Sprintf("signed=%v trailer=%v", signed, trailer != nil)
			t.Run(name, func(t *testing.T) {
				var sg, vs *chunkSigner
				if signed {
					sg, vs = testSigner(), testSigner()
				}
				stream := chunkedStream(data, 8192, sg, trailer)
				c := newChunkedReader(iotest.OneByteReader(bytes.NewReader(stream)), vs, trailer != nil || !signed, int64(len(data)))
				got, err := decodeAll(c)
				if err != io.EOF || !bytes.Equal(got, data) {
					t.Fatalf("err %v, %d bytes (want %d)", err, len(got), len(data))
				}
				if len(c.trailers) != len(trailer) {
					t.Fatalf("trailers %v", c.trailers)
				}
				// Every truncation is an error, never a clean EOF.
				for cut := 0; cut < len(stream)-2; cut += 1 + cut/64 {
					c := newChunkedReader(bytes.NewReader(stream[:cut]), testSignerIf(signed), trailer != nil || !signed, int64(len(data)))
					if _, err := decodeAll(c); err == io.EOF {
						t.Fatalf("truncated at %d of %d: clean EOF", cut, len(stream))
					} else if _, ok := err.(*APIError); !ok {
						t.Fatalf("truncated at %d: %T %v", cut, err, err)
					}
				}
			})
		}
	}
}

func testSignerIf(signed bool) *chunkSigner {
	if signed {
		return testSigner()
	}
	return nil
}

func TestChunkedDecoderMalformed(t *testing.T) {
	sig := strings.Repeat("a", 64)
	cases := []struct {
		name   string
		stream string
		signed bool
		code   string
	}{
		{"empty", "", false, "IncompleteBody"},
		{"bad hex", "xyz\r\nabc\r\n0\r\n\r\n", false, "InvalidRequest"},
		{"empty size", "\r\nabc\r\n0\r\n\r\n", false, "InvalidRequest"},
		{"huge size", "fffffffffffffffffff\r\n", false, "InvalidRequest"},
		{"negative size", "-3\r\nabc\r\n0\r\n\r\n", false, "InvalidRequest"},
		{"missing crlf after data", "3\r\nabcd\r\n0\r\n\r\n", false, "InvalidRequest"},
		{"short data", "5\r\nabc", false, "IncompleteBody"},
		{"longer than declared", "a\r\n0123456789\r\n0\r\n\r\n", false, "IncompleteBody"},
		{"shorter than declared", "2\r\nab\r\n0\r\n\r\n", false, "IncompleteBody"},
		{"long line", strings.Repeat("0", 5000) + "\r\n", false, "InvalidRequest"},
		{"endless header", strings.Repeat("1", 100000), false, "InvalidRequest"},
		{"no signature", "3\r\nabc\r\n0\r\n\r\n", true, "SignatureDoesNotMatch"},
		{"bad signature", "3;chunk-signature=" + sig + "\r\nabc\r\n0;chunk-signature=" + sig + "\r\n\r\n", true, "SignatureDoesNotMatch"},
		{"short signature", "3;chunk-signature=abc\r\nabc\r\n", true, "SignatureDoesNotMatch"},
		{"trailer without colon", "3\r\nabc\r\n0\r\nnocolon\r\n\r\n", false, "MalformedTrailerError"},
		{"endless trailer", "3\r\nabc\r\n0\r\n" + strings.Repeat("\r\n", 10000), false, "MalformedTrailerError"},
		{"too many fields", "3\r\nabc\r\n0\r\n" + strings.Repeat("a:b\r\n", 65), false, "MalformedTrailerError"},
		{"unsigned trailer signature", "3\r\nabc\r\n0\r\nx-amz-trailer-signature:" + sig + "\r\n\r\n", false, "MalformedTrailerError"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newChunkedReader(strings.NewReader(tc.stream), testSignerIf(tc.signed), true, 3)
			_, err := decodeAll(c)
			ae, ok := err.(*APIError)
			if !ok || ae.Code != tc.code {
				t.Fatalf("got %v, want %s", err, tc.code)
			}
			// The error is sticky.
			if _, err2 := c.Read(make([]byte, 10)); err2 != err {
				t.Fatalf("second Read: %v", err2)
			}
		})
	}
	// Signed chunks but the last must be at least 8 KiB.
	c := newChunkedReader(bytes.NewReader(chunkedStream(payloadBytes(300), 100, testSigner(), nil)), testSigner(), false, 300)
	if _, err := decodeAll(c); !isAPIError(err, ErrInvalidChunkSize) {
		t.Fatalf("small signed chunks: %v", err)
	}
	c = newChunkedReader(bytes.NewReader(chunkedStream(payloadBytes(300), 100, nil, nil)), nil, false, 300)
	if got, err := decodeAll(c); err != io.EOF || len(got) != 300 {
		t.Fatalf("small unsigned chunks: %v", err)
	}
	// A signed payload without trailer must not carry one.
	sg := testSigner()
	stream := chunkedStream([]byte("abc"), 10, sg, nil)
	stream = append(stream[:len(stream)-2], "x-amz-checksum-crc32:AAAAAA==\r\n\r\n"...)
	c = newChunkedReader(bytes.NewReader(stream), testSigner(), false, 3)
	if _, err := decodeAll(c); !isAPIError(err, ErrMalformedTrailer) {
		t.Fatalf("unexpected trailer: %v", err)
	}
	// A signed trailer payload needs its trailer signature.
	stream = chunkedStream([]byte("abc"), 10, testSigner(), nil)
	c = newChunkedReader(bytes.NewReader(stream), testSigner(), true, 3)
	if _, err := decodeAll(c); !isAPIError(err, ErrMalformedTrailer) {
		t.Fatalf("missing trailer signature: %v", err)
	}
	// An unknown decoded length is fine.
	c = newChunkedReader(strings.NewReader("3\r\nabc\r\n1\r\nd\r\n0\r\n\r\n"), nil, true, -1)
	if got, err := decodeAll(c); err != io.EOF || string(got) != "abcd" {
		t.Fatalf("got %q, %v", got, err)
	}
	// Line endings as minio-go writes them ("\n" then a blank CRLF line).
	c = newChunkedReader(strings.NewReader("3\r\nabc\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\n\r\n\r\n"), nil, true, 3)
	if _, err := decodeAll(c); err != io.EOF || len(c.trailers) != 1 {
		t.Fatalf("minio-go trailer: %v %v", err, c.trailers)
	}
}

// TestChunkedPayloadTrailers drives the trailer rules through Authenticate
// with an anonymous unsigned-trailer upload.
func TestChunkedPayloadTrailers(t *testing.T) {
	data := []byte("hello, trailer")
	v := NewVerifier(nil, "")
	cases := []struct {
		name     string
		declared string   // x-amz-trailer
		trailer  []string // trailer lines
		code     string
	}{
		{"ok", "x-amz-checksum-crc32c", []string{"x-amz-checksum-crc32c:" + crc32cB64(data)}, "OK"},
		{"ok upper case", "X-Amz-Checksum-CRC32C", []string{"X-Amz-Checksum-Crc32c:" + crc32cB64(data)}, "OK"},
		{"mismatch", "x-amz-checksum-crc32c", []string{"x-amz-checksum-crc32c:" + crc32cB64(data[1:])}, "BadDigest"},
		{"missing", "x-amz-checksum-crc32c", []string{}, "MalformedTrailerError"},
		{"undeclared", "", []string{"x-amz-checksum-crc32c:" + crc32cB64(data)}, "MalformedTrailerError"},
		{"unsupported declared", "x-amz-checksum-md5", nil, "InvalidRequest"},
		{"bad value", "x-amz-checksum-crc32c", []string{"x-amz-checksum-crc32c:@@"}, "InvalidRequest"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stream := chunkedStream(data, 5, nil, tc.trailer)
			r, _ := http.NewRequest(http.MethodPut, "http://example.com/b/k", bytes.NewReader(stream))
			r.Header.Set("X-Amz-Content-Sha256", streamingUnsignedTrail)
			r.Header.Set("Content-Encoding", "aws-chunked")
			r.Header.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(len(data)))
			if tc.declared != "" {
				r.Header.Set("X-Amz-Trailer", tc.declared)
			}
			p, err := v.Authenticate(r)
			if err == nil {
				var got []byte
				got, err = io.ReadAll(p.Body)
				if err == nil && (!bytes.Equal(got, data) || p.Checksums()[ChecksumCRC32C] != crc32cB64(data) || p.Size != int64(len(data))) {
					t.Fatalf("got %q checksums %v size %d", got, p.Checksums(), p.Size)
				}
			}
			code := "OK"
			if err != nil {
				code = err.(*APIError).Code
			}
			if code != tc.code {
				t.Fatalf("got %v, want %s", err, tc.code)
			}
		})
	}
}

func TestChunkedStoredContentEncoding(t *testing.T) {
	for in, want := range map[string]string{"aws-chunked": "", "aws-chunked,gzip": "gzip", "gzip, AWS-CHUNKED , br": "gzip,br", "": ""} {
		h := http.Header{}
		if in != "" {
			h.Set("Content-Encoding", in)
		}
		if got := StoredContentEncoding(h); got != want {
			t.Errorf("StoredContentEncoding(%q) = %q, want %q", in, got, want)
		}
	}
}

// BenchmarkChunkedDecode measures decoding a 16 MiB aws-chunked stream in
// 64 KiB chunks (minio-go's size), signed and unsigned.
func BenchmarkChunkedDecode(b *testing.B) {
	data := payloadBytes(16 << 20)
	for _, signed := range []bool{false, true} {
		b.Run(fmt.Sprintf("signed=%v", signed), func(b *testing.B) {
			stream := chunkedStream(data, 64<<10, testSignerIf(signed), nil)
			buf := make([]byte, 32<<10)
			b.SetBytes(int64(len(data)))
			b.ResetTimer()
			for range b.N {
				c := newChunkedReader(bytes.NewReader(stream), testSignerIf(signed), false, int64(len(data)))
				if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{c}, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
