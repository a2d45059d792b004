package s3

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/minio/minio-go/v7/pkg/signer"
)

const (
	testAccessKey = "AKIDEXAMPLE"
	testSecretKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
)

// authResult is what the test server saw of one request.
type authResult struct {
	Code      string            // "OK" or the S3 error code
	Message   string            // error message
	AccessKey string            // Payload.AccessKey
	Anonymous bool              // Payload.Anonymous
	Size      int64             // Payload.Size
	Body      []byte            // decoded body as read before any error
	Checksums map[string]string // Payload.Checksums() after EOF
	Mode      string            // x-amz-content-sha256 as received
	Encoding  string            // Content-Encoding as received
}

// authServer is an httptest server whose handler authenticates every
// request with a Verifier and reads its body, the way the S3 handlers do.
type authServer struct {
	*httptest.Server
	v *Verifier

	mu      sync.Mutex
	results []authResult
}

func newAuthServer(t *testing.T, tls bool) *authServer {
	t.Helper()
	s := &authServer{v: NewVerifier(map[string]string{testAccessKey: testSecretKey}, "")}
	h := http.HandlerFunc(s.serve)
	if tls {
		s.Server = httptest.NewTLSServer(h)
	} else {
		s.Server = httptest.NewServer(h)
	}
	t.Cleanup(s.Close)
	return s
}

func (s *authServer) serve(w http.ResponseWriter, r *http.Request) {
	res := authResult{
		Mode:     r.Header.Get("X-Amz-Content-Sha256"),
		Encoding: r.Header.Get("Content-Encoding"),
	}
	p, err := s.v.Authenticate(r)
	if err == nil {
		res.AccessKey, res.Anonymous, res.Size = p.AccessKey, p.Anonymous, p.Size
		if p.Checksums() != nil {
			err = errors.New("Checksums not nil before EOF")
		} else {
			res.Body, err = io.ReadAll(p.Body)
			res.Checksums = p.Checksums()
		}
	}
	status := http.StatusOK
	res.Code = "OK"
	if err != nil {
		ae, ok := err.(*APIError)
		if !ok {
			ae = ErrInternalError.WithMessage("%v", err)
		}
		res.Code, res.Message, status = ae.Code, ae.Message, ae.HTTPStatus
	}
	s.mu.Lock()
	s.results = append(s.results, res)
	s.mu.Unlock()
	sum := sha256.Sum256(res.Body)
	w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:16])+`"`)
	if status == http.StatusOK {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>%s</Message></Error>", res.Code, html.EscapeString(res.Message))
	}
}

// last returns the result of the last request the server handled.
func (s *authServer) last(t *testing.T) authResult {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.results) == 0 {
		t.Fatal("server saw no request")
	}
	return s.results[len(s.results)-1]
}

// do sends req and returns what the server saw.
func (s *authServer) do(t *testing.T, req *http.Request) authResult {
	t.Helper()
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return s.last(t)
}

