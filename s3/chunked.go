package s3

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"strings"
)

// aws-chunked payload decoding.
//
// An aws-chunked body (Content-Encoding: aws-chunked) is a sequence of
// chunks, a final empty chunk, and an optional trailer:
//
//	<hex size>[;chunk-signature=<sig>]\r\n<data>\r\n   (repeated)
//	0[;chunk-signature=<sig>]\r\n
//	[x-amz-checksum-crc32c:<base64>\r\n]               (trailer fields)
//	[x-amz-trailer-signature:<sig>\r\n]
//	\r\n
//
// Signed payloads (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]) chain the
// chunk signatures: each one signs the previous signature (the first, the
// request's seed signature) and the SHA-256 of the chunk data; the trailer
// signature signs the last chunk signature and the SHA-256 of the trailer
// fields. Unsigned payloads (STREAMING-UNSIGNED-PAYLOAD-TRAILER) carry no
// signatures.
//
// The decoder streams: it never holds more than its bufio buffer, whatever
// the chunk size, and it hashes chunk data as it passes through. A chunk's
// bytes are handed to the caller before its signature is checked (the
// signature follows the data); a bad signature makes the next Read fail, so
// a caller that reads to io.EOF before committing never commits bad data.

const (
	chunkedBufSize     = 64 << 10 // bufio buffer of the decoder
	maxChunkHeaderLine = 4 << 10  // "<hex>;chunk-signature=<64 hex>" is ~90 bytes
	maxTrailerBytes    = 16 << 10 // everything after the final chunk
	maxTrailerFields   = 64
	emptySHA256Hex     = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	trailerSigName     = "x-amz-trailer-signature"
	// minSignedChunk is the smallest signed chunk but the last, as on AWS:
	// it bounds the signature checks per byte a client can make us do.
	minSignedChunk = 8 << 10
)

// chunkSigner holds what a chunk signature chain needs: the signing key
// and scope of the request, and the previous signature.
type chunkSigner struct {
	key     []byte
	amzDate string // request time, ISO 8601 basic (20130524T000000Z)
	scope   string // 20130524/us-east-1/s3/aws4_request
	prev    string // seed signature, then the last verified signature
}

// next computes the signature of the next element of the chain:
// a chunk (algo AWS4-HMAC-SHA256-PAYLOAD, whose string to sign also
// carries the hash of the empty string) or the trailer
// (AWS4-HMAC-SHA256-TRAILER).
func (s *chunkSigner) next(trailer bool, sum []byte) string {
	var b strings.Builder
	if trailer {
		b.WriteString("AWS4-HMAC-SHA256-TRAILER\n")
	} else {
		b.WriteString("AWS4-HMAC-SHA256-PAYLOAD\n")
	}
	b.WriteString(s.amzDate + "\n" + s.scope + "\n" + s.prev + "\n")
	if !trailer {
		b.WriteString(emptySHA256Hex + "\n")
	}
	b.WriteString(hex.EncodeToString(sum))
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(b.String()))
	return hex.EncodeToString(m.Sum(nil))
}

// verify checks sig (hex) against the next element of the chain and, if it
// matches, advances the chain.
func (s *chunkSigner) verify(trailer bool, sum []byte, sig string) bool {
	want := s.next(trailer, sum)
	if !hmac.Equal([]byte(want), []byte(strings.ToLower(sig))) {
		return false
	}
	s.prev = want
	return true
}

// trailerField is one "name:value" line of an aws-chunked trailer.
type trailerField struct {
	name  string // lower case
	value string
}

type chunkedState int

const (
	stateChunkHeader chunkedState = iota
	stateChunkData
	stateDone
)

