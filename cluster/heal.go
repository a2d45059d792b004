package cluster

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bucketdb/bucketdb/store"
)

// healState is the anti-entropy bookkeeping of a node.
type healState struct {
	kickCh  chan struct{}
	passMu  sync.Mutex // one pass at a time
	running atomic.Bool
	backlog atomic.Int64
	retry   atomic.Bool // the last pass failed on a member that is alive
	objects atomic.Int64
	bytes   atomic.Int64
	passes  atomic.Int64
	last    atomic.Int64 // unix nanos of the last completed pass
	started atomic.Int64 // passes started
	clean   atomic.Int64 // number of the last pass that reached every replica
}

func (h *healState) init() { h.kickCh = make(chan struct{}, 1) }

// kick asks for a pass soon.
func (h *healState) kick() {
	select {
	case h.kickCh <- struct{}{}:
	default:
	}
}

func (n *Node) healLoop() {
	defer n.wg.Done()
	var tick <-chan time.Time
	if n.cfg.HealInterval > 0 {
		t := time.NewTicker(n.cfg.HealInterval)
		defer t.Stop()
		tick = t.C
		n.heal.kick()
	}
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-tick:
		case <-n.heal.kickCh:
			if n.cfg.HealInterval <= 0 {
				continue // tests drive passes with HealNow
			}
			// Let a burst of membership events settle.
			select {
			case <-n.ctx.Done():
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
		if err := n.HealNow(n.ctx); err != nil && n.ctx.Err() == nil {
			n.log.Warn("anti-entropy pass", "err", err)
		}
		if n.heal.retry.Load() {
			// Work left (a replica was unreachable or still starting): try
			// again soon rather than at the next interval.
			retry := min(n.cfg.HealInterval, time.Second)
			n.goBackground(func(ctx context.Context) {
				select {
				case <-ctx.Done():
				case <-time.After(retry):
					n.heal.kick()
				}
			})
		}
	}
}

func (n *Node) localStats(ctx context.Context) NodeStats {
	s := NodeStats{Objects: n.heal.objects.Load(), Bytes: n.heal.bytes.Load(),
		Backlog: n.heal.backlog.Load(), Healing: n.heal.running.Load(), LocalReads: n.lease.readable(n.reg.view().fp)}
	if st, err := n.st.Stats(ctx); err == nil {
		s.Objects, s.Versions, s.Bytes = st.Objects, st.Versions, st.Bytes
	}
	if t := n.heal.last.Load(); t > 0 {
		s.LastHeal = time.Unix(0, t).UTC()
	}
	return s
}

// HealNow runs one anti-entropy pass: it exchanges the member registry
// with every reachable member, reconciles buckets, then walks this node's
// versions and makes every other replica of each key hold them (or deletes
// them here when a replica holds a tombstone), and hands off keys this node
// no longer owns once all their owners hold them.
func (n *Node) HealNow(ctx context.Context) error {
	_, err := n.healPass(ctx)
	return err
}

// healPass is HealNow; clean reports that the pass reached every replica
// it had to (nothing left for a retry).
func (n *Node) healPass(ctx context.Context) (clean bool, _ error) {
	n.heal.passMu.Lock()
	defer n.heal.passMu.Unlock()
	n.heal.running.Store(true)
	defer n.heal.running.Store(false)
	seq := n.heal.started.Add(1)
	n.syncMembers(ctx)
	if err := n.syncBuckets(ctx); err != nil {
		return false, err
	}
	buckets, err := n.st.ListBuckets(ctx)
	if err != nil {
		return false, err
	}
	w := &walk{n: n, defers: !n.heal.retry.Load()}
	for _, b := range buckets {
		if err := w.bucket(ctx, b.Name); err != nil {
			return false, err
		}
		w.uploads(ctx, b.Name)
	}
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if !w.retry {
		n.heal.clean.Store(seq)
	}
	n.heal.objects.Store(w.objects)
	n.heal.bytes.Store(w.bytes)
	n.heal.backlog.Store(w.backlog)
	n.heal.retry.Store(w.retry)
	n.heal.passes.Add(1)
	n.heal.last.Store(time.Now().UnixNano())
	if self, _ := n.reg.get(n.id); self.State == stateLeaving && w.kept == 0 && w.backlog == 0 {
		n.finishLeave(ctx)
	}
	return !w.retry, nil
}

