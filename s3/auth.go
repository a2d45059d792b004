package s3

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// AWS Signature Version 4.
//
// A request authenticates in one of three ways:
//   - an Authorization header "AWS4-HMAC-SHA256 Credential=…,
//     SignedHeaders=…, Signature=…" (dated by X-Amz-Date or Date, which must
//     be within MaxClockSkew of the server's clock);
//   - a presigned URL, whose query carries X-Amz-Algorithm, X-Amz-Credential,
//     X-Amz-Date, X-Amz-Expires (at most seven days), X-Amz-SignedHeaders and
//     X-Amz-Signature;
//   - nothing at all: the request is anonymous and the handler decides.
//
// The signature covers the method, path, query, the signed headers and the
// payload hash (x-amz-content-sha256), which names how the body is
// protected; see Payload.
//
// References: https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html
// and its pages on chunked uploads and trailers.

const (
	signV4Algorithm = "AWS4-HMAC-SHA256"
	iso8601Basic    = "20060102T150405Z"
	yyyymmdd        = "20060102"

	// MaxClockSkew is how far a signed request's date may be from the
	// server's clock.
	MaxClockSkew = 15 * time.Minute
	// MaxPresignExpiry is the longest X-Amz-Expires a presigned URL may ask.
	MaxPresignExpiry = 7 * 24 * time.Hour

	unsignedPayload        = "UNSIGNED-PAYLOAD"
	streamingSigned        = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	streamingSignedTrailer = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	streamingUnsignedTrail = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
)

// Verifier authenticates S3 requests signed with AWS Signature Version 4
// against a fixed set of credentials. It is safe for concurrent use once
// constructed; do not change its fields while requests are served.
type Verifier struct {
	creds  map[string]string
	region string

	// Now returns the server's clock; nil means time.Now. Tests set it.
	Now func() time.Time
}

// NewVerifier returns a Verifier for creds (access key -> secret key).
// region is the server's region ("" means "us-east-1"), reported by
// Region. Signatures scoped to any region are accepted: the region is part
// of what the client signed, and clients disagree on the one they use for
// a server that is not AWS. The service in the scope must be "s3".
func NewVerifier(creds map[string]string, region string) *Verifier {
	if region == "" {
		region = "us-east-1"
	}
	c := make(map[string]string, len(creds))
	for k, v := range creds {
		c[k] = v
	}
	return &Verifier{creds: c, region: region}
}

// Region returns the server's region.
func (v *Verifier) Region() string { return v.region }

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

// Payload is an authenticated request's identity and its decoded body.
type Payload struct {
	// AccessKey is the access key that signed the request; "" when
	// Anonymous.
	AccessKey string
	// Anonymous is true when the request carried no signature at all.
	Anonymous bool
	// Body is the request body with any aws-chunked framing removed.
	// Reading it to the end verifies everything that protects it: the
	// x-amz-content-sha256 of a signed single-chunk payload, every chunk
	// signature and the trailer signature of a streaming payload, and every
	// x-amz-checksum-* value from the headers or the trailer. On a mismatch
	// Read returns an *APIError (never io.EOF), and keeps returning it, so a
	// caller that stores only after io.EOF stores nothing unverified. A
	// truncated body gives ErrIncompleteBody. Body is never nil; it is not
	// safe for concurrent use.
	Body io.Reader
	// Size is the decoded length: x-amz-decoded-content-length for
	// aws-chunked bodies, else Content-Length; -1 if unknown.
	Size int64
	// Checksums returns, once Body returned io.EOF, the verified checksum
	// values keyed by algorithm ("crc32", "crc32c", "sha1", "sha256",
	// "crc64nvme") as base64, from x-amz-checksum-* headers or the
	// aws-chunked trailer. It returns nil before that. Never nil itself.
	Checksums func() map[string]string
}

// authFields is what the Authorization header or the presign query says.
type authFields struct {
	accessKey     string
	date          string // credential scope date, yyyymmdd
	region        string
	signedHeaders []string
	signature     string // lower-case hex
}

func (a *authFields) scope() string {
	return a.date + "/" + a.region + "/s3/aws4_request"
}

