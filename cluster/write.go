package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bucketdb/bucketdb/store"
)

// chunkSize is the unit in which a body is fanned out; queueDepth chunks
// may wait per replica, so a coordinator holds at most
// replicas*queueDepth*chunkSize bytes of a body.
const (
	chunkSize  = 256 << 10
	queueDepth = 4
)

var errStalled = errors.New("cluster: replica stalled")

// commitGrace is how long a coordinator that has W committed replicas still
// waits for the others to prepare and commit. Answering at W alone is enough while
// every coordinator places the key alike, but just after a join or removal a
// read may ask a new owner that holds nothing yet plus the one old replica
// still committing in the background, and find nothing: with the grace, all
// healthy replicas have committed when the client is answered.
const commitGrace = 100 * time.Millisecond

// chunk is a piece of a body shared by the replicas' queues; full-size
// chunks go back to a pool once every queue that took one wrote it.
type chunk struct {
	b    []byte
	refs atomic.Int32
}

var chunkPool = sync.Pool{New: func() any { return &chunk{b: make([]byte, chunkSize)} }}

func newChunk(n int) *chunk {
	c := chunkPool.Get().(*chunk)
	c.b = c.b[:n]
	c.refs.Store(1)
	return c
}

func (c *chunk) release() {
	if c.refs.Add(-1) == 0 && cap(c.b) == chunkSize {
		c.b = c.b[:chunkSize]
		chunkPool.Put(c)
	}
}

// result is one replica's answer.
type result[T any] struct {
	m   Member
	res T
	err error
}

// phaseTwo is an answer that phase two of mutate waits for: a replica's
// commit, or (prepare) the prepare of one that answered after the decision.
type phaseTwo struct {
	m       Member
	res     CommitResponse
	err     error
	prepare bool
}

// broadcast sends one request to every target. With a body, the body
// (exactly size bytes) is read once and streamed to all of them as it
// arrives: each replica has a bounded queue, and one that does not accept
// the next chunk within StallTimeout is dropped (its call canceled) so it
// cannot stall the others. Dead members (per the failure detector) are
// skipped at once. The answers arrive on the returned channel (one per
// target). The error is a body read error, or ErrUnavailable once fewer than
// need targets remain; in both cases the calls still running are canceled.
func broadcast[T any](ctx context.Context, n *Node, targets []Member, need int, body io.Reader, size int64,
	trailer func() map[string]string, send func(ctx context.Context, r Replica, body io.Reader) (T, error)) (<-chan result[T], error) {
	out := make(chan result[T], len(targets))
	type sink struct {
		m      Member
		cancel context.CancelFunc
		queue  chan *chunk
		pw     *io.PipeWriter
		dead   bool
	}
	sinks := make([]*sink, 0, len(targets))
	live := 0
	for _, m := range targets {
		if n.state(m.ID) == Dead {
			out <- result[T]{m: m, err: fmt.Errorf("%w: %s is dead", errUnreachable, m.ID)}
			continue
		}
		cctx, cancel := context.WithCancel(ctx)
		s := &sink{m: m, cancel: cancel}
		sinks = append(sinks, s)
		live++
		r := n.replica(m)
		if body == nil {
			go func() {
				defer cancel()
				res, err := send(cctx, r, nil)
				out <- result[T]{m: m, res: res, err: err}
			}()
			continue
		}
		pr, pw := io.Pipe()
		s.pw, s.queue = pw, make(chan *chunk, queueDepth)
		go func() { // writer: queue -> pipe
			failed := false
			for c := range s.queue {
				if !failed {
					// A pipe write returns once the reader consumed it all,
					// so the chunk is free again afterwards.
					if _, err := pw.Write(c.b); err != nil {
						failed = true
					}
				}
				c.release()
			}
			pw.Close()
		}()
		go func() { // the call
			defer cancel()
			res, err := send(cctx, r, pr)
			pr.CloseWithError(errStalled)
			out <- result[T]{m: m, res: res, err: err}
		}()
	}
	if body == nil {
		if live < need {
			for _, s := range sinks {
				s.cancel()
			}
			return out, unavailable("reachable", live, need, nil)
		}
		return out, nil
	}
	abort := func(err error) (<-chan result[T], error) {
		for _, s := range sinks {
			if !s.dead {
				s.pw.CloseWithError(err)
				close(s.queue)
				s.cancel()
			}
		}
		return out, err
	}
	if live < need {
		return abort(unavailable("reachable", live, need, nil))
	}
	var timer *time.Timer
	push := func(buf *chunk) error {
		defer buf.release() // the feeder's own reference
		for _, s := range sinks {
			if s.dead {
				continue
			}
			buf.refs.Add(1)
			select {
			case s.queue <- buf:
				continue
			default:
			}
			if timer == nil {
				timer = time.NewTimer(n.cfg.StallTimeout)
			} else {
				timer.Reset(n.cfg.StallTimeout)
			}
			select {
			case s.queue <- buf:
				timer.Stop()
				continue
			case <-timer.C:
				buf.refs.Add(-1)
			case <-ctx.Done():
				buf.refs.Add(-1)
				return ctx.Err()
			}
			n.log.Warn("replica stalled, dropped from write", "peer", s.m.ID)
			s.dead = true
			s.pw.CloseWithError(errStalled)
			close(s.queue)
			s.cancel()
			live--
			if live < need {
				return unavailable("streaming", live, need, nil)
			}
		}
		return nil
	}
	for remaining := size; remaining > 0; {
		buf := newChunk(int(min(remaining, chunkSize)))
		k, err := io.ReadFull(body, buf.b)
		remaining -= int64(k)
		if err != nil {
			buf.release()
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				err = fmt.Errorf("%w: got %d of %d bytes", store.ErrIncompleteBody, size-remaining, size)
			}
			return abort(err)
		}
		if err := push(buf); err != nil {
			return abort(err)
		}
	}
	if err := expectEOF(body); err != nil {
		return abort(err)
	}
	var extra map[string]string
	if trailer != nil {
		extra = trailer()
	}
	frame, err := trailerFrame(extra)
	if err != nil {
		return abort(err)
	}
	fc := &chunk{b: frame}
	fc.refs.Store(1)
	if err := push(fc); err != nil {
		return abort(err)
	}
	for _, s := range sinks {
		if !s.dead {
			close(s.queue)
		}
	}
	return out, nil
}

