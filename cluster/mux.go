package cluster

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bucketdb/bucketdb/reqid"
	"github.com/bucketdb/bucketdb/store"
)

// The call channel: small node-to-node calls (version lookups, commits,
// aborts, small prepares, bucket and lock operations) travel as frames over
// one long-lived connection per peer instead of one HTTP exchange each.
// Under load an HTTP exchange costs both nodes far more CPU than the work it
// carries; frames written while the connection is busy leave together in
// one write, so many calls share a system call and a wake-up.
//
// The connection starts as an HTTP request to muxPath, signed like every
// internal request and carrying a client nonce; the server answers 101 with
// its own nonce and a proof that it holds the secret. Both sides then derive
// a session key from the secret and the two nonces, and every frame carries
// an HMAC over its direction, its sequence number and its bytes: a replayed
// upgrade request gets a connection it cannot send a valid frame on, and a
// frame cannot be altered, replayed or reordered.
//
// A frame is a 4-byte big-endian length n, n bytes, then a macLen-byte MAC.
// The n bytes are: call ID (8), kind (1), sender's HLC (8), then for a
// request the operation and request ID (1-byte length each), the request's
// JSON (4-byte length) and an optional body (the rest); for a reply the JSON
// reply envelope.
const (
	muxPath      = rpcPrefix + "mux"
	muxProto     = "bucketdb-calls/1"
	muxMaxFrame  = 16 << 20
	muxInlineMax = 64 << 10 // puts up to this size are prepared in one frame
	macLen       = 16

	hdrMuxNonce = "X-Bucketdb-Mux-Nonce"
	hdrMuxProof = "X-Bucketdb-Mux-Proof"

	frameRequest = 1
	frameReply   = 2

	muxHandshakeTimeout = 5 * time.Second
)

func muxMAC(secret []byte, label, cnonce, snonce string) []byte {
	m := hmac.New(sha256.New, secret)
	fmt.Fprintf(m, "%s\n%s\n%s", label, cnonce, snonce)
	return m.Sum(nil)
}

func muxProof(secret []byte, cnonce, snonce string) string {
	return hex.EncodeToString(muxMAC(secret, "bucketdb mux proof", cnonce, snonce))
}

func muxKey(secret []byte, cnonce, snonce string) []byte {
	return muxMAC(secret, "bucketdb mux key", cnonce, snonce)
}

func newNonce() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// frameWriter writes authenticated frames; one goroutine uses it.
type frameWriter struct {
	w   *bufio.Writer
	mac hash.Hash
	dir byte
	seq uint64
	sum []byte
}

func newFrameWriter(w io.Writer, key []byte, dir byte) *frameWriter {
	return &frameWriter{w: bufio.NewWriterSize(w, 64<<10), mac: hmac.New(sha256.New, key), dir: dir}
}

func (f *frameWriter) write(frame []byte) error {
	var hdr [13]byte
	hdr[0] = f.dir
	binary.BigEndian.PutUint64(hdr[1:], f.seq)
	binary.BigEndian.PutUint32(hdr[9:], uint32(len(frame)))
	f.seq++
	f.mac.Reset()
	f.mac.Write(hdr[:])
	f.mac.Write(frame)
	f.sum = f.mac.Sum(f.sum[:0])
	f.w.Write(hdr[9:])
	f.w.Write(frame)
	_, err := f.w.Write(f.sum[:macLen])
	return err
}

// frameReader reads and authenticates frames; one goroutine uses it.
type frameReader struct {
	r   *bufio.Reader
	mac hash.Hash
	dir byte
	seq uint64
	sum []byte
}

func newFrameReader(r *bufio.Reader, key []byte, dir byte) *frameReader {
	return &frameReader{r: r, mac: hmac.New(sha256.New, key), dir: dir}
}

