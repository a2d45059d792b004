package s3

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// newPayload builds the Payload of an authenticated (or anonymous, when
// signer is nil and accessKey "") request. hashed is the payload hash the
// signature covered (x-amz-content-sha256); it decides how the body is
// decoded and verified.
func newPayload(r *http.Request, accessKey string, signer *chunkSigner, hashed string) (*Payload, error) {
	cs, err := newHeaderChecksums(r.Header)
	if completesUpload(r) {
		cs, err = &checksumSet{}, nil // the headers are the object's (checksum.go)
	}
	if err != nil {
		return nil, err
	}
	var body io.Reader = r.Body
	if r.Body == nil {
		body = http.NoBody
	}
	pr := &payloadReader{src: body, checksums: cs, size: r.ContentLength}
	if isAWSChunked(r.Header) || strings.HasPrefix(hashed, "STREAMING-") {
		if err := pr.setChunked(r, signer, hashed); err != nil {
			return nil, err
		}
	} else {
		switch {
		case hashed == "" || hashed == unsignedPayload:
		case isHexSHA256(hashed):
			pr.sha, pr.wantSHA = sha256.New(), strings.ToLower(hashed)
		default:
			return nil, ErrInvalidArgument.WithMessage("x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, STREAMING-UNSIGNED-PAYLOAD-TRAILER or a valid sha256 value.")
		}
	}
	return &Payload{
		AccessKey: accessKey,
		Anonymous: accessKey == "",
		Body:      pr,
		Size:      pr.size,
		Checksums: pr.verified,
	}, nil
}

func isHexSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// isAWSChunked reports whether Content-Encoding lists aws-chunked.
func isAWSChunked(h http.Header) bool {
	for _, v := range h.Values("Content-Encoding") {
		for _, e := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(e), "aws-chunked") {
				return true
			}
		}
	}
	return false
}

// StoredContentEncoding returns the Content-Encoding to store with an
// object: the request's, without the aws-chunked transfer coding ("" if
// nothing else remains).
func StoredContentEncoding(h http.Header) string {
	var out []string
	for _, v := range h.Values("Content-Encoding") {
		for _, e := range strings.Split(v, ",") {
			e = strings.TrimSpace(e)
			if e != "" && !strings.EqualFold(e, "aws-chunked") {
				out = append(out, e)
			}
		}
	}
	return strings.Join(out, ",")
}

// payloadReader is Payload.Body: it reads the (decoded) body, hashes it
// and runs every check when the source reaches its end.
type payloadReader struct {
	src       io.Reader
	chunked   *chunkedReader // src, when the body is aws-chunked
	trailers  []int          // checksum algorithms announced by x-amz-trailer
	sha       hash.Hash      // x-amz-content-sha256 of a single-chunk payload
	wantSHA   string
	checksums *checksumSet
	size      int64 // expected decoded length, -1 unknown
	n         int64 // decoded bytes read so far

	done bool
	err  error
	sums map[string]string
}

// setChunked makes pr decode an aws-chunked body.
func (pr *payloadReader) setChunked(r *http.Request, signer *chunkSigner, hashed string) error {
	var allowTrailer bool
	switch hashed {
	case streamingSigned, streamingSignedTrailer:
		if signer == nil {
			return ErrAccessDenied.WithMessage("A signed streaming payload needs a signed request.")
		}
		allowTrailer = hashed == streamingSignedTrailer
	case streamingUnsignedTrail, unsignedPayload:
		signer, allowTrailer = nil, true
	default:
		if strings.HasPrefix(hashed, "STREAMING-") {
			return ErrNotImplemented.WithMessage("The payload signing method %q is not supported.", truncateString(hashed, 64))
		}
		return ErrInvalidArgument.WithMessage("An aws-chunked payload needs x-amz-content-sha256 set to a STREAMING-* value or UNSIGNED-PAYLOAD.")
	}
	pr.size = -1
	if s := r.Header.Get("X-Amz-Decoded-Content-Length"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return ErrInvalidArgument.WithMessage("x-amz-decoded-content-length must be a non-negative integer.")
		}
		pr.size = n
	}
	for _, v := range r.Header.Values("X-Amz-Trailer") {
		for _, name := range strings.Split(v, ",") {
			if strings.TrimSpace(name) == "" {
				continue
			}
			i := checksumAlgoIndex(name)
			if i < 0 {
				return ErrInvalidRequest.WithMessage("The trailer %q is not supported.", truncateString(strings.TrimSpace(name), 64))
			}
			if !allowTrailer {
				return ErrInvalidRequest.WithMessage("x-amz-trailer needs a STREAMING-*-TRAILER payload.")
			}
			pr.checksums.add(i)
			pr.trailers = append(pr.trailers, i)
		}
	}
	pr.chunked = newChunkedReader(pr.src, signer, allowTrailer, pr.size)
	pr.src = pr.chunked
	return nil
}

func (pr *payloadReader) Read(p []byte) (int, error) {
	if pr.err != nil {
		return 0, pr.err
	}
	if pr.done {
		return 0, io.EOF
	}
	n, err := pr.src.Read(p)
	if n > 0 {
		pr.n += int64(n)
		if pr.sha != nil {
			pr.sha.Write(p[:n])
		}
		pr.checksums.Write(p[:n])
	}
	switch {
	case err == nil:
		return n, nil
	case errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF):
		if ferr := pr.finish(); ferr != nil {
			pr.err = ferr
			return n, ferr
		}
		pr.done = true
		return n, io.EOF
	default:
		pr.err = err
		if errors.Is(err, io.ErrUnexpectedEOF) {
			// A plain body cut short (an aws-chunked one maps its own).
			pr.err = ErrIncompleteBody
		}
		return n, pr.err
	}
}

// finish runs the end-of-body checks.
func (pr *payloadReader) finish() error {
	if pr.size >= 0 && pr.n != pr.size {
		return ErrIncompleteBody
	}
	if pr.sha != nil && hex.EncodeToString(pr.sha.Sum(nil)) != pr.wantSHA {
		return ErrXAmzContentSHA256Mismatch
	}
	if pr.chunked != nil {
		for _, f := range pr.chunked.trailers {
			if !strings.HasPrefix(f.name, checksumHeaderPrefix) {
				continue
			}
			i := checksumAlgoIndex(f.name)
			if i < 0 {
				continue
			}
			if err := pr.checksums.expect(i, f.value); err != nil {
				return err
			}
		}
		for _, i := range pr.trailers {
			if pr.checksums.expected[i] == "" {
				return ErrMalformedTrailer.WithMessage("The trailer %s%s announced by x-amz-trailer is missing.", checksumHeaderPrefix, checksumAlgos[i].name)
			}
		}
	}
	sums, err := pr.checksums.verify()
	if err != nil {
		return err
	}
	pr.sums = sums
	return nil
}

// verified is Payload.Checksums.
func (pr *payloadReader) verified() map[string]string {
	if !pr.done {
		return nil
	}
	return pr.sums
}