// mutate applies one mutation of (req.Bucket, req.Key) on its replicas in
// two phases: prepare on every replica of the preference list (streaming a
// put's body), then, once W prepared, commit on each of them, and on each
// replica that prepares later as soon as it has. Fewer than W prepared:
// everything is aborted and the mutation can never surface. With a single
// replica the mutation is applied directly.
//
// The result is the first successful commit's; if every commit failed, the
// most telling error. A mutation committed on at least one replica is
// reported as done (anti-entropy completes it); it is never reported as
// failed, since it may surface.
func (n *Node) mutate(ctx context.Context, req PrepareRequest, body io.Reader, trailer func() map[string]string) (CommitResponse, error) {
	p := n.place(req.Bucket, req.Key)
	size := int64(0)
	if req.Kind == opPut {
		size = req.Size
	}
	if len(p.nodes) == 1 {
		req.Direct = true
		m := p.nodes[0]
		if n.state(m.ID) == Dead {
			return CommitResponse{}, unavailable("write", 0, 1, []error{fmt.Errorf("%s is dead", m.ID)})
		}
		var cb *clientBody
		if body != nil {
			cb = &clientBody{r: body}
			body = cb
			if err := singleFrame(&body, size, trailer); err != nil {
				return CommitResponse{}, err
			}
		}
		res, err := n.replica(m).Prepare(ctx, req, body)
		if err != nil && cb != nil && cb.err != nil {
			return res, cb.err // the client's body failed (short, or failed verification)
		}
		if err != nil && !definitive(err) {
			return res, unavailable("write", 0, 1, []error{err})
		}
		return res, err
	}
	if self, _ := n.reg.get(n.id); self.State == stateRemoved {
		// Its leases are gone: it could no longer wait out a replica
		// that reads on its own.
		return CommitResponse{}, unavailable("write", 0, p.w, []error{fmt.Errorf("%s was removed from the cluster", n.id)})
	}
	req.StageID = newStageID()
	ch, ferr := broadcast(ctx, n, p.nodes, p.w, body, size, trailer,
		func(ctx context.Context, r Replica, body io.Reader) (CommitResponse, error) {
			return r.Prepare(ctx, req, body)
		})
	var deadline <-chan time.Time
	if ferr == nil {
		t := time.NewTimer(n.cfg.RPCTimeout)
		defer t.Stop()
		deadline = t.C
	}
	var prepared []Member
	var errs []error
	answered := map[string]bool{}
	pending := len(p.nodes)
	decided := false
	for pending > 0 && !decided {
		select {
		case r := <-ch:
			pending--
			answered[r.m.ID] = true
			if r.err != nil {
				errs = append(errs, r.err)
			} else {
				prepared = append(prepared, r.m)
			}
		case <-deadline:
			// Replicas that did not answer in time stay pending; they are
			// handled in the background below.
			decided = true
			continue
		}
		if ferr == nil && len(prepared) >= p.w {
			decided = true
		}
		if len(errs) > len(p.nodes)-p.w {
			decided = true
		}
	}
	if ferr == nil && len(prepared) >= p.w && pending > 0 && 2*p.w <= len(p.nodes) {
		// W is no majority, so W replicas need not include one that holds
		// the last acknowledged write: hear the healthy others too before
		// the version ID is minted (below), as long as the grace lasts.
		var slow []Member
		for _, m := range p.nodes {
			if !answered[m.ID] {
				slow = append(slow, m)
			}
		}
		grace := time.NewTimer(n.grace(slow, size))
	wait:
		for pending > 0 {
			select {
			case r := <-ch:
				pending--
				answered[r.m.ID] = true
				if r.err != nil {
					errs = append(errs, r.err)
				} else {
					prepared = append(prepared, r.m)
				}
			case <-grace.C:
				break wait
			}
		}
		grace.Stop()
	}
	bg := context.WithoutCancel(ctx)
	commit := ferr == nil && len(prepared) >= p.w
	ref := StageRef{StageID: req.StageID}
	// A new version gets its ID once W prepared: their replies carried
	// their clocks, and (with W a majority) any W replicas include one
	// that committed every acknowledged write, so it sorts after those.
	if commit && (req.Kind == opPut || req.Kind == opComplete || req.Kind == opDelete && req.Delete.MarkerVersionID != "") {
		id, h := n.mint()
		ref.VersionID, ref.ModTime = id, store.HLCTime(h)
	}
	if !commit {
		// Late answers and those already in are aborted.
		if pending > 0 {
			n.goBackground(func(context.Context) {
				for ; pending > 0; pending-- {
					if r := <-ch; r.err == nil {
						cctx, cancel := n.rpcCtx(bg, 0)
						n.replica(r.m).Abort(cctx, ref)
						cancel()
					}
				}
			})
		}
		for _, m := range prepared {
			n.goBackground(func(context.Context) {
				cctx, cancel := n.rpcCtx(bg, 0)
				defer cancel()
				n.replica(m).Abort(cctx, ref)
			})
		}
		if ferr != nil {
			return CommitResponse{}, ferr
		}
		if err := commonDefinitive(errs); err != nil {
			return CommitResponse{}, err
		}
		return CommitResponse{}, unavailable("prepare", len(prepared), p.w, errs)
	}
	// Phase two, pipelined: the replicas that prepared commit at once, and
	// one still preparing commits as soon as it has, so a slow replica
	// delays only its own commit. Healthy replicas answer within moments:
	// once W committed (or nothing but prepares is left), the others get a
	// short grace so they commit before the client is answered, and those
	// holding a read lease as long as it lasts; after that they commit in
	// the background.
	events := make(chan phaseTwo, len(prepared)+2*pending)
	commitOn := func(m Member) {
		cctx, cancel := n.rpcCtx(bg, size)
		defer cancel()
		res, err := n.replica(m).Commit(cctx, ref)
		events <- phaseTwo{m: m, res: res, err: err}
	}
	if pending > 0 {
		go func() {
			for range pending {
				r := <-ch
				events <- phaseTwo{m: r.m, err: r.err, prepare: true}
			}
		}()
	}
	for _, m := range prepared {
		go commitOn(m)
	}
	committing, preparing := len(prepared), pending
	waiting := map[string]Member{}
	for _, m := range p.nodes {
		if !answered[m.ID] || slices.ContainsFunc(prepared, func(pm Member) bool { return pm.ID == m.ID }) {
			waiting[m.ID] = m
		}
	}
	var first *CommitResponse
	var cerrs []error
	var failed []Member
	committed := map[string]bool{}
	oks := 0
	var grace <-chan time.Time
collect:
	for committing+preparing > 0 {
		select {
		case r := <-events:
			switch {
			case r.prepare && r.err == nil:
				preparing--
				committing++
				go commitOn(r.m)
				continue
			case r.prepare: // nothing staged there: it just misses the write
				preparing--
				delete(waiting, r.m.ID)
			case r.err == nil:
				committing--
				delete(waiting, r.m.ID)
				oks++
				committed[r.m.ID] = true
				if first == nil {
					first = &r.res
				}
			default:
				committing--
				delete(waiting, r.m.ID)
				cerrs = append(cerrs, r.err)
				failed = append(failed, r.m)
			}
			if grace == nil && (oks >= p.w || committing == 0) && committing+preparing > 0 {
				t := time.NewTimer(n.grace(slices.Collect(maps.Values(waiting)), size))
				defer t.Stop()
				grace = t.C
			}
		case <-grace:
			break collect // a slow replica commits in the background
		}
	}
	if first == nil {
		if err := commonDefinitive(cerrs); err != nil {
			return CommitResponse{}, err
		}
		return CommitResponse{}, unavailable("commit", 0, p.w, cerrs)
	}
	cleanup := func(failed []Member, cerrs []error) {
		if len(failed) == 0 {
			return
		}
		n.log.Warn("commit failed on some replicas", "bucket", req.Bucket, "key", req.Key, "err", errors.Join(cerrs...))
		if req.Kind == opComplete {
			n.abortUploadOn(failed, req.Bucket, req.Key, req.UploadID)
		}
		n.repairLater(req.Bucket, req.Key)
	}
	cleanup(failed, cerrs)
	if committing+preparing > 0 {
		n.goBackground(func(context.Context) {
			var failed []Member
			var cerrs []error
			for committing+preparing > 0 {
				switch r := <-events; {
				case r.prepare && r.err == nil:
					preparing--
					committing++
					go commitOn(r.m)
				case r.prepare:
					preparing--
				default:
					committing--
					if r.err != nil {
						failed, cerrs = append(failed, r.m), append(cerrs, r.err)
					}
				}
			}
			cleanup(failed, cerrs)
		})
	}
	// Replicas that did not commit must not answer reads on their own
	// before they have this write.
	var without []string
	for _, m := range p.nodes {
		switch {
		case committed[m.ID]:
		case m.ID == n.id:
			n.lease.lapse()
		default:
			without = append(without, m.ID)
		}
	}
	if len(without) > 0 {
		if err := n.lease.waitOut(ctx, without); err != nil {
			return CommitResponse{}, err
		}
	}
	if err := n.lease.settle(ctx, p.view); err != nil {
		return CommitResponse{}, err
	}
	return *first, nil
}

