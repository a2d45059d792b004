package s3

import (
	"net/http"
	"testing"

	"github.com/minio/minio-go/v7"
)

// options sends an unsigned CORS preflight.
func (e *testEnv) options(target string, header ...string) rawResponse {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodOptions, e.srv.URL+target, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return e.send(req)
}

func TestCORSRequests(t *testing.T) {
	e := newTestServer(t)
	e.bucket("web")
	e.put("web", "k", "v", minio.PutObjectOptions{})
	wantError(t, e.options("/web/k", "Origin", "https://app.example", "Access-Control-Request-Method", "GET"), 403, "AccessForbidden")

	cfg := `<CORSConfiguration>
<CORSRule><AllowedOrigin>https://*.example</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod>
<AllowedHeader>x-amz-*</AllowedHeader><AllowedHeader>Content-Type</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>600</MaxAgeSeconds></CORSRule>
<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>HEAD</AllowedMethod></CORSRule>
</CORSConfiguration>`
	if rr := e.do("PUT", "/web?cors", []byte(cfg)); rr.status != 200 {
		t.Fatalf("put cors: %d %s", rr.status, rr.body)
	}

	rr := e.options("/web/k", "Origin", "https://app.example", "Access-Control-Request-Method", "PUT",
		"Access-Control-Request-Headers", "content-type, x-amz-meta-a")
	h := rr.header
	if rr.status != 200 || h.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		h.Get("Access-Control-Allow-Methods") != "GET, PUT" || h.Get("Access-Control-Allow-Headers") != "content-type, x-amz-meta-a" ||
		h.Get("Access-Control-Max-Age") != "600" || h.Get("Access-Control-Expose-Headers") != "ETag" ||
		h.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("preflight: %d %v %s", rr.status, h, rr.body)
	}
	// The second rule: any origin, HEAD only.
	if rr := e.options("/web", "Origin", "https://elsewhere.test", "Access-Control-Request-Method", "HEAD"); rr.status != 200 ||
		rr.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("wildcard preflight: %d %v", rr.status, rr.header)
	}
	for _, bad := range [][]string{
		{"Origin", "https://elsewhere.test", "Access-Control-Request-Method", "GET"},
		{"Origin", "https://app.example", "Access-Control-Request-Method", "DELETE"},
		{"Origin", "https://app.example", "Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "authorization"},
	} {
		wantError(t, e.options("/web/k", bad...), 403, "AccessForbidden")
	}
	wantError(t, e.options("/web/k", "Origin", "https://app.example"), 400, "InvalidRequest")
	wantError(t, e.options("/nosuch/k", "Origin", "https://app.example", "Access-Control-Request-Method", "GET"), 404, "NoSuchBucket")

	// Actual requests: the headers come with the response when a rule
	// allows the origin and method, and only then.
	rr = e.do("GET", "/web/k", nil, "Origin", "https://app.example")
	if rr.status != 200 || rr.header.Get("Access-Control-Allow-Origin") != "https://app.example" || rr.header.Get("Access-Control-Expose-Headers") != "ETag" {
		t.Fatalf("GET with Origin: %d %v", rr.status, rr.header)
	}
	if rr := e.do("DELETE", "/web/k", nil, "Origin", "https://app.example"); rr.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("DELETE from an origin no rule allows to delete: %v", rr.header)
	}
	if rr := e.do("GET", "/web?cors", nil); rr.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("request without Origin got CORS headers: %v", rr.header)
	}
}