func wantCode(t *testing.T, got authResult, code string) {
	t.Helper()
	if got.Code != code {
		t.Fatalf("got %s (%s), want %s", got.Code, got.Message, code)
	}
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// payloadBytes returns n deterministic, non-repeating-looking bytes.
func payloadBytes(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// sdkSign signs req with aws-sdk-go-v2's SigV4 signer as its S3 client
// does (no path double-encoding).
func sdkSign(t *testing.T, req *http.Request, payloadHash, secret string, at time.Time) {
	t.Helper()
	s := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	creds := aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: secret}
	if err := s.SignHTTP(context.Background(), creds, req, payloadHash, "s3", "us-east-1", at); err != nil {
		t.Fatal(err)
	}
}

func newReq(t *testing.T, method, url string, body []byte) *http.Request {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestAuthSDKSignHTTP(t *testing.T) {
	s := newAuthServer(t, false)
	body := payloadBytes(3000)
	now := time.Now().UTC()
	paths := []string{
		"/bucket",
		"/bucket/plain.txt",
		"/bucket/dir/sub%20dir/file%20name.txt",
		"/bucket/weird%21%2A%27%28%29%2B%3D%26%3B%2C%24%40.txt",
		"/bucket/weird!*'()+=&;,$@:.txt",
		"/bucket/%E6%97%A5%E6%9C%AC%E8%AA%9E/caf%C3%A9",
		"/bucket/trailing/",
	}
	for _, p := range paths {
		t.Run("path "+p, func(t *testing.T) {
			req := newReq(t, http.MethodPut, s.URL+p+"?tagging=&x-id=PutObject&z=a%20b&a=%2F%2B", body)
			req.Header.Set("X-Amz-Content-Sha256", sha256Hex(body))
			req.Header.Set("Content-Type", "text/plain")
			req.Header.Set("X-Amz-Meta-Spaced", "  a   b  c ")
			sdkSign(t, req, sha256Hex(body), testSecretKey, now)
			got := s.do(t, req)
			wantCode(t, got, "OK")
			if !bytes.Equal(got.Body, body) || got.AccessKey != testAccessKey || got.Anonymous || got.Size != int64(len(body)) {
				t.Fatalf("got access=%q anon=%v size=%d len(body)=%d", got.AccessKey, got.Anonymous, got.Size, len(got.Body))
			}
		})
	}

	cases := []struct {
		name   string
		secret string
		hash   string // signed payload hash; "" = sha256 of body
		at     time.Time
		mutate func(r *http.Request)
		code   string
	}{
		{name: "unsigned payload", hash: unsignedPayload, code: "OK"},
		{name: "wrong secret", secret: "nope", code: "SignatureDoesNotMatch"},
		{name: "stale date", at: now.Add(-16 * time.Minute), code: "RequestTimeTooSkewed"},
		{name: "future date", at: now.Add(16 * time.Minute), code: "RequestTimeTooSkewed"},
		{name: "date within skew", at: now.Add(-14 * time.Minute), code: "OK"},
		{name: "modified body", mutate: func(r *http.Request) {
			b := append([]byte(nil), body...)
			b[100] ^= 1
			r.Body = io.NopCloser(bytes.NewReader(b))
		}, code: "XAmzContentSHA256Mismatch"},
		{name: "modified signed header", mutate: func(r *http.Request) { r.Header.Set("Content-Type", "text/html") }, code: "SignatureDoesNotMatch"},
		{name: "modified query", mutate: func(r *http.Request) { r.URL.RawQuery += "&extra=1" }, code: "SignatureDoesNotMatch"},
		{name: "modified path", mutate: func(r *http.Request) { r.URL.Path += "x"; r.URL.RawPath = "" }, code: "SignatureDoesNotMatch"},
		{name: "modified method", mutate: func(r *http.Request) { r.Method = http.MethodPost }, code: "SignatureDoesNotMatch"},
		{name: "unknown access key", mutate: func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), testAccessKey, "AKIDUNKNOWN", 1))
		}, code: "InvalidAccessKeyId"},
		{name: "other service", mutate: func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/s3/", "/ec2/", 1))
		}, code: "AuthorizationHeaderMalformed"},
		{name: "unsigned payload switched", mutate: func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", unsignedPayload) }, code: "SignatureDoesNotMatch"},
		{name: "v2 signature", mutate: func(r *http.Request) { r.Header.Set("Authorization", "AWS "+testAccessKey+":abc") }, code: "SignatureDoesNotMatch"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			secret, hash, at := tc.secret, tc.hash, tc.at
			if secret == "" {
				secret = testSecretKey
			}
			if hash == "" {
				hash = sha256Hex(body)
			}
			if at.IsZero() {
				at = now
			}
			req := newReq(t, http.MethodPut, s.URL+"/bucket/key.bin?x-id=PutObject", body)
			req.Header.Set("X-Amz-Content-Sha256", hash)
			req.Header.Set("Content-Type", "application/octet-stream")
			sdkSign(t, req, hash, secret, at)
			if tc.mutate != nil {
				tc.mutate(req)
			}
			got := s.do(t, req)
			wantCode(t, got, tc.code)
			if tc.code == "OK" && !bytes.Equal(got.Body, body) {
				t.Fatal("body differs")
			}
			if tc.code == "XAmzContentSHA256Mismatch" && len(got.Body) == 0 {
				t.Fatal("the mismatch was not found by reading the body")
			}
		})
	}
}

