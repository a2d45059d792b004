package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestRouteHTTPKeepsS3PathsIntact(t *testing.T) {
	var got, gotPath string
	h := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got, gotPath = name, r.URL.Path })
	}
	root := routeHTTP(h("internal"), h("ops"), h("metrics"), h("api"))
	for _, tc := range []struct{ path, want string }{
		{"/bucket/a//b", "api"},
		{"/bucket/a/../b", "api"},
		{"/bucket/./x", "api"},
		{"/", "api"},
		{"/metrics", "metrics"},
		{"/metrics/key", "api"},
		{"/_bucketdb/ops/status", "ops"},
		{"/_bucketdb/rpc/prepare", "internal"},
	} {
		got, gotPath = "", ""
		req := httptest.NewRequest(http.MethodGet, "http://x"+tc.path, nil)
		rec := httptest.NewRecorder()
		root.ServeHTTP(rec, req)
		if got != tc.want || gotPath != tc.path || rec.Code != http.StatusOK {
			t.Errorf("%s: went to %q with path %q (status %d), want %q with the path unchanged", tc.path, got, gotPath, rec.Code, tc.want)
		}
	}
}