// chunkedReader decodes an aws-chunked stream. Read returns the decoded
// data and io.EOF only once the whole stream, its final chunk, every chunk
// signature and the trailer (signature included) have been checked. Any
// failure is an *APIError, returned by every later Read as well.
type chunkedReader struct {
	br           *bufio.Reader
	signer       *chunkSigner // nil: chunks carry no signatures
	allowTrailer bool         // trailer fields may follow the final chunk
	declared     int64        // x-amz-decoded-content-length, -1 if unknown

	state     chunkedState
	remaining int64     // data bytes left in the current chunk
	chunkSum  hash.Hash // SHA-256 of the current chunk (signed only)
	chunkSig  string    // signature announced for the current chunk
	small     bool      // the last signed chunk was under minSignedChunk
	decoded   int64
	trailers  []trailerField
	err       error
}

// newChunkedReader returns a decoder of r. signer is nil for unsigned
// payloads; declared is the decoded length announced by the client (-1 if
// none), checked at the end.
func newChunkedReader(r io.Reader, signer *chunkSigner, allowTrailer bool, declared int64) *chunkedReader {
	c := &chunkedReader{
		br:           bufio.NewReaderSize(r, chunkedBufSize),
		signer:       signer,
		allowTrailer: allowTrailer,
		declared:     declared,
	}
	if signer != nil {
		c.chunkSum = sha256.New()
	}
	return c
}

func malformedChunked(format string, args ...any) *APIError {
	return ErrInvalidRequest.WithMessage("Malformed aws-chunked encoding: "+format, args...)
}

// readErr maps an error from the underlying body.
func readErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return ErrIncompleteBody.WithMessage("The request body ended before the end of the aws-chunked payload.")
	}
	return err
}

func (c *chunkedReader) Read(p []byte) (int, error) {
	for {
		if c.err != nil {
			return 0, c.err
		}
		switch c.state {
		case stateDone:
			return 0, io.EOF
		case stateChunkHeader:
			c.err = c.readChunkHeader()
		case stateChunkData:
			if c.remaining == 0 {
				c.err = c.endChunk()
				continue
			}
			if len(p) == 0 {
				return 0, nil
			}
			n := len(p)
			if int64(n) > c.remaining {
				n = int(c.remaining)
			}
			n, err := c.br.Read(p[:n])
			if n > 0 {
				if c.chunkSum != nil {
					c.chunkSum.Write(p[:n])
				}
				c.remaining -= int64(n)
				c.decoded += int64(n)
				return n, nil
			}
			if err != nil {
				c.err = readErr(err)
			}
		}
	}
}

// readLine reads one line of at most max bytes, without its "\n" and an
// optional "\r" before it.
func (c *chunkedReader) readLine(max int) ([]byte, error) {
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, malformedChunked("line too long")
		}
		return nil, readErr(err)
	}
	if len(line) > max {
		return nil, malformedChunked("line too long")
	}
	line = bytes.TrimSuffix(line[:len(line)-1], []byte("\r"))
	return line, nil
}

func (c *chunkedReader) readChunkHeader() error {
	line, err := c.readLine(maxChunkHeaderLine)
	if err != nil {
		return err
	}
	sizeField, ext, _ := bytes.Cut(line, []byte(";"))
	size, ok := parseChunkSize(sizeField)
	if !ok {
		return malformedChunked("invalid chunk size %q", truncate(sizeField, 32))
	}
	if c.signer != nil {
		sig, ok := bytes.CutPrefix(ext, []byte("chunk-signature="))
		if !ok || len(sig) != 64 {
			return ErrSignatureDoesNotMatch.WithMessage("A chunk has no valid chunk-signature.")
		}
		c.chunkSig = string(sig)
		c.chunkSum.Reset()
		if c.small && size > 0 {
			return ErrInvalidChunkSize
		}
		c.small = size < minSignedChunk
	}
	if c.declared >= 0 && size > c.declared-c.decoded {
		return ErrIncompleteBody.WithMessage("The aws-chunked payload is longer than x-amz-decoded-content-length.")
	}
	if size > 0 {
		c.remaining = size
		c.state = stateChunkData
		return nil
	}
	// Final chunk.
	if c.signer != nil && !c.signer.verify(false, c.chunkSum.Sum(nil), c.chunkSig) {
		return ErrSignatureDoesNotMatch.WithMessage("The signature of the final chunk does not match.")
	}
	if c.declared >= 0 && c.decoded != c.declared {
		return ErrIncompleteBody.WithMessage("The aws-chunked payload is shorter than x-amz-decoded-content-length.")
	}
	if err := c.readTrailer(); err != nil {
		return err
	}
	c.state = stateDone
	return nil
}

