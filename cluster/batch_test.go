package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bucketdb/bucketdb/store"
)

// Calls that arrive while batchInFlight exchanges are out leave together,
// each gets its own reply or error, and a transport failure reaches every
// call of its exchange.
func TestBatcherCoalesces(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var sizes []int
	b := &batcher[int, int]{timeout: time.Minute,
		decode: func(e wireError) error { return decodeError("peer", e) },
		send: func(ctx context.Context, reqs []int) ([]reply[int], error) {
			mu.Lock()
			sizes = append(sizes, len(reqs))
			mu.Unlock()
			<-release
			if reqs[0] < 0 {
				return nil, fmt.Errorf("%w: connection reset", errUnreachable)
			}
			out := make([]reply[int], len(reqs))
			for i, r := range reqs {
				out[i].Result = r * 10
				if r%2 == 1 {
					we := encodeError(store.ErrNoSuchKey)
					out[i].Error = &we
				}
			}
			return out, nil
		}}
	ctx := context.Background()
	type res struct {
		v   int
		err error
	}
	results := make([]chan res, 12)
	for i := range results {
		results[i] = make(chan res, 1)
	}
	call := func(i, req int) {
		v, err := b.call(ctx, req)
		results[i] <- res{v, err}
	}
	// Two exchanges go out, one after the other, and block; ten more calls
	// queue behind them.
	exchanges := func(n int) func() bool {
		return func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(sizes) == n
		}
	}
	go call(0, 2)
	waitWithin(t, 5*time.Second, "one exchange in flight", exchanges(1))
	go call(1, 4)
	waitWithin(t, 5*time.Second, "two exchanges in flight", exchanges(2))
	for i := 2; i < 12; i++ {
		go call(i, i)
	}
	waitWithin(t, 5*time.Second, "ten queued calls", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return len(b.queue) == 10
	})
	close(release)
	for i := range results {
		r := <-results[i]
		req := []int{2, 4}[min(i, 1)]
		if i >= 2 {
			req = i
		}
		if r.v != req*10 {
			t.Fatalf("call %d: got %d, want %d", i, r.v, req*10)
		}
		if wantErr := req%2 == 1; wantErr != errors.Is(r.err, store.ErrNoSuchKey) || !wantErr && r.err != nil {
			t.Fatalf("call %d: err %v", i, r.err)
		}
	}
	mu.Lock()
	if len(sizes) != 3 || sizes[2] != 10 {
		t.Fatalf("exchange sizes %v, want [1 1 10]", sizes)
	}
	mu.Unlock()
	// A failed exchange fails each of its calls with a transport error.
	if _, err := b.call(ctx, -1); !errors.Is(err, errUnreachable) {
		t.Fatalf("failed exchange: %v", err)
	}
	// A caller whose context ends stops waiting.
	block := make(chan struct{})
	b.send = func(ctx context.Context, reqs []int) ([]reply[int], error) { <-block; return nil, ctx.Err() }
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := b.call(cctx, 1); !errors.Is(err, errUnreachable) {
		t.Fatalf("call past its deadline: %v", err)
	}
	close(block)
}
