package cluster

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/bucketdb/bucketdb/store"
)

// Coalescing of small RPCs. Under load a coordinator sends many version
// lookups (HEADs of a read quorum) and commits to the same peer at once,
// and each HTTP exchange costs both nodes far more CPU than the work it
// carries. Calls of one kind to one peer therefore share exchanges: at most
// batchInFlight exchanges per peer and kind are in flight, and calls that
// arrive meanwhile leave together in the next one. A call to an idle peer
// leaves at once, alone, so coalescing adds no latency without load.
const (
	batchInFlight = 2
	maxBatch      = 64
)

// batchItem is one call waiting in a batcher.
type batchItem[Req, Resp any] struct {
	ctx  context.Context
	req  Req
	resp Resp
	err  error
	done chan struct{}
}

// batcher coalesces the calls of one kind to one peer.
type batcher[Req, Resp any] struct {
	// send performs one exchange: one reply per request, or an error for
	// all of them.
	send    func(ctx context.Context, reqs []Req) ([]reply[Resp], error)
	decode  func(wireError) error
	timeout time.Duration

	mu       sync.Mutex
	queue    []*batchItem[Req, Resp]
	inFlight int
}

// call queues req and waits for its reply (or for ctx).
func (b *batcher[Req, Resp]) call(ctx context.Context, req Req) (Resp, error) {
	it := &batchItem[Req, Resp]{ctx: ctx, req: req, done: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, it)
	start := b.inFlight < batchInFlight
	if start {
		b.inFlight++
	}
	b.mu.Unlock()
	if start {
		go b.run()
	}
	select {
	case <-it.done:
		return it.resp, it.err
	case <-ctx.Done():
		var zero Resp
		if isDeadline(ctx) {
			return zero, fmt.Errorf("%w: %v", errUnreachable, ctx.Err())
		}
		return zero, ctx.Err()
	}
}

// run sends batches until the queue is empty.
func (b *batcher[Req, Resp]) run() {
	for {
		b.mu.Lock()
		var items []*batchItem[Req, Resp]
		for len(b.queue) > 0 && len(items) < maxBatch {
			it := b.queue[0]
			b.queue[0] = nil
			b.queue = b.queue[1:]
			if err := it.ctx.Err(); err != nil {
				it.err = fmt.Errorf("%w: %v", errUnreachable, err) // its caller is gone
				close(it.done)
				continue
			}
			items = append(items, it)
		}
		if len(items) == 0 {
			b.queue = nil
			b.inFlight--
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		reqs := make([]Req, len(items))
		for i, it := range items {
			reqs[i] = it.req
		}
		ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
		res, err := b.send(ctx, reqs)
		cancel()
		if err == nil && len(res) != len(items) {
			err = fmt.Errorf("%w: %d replies to %d requests", errUnreachable, len(res), len(items))
		}
		for i, it := range items {
			switch {
			case err != nil:
				it.err = err
			case res[i].Error != nil:
				it.resp, it.err = res[i].Result, b.decode(*res[i].Error)
			default:
				it.resp = res[i].Result
			}
			close(it.done)
		}
	}
}

// peerBatchers are the batchers of one peer.
type peerBatchers struct {
	heads   *batcher[GetRequest, store.ObjectInfo]
	commits *batcher[StageRef, CommitResponse]
}

// batchers returns the batchers of the peer c reaches.
func (t *httpTransport) batchers(c *httpReplica) *peerBatchers {
	t.batchMu.Lock()
	defer t.batchMu.Unlock()
	if pb, ok := t.peers[c.m.RPCAddr]; ok {
		return pb
	}
	decode := func(e wireError) error { return decodeError(c.m.ID, e) }
	pb := &peerBatchers{
		heads: &batcher[GetRequest, store.ObjectInfo]{timeout: t.timeout, decode: decode,
			send: func(ctx context.Context, reqs []GetRequest) ([]reply[store.ObjectInfo], error) {
				return call[[]reply[store.ObjectInfo]](ctx, c, "heads", reqs, nil, 0)
			}},
		commits: &batcher[StageRef, CommitResponse]{timeout: t.timeout, decode: decode,
			send: func(ctx context.Context, reqs []StageRef) ([]reply[CommitResponse], error) {
				return call[[]reply[CommitResponse]](ctx, c, "commits", reqs, nil, 0)
			}},
	}
	if t.peers == nil {
		t.peers = map[string]*peerBatchers{}
	}
	t.peers[c.m.RPCAddr] = pb
	return pb
}

// serveBatch runs the calls of one coalesced exchange concurrently (commits
// wait for the store's group commit, which they then share).
func serveBatch[Req, Resp any](ctx context.Context, reqs []Req, fn func(context.Context, Req) (Resp, error)) ([]reply[Resp], error) {
	if len(reqs) > maxBatch {
		return nil, fmt.Errorf("%w: batch of %d calls", store.ErrInvalidArgument, len(reqs))
	}
	out := make([]reply[Resp], len(reqs))
	var wg sync.WaitGroup
	for i, req := range reqs {
		wg.Go(func() {
			res, err := fn(ctx, req)
			out[i].Result = res
			if err != nil {
				we := encodeError(err)
				out[i].Error = &we
			}
		})
	}
	wg.Wait()
	return out, nil
}