// syncMembers exchanges the registry with every reachable member.
func (n *Node) syncMembers(ctx context.Context) {
	mine := n.reg.list()
	for _, m := range mine {
		if m.ID == n.id || m.State == stateRemoved || n.state(m.ID) == Dead {
			continue
		}
		cctx, cancel := n.rpcCtx(ctx, 0)
		r, err := n.replica(m).Members(cctx, MembersRequest{Members: mine})
		cancel()
		if err == nil {
			n.reg.merge(r.Members)
		}
	}
}

// syncBuckets creates on every reachable member the buckets a majority of
// members hold, and those a minority holds with objects in them, with the
// holders' majority versioning state.
func (n *Node) syncBuckets(ctx context.Context) error {
	members, _, answers := n.everywhere(ctx, BucketRequest{Op: bucketList})
	type tally struct {
		holders map[string]store.BucketInfo
	}
	seen := map[string]*tally{}
	var ok []result[BucketResponse]
	for _, a := range answers {
		if a.err != nil {
			continue
		}
		ok = append(ok, a)
		for _, b := range a.res.Buckets {
			t := seen[b.Name]
			if t == nil {
				t = &tally{holders: map[string]store.BucketInfo{}}
				seen[b.Name] = t
			}
			t.holders[a.m.ID] = b
		}
	}
	for name, t := range seen {
		if len(t.holders) < majority(members) {
			if len(ok) < members {
				continue
			}
			// Every member answered and only a minority holds it: the
			// leftover of a deletion (or of a lost creation) that those
			// members missed, or a creation that members joining since
			// never got. A deletion needs an empty bucket, so empty ones
			// go; one that holds objects is live and spreads below.
			live := false
			for id := range t.holders {
				m, _ := n.reg.get(id)
				cctx, cancel := n.rpcCtx(ctx, 0)
				_, err := n.replica(m).Bucket(cctx, BucketRequest{Op: bucketDelete, Bucket: name})
				cancel()
				switch {
				case err == nil:
					delete(t.holders, id)
				case errors.Is(err, store.ErrBucketNotEmpty):
					live = true
				}
			}
			if !live {
				continue
			}
		}
		votes := map[store.Versioning]int{}
		for _, b := range t.holders {
			votes[b.Versioning]++
		}
		var v store.Versioning
		best := -1
		for k, c := range votes {
			if c > best || c == best && k > v {
				v, best = k, c
			}
		}
		for _, a := range ok {
			b, has := t.holders[a.m.ID]
			r := n.replica(a.m)
			cctx, cancel := n.rpcCtx(ctx, 0)
			if !has {
				_, err := r.Bucket(cctx, BucketRequest{Op: bucketCreate, Bucket: name})
				if err == nil || errors.Is(err, store.ErrBucketExists) {
					b.Versioning, has = store.VersioningOff, true
				}
			}
			if has && b.Versioning != v && v != store.VersioningOff {
				r.Bucket(cctx, BucketRequest{Op: bucketVersioning, Bucket: name, Versioning: v})
			}
			cancel()
		}
		n.syncConfigs(ctx, name, members, ok)
	}
	return nil
}

