package cluster

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/bucketdb/bucketdb/reqid"
	"github.com/bucketdb/bucketdb/store"
)

// httpTransport reaches peers over HTTP at their RPCAddr, signing every
// request with the cluster secret.
type httpTransport struct {
	client  *http.Client
	secret  []byte
	clock   *store.Clock
	self    string
	timeout time.Duration // response-header timeout

	muxMu sync.Mutex
	muxes map[string]*muxPeer // call channels by RPC address (mux.go)
}

var _ Transport = (*httpTransport)(nil)

func newHTTPTransport(self string, secret []byte, clock *store.Clock, timeout time.Duration) *httpTransport {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 15 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     60 * time.Second,
	}
	return &httpTransport{client: &http.Client{Transport: tr}, secret: secret, clock: clock,
		self: self, timeout: timeout}
}

func (t *httpTransport) close() {
	t.client.CloseIdleConnections()
	t.muxMu.Lock()
	defer t.muxMu.Unlock()
	for _, p := range t.muxes {
		p.close()
	}
}

func (t *httpTransport) To(m Member) Replica { return &httpReplica{t: t, m: m} }

// httpReplica is a Replica reached over HTTP: small calls over the peer's
// call channel (mux.go), streamed bodies and listings as HTTP requests.
type httpReplica struct {
	t *httpTransport
	m Member
}

var _ Replica = (*httpReplica)(nil)

// do sends one request; body nil = JSON req as the body, else req in a
// header and body streamed (size bytes, -1 unknown).
func (c *httpReplica) do(ctx context.Context, op string, req any, body io.Reader, size int64) (*http.Response, error) {
	if c.m.RPCAddr == "" {
		return nil, fmt.Errorf("%w: node %s has no RPC address", errUnreachable, c.m.ID)
	}
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	var rd io.Reader
	if body == nil {
		rd, size = bytes.NewReader(b), int64(len(b))
	} else {
		// A streamed body follows its request: 4-byte length, JSON, data.
		head := binary.BigEndian.AppendUint32(nil, uint32(len(b)))
		rd, size = io.MultiReader(bytes.NewReader(append(head, b...)), body), size+4+int64(len(b))
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+c.m.RPCAddr+rpcPrefix+op, rd)
	if err != nil {
		return nil, err
	}
	hr.ContentLength = size
	hr.Header.Set(hdrHLC, strconv.FormatUint(c.t.clock.Now(), 10))
	hr.Header.Set(hdrNode, c.t.self)
	if id := reqid.From(ctx); id != "" {
		hr.Header.Set(reqid.Header, id) // the peer logs it with its part of the work
	}
	sign(hr, c.t.secret, time.Now())
	resp, err := c.t.client.Do(hr)
	if err != nil {
		if ctx.Err() != nil && !isDeadline(ctx) {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: %s: %v", errUnreachable, c.m.ID, err)
	}
	if ts, err := strconv.ParseUint(resp.Header.Get(hdrHLC), 10, 64); err == nil {
		c.t.clock.Observe(ts)
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		return nil, fmt.Errorf("%w: %s answered %s: %s", errUnreachable, c.m.ID, resp.Status, bytes.TrimSpace(msg))
	}
	return resp, nil
}

func isDeadline(ctx context.Context) bool {
	_, ok := ctx.Deadline()
	return ok && ctx.Err() == context.DeadlineExceeded
}

func call[Resp any](ctx context.Context, c *httpReplica, op string, req any, body io.Reader, size int64) (Resp, error) {
	var zero Resp
	resp, err := c.do(ctx, op, req, body, size)
	if err != nil {
		return zero, err
	}
	defer resp.Body.Close()
	var env reply[Resp]
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return zero, fmt.Errorf("%w: %s: bad reply: %v", errUnreachable, c.m.ID, err)
	}
	if env.Error != nil {
		return env.Result, decodeError(c.m.ID, *env.Error)
	}
	return env.Result, nil
}

func (c *httpReplica) Bucket(ctx context.Context, req BucketRequest) (BucketResponse, error) {
	return muxCall[BucketResponse](ctx, c, "bucket", req, nil)
}

