package s3

import (
	"context"
	"io"
	"net/http"
	"time"
)

// Health endpoints (an extension, answered without authentication):
//
//	GET /health/live   200 "ok" while the process serves HTTP
//	GET /health/ready  200 "ok" when the backend answers ListBuckets, else 503
const (
	healthLivePath  = "/health/live"
	healthReadyPath = "/health/ready"
	readyTimeout    = 5 * time.Second
)

// healthHandler returns the handler for a health request, or nil when r is
// not one. Virtual-host requests are never health checks (they address a
// bucket).
func (s *Server) healthHandler(r *http.Request) handler {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return nil
	}
	if s.hostBucket(r.Host) != "" {
		return nil
	}
	switch r.URL.Path {
	case healthLivePath:
		return s.healthLive
	case healthReadyPath:
		return s.healthReady
	}
	return nil
}

func healthOp(r *http.Request) string {
	if r.URL.Path == healthReadyPath {
		return "HealthReady"
	}
	return "HealthLive"
}

func (s *Server) healthLive(w http.ResponseWriter, r *http.Request, _ *call) error {
	writeText(w, r, http.StatusOK, "ok\n")
	return nil
}

func (s *Server) healthReady(w http.ResponseWriter, r *http.Request, c *call) error {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	if _, err := s.backend.ListBuckets(ctx); err != nil {
		s.log.Warn("readiness check failed", "request_id", c.id, "err", err)
		writeText(w, r, http.StatusServiceUnavailable, "not ready\n")
		return nil
	}
	writeText(w, r, http.StatusOK, "ok\n")
	return nil
}

func writeText(w http.ResponseWriter, r *http.Request, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Length", itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = io.WriteString(w, body)
	}
}
