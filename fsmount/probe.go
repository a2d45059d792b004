package fsmount

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// A node that hangs (stopped, or cut off by a firewall that drops its
// packets) keeps the connections already open to it: requests on them
// would wait for the full HeaderTimeout before failing over. So, when
// there are several endpoints, a request
// still running after ProbeAfter has its endpoint probed on a fresh
// connection (GET /health/live, which needs no credentials and answers at
// once while the process serves HTTP); an endpoint that does not answer
// within ProbeTimeout has every connection to it closed and refuses new
// ones for 2×ProbeAfter (a stopped process still completes TCP handshakes,
// and net/http retries an idempotent request on a new connection), so the
// requests on them fail over to the next endpoint as after any transport
// failure. A node that is merely slow answers the probe and is left to
// finish.

// endpointConns tracks the open connections to one endpoint so that they
// can all be closed at once.
type endpointConns struct {
	mu      sync.Mutex
	conns   map[*trackedConn]struct{}
	probing atomic.Bool
	// downUntil (Unix nanoseconds): no new connections before then.
	downUntil atomic.Int64
}

var errProbeFailed = errors.New("endpoint missed its liveness probe")

type trackedConn struct {
	net.Conn
	set  *endpointConns
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.set.mu.Lock()
		delete(c.set.conns, c)
		c.set.mu.Unlock()
	})
	return c.Conn.Close()
}

// dial wraps d.DialContext so that the connections it opens are tracked.
func (s *endpointConns) dial(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if time.Now().UnixNano() < s.downUntil.Load() {
			return nil, fmt.Errorf("dial %s: %w", addr, errProbeFailed)
		}
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		tc := &trackedConn{Conn: c, set: s}
		s.mu.Lock()
		if s.conns == nil {
			s.conns = map[*trackedConn]struct{}{}
		}
		s.conns[tc] = struct{}{}
		s.mu.Unlock()
		return tc, nil
	}
}

// closeAll closes every open connection: requests on them fail at once.
func (s *endpointConns) closeAll() int {
	s.mu.Lock()
	conns := make([]*trackedConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	return len(conns)
}

// watch runs fn, a request to endpoint i, probing the endpoint each
// ProbeAfter while fn runs (one probe per endpoint at a time). With a
// single endpoint there is nowhere to go: a request waits for it as long
// as HeaderTimeout allows.
func (b *S3Bucket) watch(i int, what string, fn func() error) error {
	if b.cfg.ProbeAfter < 0 || len(b.clients) == 1 {
		return fn()
	}
	var mu sync.Mutex
	running := true
	var t *time.Timer
	mu.Lock()
	defer mu.Unlock()
	t = time.AfterFunc(b.cfg.ProbeAfter, func() {
		// A probe already under way acts for this request too.
		if ep := b.conns[i]; ep.probing.CompareAndSwap(false, true) {
			alive := b.live(i)
			ep.probing.Store(false)
			if !alive {
				ep.downUntil.Store(time.Now().Add(2 * b.cfg.ProbeAfter).UnixNano())
				n := ep.closeAll()
				b.log.Warn("endpoint does not answer its liveness probe, dropping its connections",
					"op", what, "endpoint", b.cfg.Endpoints[i], "connections", n)
			}
		}
		mu.Lock()
		if running {
			t.Reset(b.cfg.ProbeAfter)
		}
		mu.Unlock()
	})
	mu.Unlock()
	err := fn()
	mu.Lock()
	running = false
	t.Stop()
	return err
}

// live reports whether endpoint i answers GET /health/live within
// ProbeTimeout on a new connection.
func (b *S3Bucket) live(i int) bool {
	ctx, cancel := context.WithTimeout(context.Background(), b.cfg.ProbeTimeout)
	defer cancel()
	u := b.bases[i]
	u.Path = "/health/live"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return false
	}
	resp, err := b.probe.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