// syncConfigs makes every answering member hold the configuration
// documents of bucket that a majority of members agree on (a document, or
// its absence).
func (n *Node) syncConfigs(ctx context.Context, bucket string, members int, ms []result[BucketResponse]) {
	docs := map[string]map[string][]byte{} // member -> kind -> doc
	kinds := map[string]bool{}
	for _, a := range ms {
		cctx, cancel := n.rpcCtx(ctx, 0)
		r, err := n.replica(a.m).Bucket(cctx, BucketRequest{Op: bucketConfigs, Bucket: bucket})
		cancel()
		if err != nil {
			continue
		}
		docs[a.m.ID] = r.Configs
		for k := range r.Configs {
			kinds[k] = true
		}
	}
	for kind := range kinds {
		votes := map[string]int{}
		absent := 0
		for _, cs := range docs {
			if d, ok := cs[kind]; ok {
				votes[string(d)]++
			} else {
				absent++
			}
		}
		var want *string
		for d, c := range votes {
			if c >= majority(members) {
				want = &d
			}
		}
		if want == nil && absent < majority(members) {
			continue // no majority either way
		}
		for _, a := range ms {
			cs, ok := docs[a.m.ID]
			if !ok {
				continue
			}
			d, has := cs[kind]
			cctx, cancel := n.rpcCtx(ctx, 0)
			switch {
			case want != nil && (!has || string(d) != *want):
				n.replica(a.m).Bucket(cctx, BucketRequest{Op: bucketPutConfig, Bucket: bucket, Kind: kind, Doc: []byte(*want)})
			case want == nil && has:
				n.replica(a.m).Bucket(cctx, BucketRequest{Op: bucketDelConfig, Bucket: bucket, Kind: kind})
			}
			cancel()
		}
	}
}

// repairBucketsLater schedules a pass (a bucket is missing here).
func (n *Node) repairBucketsLater() { n.heal.kick() }

// walk is one pass over this node's versions.
type walk struct {
	n *Node
	// defers lets a key's versions that a replica ahead of this node also
	// holds be pushed by that replica alone (walk.leave). Only in a pass
	// that follows a clean one: a retry pass pushes everything, so a
	// replica that holds a version but never delivers it (its pass is
	// slow, or it cannot reach the destination) delays healing by one
	// pass at most.
	defers  bool
	objects int64
	bytes   int64
	backlog int64
	kept    int64 // versions still held that this node does not own
	retry   bool  // a member that is alive could not be reached or written
}

// bucket walks one bucket in pages of complete keys.
func (w *walk) bucket(ctx context.Context, bucket string) error {
	n := w.n
	after := ""
	for {
		page, err := n.svc.Digests(ctx, DigestRequest{Bucket: bucket, After: after, Limit: 1000})
		if err != nil {
			if errors.Is(err, store.ErrNoSuchBucket) {
				return nil
			}
			return err
		}
		if len(page.Digests) == 0 {
			return nil
		}
		through := page.Digests[len(page.Digests)-1].Key
		w.page(ctx, bucket, after, through, page.Digests)
		if !page.More {
			return nil
		}
		after = through
	}
}

// peerView is what one peer holds in a key range.
type peerView struct {
	ok    bool
	vers  map[string]map[string]Digest // key -> id -> digest
	tombs map[string]map[string]bool   // key -> id
}

func (n *Node) fetchView(ctx context.Context, m Member, bucket, prefix, after, through string) peerView {
	v := peerView{vers: map[string]map[string]Digest{}, tombs: map[string]map[string]bool{}}
	if n.state(m.ID) == Dead {
		return v
	}
	from := after
	for {
		cctx, cancel := n.rpcCtx(ctx, 0)
		r, err := n.replica(m).Digests(cctx, DigestRequest{Bucket: bucket, Prefix: prefix, After: from, Through: through, Limit: 5000})
		cancel()
		if err != nil && !errors.Is(err, store.ErrNoSuchBucket) {
			return v
		}
		for _, d := range r.Digests {
			if v.vers[d.Key] == nil {
				v.vers[d.Key] = map[string]Digest{}
			}
			v.vers[d.Key][d.ID] = d
		}
		for _, t := range r.Tombstones {
			if v.tombs[t.Key] == nil {
				v.tombs[t.Key] = map[string]bool{}
			}
			v.tombs[t.Key][t.ID] = true
		}
		if !r.More {
			v.ok = true
			return v
		}
		from = r.Next
	}
}

