package s3

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"time"
)

// Health endpoints (an extension of S3):
//
//	GET /health/live   200 "ok" while the process serves HTTP; no auth
//	GET /health/ready  200 "ok" when Config.Ready passes and the backend
//	                   answers ListBuckets, else 503 "not ready: <reason>";
//	                   no auth
//	GET /health        200 and the JSON document of Config.Health; signed
//	                   (SigV4) when Config.HealthAuth is set
const (
	healthLivePath   = "/health/live"
	healthReadyPath  = "/health/ready"
	healthDetailPath = "/health"
	readyTimeout     = 5 * time.Second
)

// healthHandler returns the handler for a health request, or nil when r is
// not one. Virtual-host requests are never health checks (they address a
// bucket). "/health" is also a bucket path: it is the health document only
// for a GET without a query when Config.Health is set (a bucket named
// "health" can then not be listed with ListObjects V1; V2 has a query).
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
	case healthDetailPath:
		if s.cfg.Health != nil && r.Method == http.MethodGet && r.URL.RawQuery == "" {
			return s.healthDetail
		}
	}
	return nil
}

func healthOp(r *http.Request) string {
	switch r.URL.Path {
	case healthReadyPath:
		return "HealthReady"
	case healthDetailPath:
		return "Health"
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
	err := error(nil)
	if s.cfg.Ready != nil {
		err = s.cfg.Ready(ctx)
	}
	if err == nil {
		_, err = s.backend.ListBuckets(ctx)
	}
	if err != nil {
		s.log.Warn("readiness check failed", "request_id", c.id, "err", err)
		writeText(w, r, http.StatusServiceUnavailable, "not ready: "+err.Error()+"\n")
		return nil
	}
	writeText(w, r, http.StatusOK, "ok\n")
	return nil
}

func (s *Server) healthDetail(w http.ResponseWriter, r *http.Request, c *call) error {
	if s.cfg.HealthAuth {
		p, err := s.cfg.Verifier.Authenticate(r)
		if err != nil {
			return err
		}
		if p == nil || p.Anonymous {
			return ErrAccessDenied
		}
		c.accessKey = p.AccessKey
	}
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	body, err := json.MarshalIndent(s.cfg.Health(ctx), "", "  ")
	if err != nil {
		return err
	}
	body = append(body, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
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
