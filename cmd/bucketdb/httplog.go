package main

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bucketdb/bucketdb/cluster"
	"github.com/bucketdb/bucketdb/httpstat"
	"github.com/bucketdb/bucketdb/reqid"
)

// logHTTP wraps the node's whole HTTP surface:
//
//   - internal (node-to-node) requests get the request ID their coordinator
//     sent (reqid.Header) in their context, and one log line each: at Info
//     when they serve a client request (so a request ID can be followed
//     across the nodes' logs), at Debug for background work (healing);
//   - with headers set, every request's and response's headers are logged
//     at Debug, with credentials redacted.
//
// S3 requests are logged by the s3 package itself (one line each).
func logHTTP(next http.Handler, log *slog.Logger, headers bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		internal := cluster.IsInternal(r)
		id := ""
		if internal {
			if h := r.Header.Get(reqid.Header); reqid.Valid(h) {
				id = h
				r = r.WithContext(reqid.With(r.Context(), id))
			}
		}
		if !internal && !headers {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		sw := &httpstat.Writer{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.Status == 0 {
			sw.Status = http.StatusOK
		}
		if id == "" {
			id = w.Header().Get("x-amz-request-id")
		}
		if internal {
			level := slog.LevelDebug
			if reqid.From(r.Context()) != "" {
				level = slog.LevelInfo
			}
			log.LogAttrs(r.Context(), level, "internal request",
				slog.String("component", "cluster"),
				slog.String("request_id", id),
				slog.String("path", r.URL.Path),
				slog.String("from_node", r.Header.Get("X-Bucketdb-Node")),
				slog.Int("status", sw.Status),
				slog.Int64("bytes_in", max(r.ContentLength, 0)),
				slog.Int64("bytes_out", sw.Bytes),
				slog.Duration("duration", time.Since(start)),
				slog.String("remote_addr", r.RemoteAddr))
		}
		if headers {
			log.LogAttrs(r.Context(), slog.LevelDebug, "http headers",
				slog.String("request_id", id),
				slog.String("method", r.Method),
				slog.String("uri", redactURI(r.URL)),
				slog.Any("request_headers", redactHeaders(r.Header)),
				slog.Int("status", sw.Status),
				slog.Any("response_headers", redactHeaders(w.Header())))
		}
	})
}

// secretHeaders are logged as "REDACTED".
var secretHeaders = map[string]bool{
	"Authorization":        true,
	"X-Amz-Security-Token": true,
	"X-Bucketdb-Auth":      true,
	"Cookie":               true,
	"Set-Cookie":           true,
}

// secretParams are query parameters logged as "REDACTED".
var secretParams = []string{"X-Amz-Signature", "X-Amz-Security-Token", "X-Amz-Credential"}

func redactHeaders(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		if secretHeaders[http.CanonicalHeaderKey(k)] {
			out[k] = "REDACTED"
			continue
		}
		out[k] = strings.Join(v, ", ")
	}
	return out
}

func redactURI(u *url.URL) string {
	if u.RawQuery == "" {
		return u.Path
	}
	q := u.Query()
	for k := range q {
		for _, s := range secretParams {
			if strings.EqualFold(k, s) {
				q.Set(k, "REDACTED")
			}
		}
	}
	return u.Path + "?" + q.Encode()
}