// grace is how long a coordinator that has W waits for the slow replicas
// among ms (leases.grace); for its own replica, while it reads locally,
// as long as the call may take: missing the write would cost a catch-up.
func (n *Node) grace(ms []Member, size int64) time.Duration {
	d := n.lease.grace(ms)
	if n.lease.readable(n.reg.view().fp) && slices.ContainsFunc(ms, func(m Member) bool { return m.ID == n.id }) {
		d = max(d, n.cfg.RPCTimeout+time.Duration(size/(8<<20))*time.Second)
	}
	return d
}

// commonDefinitive returns the most frequent definitive error of errs (a
// replica's answer such as ErrNoSuchBucket), or nil if there is none.
func commonDefinitive(errs []error) error {
	count := map[string]int{}
	var best error
	bestN := 0
	for _, e := range errs {
		if !definitive(e) {
			continue
		}
		name, _ := sentinelOf(e)
		count[name]++
		if count[name] > bestN {
			best, bestN = e, count[name]
		}
	}
	return best
}

// clientBody remembers the error of the client's body, so that a body that
// failed its own verification is reported as such, not as a replica failure.
type clientBody struct {
	r   io.Reader
	err error
}

func (c *clientBody) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		c.err = err
	}
	return n, err
}

// singleFrame frames a body for a single replica without copying it: the
// data streams through, and the trailer frame is produced once the data
// reached its end.
func singleFrame(body *io.Reader, size int64, trailer func() map[string]string) error {
	src := *body
	lim := &io.LimitedReader{R: src, N: size}
	*body = io.MultiReader(lim, &lazyFrame{src: src, lim: lim, size: size, trailer: trailer})
	return nil
}

// lazyFrame checks that src is exhausted and then yields the trailer frame.
type lazyFrame struct {
	src     io.Reader
	lim     *io.LimitedReader
	size    int64
	trailer func() map[string]string
	frame   []byte
	done    bool
}

func (l *lazyFrame) Read(p []byte) (int, error) {
	if !l.done {
		l.done = true
		if l.lim.N > 0 {
			return 0, fmt.Errorf("%w: got %d of %d bytes", store.ErrIncompleteBody, l.size-l.lim.N, l.size)
		}
		if err := expectEOF(l.src); err != nil {
			return 0, err
		}
		var extra map[string]string
		if l.trailer != nil {
			extra = l.trailer()
		}
		f, err := trailerFrame(extra)
		if err != nil {
			return 0, err
		}
		l.frame = f
	}
	if len(l.frame) == 0 {
		return 0, io.EOF
	}
	n := copy(p, l.frame)
	l.frame = l.frame[n:]
	return n, nil
}