// Authenticate checks the signature of r and returns its identity and
// decoded body. The error is an *APIError: ErrInvalidAccessKeyID,
// ErrSignatureDoesNotMatch, ErrRequestTimeTooSkewed,
// ErrExpiredPresignRequest, ErrAuthorizationHeaderMalformed,
// ErrAuthorizationQueryParametersError, or another for a body whose
// encoding is unusable. A request with neither an Authorization header nor
// a presign query is anonymous: Payload.Anonymous is true.
//
// Authenticate reads no body; it must run before anything else reads r.Body.
func (v *Verifier) Authenticate(r *http.Request) (*Payload, error) {
	authz := r.Header.Get("Authorization")
	q := r.URL.Query()
	presigned := q.Has("X-Amz-Signature") || q.Has("X-Amz-Algorithm") || q.Has("X-Amz-Credential")
	v2Header, v2Presigned := isV2(r, q)
	switch {
	case authz != "" && (presigned || v2Presigned):
		return nil, ErrInvalidArgument.WithMessage("Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified.")
	case v2Header:
		return v.authenticateV2Header(r)
	case authz != "":
		return v.authenticateHeader(r, authz)
	case presigned:
		return v.authenticatePresigned(r, q)
	case v2Presigned:
		return v.authenticateV2Presigned(r, q)
	default:
		return newPayload(r, "", nil, r.Header.Get("X-Amz-Content-Sha256"))
	}
}

func (v *Verifier) authenticateHeader(r *http.Request, authz string) (*Payload, error) {
	af, err := parseAuthorization(authz)
	if err != nil {
		return nil, err
	}
	secret, ok := v.creds[af.accessKey]
	if !ok {
		return nil, ErrInvalidAccessKeyID
	}
	t, amzDate, err := requestTime(r)
	if err != nil {
		return nil, err
	}
	if t.Format(yyyymmdd) != af.date {
		return nil, ErrAuthorizationHeaderMalformed.WithMessage("Invalid credential date %q. This date is not the same as X-Amz-Date: %q.", af.date, t.Format(yyyymmdd))
	}
	if d := v.now().Sub(t); d > MaxClockSkew || d < -MaxClockSkew {
		return nil, ErrRequestTimeTooSkewed
	}
	hashed := r.Header.Get("X-Amz-Content-Sha256")
	if hashed == "" {
		if r.ContentLength != 0 {
			return nil, ErrMissingSecurityHeader.WithMessage("Missing required header for this request: x-amz-content-sha256")
		}
		hashed = emptySHA256Hex
	}
	signer, err := verifySignature(r, af, secret, amzDate, hashed, url.Values(nil))
	if err != nil {
		return nil, err
	}
	return newPayload(r, af.accessKey, signer, hashed)
}

func (v *Verifier) authenticatePresigned(r *http.Request, q url.Values) (*Payload, error) {
	if q.Get("X-Amz-Algorithm") != signV4Algorithm {
		return nil, ErrAuthorizationQueryParametersError.WithMessage("X-Amz-Algorithm only supports %q.", signV4Algorithm)
	}
	af, err := parseCredential(q.Get("X-Amz-Credential"), ErrAuthorizationQueryParametersError)
	if err != nil {
		return nil, err
	}
	af.signedHeaders, err = parseSignedHeaders(q.Get("X-Amz-SignedHeaders"), ErrAuthorizationQueryParametersError)
	if err != nil {
		return nil, err
	}
	af.signature = q.Get("X-Amz-Signature")
	if !isHexSignature(af.signature) {
		return nil, ErrAuthorizationQueryParametersError.WithMessage("X-Amz-Signature must be 64 hexadecimal digits.")
	}
	amzDate := q.Get("X-Amz-Date")
	t, err := time.Parse(iso8601Basic, amzDate)
	if err != nil {
		return nil, ErrAuthorizationQueryParametersError.WithMessage("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\".")
	}
	expires, err := strconv.ParseInt(q.Get("X-Amz-Expires"), 10, 64)
	if err != nil || expires < 0 {
		return nil, ErrAuthorizationQueryParametersError.WithMessage("X-Amz-Expires should be a number of seconds.")
	}
	if time.Duration(expires)*time.Second > MaxPresignExpiry {
		return nil, ErrAuthorizationQueryParametersError.WithMessage("X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds.")
	}
	secret, ok := v.creds[af.accessKey]
	if !ok {
		return nil, ErrInvalidAccessKeyID
	}
	if t.Format(yyyymmdd) != af.date {
		return nil, ErrAuthorizationQueryParametersError.WithMessage("Invalid credential date %q. This date is not the same as X-Amz-Date: %q.", af.date, t.Format(yyyymmdd))
	}
	now := v.now()
	if t.Sub(now) > MaxClockSkew {
		return nil, ErrRequestTimeTooSkewed.WithMessage("Request is not valid yet.")
	}
	if now.After(t.Add(time.Duration(expires) * time.Second)) {
		return nil, ErrExpiredPresignRequest
	}
	hashed := q.Get("X-Amz-Content-Sha256")
	if hashed == "" {
		hashed = r.Header.Get("X-Amz-Content-Sha256")
	}
	if hashed == "" {
		hashed = unsignedPayload
	}
	signer, err := verifySignature(r, af, secret, amzDate, hashed, q)
	if err != nil {
		return nil, err
	}
	return newPayload(r, af.accessKey, signer, hashed)
}