// healParallel is how many keys of a page one pass reconciles at once.
// Copies are small writes at the destination: run one at a time, each
// waited for its own sync; run together, the destination's group committer
// shares syncs among them.
const healParallel = 16

// page reconciles the keys of one page with their other replicas,
// healParallel keys at a time (each key's versions in order).
func (w *walk) page(ctx context.Context, bucket, after, through string, ds []Digest) {
	n := w.n
	byKey := map[string][]Digest{}
	var keys []string
	for _, d := range ds {
		if _, ok := byKey[d.Key]; !ok {
			keys = append(keys, d.Key)
		}
		byKey[d.Key] = append(byKey[d.Key], d)
		if !d.DeleteMarker {
			w.objects++
			w.bytes += d.Size
		}
	}
	// Every other replica's view of the page, fetched once before the keys
	// fan out.
	views := map[string]peerView{}
	for _, key := range keys {
		for _, m := range n.place(bucket, key).nodes {
			if _, ok := views[m.ID]; !ok && m.ID != n.id {
				views[m.ID] = n.fetchView(ctx, m, bucket, "", after, through)
			}
		}
	}
	var mu sync.Mutex // guards w's counters
	sem := make(chan struct{}, healParallel)
	var wg sync.WaitGroup
	for _, key := range keys {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			r := w.key(ctx, bucket, key, byKey[key], views)
			mu.Lock()
			w.backlog += r.backlog
			w.kept += r.kept
			w.retry = w.retry || r.retry
			mu.Unlock()
		}()
	}
	wg.Wait()
}

// keyResult is what reconciling one key adds to a walk's counters.
type keyResult struct {
	backlog, kept int64
	retry         bool
}

// key reconciles one key this node holds (its versions have) with the
// key's other replicas, and hands it off once every owner holds it if this
// node is no longer one of them.
func (w *walk) key(ctx context.Context, bucket, key string, have []Digest, views map[string]peerView) keyResult {
	n := w.n
	var r keyResult
	p := n.place(bucket, key)
	self := Member{ID: n.id}
	var leave map[string]bool
	if w.defers {
		leave = w.leave(key, p, have, views)
	}
	mine := false
	confirmed := 0
	for _, m := range p.nodes {
		if m.ID == n.id {
			mine = true
			continue
		}
		v := views[m.ID]
		if !v.ok {
			r.backlog += int64(len(have))
			r.retry = r.retry || n.state(m.ID) != Dead
			continue
		}
		if n.reconcile(ctx, bucket, key, self, m, have, v.vers[key], v.tombs[key], leave, &r.backlog) {
			confirmed++
		} else {
			r.retry = true
		}
	}
	if mine {
		return r
	}
	// Not an owner any more: drop the key once every owner holds it.
	if len(p.nodes) > 0 && confirmed == len(p.nodes) {
		for _, d := range have {
			n.svc.DeleteVersion(ctx, DeleteVersionRequest{Bucket: bucket, Key: key, InternalID: d.ID})
		}
		return r
	}
	r.kept += int64(len(have))
	return r
}

// leave returns the versions of key (by ID) that this node leaves to a
// live replica ahead of it in the key's preference list that holds them
// too: that replica's own pass copies them. Without it, every replica that
// holds a version a restarted node missed would copy it there, and the
// restarted node would write each missed version once per survivor.
func (w *walk) leave(key string, p placement, have []Digest, views map[string]peerView) map[string]bool {
	n := w.n
	var ahead []Member
	for _, m := range p.nodes {
		if m.ID == n.id {
			break
		}
		if views[m.ID].ok && n.state(m.ID) == Alive {
			ahead = append(ahead, m)
		}
	}
	var leave map[string]bool
	for _, d := range have {
		for _, m := range ahead {
			if _, ok := views[m.ID].vers[key][d.ID]; ok {
				if leave == nil {
					leave = map[string]bool{}
				}
				leave[d.ID] = true
				break
			}
		}
	}
	return leave
}

