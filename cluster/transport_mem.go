package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/bucketdb/bucketdb/store"
)

// memNetwork connects nodes of one process: a Transport and a failure
// detector per node, with nodes that can be taken down and links that can
// be cut. Requests and replies are JSON round-tripped and errors rebuilt
// from their wire names, as over HTTP; bodies stream through unchanged.
type memNetwork struct {
	mu    sync.Mutex
	nodes map[string]*Node
	down  map[string]bool
	cut   map[[2]string]bool
	// fail, when set, injects an error into a call (op is the method name).
	fail func(ctx context.Context, from, to, op string) error
}

func newMemNetwork() *memNetwork {
	return &memNetwork{nodes: map[string]*Node{}, down: map[string]bool{}, cut: map[[2]string]bool{}}
}

// options returns the node seams that attach a node to the network.
func (net *memNetwork) options() nodeOptions {
	return nodeOptions{
		transport: func(n *Node) Transport {
			net.mu.Lock()
			net.nodes[n.id] = n
			delete(net.down, n.id)
			net.mu.Unlock()
			return &memTransport{net: net, from: n}
		},
		detector: func(n *Node) (detector, error) { return &memDetector{net: net, self: n.id}, nil },
	}
}

// setFail installs (or, with nil, removes) the fault injector.
func (net *memNetwork) setFail(f func(ctx context.Context, from, to, op string) error) {
	net.mu.Lock()
	defer net.mu.Unlock()
	net.fail = f
}

func (net *memNetwork) setDown(id string, down bool) {
	net.mu.Lock()
	defer net.mu.Unlock()
	net.down[id] = down
}

// partition cuts every link between the groups.
func (net *memNetwork) partition(groups ...[]string) {
	net.mu.Lock()
	defer net.mu.Unlock()
	for i, g := range groups {
		for _, h := range groups[i+1:] {
			for _, a := range g {
				for _, b := range h {
					net.cut[[2]string{a, b}] = true
					net.cut[[2]string{b, a}] = true
				}
			}
		}
	}
}

// healAll restores every link.
func (net *memNetwork) healAll() {
	net.mu.Lock()
	defer net.mu.Unlock()
	net.cut = map[[2]string]bool{}
}

func (net *memNetwork) reach(from, to string) (*Node, error) {
	net.mu.Lock()
	defer net.mu.Unlock()
	n, ok := net.nodes[to]
	if !ok || net.down[to] || net.down[from] || net.cut[[2]string{from, to}] {
		return nil, fmt.Errorf("%w: %s -> %s", errUnreachable, from, to)
	}
	return n, nil
}

type memDetector struct {
	net  *memNetwork
	self string
}

func (d *memDetector) state(id string) string {
	if _, err := d.net.reach(d.self, id); err != nil {
		return Dead
	}
	return Alive
}
func (d *memDetector) leave(time.Duration) error { return nil }
func (d *memDetector) close() error              { return nil }

type memTransport struct {
	net  *memNetwork
	from *Node
}

func (t *memTransport) To(m Member) Replica { return &memReplica{t: t, to: m.ID} }

type memReplica struct {
	t  *memTransport
	to string
}

var _ Replica = (*memReplica)(nil)