func TestAuthDateHeader(t *testing.T) {
	// A request dated by Date instead of X-Amz-Date: the string to sign
	// carries the same instant in ISO 8601 form.
	at := time.Now().UTC().Truncate(time.Second)
	v := NewVerifier(map[string]string{testAccessKey: testSecretKey}, "")
	r := httptest.NewRequest(http.MethodGet, "http://example.com/bucket/key", nil)
	r.Header.Set("Date", at.Format(http.TimeFormat))
	r.Header.Set("X-Amz-Content-Sha256", emptySHA256Hex)
	af := &authFields{accessKey: testAccessKey, date: at.Format(yyyymmdd), region: "us-east-1",
		signedHeaders: []string{"date", "host", "x-amz-content-sha256"}}
	key := signingKey(testSecretKey, af.date, af.region)
	creq := "GET\n/bucket/key\n\n" + canonicalHeaders(r, af.signedHeaders) + "\ndate;host;x-amz-content-sha256\n" + emptySHA256Hex
	sts := signV4Algorithm + "\n" + at.Format(iso8601Basic) + "\n" + af.scope() + "\n" + sha256Hex([]byte(creq))
	sig := hex.EncodeToString(hmacSHA256(key, sts))
	r.Header.Set("Authorization", signV4Algorithm+" Credential="+testAccessKey+"/"+af.scope()+", SignedHeaders=date;host;x-amz-content-sha256, Signature="+sig)
	if _, err := v.Authenticate(r); err != nil {
		t.Fatalf("Date-dated request: %v", err)
	}
	v.Now = func() time.Time { return at.Add(20 * time.Minute) }
	if _, err := v.Authenticate(r); err != ErrRequestTimeTooSkewed {
		t.Fatalf("stale Date: got %v", err)
	}
}

func TestAuthMinioSignV4(t *testing.T) {
	s := newAuthServer(t, false)
	body := payloadBytes(5000)
	for _, tc := range []struct {
		name, hash, secret, code string
	}{
		{"signed body", sha256Hex(body), testSecretKey, "OK"},
		{"unsigned payload", unsignedPayload, testSecretKey, "OK"},
		{"wrong body hash", sha256Hex(body[1:]), testSecretKey, "XAmzContentSHA256Mismatch"},
		{"wrong secret", sha256Hex(body), "bad", "SignatureDoesNotMatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := newReq(t, http.MethodPut, s.URL+"/bucket/obj%20ect+(1).txt?uploadId=abc%2Fdef&partNumber=2", body)
			req.Header.Set("X-Amz-Content-Sha256", tc.hash)
			req.Header.Set("X-Amz-Meta-A", "1")
			req = signer.SignV4(*req, testAccessKey, tc.secret, "", "eu-west-3")
			got := s.do(t, req)
			wantCode(t, got, tc.code)
			if tc.code == "OK" && !bytes.Equal(got.Body, body) {
				t.Fatal("body differs")
			}
		})
	}
}