func (f *frameReader) read() ([]byte, error) {
	var hdr [13]byte
	if _, err := io.ReadFull(f.r, hdr[9:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[9:])
	if n > muxMaxFrame {
		return nil, fmt.Errorf("frame of %d bytes", n)
	}
	buf := make([]byte, int(n)+macLen)
	if _, err := io.ReadFull(f.r, buf); err != nil {
		return nil, err
	}
	hdr[0] = f.dir
	binary.BigEndian.PutUint64(hdr[1:], f.seq)
	f.seq++
	f.mac.Reset()
	f.mac.Write(hdr[:])
	f.mac.Write(buf[:n])
	f.sum = f.mac.Sum(f.sum[:0])
	if !hmac.Equal(f.sum[:macLen], buf[n:]) {
		return nil, errors.New("frame authentication failed")
	}
	return buf[:n], nil
}

// muxRequest is a decoded request frame.
type muxRequest struct {
	id, hlc  uint64
	op, rid  string
	req      []byte
	body     []byte
	received time.Time
}

func encodeRequest(id, hlc uint64, op, rid string, req, body []byte) ([]byte, error) {
	if len(op) > 255 || len(rid) > 255 {
		return nil, fmt.Errorf("call %q: name too long", op)
	}
	n := 17 + 2 + len(op) + len(rid) + 4 + len(req) + len(body)
	if n > muxMaxFrame {
		return nil, fmt.Errorf("call %q of %d bytes is too large", op, n)
	}
	b := make([]byte, 0, n)
	b = binary.BigEndian.AppendUint64(b, id)
	b = append(b, frameRequest)
	b = binary.BigEndian.AppendUint64(b, hlc)
	b = append(b, byte(len(op)))
	b = append(b, op...)
	b = append(b, byte(len(rid)))
	b = append(b, rid...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(req)))
	b = append(b, req...)
	return append(b, body...), nil
}

func encodeReply(id, hlc uint64, data []byte) []byte {
	b := make([]byte, 0, 17+len(data))
	b = binary.BigEndian.AppendUint64(b, id)
	b = append(b, frameReply)
	b = binary.BigEndian.AppendUint64(b, hlc)
	return append(b, data...)
}

var errBadFrame = errors.New("malformed frame")

// frameHead splits a frame into call ID, kind, HLC and the rest.
func frameHead(b []byte) (id uint64, kind byte, hlc uint64, rest []byte, err error) {
	if len(b) < 17 {
		return 0, 0, 0, nil, errBadFrame
	}
	return binary.BigEndian.Uint64(b), b[8], binary.BigEndian.Uint64(b[9:]), b[17:], nil
}

func decodeRequest(b []byte) (muxRequest, error) {
	id, kind, hlc, b, err := frameHead(b)
	if err != nil || kind != frameRequest {
		return muxRequest{}, errBadFrame
	}
	r := muxRequest{id: id, hlc: hlc}
	field := func() (string, bool) {
		if len(b) < 1 || len(b) < 1+int(b[0]) {
			return "", false
		}
		s := string(b[1 : 1+b[0]])
		b = b[1+b[0]:]
		return s, true
	}
	var ok1, ok2 bool
	r.op, ok1 = field()
	r.rid, ok2 = field()
	if !ok1 || !ok2 || len(b) < 4 {
		return muxRequest{}, errBadFrame
	}
	n := binary.BigEndian.Uint32(b)
	if uint64(n) > uint64(len(b)-4) {
		return muxRequest{}, errBadFrame
	}
	r.req, r.body = b[4:4+n], b[4+n:]
	return r, nil
}

// ---- client ----

// muxReply is a reply frame (or the connection's failure) for one call.
type muxReply struct {
	hlc  uint64
	data []byte
	err  error
}

// muxConn is the client end of one call channel.
type muxConn struct {
	conn    net.Conn
	out     chan []byte
	done    chan struct{}
	onFail  func(*muxConn)
	nextID  atomic.Uint64
	lastIn  atomic.Int64 // unix nanos of the last frame received
	mu      sync.Mutex
	pending map[uint64]chan muxReply
	err     error
}