func roundTrip[T any](v T) T {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

func memCall[Req, Resp any](ctx context.Context, c *memReplica, req Req, f func(Replica, Req) (Resp, error)) (Resp, error) {
	var zero Resp
	dst, err := c.t.net.reach(c.t.from.id, c.to)
	if err != nil {
		return zero, err
	}
	c.t.net.mu.Lock()
	fail := c.t.net.fail
	c.t.net.mu.Unlock()
	if fail != nil {
		if err := fail(ctx, c.t.from.id, c.to, fmt.Sprintf("%T", req)); err != nil {
			return zero, err
		}
	}
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	dst.clock.Observe(c.t.from.clock.Now())
	res, err := f(dst.svc, roundTrip(req))
	c.t.from.clock.Observe(dst.clock.Now())
	res = roundTrip(res)
	if err != nil {
		err = decodeError(c.to, encodeError(err))
	}
	return res, err
}

func (c *memReplica) Bucket(ctx context.Context, req BucketRequest) (BucketResponse, error) {
	return memCall(ctx, c, req, func(r Replica, q BucketRequest) (BucketResponse, error) { return r.Bucket(ctx, q) })
}

func (c *memReplica) Prepare(ctx context.Context, req PrepareRequest, body io.Reader) (CommitResponse, error) {
	return memCall(ctx, c, req, func(r Replica, q PrepareRequest) (CommitResponse, error) { return r.Prepare(ctx, q, body) })
}

func (c *memReplica) Commit(ctx context.Context, req StageRef) (CommitResponse, error) {
	return memCall(ctx, c, req, func(r Replica, q StageRef) (CommitResponse, error) { return r.Commit(ctx, q) })
}

func (c *memReplica) Abort(ctx context.Context, req StageRef) (Empty, error) {
	return memCall(ctx, c, req, func(r Replica, q StageRef) (Empty, error) { return r.Abort(ctx, q) })
}

func (c *memReplica) PutVersion(ctx context.Context, req PutVersionRequest, body io.Reader) (store.ObjectInfo, error) {
	return memCall(ctx, c, req, func(r Replica, q PutVersionRequest) (store.ObjectInfo, error) { return r.PutVersion(ctx, q, body) })
}

func (c *memReplica) DeleteVersion(ctx context.Context, req DeleteVersionRequest) (Empty, error) {
	return memCall(ctx, c, req, func(r Replica, q DeleteVersionRequest) (Empty, error) { return r.DeleteVersion(ctx, q) })
}

func (c *memReplica) Get(ctx context.Context, req GetRequest) (store.ObjectInfo, io.ReadCloser, error) {
	var rc io.ReadCloser
	info, err := memCall(ctx, c, req, func(r Replica, q GetRequest) (store.ObjectInfo, error) {
		i, body, err := r.Get(ctx, q)
		rc = body
		return i, err
	})
	return info, rc, err
}

func (c *memReplica) List(ctx context.Context, req ListRequest) (ListResponse, error) {
	return memCall(ctx, c, req, func(r Replica, q ListRequest) (ListResponse, error) { return r.List(ctx, q) })
}

func (c *memReplica) Upload(ctx context.Context, req UploadRequest) (UploadResponse, error) {
	return memCall(ctx, c, req, func(r Replica, q UploadRequest) (UploadResponse, error) { return r.Upload(ctx, q) })
}

func (c *memReplica) UploadPart(ctx context.Context, req PartRequest, body io.Reader) (store.PartInfo, error) {
	return memCall(ctx, c, req, func(r Replica, q PartRequest) (store.PartInfo, error) { return r.UploadPart(ctx, q, body) })
}

func (c *memReplica) Digests(ctx context.Context, req DigestRequest) (DigestResponse, error) {
	return memCall(ctx, c, req, func(r Replica, q DigestRequest) (DigestResponse, error) { return r.Digests(ctx, q) })
}

func (c *memReplica) Members(ctx context.Context, req MembersRequest) (MembersResponse, error) {
	return memCall(ctx, c, req, func(r Replica, q MembersRequest) (MembersResponse, error) { return r.Members(ctx, q) })
}

func (c *memReplica) Stats(ctx context.Context, req Empty) (NodeStats, error) {
	return memCall(ctx, c, req, func(r Replica, q Empty) (NodeStats, error) { return r.Stats(ctx, q) })
}

func (c *memReplica) Lease(ctx context.Context, req LeaseRequest) (LeaseResponse, error) {
	return memCall(ctx, c, req, func(r Replica, q LeaseRequest) (LeaseResponse, error) { return r.Lease(ctx, q) })
}