// Prepare sends a small put's body inside the call; larger ones stream.
func (c *httpReplica) Prepare(ctx context.Context, req PrepareRequest, body io.Reader) (CommitResponse, error) {
	if req.Kind != opPut {
		return muxCall[CommitResponse](ctx, c, "prepare", req, nil)
	}
	if req.Size >= 0 && req.Size <= muxInlineMax {
		b := make([]byte, req.Size+frameLen)
		if _, err := io.ReadFull(body, b); err != nil {
			return CommitResponse{}, err
		}
		return muxCall[CommitResponse](ctx, c, "prepare", req, b)
	}
	return call[CommitResponse](ctx, c, "prepare", req, body, req.Size+frameLen)
}

func (c *httpReplica) Commit(ctx context.Context, req StageRef) (CommitResponse, error) {
	return muxCall[CommitResponse](ctx, c, "commit", req, nil)
}

func (c *httpReplica) Abort(ctx context.Context, req StageRef) (Empty, error) {
	return muxCall[Empty](ctx, c, "abort", req, nil)
}

func (c *httpReplica) PutVersion(ctx context.Context, req PutVersionRequest, body io.Reader) (store.ObjectInfo, error) {
	if req.Marker || body == nil {
		return call[store.ObjectInfo](ctx, c, "putversion", req, bytes.NewReader(nil), 0)
	}
	return call[store.ObjectInfo](ctx, c, "putversion", req, body, req.Size+frameLen)
}

func (c *httpReplica) DeleteVersion(ctx context.Context, req DeleteVersionRequest) (Empty, error) {
	return muxCall[Empty](ctx, c, "deleteversion", req, nil)
}

func (c *httpReplica) List(ctx context.Context, req ListRequest) (ListResponse, error) {
	return call[ListResponse](ctx, c, "list", req, nil, 0)
}

func (c *httpReplica) Upload(ctx context.Context, req UploadRequest) (UploadResponse, error) {
	return muxCall[UploadResponse](ctx, c, "upload", req, nil)
}

func (c *httpReplica) UploadPart(ctx context.Context, req PartRequest, body io.Reader) (store.PartInfo, error) {
	return call[store.PartInfo](ctx, c, "uploadpart", req, body, req.Size+frameLen)
}

func (c *httpReplica) Digests(ctx context.Context, req DigestRequest) (DigestResponse, error) {
	return call[DigestResponse](ctx, c, "digests", req, nil, 0)
}

func (c *httpReplica) Members(ctx context.Context, req MembersRequest) (MembersResponse, error) {
	return muxCall[MembersResponse](ctx, c, "members", req, nil)
}

func (c *httpReplica) Stats(ctx context.Context, req Empty) (NodeStats, error) {
	return muxCall[NodeStats](ctx, c, "stats", req, nil)
}

func (c *httpReplica) Lease(ctx context.Context, req LeaseRequest) (LeaseResponse, error) {
	return muxCall[LeaseResponse](ctx, c, "lease", req, nil)
}

// Get waits at most the transport timeout for the reply headers; the body
// then streams under the caller's ctx.
func (c *httpReplica) Get(ctx context.Context, req GetRequest) (store.ObjectInfo, io.ReadCloser, error) {
	if req.Head {
		info, err := muxCall[store.ObjectInfo](ctx, c, "head", req, nil)
		return info, nil, err
	}
	cctx, cancel := context.WithCancel(ctx)
	timer := time.AfterFunc(c.t.timeout, cancel)
	resp, err := c.do(cctx, "get", req, nil, 0)
	stopped := timer.Stop()
	if err != nil {
		cancel()
		if !stopped && ctx.Err() == nil {
			err = fmt.Errorf("%w: %s: no reply within %v", errUnreachable, c.m.ID, c.t.timeout)
		}
		return store.ObjectInfo{}, nil, err
	}
	var env reply[store.ObjectInfo]
	if err := decodeHeader(resp.Header.Get(hdrResult), &env); err != nil {
		resp.Body.Close()
		cancel()
		return store.ObjectInfo{}, nil, fmt.Errorf("%w: %s: bad reply: %v", errUnreachable, c.m.ID, err)
	}
	if env.Error != nil || req.Head {
		resp.Body.Close()
		cancel()
		if env.Error != nil {
			return env.Result, nil, decodeError(c.m.ID, *env.Error)
		}
		return env.Result, nil, nil
	}
	return env.Result, &cancelBody{ReadCloser: resp.Body, cancel: cancel}, nil
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