// requestTime returns the request's date from X-Amz-Date, else Date, and
// its ISO 8601 basic form as signed.
func requestTime(r *http.Request) (time.Time, string, error) {
	if s := r.Header.Get("X-Amz-Date"); s != "" {
		t, err := time.Parse(iso8601Basic, s)
		if err != nil {
			return time.Time{}, "", ErrAccessDenied.WithMessage("AWS authentication requires a valid Date or x-amz-date header")
		}
		return t, s, nil
	}
	if s := r.Header.Get("Date"); s != "" {
		t, err := http.ParseTime(s)
		if err != nil {
			return time.Time{}, "", ErrAccessDenied.WithMessage("AWS authentication requires a valid Date or x-amz-date header")
		}
		t = t.UTC()
		return t, t.Format(iso8601Basic), nil
	}
	return time.Time{}, "", ErrAccessDenied.WithMessage("AWS authentication requires a valid Date or x-amz-date header")
}

// parseAuthorization parses an "AWS4-HMAC-SHA256 Credential=…,
// SignedHeaders=…, Signature=…" header. Errors are
// ErrAuthorizationHeaderMalformed (or ErrInvalidRequest for another scheme).
func parseAuthorization(h string) (*authFields, error) {
	rest, ok := strings.CutPrefix(h, signV4Algorithm)
	if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '\t') {
		return nil, ErrInvalidRequest.WithMessage("The authorization mechanism you have provided is not supported. Please use %s.", signV4Algorithm)
	}
	var cred, signed, sig string
	var seen [3]bool
	for _, part := range strings.Split(rest, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, ErrAuthorizationHeaderMalformed.WithMessage("The authorization header is malformed; the component %q is not key=value.", truncateString(part, 40))
		}
		var i int
		switch k {
		case "Credential":
			i, cred = 0, val
		case "SignedHeaders":
			i, signed = 1, val
		case "Signature":
			i, sig = 2, val
		default:
			return nil, ErrAuthorizationHeaderMalformed.WithMessage("The authorization header is malformed; unknown component %q.", truncateString(k, 40))
		}
		if seen[i] {
			return nil, ErrAuthorizationHeaderMalformed.WithMessage("The authorization header is malformed; %s appears twice.", k)
		}
		seen[i] = true
	}
	if !seen[0] || !seen[1] || !seen[2] {
		return nil, ErrAuthorizationHeaderMalformed.WithMessage("The authorization header is malformed; it needs Credential, SignedHeaders and Signature.")
	}
	af, err := parseCredential(cred, ErrAuthorizationHeaderMalformed)
	if err != nil {
		return nil, err
	}
	if af.signedHeaders, err = parseSignedHeaders(signed, ErrAuthorizationHeaderMalformed); err != nil {
		return nil, err
	}
	if !isHexSignature(sig) {
		return nil, ErrAuthorizationHeaderMalformed.WithMessage("The authorization header is malformed; the signature must be 64 hexadecimal digits.")
	}
	af.signature = strings.ToLower(sig)
	return af, nil
}