// dialMux opens a call channel to addr.
// onFail is called once the connection breaks.
func (t *httpTransport) dialMux(ctx context.Context, addr string, onFail func(*muxConn)) (*muxConn, error) {
	d := net.Dialer{Timeout: 2 * time.Second, KeepAlive: 15 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	key, br, err := t.handshake(conn, addr)
	if err != nil {
		conn.Close()
		return nil, err
	}
	c := &muxConn{conn: conn, out: make(chan []byte, 256), done: make(chan struct{}),
		pending: map[uint64]chan muxReply{}, onFail: onFail}
	c.lastIn.Store(time.Now().UnixNano())
	go c.writeLoop(newFrameWriter(conn, key, 'c'))
	go c.readLoop(newFrameReader(br, key, 's'))
	return c, nil
}

// handshake upgrades conn to a call channel and returns the session key.
func (t *httpTransport) handshake(conn net.Conn, addr string) ([]byte, *bufio.Reader, error) {
	conn.SetDeadline(time.Now().Add(muxHandshakeTimeout))
	cnonce := newNonce()
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+muxPath+"?nonce="+cnonce, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", muxProto)
	req.Header.Set(hdrNode, t.self)
	req.Header.Set(hdrHLC, strconv.FormatUint(t.clock.Now(), 10))
	sign(req, t.secret, time.Now())
	if err := req.Write(conn); err != nil {
		return nil, nil, err
	}
	br := bufio.NewReaderSize(conn, 64<<10)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		return nil, nil, fmt.Errorf("call channel refused: %s: %s", resp.Status, msg)
	}
	snonce := resp.Header.Get(hdrMuxNonce)
	if len(snonce) != 32 || !hmac.Equal([]byte(resp.Header.Get(hdrMuxProof)), []byte(muxProof(t.secret, cnonce, snonce))) {
		return nil, nil, errors.New("call channel: the peer did not prove it holds the cluster secret")
	}
	if ts, err := strconv.ParseUint(resp.Header.Get(hdrHLC), 10, 64); err == nil {
		t.clock.Observe(ts)
	}
	conn.SetDeadline(time.Time{})
	return muxKey(t.secret, cnonce, snonce), br, nil
}

// pumpFrames writes frames from out until done, flushing whenever out is
// empty, so that frames queued meanwhile leave in one write. It returns the
// first write error, or nil once done.
func pumpFrames(fw *frameWriter, out <-chan []byte, done <-chan struct{}) error {
	for {
		select {
		case f := <-out:
			err := fw.write(f)
			for more := true; more && err == nil; {
				select {
				case f := <-out:
					err = fw.write(f)
				default:
					more = false
				}
			}
			if err == nil {
				err = fw.w.Flush()
			}
			if err != nil {
				return err
			}
		case <-done:
			return nil
		}
	}
}

func (c *muxConn) writeLoop(fw *frameWriter) {
	if err := pumpFrames(fw, c.out, c.done); err != nil {
		c.fail(err)
	}
}

func (c *muxConn) readLoop(fr *frameReader) {
	for {
		b, err := fr.read()
		if err != nil {
			c.fail(err)
			return
		}
		c.lastIn.Store(time.Now().UnixNano())
		id, kind, hlc, data, err := frameHead(b)
		if err != nil || kind != frameReply {
			c.fail(errBadFrame)
			return
		}
		c.mu.Lock()
		ch := c.pending[id]
		delete(c.pending, id)
		c.mu.Unlock()
		if ch != nil {
			ch <- muxReply{hlc: hlc, data: data}
		}
	}
}

// fail breaks the connection: every waiting call gets err.
func (c *muxConn) fail(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	pending := c.pending
	c.pending = nil
	close(c.done)
	c.mu.Unlock()
	c.conn.Close()
	for _, ch := range pending {
		ch <- muxReply{err: err}
	}
	if c.onFail != nil {
		c.onFail(c)
	}
}

// call sends one request and waits at most timeout for its reply. A call
// that times out on a connection that has been silent all along breaks the
// connection (the peer is gone or hung), so the next call dials afresh.
func (c *muxConn) call(ctx context.Context, timeout time.Duration, f []byte) (muxReply, error) {
	id := c.nextID.Add(1)
	binary.BigEndian.PutUint64(f, id) // encodeRequest left room for it
	ch := make(chan muxReply, 1)
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return muxReply{}, err
	}
	c.pending[id] = ch
	c.mu.Unlock()
	forget := func() {
		c.mu.Lock()
		if c.pending != nil {
			delete(c.pending, id)
		}
		c.mu.Unlock()
	}
	start := time.Now()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case c.out <- f:
	case <-c.done:
	case <-ctx.Done():
		forget()
		return muxReply{}, ctx.Err()
	case <-timer.C:
		forget()
		return muxReply{}, fmt.Errorf("no room to send within %v", timeout)
	}
	select {
	case r := <-ch:
		return r, r.err
	case <-ctx.Done():
		forget()
		return muxReply{}, ctx.Err()
	case <-timer.C:
		forget()
		if c.lastIn.Load() < start.UnixNano() {
			c.fail(fmt.Errorf("no answer within %v", timeout))
		}
		return muxReply{}, fmt.Errorf("no answer within %v", timeout)
	}
}