// reconcile makes replica dst hold every version of key that src holds
// (src's digests given), unless dst tombstoned it, in which case src drops
// it. A version dst lacks whose ID is in leave is not copied: another
// replica copies it, and it counts as backlog. It reports whether dst now
// holds all of them.
func (n *Node) reconcile(ctx context.Context, bucket, key string, src, dst Member, have []Digest,
	dstVers map[string]Digest, dstTombs, leave map[string]bool, backlog *int64) bool {
	all := true
	var dstNull string
	for id, d := range dstVers {
		if d.Null {
			dstNull = id
		}
	}
	for _, d := range have {
		if dd, ok := dstVers[d.ID]; ok {
			if dd.TagsStamp < d.TagsStamp && !n.copyTags(ctx, src, dst, bucket, key, d) {
				*backlog++
				all = false
			}
			continue
		}
		if dstTombs[d.ID] {
			cctx, cancel := n.rpcCtx(ctx, 0)
			n.replica(src).DeleteVersion(cctx, DeleteVersionRequest{Bucket: bucket, Key: key, InternalID: d.ID, Tombstone: true})
			cancel()
			continue
		}
		if d.Null && dstNull > d.ID {
			continue // dst holds a newer null version; ours is stale
		}
		if leave[d.ID] {
			*backlog++
			all = false
			continue
		}
		if err := n.copyVersion(ctx, src, dst, bucket, key, d); err != nil {
			if errors.Is(err, store.ErrNoSuchVersion) || errors.Is(err, store.ErrNoSuchKey) {
				continue // gone meanwhile, or tombstoned at dst
			}
			n.log.Debug("heal copy failed", "bucket", bucket, "key", key, "to", dst.ID, "err", err)
			*backlog++
			all = false
		}
	}
	return all
}

// copyTags gives dst's copy of version d the newer tags src holds (with
// their stamp, so a change dst received meanwhile is not undone).
func (n *Node) copyTags(ctx context.Context, src, dst Member, bucket, key string, d Digest) bool {
	cctx, cancel := n.rpcCtx(ctx, 0)
	defer cancel()
	info, _, err := n.replica(src).Get(cctx, GetRequest{Bucket: bucket, Key: key, Opts: store.GetOptions{VersionID: d.ID}, Head: true})
	if err != nil {
		return errors.Is(err, store.ErrNoSuchVersion) // gone meanwhile
	}
	_, err = n.replica(dst).Prepare(cctx, PrepareRequest{Direct: true, Kind: opTags, Bucket: bucket, Key: key,
		VersionID: d.ID, Tags: info.Tags, TagsStamp: info.TagsStamp}, nil)
	if err != nil && !errors.Is(err, store.ErrNoSuchVersion) {
		n.log.Debug("heal tags failed", "bucket", bucket, "key", key, "to", dst.ID, "err", err)
		return false
	}
	return true
}