func TestAuthPresigned(t *testing.T) {
	s := newAuthServer(t, false)
	now := time.Now().UTC()
	presignSDK := func(t *testing.T, method, url string, at time.Time, expires string) *http.Request {
		t.Helper()
		req := newReq(t, method, url, nil)
		q := req.URL.Query()
		q.Set("X-Amz-Expires", expires)
		req.URL.RawQuery = q.Encode()
		sg := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
		creds := aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecretKey}
		u, hdr, err := sg.PresignHTTP(context.Background(), creds, req, unsignedPayload, "s3", "us-east-1", at)
		if err != nil {
			t.Fatal(err)
		}
		out := newReq(t, method, u, nil)
		for k, v := range hdr {
			if !strings.EqualFold(k, "host") {
				out.Header[k] = v
			}
		}
		return out
	}
	t.Run("sdk get", func(t *testing.T) {
		got := s.do(t, presignSDK(t, http.MethodGet, s.URL+"/bucket/a%20b.txt?versionId=3", now, "3600"))
		wantCode(t, got, "OK")
		if got.AccessKey != testAccessKey || got.Anonymous {
			t.Fatalf("access %q anonymous %v", got.AccessKey, got.Anonymous)
		}
	})
	t.Run("sdk expired", func(t *testing.T) {
		got := s.do(t, presignSDK(t, http.MethodGet, s.URL+"/bucket/key", now.Add(-2*time.Hour), "3600"))
		wantCode(t, got, "AccessDenied")
		if got.Message != ErrExpiredPresignRequest.Message {
			t.Fatalf("message %q", got.Message)
		}
	})
	t.Run("sdk expires too long", func(t *testing.T) {
		got := s.do(t, presignSDK(t, http.MethodGet, s.URL+"/bucket/key", now, "604801"))
		wantCode(t, got, "AuthorizationQueryParametersError")
	})
	t.Run("sdk seven days old and valid", func(t *testing.T) {
		req := presignSDK(t, http.MethodGet, s.URL+"/bucket/key", now.Add(-7*24*time.Hour+time.Minute), "604800")
		wantCode(t, s.do(t, req), "OK")
	})
	t.Run("sdk not valid yet", func(t *testing.T) {
		got := s.do(t, presignSDK(t, http.MethodGet, s.URL+"/bucket/key", now.Add(time.Hour), "3600"))
		wantCode(t, got, "RequestTimeTooSkewed")
	})
	t.Run("sdk tampered", func(t *testing.T) {
		req := presignSDK(t, http.MethodGet, s.URL+"/bucket/key", now, "3600")
		req.URL.RawQuery = strings.Replace(req.URL.RawQuery, "X-Amz-Expires=3600", "X-Amz-Expires=3601", 1)
		wantCode(t, s.do(t, req), "SignatureDoesNotMatch")
	})
	t.Run("sdk put with body", func(t *testing.T) {
		body := payloadBytes(1000)
		req := presignSDK(t, http.MethodPut, s.URL+"/bucket/key", now, "60")
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
		got := s.do(t, req)
		wantCode(t, got, "OK")
		if !bytes.Equal(got.Body, body) {
			t.Fatal("body differs")
		}
	})
	t.Run("minio get", func(t *testing.T) {
		req := newReq(t, http.MethodGet, s.URL+"/bucket/dir/x%2By.txt?response-content-type=text%2Fplain", nil)
		req = signer.PreSignV4(*req, testAccessKey, testSecretKey, "", "us-west-2", 600)
		wantCode(t, s.do(t, req), "OK")
	})
	t.Run("minio wrong secret", func(t *testing.T) {
		req := newReq(t, http.MethodGet, s.URL+"/bucket/key", nil)
		req = signer.PreSignV4(*req, testAccessKey, "wrong", "", "us-east-1", 600)
		wantCode(t, s.do(t, req), "SignatureDoesNotMatch")
	})
	t.Run("minio expired", func(t *testing.T) {
		req := newReq(t, http.MethodGet, s.URL+"/bucket/key", nil)
		req = signer.PreSignV4(*req, testAccessKey, testSecretKey, "", "us-east-1", 1)
		v := *s.v
		v.Now = func() time.Time { return time.Now().Add(2 * time.Second) }
		r := httptest.NewRequest(req.Method, req.URL.String(), nil)
		r.Host = req.URL.Host
		if _, err := v.Authenticate(r); err != ErrExpiredPresignRequest {
			t.Fatalf("got %v, want ErrExpiredPresignRequest", err)
		}
	})
	t.Run("both mechanisms", func(t *testing.T) {
		req := presignSDK(t, http.MethodGet, s.URL+"/bucket/key", now, "60")
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=x")
		wantCode(t, s.do(t, req), "InvalidArgument")
	})
	t.Run("missing signature", func(t *testing.T) {
		req := presignSDK(t, http.MethodGet, s.URL+"/bucket/key", now, "60")
		q := req.URL.Query()
		q.Del("X-Amz-Signature")
		req.URL.RawQuery = q.Encode()
		wantCode(t, s.do(t, req), "AuthorizationQueryParametersError")
	})
}