// muxPeer holds the call channel to one peer, dialing it when needed:
// callers that find a dial under way wait for it and share its outcome.
type muxPeer struct {
	t    *httpTransport
	addr string

	mu      sync.Mutex
	conn    *muxConn
	dialing *muxDial
	closed  bool
}

type muxDial struct {
	done chan struct{}
	conn *muxConn
	err  error
}

func (p *muxPeer) get(ctx context.Context) (*muxConn, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, errors.New("transport closed")
	}
	if c := p.conn; c != nil {
		select {
		case <-c.done: // broke before it was stored
			p.conn = nil
		default:
			p.mu.Unlock()
			return c, nil
		}
	}
	d := p.dialing
	if d == nil {
		d = &muxDial{done: make(chan struct{})}
		p.dialing = d
		go p.dial(d)
	}
	p.mu.Unlock()
	select {
	case <-d.done:
		return d.conn, d.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// dial runs one dial on behalf of every caller waiting for it.
func (p *muxPeer) dial(d *muxDial) {
	ctx, cancel := context.WithTimeout(context.Background(), muxHandshakeTimeout)
	defer cancel()
	c, err := p.t.dialMux(ctx, p.addr, p.forget)
	p.mu.Lock()
	p.dialing = nil
	switch {
	case err != nil:
		d.err = err
	case p.closed:
		d.err = errors.New("transport closed")
		p.mu.Unlock()
		c.fail(d.err)
		close(d.done)
		return
	default:
		p.conn, d.conn = c, c
	}
	p.mu.Unlock()
	close(d.done)
}

// forget drops a broken connection.
func (p *muxPeer) forget(c *muxConn) {
	p.mu.Lock()
	if p.conn == c {
		p.conn = nil
	}
	p.mu.Unlock()
}

func (p *muxPeer) close() {
	p.mu.Lock()
	c := p.conn
	p.closed, p.conn = true, nil
	p.mu.Unlock()
	if c != nil {
		c.fail(errors.New("transport closed"))
	}
}

// muxOf returns the call channel holder of the peer c reaches.
func (t *httpTransport) muxOf(c *httpReplica) *muxPeer {
	t.muxMu.Lock()
	defer t.muxMu.Unlock()
	p, ok := t.muxes[c.m.RPCAddr]
	if !ok {
		p = &muxPeer{t: t, addr: c.m.RPCAddr}
		if t.muxes == nil {
			t.muxes = map[string]*muxPeer{}
		}
		t.muxes[c.m.RPCAddr] = p
	}
	return p
}

// muxCall makes one call over the peer's call channel; body, when not nil,
// travels after the request in the same frame.
func muxCall[Resp any](ctx context.Context, c *httpReplica, op string, req any, body []byte) (Resp, error) {
	var zero Resp
	if c.m.RPCAddr == "" {
		return zero, fmt.Errorf("%w: node %s has no RPC address", errUnreachable, c.m.ID)
	}
	js, err := json.Marshal(req)
	if err != nil {
		return zero, err
	}
	unreachable := func(err error) (Resp, error) {
		if ctx.Err() != nil && !isDeadline(ctx) {
			return zero, ctx.Err()
		}
		return zero, fmt.Errorf("%w: %s: %v", errUnreachable, c.m.ID, err)
	}
	f, err := encodeRequest(0, c.t.clock.Now(), op, reqid.From(ctx), js, body)
	if err != nil {
		return zero, fmt.Errorf("%w: %v", store.ErrInvalidArgument, err)
	}
	conn, err := c.t.muxOf(c).get(ctx)
	if err != nil {
		return unreachable(err)
	}
	r, err := conn.call(ctx, c.t.timeout, f)
	if err != nil {
		return unreachable(err)
	}
	c.t.clock.Observe(r.hlc)
	var env reply[Resp]
	if err := json.Unmarshal(r.data, &env); err != nil {
		return zero, fmt.Errorf("%w: %s: bad reply: %v", errUnreachable, c.m.ID, err)
	}
	if env.Error != nil {
		return env.Result, decodeError(c.m.ID, *env.Error)
	}
	return env.Result, nil
}

// ---- server ----

// muxHandler serves one call: the request's JSON and body in, the JSON
// reply envelope out.
type muxHandler func(ctx context.Context, req, body []byte) []byte

func muxUnary[Req, Resp any](fn func(context.Context, Req) (Resp, error)) muxHandler {
	return func(ctx context.Context, in, _ []byte) []byte {
		var req Req
		if err := json.Unmarshal(in, &req); err != nil {
			var zero Resp
			return replyJSON(zero, fmt.Errorf("%w: bad request: %v", errUnreachable, err))
		}
		res, err := fn(ctx, req)
		return replyJSON(res, err)
	}
}

func replyJSON[T any](res T, err error) []byte {
	env := reply[T]{Result: res}
	if err != nil {
		we := encodeError(err)
		env.Error = &we
	}
	b, merr := json.Marshal(env)
	if merr != nil {
		b, _ = json.Marshal(reply[T]{Error: &wireError{Message: "encode reply: " + merr.Error()}})
	}
	return b
}

// serveMux upgrades an authenticated request to a call channel and serves
// it until the connection ends or the node closes.
func (s *rpcServer) serveMux(w http.ResponseWriter, r *http.Request) {
	cnonce := r.URL.Query().Get("nonce")
	if r.Header.Get("Upgrade") != muxProto || len(cnonce) != 32 {
		http.Error(w, "bad call channel request", http.StatusBadRequest)
		return
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "cannot upgrade: "+err.Error(), http.StatusInternalServerError)
		return
	}
	defer conn.Close()
	conn.SetDeadline(time.Time{})
	snonce := newNonce()
	fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: %s\r\n%s: %s\r\n%s: %s\r\n%s: %d\r\n\r\n",
		muxProto, hdrMuxNonce, snonce, hdrMuxProof, muxProof(s.n.secret, cnonce, snonce), hdrHLC, s.n.clock.Now())
	if err := brw.Flush(); err != nil {
		return
	}
	key := muxKey(s.n.secret, cnonce, snonce)
	from := r.Header.Get(hdrNode)

	ctx, cancel := context.WithCancel(s.n.ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { conn.Close() }) // node closing
	defer stop()
	out := make(chan []byte, 256)
	var wg sync.WaitGroup
	wg.Go(func() {
		if pumpFrames(newFrameWriter(conn, key, 's'), out, ctx.Done()) != nil {
			cancel()
		}
	})
	defer func() {
		cancel() // stops the writer and calls still waiting to answer
		wg.Wait()
	}()
	fr := newFrameReader(brw.Reader, key, 'c')
	for {
		b, err := fr.read()
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				s.n.log.Warn("call channel closed", "peer", from, "err", err)
			}
			return
		}
		req, err := decodeRequest(b)
		if err != nil {
			s.n.log.Warn("call channel closed", "peer", from, "err", err)
			return
		}
		req.received = time.Now()
		s.n.clock.Observe(req.hlc)
		wg.Go(func() {
			data := s.handleCall(ctx, from, req)
			select {
			case out <- encodeReply(req.id, s.n.clock.Now(), data):
			case <-ctx.Done():
			}
		})
	}
}

func (s *rpcServer) handleCall(ctx context.Context, from string, req muxRequest) []byte {
	if req.rid != "" && reqid.Valid(req.rid) {
		ctx = reqid.With(ctx, req.rid)
	}
	h, ok := s.calls[req.op]
	var data []byte
	if !ok {
		data = replyJSON(Empty{}, fmt.Errorf("%w: unknown call %q", errUnreachable, req.op))
	} else {
		data = h(ctx, req.req, req.body)
	}
	// One line per call, as for internal HTTP requests: at Info when it
	// serves a client request (so a request ID can be followed across the
	// nodes' logs), at Debug for background work.
	level := slog.LevelDebug
	if reqid.From(ctx) != "" {
		level = slog.LevelInfo
	}
	if s.n.log.Enabled(ctx, level) {
		s.n.log.LogAttrs(ctx, level, "internal call",
			slog.String("request_id", reqid.From(ctx)),
			slog.String("op", req.op),
			slog.String("from_node", from),
			slog.Int("bytes_in", len(req.req)+len(req.body)),
			slog.Int("bytes_out", len(data)),
			slog.Duration("duration", time.Since(req.received)))
	}
	return data
}