// parseChunkSize parses a hexadecimal chunk size of at most 15 digits
// (so that it fits an int64 with room to add).
func parseChunkSize(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 15 {
		return 0, false
	}
	var n int64
	for _, ch := range b {
		var d byte
		switch {
		case '0' <= ch && ch <= '9':
			d = ch - '0'
		case 'a' <= ch && ch <= 'f':
			d = ch - 'a' + 10
		case 'A' <= ch && ch <= 'F':
			d = ch - 'A' + 10
		default:
			return 0, false
		}
		n = n<<4 | int64(d)
	}
	return n, true
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// endChunk consumes the CRLF after a chunk's data and checks its signature.
func (c *chunkedReader) endChunk() error {
	var crlf [2]byte
	if _, err := io.ReadFull(c.br, crlf[:]); err != nil {
		return readErr(err)
	}
	if crlf != [2]byte{'\r', '\n'} {
		return malformedChunked("chunk data not followed by CRLF")
	}
	if c.signer != nil && !c.signer.verify(false, c.chunkSum.Sum(nil), c.chunkSig) {
		return ErrSignatureDoesNotMatch.WithMessage("A chunk signature does not match.")
	}
	c.state = stateChunkHeader
	return nil
}

// readTrailer reads everything after the final chunk up to the end of the
// body: blank lines, trailer fields and, for signed payloads with a
// trailer, the trailer signature, which it verifies. Clients differ in
// their line endings ("\n", "\r\n") and blank lines, so any of them is
// accepted; the body's end (Content-Length) ends the trailer.
func (c *chunkedReader) readTrailer() error {
	var (
		total  int
		sig    string
		hasSig bool
		canon  bytes.Buffer // "name:value\n" per field, as signed
	)
	for {
		line, err := c.br.ReadSlice('\n')
		total += len(line)
		if total > maxTrailerBytes {
			return ErrMalformedTrailer.WithMessage("The trailer is too long.")
		}
		if err != nil && !errors.Is(err, io.EOF) {
			if errors.Is(err, bufio.ErrBufferFull) {
				return ErrMalformedTrailer.WithMessage("The trailer is too long.")
			}
			return err
		}
		text := strings.TrimRight(string(line), "\r\n")
		if text != "" {
			name, value, ok := strings.Cut(text, ":")
			name = strings.ToLower(strings.TrimSpace(name))
			value = strings.TrimSpace(value)
			switch {
			case !ok || name == "":
				return ErrMalformedTrailer.WithMessage("A trailer line is not name:value.")
			case !c.allowTrailer:
				return ErrMalformedTrailer.WithMessage("This payload type has no trailer.")
			case name == trailerSigName:
				if hasSig {
					return ErrMalformedTrailer.WithMessage("The trailer has two signatures.")
				}
				sig, hasSig = value, true
			case hasSig:
				return ErrMalformedTrailer.WithMessage("A trailer field follows the trailer signature.")
			default:
				if len(c.trailers) == maxTrailerFields {
					return ErrMalformedTrailer.WithMessage("The trailer has too many fields.")
				}
				c.trailers = append(c.trailers, trailerField{name, value})
				canon.WriteString(name + ":" + value + "\n")
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
	}
	if c.signer == nil || !c.allowTrailer {
		if hasSig && c.signer == nil {
			return ErrMalformedTrailer.WithMessage("An unsigned payload has a trailer signature.")
		}
		return nil
	}
	if !hasSig {
		return ErrMalformedTrailer.WithMessage("The trailer signature is missing.")
	}
	sum := sha256.Sum256(canon.Bytes())
	if !c.signer.verify(true, sum[:], sig) {
		return ErrSignatureDoesNotMatch.WithMessage("The trailer signature does not match.")
	}
	return nil
}
