package main

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bucketdb/bucketdb/reqid"
)

func TestParseFloor(t *testing.T) {
	for _, tc := range []struct {
		in      string
		bytes   int64
		percent float64
		bad     bool
	}{
		{"0", 0, 0, false},
		{"1GiB", 1 << 30, 0, false},
		{"512 MiB", 512 << 20, 0, false},
		{"10GB", 10e9, 0, false},
		{"1048576", 1 << 20, 0, false},
		{"5%", 0, 5, false},
		{"100%", 0, 0, true},
		{"-1", 0, 0, true},
		{"lots", 0, 0, true},
		{"1PiB", 0, 0, true},
	} {
		b, p, err := parseFloor(tc.in)
		if (err != nil) != tc.bad || b != tc.bytes || p != tc.percent {
			t.Errorf("parseFloor(%q) = %d, %v, %v", tc.in, b, p, err)
		}
	}
}

func TestLogHTTPRedactsAndTagsInternalRequests(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var seen string
	h := logHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = reqid.From(r.Context())
		w.Write([]byte("ok"))
	}), log, true)

	r := httptest.NewRequest("POST", "/_bucketdb/rpc/prepare", nil)
	r.Header.Set(reqid.Header, "REQ42")
	r.Header.Set("X-Bucketdb-Auth", "v1 123 secretmac")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if seen != "REQ42" {
		t.Fatalf("handler saw request ID %q, want REQ42", seen)
	}
	r = httptest.NewRequest("GET", "/b/k?X-Amz-Signature=deadbeef&x-id=GetObject", nil)
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AK/..., Signature=cafebabe")
	h.ServeHTTP(httptest.NewRecorder(), r)

	out := buf.String()
	for _, secret := range []string{"secretmac", "deadbeef", "cafebabe"} {
		if strings.Contains(out, secret) {
			t.Errorf("log leaks %q:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, `"msg":"internal request"`) || !strings.Contains(out, `"request_id":"REQ42"`) ||
		!strings.Contains(out, `"level":"INFO"`) {
		t.Errorf("internal request line missing or not at info:\n%s", out)
	}
	if strings.Count(out, `"msg":"http headers"`) != 2 || !strings.Contains(out, "REDACTED") {
		t.Errorf("header lines:\n%s", out)
	}
}