func TestAuthAnonymous(t *testing.T) {
	s := newAuthServer(t, false)
	body := []byte("hello anonymous")
	got := s.do(t, newReq(t, http.MethodPut, s.URL+"/bucket/key", body))
	wantCode(t, got, "OK")
	if !got.Anonymous || got.AccessKey != "" || !bytes.Equal(got.Body, body) {
		t.Fatalf("got %+v", got)
	}
	// Integrity headers are still checked.
	req := newReq(t, http.MethodPut, s.URL+"/bucket/key", body)
	req.Header.Set("X-Amz-Content-Sha256", sha256Hex([]byte("other")))
	wantCode(t, s.do(t, req), "XAmzContentSHA256Mismatch")
	req = newReq(t, http.MethodPut, s.URL+"/bucket/key", body)
	req.Header.Set("X-Amz-Checksum-Crc32", "AAAAAA==")
	wantCode(t, s.do(t, req), "BadDigest")
	// A signed streaming payload cannot be anonymous.
	req = newReq(t, http.MethodPut, s.URL+"/bucket/key", body)
	req.Header.Set("X-Amz-Content-Sha256", streamingSigned)
	wantCode(t, s.do(t, req), "AccessDenied")
}

func TestAuthHeaderChecksums(t *testing.T) {
	s := newAuthServer(t, false)
	body := payloadBytes(10000)
	want := map[string]string{}
	for i, a := range checksumAlgos {
		h := checksumAlgos[i].new()
		h.Write(body)
		want[a.name] = b64(h.Sum(nil))
	}
	for _, a := range checksumAlgos {
		t.Run(a.name, func(t *testing.T) {
			req := newReq(t, http.MethodPut, s.URL+"/bucket/key", body)
			req.Header.Set("X-Amz-Checksum-"+a.name, want[a.name])
			req.Header.Set("X-Amz-Content-Sha256", unsignedPayload)
			sdkSign(t, req, unsignedPayload, testSecretKey, time.Now())
			got := s.do(t, req)
			wantCode(t, got, "OK")
			if len(got.Checksums) != 1 || got.Checksums[a.name] != want[a.name] {
				t.Fatalf("checksums %v", got.Checksums)
			}

			bad := append([]byte(nil), body...)
			bad[len(bad)-1] ^= 0x80
			req = newReq(t, http.MethodPut, s.URL+"/bucket/key", bad)
			req.Header.Set("X-Amz-Checksum-"+a.name, want[a.name])
			got = s.do(t, req)
			wantCode(t, got, "BadDigest")
			if !strings.Contains(got.Message, strings.ToUpper(a.name)) {
				t.Fatalf("message %q does not name %s", got.Message, a.name)
			}

			req = newReq(t, http.MethodPut, s.URL+"/bucket/key", body)
			req.Header.Set("X-Amz-Checksum-"+a.name, "not base64!")
			wantCode(t, s.do(t, req), "InvalidRequest")
		})
	}
	// All at once, and headers that share the prefix but are no values.
	req := newReq(t, http.MethodPut, s.URL+"/bucket/key", body)
	for k, v := range want {
		req.Header.Set("X-Amz-Checksum-"+k, v)
	}
	req.Header.Set("X-Amz-Checksum-Type", "FULL_OBJECT")
	req.Header.Set("X-Amz-Checksum-Algorithm", "CRC32")
	got := s.do(t, req)
	wantCode(t, got, "OK")
	if len(got.Checksums) != len(want) {
		t.Fatalf("checksums %v, want %v", got.Checksums, want)
	}
	for k, v := range want {
		if got.Checksums[k] != v {
			t.Fatalf("%s: %q, want %q", k, got.Checksums[k], v)
		}
	}
}