func truncateString(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// parseCredential parses "<access key>/<yyyymmdd>/<region>/s3/aws4_request".
func parseCredential(c string, malformed *APIError) (*authFields, error) {
	parts := strings.Split(c, "/")
	if len(parts) < 5 {
		return nil, malformed.WithMessage("The credential %q is malformed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".", truncateString(c, 128))
	}
	n := len(parts)
	af := &authFields{
		accessKey: strings.Join(parts[:n-4], "/"),
		date:      parts[n-4],
		region:    parts[n-3],
	}
	if _, err := time.Parse(yyyymmdd, af.date); err != nil || len(af.date) != 8 {
		return nil, malformed.WithMessage("The credential date %q is not in the form YYYYMMDD.", truncateString(af.date, 16))
	}
	if parts[n-1] != "aws4_request" {
		return nil, malformed.WithMessage("The credential is malformed; it must end in \"aws4_request\".")
	}
	if parts[n-2] != "s3" {
		return nil, malformed.WithMessage("The credential is malformed; the service must be \"s3\", not %q.", truncateString(parts[n-2], 32))
	}
	if af.accessKey == "" || af.region == "" {
		return nil, malformed.WithMessage("The credential is malformed; the access key and region must not be empty.")
	}
	return af, nil
}

// parseSignedHeaders parses "host;x-amz-date", which must name host.
func parseSignedHeaders(s string, malformed *APIError) ([]string, error) {
	hs := strings.Split(s, ";")
	hasHost := false
	for _, h := range hs {
		if h == "" || h != strings.ToLower(h) {
			return nil, malformed.WithMessage("SignedHeaders %q is malformed; it must list lower-case header names separated by ';'.", truncateString(s, 128))
		}
		hasHost = hasHost || h == "host"
	}
	if !hasHost {
		return nil, malformed.WithMessage("SignedHeaders must include the host header.")
	}
	return hs, nil
}

func isHexSignature(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// signingKey derives the SigV4 key for a secret, date and region.
func signingKey(secret, date, region string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, "s3")
	return hmacSHA256(k, "aws4_request")
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// verifySignature recomputes the request signature and compares it with
// af.signature. presignQuery is the query of a presigned request (whose
// X-Amz-Signature is left out of the canonical query), nil otherwise. On
// success it returns the chunk signer seeded with the request signature.
func verifySignature(r *http.Request, af *authFields, secret, amzDate, hashedPayload string, presignQuery url.Values) (*chunkSigner, error) {
	key := signingKey(secret, af.date, af.region)
	scope := af.scope()
	query := canonicalQuery(r.URL.RawQuery, presignQuery != nil)
	headers := canonicalHeaders(r, af.signedHeaders)
	// S3 does not double-encode the path: the canonical URI is the
	// URI-encoded path. Clients and proxies disagree on which characters
	// to escape, so the path as sent is tried too.
	for _, uri := range canonicalURIs(r) {
		creq := r.Method + "\n" + uri + "\n" + query + "\n" + headers + "\n" +
			strings.Join(af.signedHeaders, ";") + "\n" + hashedPayload
		sum := sha256.Sum256([]byte(creq))
		sts := signV4Algorithm + "\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
		sig := hex.EncodeToString(hmacSHA256(key, sts))
		if hmac.Equal([]byte(sig), []byte(strings.ToLower(af.signature))) {
			return &chunkSigner{key: key, amzDate: amzDate, scope: scope, prev: sig}, nil
		}
	}
	return nil, ErrSignatureDoesNotMatch
}

// canonicalURIs returns the candidate canonical URIs of r: the AWS
// URI-encoding of the decoded path, then the path as escaped on the wire
// if that differs.
func canonicalURIs(r *http.Request) []string {
	p := r.URL.Path
	if p == "" {
		p = "/"
	}
	uris := []string{awsURIEncode(p, false)}
	raw := r.URL.EscapedPath()
	if r.RequestURI != "" && !strings.HasPrefix(r.RequestURI, "http") {
		raw, _, _ = strings.Cut(r.RequestURI, "?")
	}
	if raw == "" {
		raw = "/"
	}
	if raw != uris[0] {
		uris = append(uris, raw)
	}
	return uris
}

// awsURIEncode escapes every byte except the unreserved characters
// A-Z a-z 0-9 - _ . ~ (and '/' unless encodeSlash), with upper-case hex.
func awsURIEncode(s string, encodeSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~' || (c == '/' && !encodeSlash) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// canonicalQuery returns the canonical query string of a raw query: every
// name and value decoded then URI-encoded, sorted by name then value. A
// presigned request's X-Amz-Signature is left out.
func canonicalQuery(raw string, presigned bool) string {
	if raw == "" {
		return ""
	}
	type kv struct{ k, v string }
	var pairs []kv
	for _, p := range strings.Split(raw, "&") {
		if p == "" {
			continue
		}
		k, v, _ := strings.Cut(p, "=")
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		if dv, err := url.QueryUnescape(v); err == nil {
			v = dv
		}
		if presigned && k == "X-Amz-Signature" {
			continue
		}
		pairs = append(pairs, kv{awsURIEncode(k, true), awsURIEncode(v, true)})
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k + "=" + p.v)
	}
	return b.String()
}

// canonicalHeaders returns "name:value\n" for each signed header, values
// trimmed, inner runs of spaces collapsed, repeated headers joined by ','.
// Go's server moves Host, Content-Length and Transfer-Encoding out of the
// header map; they are taken from the request fields.
func canonicalHeaders(r *http.Request, signed []string) string {
	var b strings.Builder
	for _, name := range signed {
		b.WriteString(name)
		b.WriteByte(':')
		vals := r.Header.Values(name)
		switch {
		case name == "host":
			vals = []string{r.Host}
			if r.Host == "" {
				vals = []string{r.URL.Host}
			}
		case name == "content-length" && len(vals) == 0 && r.ContentLength >= 0:
			vals = []string{strconv.FormatInt(r.ContentLength, 10)}
		case name == "transfer-encoding" && len(vals) == 0:
			vals = r.TransferEncoding
		}
		for i, v := range vals {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(trimAll(v))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// trimAll trims spaces around v and collapses runs of inner spaces.
func trimAll(v string) string {
	v = strings.TrimSpace(v)
	if !strings.Contains(v, "  ") {
		return v
	}
	var b strings.Builder
	space := false
	for i := 0; i < len(v); i++ {
		if v[i] == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// PostPolicySignature is what a browser-based upload form (POST Object)
// carries to authenticate: the policy field as sent (base64) and the SigV4
// form fields.
type PostPolicySignature struct {
	Policy     string // "policy"
	Algorithm  string // "x-amz-algorithm"
	Credential string // "x-amz-credential"
	Date       string // "x-amz-date"
	Signature  string // "x-amz-signature"
}

// VerifyPostPolicy checks the signature of a POST Object form: the hex
// HMAC-SHA256 of the base64 policy with the signing key of the credential's
// access key, date and region (service s3). It returns the access key. The
// error is an *APIError: ErrInvalidArgument for a malformed algorithm,
// credential or date, ErrInvalidAccessKeyID, or ErrSignatureDoesNotMatch.
// The policy's own expiration and conditions are the caller's to check.
func (v *Verifier) VerifyPostPolicy(f PostPolicySignature) (string, error) {
	if f.Algorithm != signV4Algorithm {
		return "", ErrInvalidArgument.WithMessage("x-amz-algorithm only supports %q.", signV4Algorithm)
	}
	af, err := parseCredential(f.Credential, ErrInvalidArgument)
	if err != nil {
		return "", err
	}
	t, err := time.Parse(iso8601Basic, f.Date)
	if err != nil {
		return "", ErrInvalidArgument.WithMessage("x-amz-date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\".")
	}
	if t.Format(yyyymmdd) != af.date {
		return "", ErrInvalidArgument.WithMessage("Invalid credential date %q. This date is not the same as x-amz-date: %q.", af.date, t.Format(yyyymmdd))
	}
	secret, ok := v.creds[af.accessKey]
	if !ok {
		return "", ErrInvalidAccessKeyID
	}
	want := hex.EncodeToString(hmacSHA256(signingKey(secret, af.date, af.region), f.Policy))
	if !hmac.Equal([]byte(want), []byte(strings.ToLower(f.Signature))) {
		return "", ErrSignatureDoesNotMatch
	}
	return af.accessKey, nil
}