// copyVersion copies one version from src to dst with its identity (ID,
// ETag, ModTime, metadata, tags, part layout).
func (n *Node) copyVersion(ctx context.Context, src, dst Member, bucket, key string, d Digest) error {
	req := PutVersionRequest{Bucket: bucket, Key: key}
	if d.DeleteMarker {
		cctx, cancel := n.rpcCtx(ctx, 0)
		info, _, err := n.replica(src).Get(cctx, GetRequest{Bucket: bucket, Key: key, Opts: store.GetOptions{VersionID: d.ID}, Head: true})
		cancel()
		if info.VersionID == "" {
			return err
		}
		req.Marker = true
		req.Opts = wirePut{VersionID: d.ID, Null: d.Null, ModTime: info.ModTime}
		cctx, cancel = n.rpcCtx(ctx, 0)
		defer cancel()
		_, err = n.replica(dst).PutVersion(cctx, req, nil)
		return err
	}
	cctx, cancel := n.rpcCtx(ctx, d.Size)
	defer cancel()
	info, rc, err := n.replica(src).Get(cctx, GetRequest{Bucket: bucket, Key: key, Opts: store.GetOptions{VersionID: d.ID}})
	if err != nil {
		return err
	}
	defer rc.Close()
	meta := store.ObjectMeta{ContentType: info.ContentType, CacheControl: info.CacheControl,
		ContentDisposition: info.ContentDisposition, ContentEncoding: info.ContentEncoding,
		ContentLanguage: info.ContentLanguage, Expires: info.Expires, UserMeta: info.UserMeta,
		Checksums: info.Checksums, Tags: info.Tags}
	req.Size = info.Size
	req.Opts = wirePut{VersionID: d.ID, Null: d.Null, Meta: meta, ModTime: info.ModTime,
		ETag: info.ETag, Parts: info.Parts, TagsStamp: info.TagsStamp}
	body, err := framed(io.LimitReader(rc, info.Size), nil)
	if err != nil {
		return err
	}
	_, err = n.replica(dst).PutVersion(cctx, req, body)
	return err
}

// repairLater reconciles one key across its replicas in the background
// (read repair), once at a time per key.
func (n *Node) repairLater(bucket, key string) {
	k := bucket + "\x00" + key
	n.repairMu.Lock()
	if n.repairing[k] {
		n.repairMu.Unlock()
		return
	}
	n.repairing[k] = true
	n.repairMu.Unlock()
	n.goBackground(func(ctx context.Context) {
		defer func() {
			n.repairMu.Lock()
			delete(n.repairing, k)
			n.repairMu.Unlock()
		}()
		n.repairKey(ctx, bucket, key)
	})
}

// repairKey makes every reachable replica of key hold every version any of
// them holds (tombstones win).
func (n *Node) repairKey(ctx context.Context, bucket, key string) {
	p := n.place(bucket, key)
	views := map[string]peerView{}
	for _, m := range p.nodes {
		views[m.ID] = n.fetchView(ctx, m, bucket, key, "", key)
	}
	var backlog int64
	for _, src := range p.nodes {
		sv := views[src.ID]
		if !sv.ok {
			continue
		}
		var have []Digest
		for _, d := range sv.vers[key] {
			have = append(have, d)
		}
		for _, dst := range p.nodes {
			dv := views[dst.ID]
			if dst.ID == src.ID || !dv.ok {
				continue
			}
			n.reconcile(ctx, bucket, key, src, dst, have, dv.vers[key], dv.tombs[key], nil, &backlog)
		}
	}
}

// uploads drops the multipart uploads this node holds for keys it no longer
// owns once every owner answered that it does not hold them (they were
// completed or aborted there after a membership change).
func (w *walk) uploads(ctx context.Context, bucket string) {
	n := w.n
	opts := store.ListUploadsOptions{MaxUploads: store.MaxListKeys}
	for ctx.Err() == nil {
		page, err := n.st.ListMultipartUploads(ctx, bucket, opts)
		if err != nil {
			return
		}
		for _, u := range page.Uploads {
			p := n.place(bucket, u.Key)
			gone := len(p.nodes) > 0
			for _, m := range p.nodes {
				if m.ID == n.id {
					gone = false
					break
				}
				cctx, cancel := n.rpcCtx(ctx, 0)
				_, err := n.replica(m).Upload(cctx, UploadRequest{Op: uploadListParts, Bucket: bucket, Key: u.Key,
					UploadID: u.UploadID, Parts: store.ListPartsOptions{MaxParts: 1}})
				cancel()
				if !errors.Is(err, store.ErrNoSuchUpload) {
					gone = false // an owner holds it, or did not answer
					break
				}
			}
			if gone {
				n.st.AbortMultipartUpload(ctx, bucket, u.Key, u.UploadID)
			}
		}
		if !page.IsTruncated {
			return
		}
		opts.KeyMarker, opts.UploadIDMarker = page.NextKeyMarker, page.NextUploadIDMarker
	}
}