func TestAuthIncompleteBody(t *testing.T) {
	// The client announces more bytes than it sends, then closes.
	v := NewVerifier(map[string]string{testAccessKey: testSecretKey}, "")
	r := httptest.NewRequest(http.MethodPut, "http://example.com/bucket/key", io.NopCloser(errReader{io.ErrUnexpectedEOF}))
	r.ContentLength = 10
	p, err := v.Authenticate(r)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(p.Body)
	if !isAPIError(err, ErrIncompleteBody) {
		t.Fatalf("got %v, want IncompleteBody", err)
	}
	if strings.Contains(err.Error(), "aws-chunked") {
		t.Fatalf("a plain body's error speaks of aws-chunked: %v", err)
	}
}

// errReader fails every Read with err, like a body cut short.
type errReader struct{ err error }

func (r errReader) Read(p []byte) (int, error) { return 0, r.err }

func isAPIError(err error, want *APIError) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Code == want.Code
}

func TestAuthParseAuthorization(t *testing.T) {
	good := "AWS4-HMAC-SHA256 Credential=AKID/20240102/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + strings.Repeat("ab", 32)
	af, err := parseAuthorization(good)
	if err != nil {
		t.Fatal(err)
	}
	if af.accessKey != "AKID" || af.date != "20240102" || af.region != "us-east-1" || strings.Join(af.signedHeaders, ";") != "host;x-amz-date" {
		t.Fatalf("%+v", af)
	}
	if af, err := parseAuthorization(strings.ReplaceAll(good, ", ", ",")); err != nil || af.accessKey != "AKID" {
		t.Fatalf("no spaces: %v", err)
	}
	bad := []string{
		"",
		"AWS4-HMAC-SHA256",
		"AWS4-HMAC-SHA256X Credential=a",
		strings.Replace(good, "Credential", "Cred", 1),
		strings.Replace(good, "/s3/", "/sqs/", 1),
		strings.Replace(good, "aws4_request", "aws5_request", 1),
		strings.Replace(good, "20240102", "2024012", 1),
		strings.Replace(good, "host;", "", 1),
		strings.Replace(good, "host;x-amz-date", "Host;x-amz-date", 1),
		strings.Replace(good, "host;x-amz-date", "host;;x", 1),
		strings.Replace(good, strings.Repeat("ab", 32), "abc", 1),
		strings.Replace(good, strings.Repeat("ab", 32), strings.Repeat("zz", 32), 1),
		good + ", Signature=" + strings.Repeat("ab", 32),
		"AWS4-HMAC-SHA256 Credential=/20240102/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" + strings.Repeat("ab", 32),
		"AWS4-HMAC-SHA256 Credential=AKID/20240102//s3/aws4_request, SignedHeaders=host, Signature=" + strings.Repeat("ab", 32),
	}
	for _, h := range bad {
		if _, err := parseAuthorization(h); err == nil {
			t.Errorf("parseAuthorization(%q) succeeded", h)
		} else if _, ok := err.(*APIError); !ok {
			t.Errorf("parseAuthorization(%q): %T is not an *APIError", h, err)
		}
	}
}

func TestAuthCanonicalQuery(t *testing.T) {
	for raw, want := range map[string]string{
		"":                         "",
		"acl":                      "acl=",
		"b=2&a=1&a=0":              "a=0&a=1&b=2",
		"prefix=a+b&delimiter=%2F": "delimiter=%2F&prefix=a%20b",
		"k=%7E%2A!":                "k=~%2A%21",
		"X-Amz-Signature=abc&x=1":  "x=1",
	} {
		if got := canonicalQuery(raw, true); got != want {
			t.Errorf("canonicalQuery(%q) = %q, want %q", raw, got, want)
		}
	}
	if got := canonicalQuery("X-Amz-Signature=abc", false); got != "X-Amz-Signature=abc" {
		t.Errorf("header-signed X-Amz-Signature dropped: %q", got)
	}
}
