package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/bucketdb/bucketdb/store"
)

// versioning returns the bucket's versioning state (ErrNoSuchBucket if it
// does not exist).
func (n *Node) versioning(ctx context.Context, bucket string) (store.Versioning, error) {
	b, err := n.GetBucket(ctx, bucket)
	return b.Versioning, err
}

// mint returns a new version ID and its time.
func (n *Node) mint() (string, uint64) {
	h := n.clock.Now()
	return store.NewVersionID(h), h
}

// PutObject writes a new version: the ID is minted here and the version is
// prepared and committed on the key's replicas.
func (n *Node) PutObject(ctx context.Context, bucket, key string, r io.Reader, size int64, opts store.PutOptions) (store.ObjectInfo, error) {
	v, err := n.versioning(ctx, bucket)
	if err != nil {
		return store.ObjectInfo{}, err
	}
	if size < 0 || size > store.MaxPutSize {
		return store.ObjectInfo{}, fmt.Errorf("%w: size %d out of range", store.ErrInvalidArgument, size)
	}
	release, err := n.condBegin(ctx, bucket, key, &opts.Cond)
	if err != nil {
		return store.ObjectInfo{}, err
	}
	defer release()
	id, h := n.mint()
	opts.VersionID, opts.Null = id, v != store.VersioningEnabled
	opts.ModTime = store.HLCTime(h)
	res, err := n.mutate(ctx, PrepareRequest{Kind: opPut, Bucket: bucket, Key: key, Size: size, Put: toWirePut(opts)}, r, opts.ChecksumsFunc)
	return res.Info, err
}

// precheck evaluates If-Match / If-None-Match against the quorum's latest
// version before a write is staged (replicas check again at commit).
func (n *Node) precheck(ctx context.Context, bucket, key string, c store.Conditions) error {
	if c.IfMatch == "" && c.IfNoneMatch == "" {
		return nil
	}
	if p := n.place(bucket, key); len(p.nodes) == 1 {
		return nil // the store checks atomically
	}
	info, _, err := n.resolve(ctx, bucket, key, store.GetOptions{})
	exists := err == nil
	if err != nil && !errors.Is(err, store.ErrNoSuchKey) {
		return err
	}
	if c.IfNoneMatch == "*" && exists {
		return fmt.Errorf("%w: %s/%s exists", store.ErrPreconditionFailed, bucket, key)
	}
	if c.IfMatch != "" && (!exists || trimETag(c.IfMatch) != info.ETag) {
		return fmt.Errorf("%w: %s/%s ETag", store.ErrPreconditionFailed, bucket, key)
	}
	return nil
}

func trimETag(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

// hedgeDelay is how long a read waits for its first R replicas before it
// asks the others too.
const hedgeDelay = 200 * time.Millisecond

// answer is one replica's view of a version.
type answer struct {
	m    Member
	info store.ObjectInfo
	err  error
	rc   io.ReadCloser // this node's body of info, when the read asked for it
}

// closeBody drops a body read along with the answer.
func (a answer) closeBody() {
	if a.rc != nil {
		a.rc.Close()
	}
}

func (a answer) found() bool { return a.info.VersionID != "" && (a.err == nil || a.info.DeleteMarker) }

// resolve finds the version a read names on the key's replicas: it asks
// the preference list (HEAD), waits for R definitive answers (and for the
// rest when those disagree), and picks the newest. It returns the winner's
// info (with the winner's error for a delete marker) and the replicas that
// hold it; stale replicas are repaired in the background.
func (n *Node) resolve(ctx context.Context, bucket, key string, opts store.GetOptions) (store.ObjectInfo, []Member, error) {
	info, holders, local, err := n.resolveRead(ctx, bucket, key, opts, false)
	local.closeBody()
	return info, holders, err
}

// resolveRead is resolve; with body (a read without Range or PartNumber),
// this node reads its own copy whole instead of only its version, and the
// answer comes back with that body when its version is the winner (else
// local.rc is nil): the common GET then costs this node one store read.
func (n *Node) resolveRead(ctx context.Context, bucket, key string, opts store.GetOptions, body bool) (_ store.ObjectInfo, _ []Member, local answer, _ error) {
	p := n.place(bucket, key)
	hopts := opts
	hopts.Range = nil
	// First ask R replicas (this node first: its answer is cheap), and the
	// others only when those disagree, fail, or are slow to answer. Answers
	// that come after the decision are still checked (read repair), so the
	// calls outlive the request.
	cctx, cancel := n.rpcCtx(context.WithoutCancel(ctx), 0)
	ch := make(chan answer, len(p.nodes))
	var wave1, wave2 []Member
	for _, m := range p.nodes {
		if m.ID == n.id {
			wave1 = append(wave1, m)
		}
	}
	for _, m := range p.nodes {
		if m.ID == n.id {
			continue
		}
		if len(wave1) < p.r && n.state(m.ID) != Dead {
			wave1 = append(wave1, m)
		} else {
			wave2 = append(wave2, m)
		}
	}
	pending := 0
	launch := func(ms []Member) {
		for _, m := range ms {
			pending++
			if n.state(m.ID) == Dead {
				ch <- answer{m: m, err: fmt.Errorf("%w: %s is dead", errUnreachable, m.ID)}
				continue
			}
			r := n.replica(m)
			go func() {
				if body && m.ID == n.id {
					// Under the request's context: the body outlives
					// the resolution.
					info, rc, err := r.Get(ctx, GetRequest{Bucket: bucket, Key: key, Opts: hopts})
					if err == nil {
						ch <- answer{m: m, info: info, rc: rc}
						return
					}
					if rc != nil {
						rc.Close()
					}
					// Errors are answered exactly as a version lookup
					// answers them.
				}
				info, _, err := r.Get(cctx, GetRequest{Bucket: bucket, Key: key, Opts: hopts, Head: true})
				ch <- answer{m: m, info: info, err: err}
			}()
		}
	}
	launch(wave1)
	hedge := time.NewTimer(hedgeDelay)
	defer hedge.Stop()
	var answers []answer
	var errs []error
	defer func() {
		for _, a := range answers {
			if a.rc != nil && a.rc != local.rc {
				a.rc.Close()
			}
		}
	}()
	defer func() {
		if pending == 0 {
			cancel()
			return
		}
		first := answers
		n.goBackground(func(context.Context) {
			defer cancel()
			stale := false
			for ; pending > 0; pending-- {
				a := <-ch
				a.closeBody()
				if definitive(a.err) && len(first) > 0 && !agree([]answer{first[0], a}) {
					stale = true
				}
			}
			if stale {
				n.repairLater(bucket, key)
			}
		})
	}()
	for pending > 0 {
		var a answer
		select {
		case a = <-ch:
		case <-hedge.C:
			launch(wave2)
			wave2 = nil
			continue
		}
		pending--
		if !definitive(a.err) {
			errs = append(errs, a.err)
		} else {
			answers = append(answers, a)
		}
		if len(answers) >= p.r && agree(answers) {
			if answers[0].found() || wave2 == nil {
				break
			}
			// R replicas agree that it is missing. Ask the others too
			// before saying so: just after a join or removal, R of the new
			// owners can be one that holds nothing yet and one that
			// missed the write, while an owner not asked holds it (a W of
			// the old owners always overlaps the new ones).
			launch(wave2)
			wave2 = nil
			continue
		}
		if wave2 != nil && (!definitive(a.err) || !agree(answers)) {
			launch(wave2)
			wave2 = nil
		}
		if pending == 0 && wave2 != nil {
			launch(wave2)
			wave2 = nil
		}
	}
	if len(answers) < p.r {
		return store.ObjectInfo{}, nil, answer{}, unavailable("read", len(answers), p.r, errs)
	}
	best := newest(answers, nil)
	if best != nil && !agree(answers) {
		// Replicas disagree: one that lacks the newest version may have
		// removed it for good (tombstone) while another missed that.
		dropped := map[string]bool{}
		for _, a := range answers {
			if a.found() && internalOf(a.info) == internalOf(best.info) {
				continue
			}
			v := n.fetchView(ctx, a.m, bucket, key, "", key)
			for id := range v.tombs[key] {
				dropped[id] = true
			}
		}
		if len(dropped) > 0 {
			best = newest(answers, dropped)
			n.repairLater(bucket, key)
		}
	}
	if best == nil {
		// Nobody holds it: the most common answer (NoSuchKey, NoSuchVersion…).
		var es []error
		for _, a := range answers {
			if a.found() {
				continue // a tombstoned version
			}
			es = append(es, a.err)
		}
		if len(es) == 0 {
			if opts.VersionID != "" {
				return store.ObjectInfo{}, nil, answer{}, store.ErrNoSuchVersion
			}
			return store.ObjectInfo{}, nil, answer{}, store.ErrNoSuchKey
		}
		return answers[0].info, nil, answer{}, commonDefinitive(es)
	}
	var holders []Member
	stale := false
	for _, a := range answers {
		if a.found() && internalOf(a.info) == internalOf(best.info) {
			holders = append(holders, a.m) // same data; its tags may be older
			stale = stale || a.info.TagsStamp != best.info.TagsStamp
		} else {
			stale = true
		}
	}
	if stale || len(answers) < len(p.nodes) && opts.VersionID == "" {
		if stale {
			n.repairLater(bucket, key)
		}
	}
	if best.err == nil {
		for _, a := range answers {
			if a.rc != nil && internalOf(a.info) == internalOf(best.info) {
				local = a
			}
		}
	}
	return best.info, holders, local, best.err
}

// newest returns the answer with the newest version, skipping dropped IDs.
func newest(as []answer, dropped map[string]bool) *answer {
	var best *answer
	for i := range as {
		a := &as[i]
		if a.found() && !dropped[internalOf(a.info)] && (best == nil || newer(a.info, best.info)) {
			best = a
		}
	}
	return best
}

// newer reports whether a is a newer version than b, or the same version
// with newer tags.
func newer(a, b store.ObjectInfo) bool {
	if ia, ib := internalOf(a), internalOf(b); ia != ib {
		return ia > ib
	}
	return a.TagsStamp > b.TagsStamp
}

// agree reports whether all answers name the same version with the same
// tags (or all miss).
func agree(as []answer) bool {
	for _, a := range as[1:] {
		if a.found() != as[0].found() || internalOf(a.info) != internalOf(as[0].info) ||
			a.info.TagsStamp != as[0].info.TagsStamp {
			return false
		}
	}
	return true
}

// HeadObject returns the newest version (or the one named) across a read
// quorum.
func (n *Node) HeadObject(ctx context.Context, bucket, key string, opts store.GetOptions) (store.ObjectInfo, error) {
	if _, err := n.GetBucket(ctx, bucket); err != nil {
		return store.ObjectInfo{}, err
	}
	if n.readsLocally(n.place(bucket, key)) {
		if info, _, err := n.svc.Get(ctx, GetRequest{Bucket: bucket, Key: key, Opts: opts, Head: true}); err == nil {
			return info, nil
		}
	}
	info, holders, err := n.resolve(ctx, bucket, key, opts)
	if err != nil || opts.Range == nil && opts.PartNumber == 0 {
		return info, err
	}
	// Range and part validation happen on a holder.
	for _, m := range holders {
		o := opts
		o.VersionID = internalOf(info)
		i, _, err := n.replica(m).Get(ctx, GetRequest{Bucket: bucket, Key: key, Opts: o, Head: true})
		if definitive(err) {
			return fixShown(i, info), err
		}
	}
	return info, err
}

// fixShown keeps what the client asked about: the version ID shown and
// IsLatest from the resolved info, and its tags (the holder read from may
// not have the latest change of them yet).
func fixShown(got, resolved store.ObjectInfo) store.ObjectInfo {
	if got.VersionID == "" {
		return resolved
	}
	got.VersionID = resolved.VersionID
	got.IsLatest = resolved.IsLatest
	got.Tags, got.TagsStamp = resolved.Tags, resolved.TagsStamp
	return got
}

// readsLocally reports whether this node may answer a read of the key p
// places from its own store alone: it replicates the key and holds read
// leases from every other member under p's registry (lease.go). Only a
// version found is answered so; a miss or a delete marker takes the
// quorum path.
func (n *Node) readsLocally(p placement) bool {
	if len(p.nodes) < 2 || !n.lease.readable(p.view) {
		return false
	}
	for _, m := range p.nodes {
		if m.ID == n.id {
			return true
		}
	}
	return false
}

// GetObject resolves the version on a read quorum and streams it from one
// replica that holds it.
func (n *Node) GetObject(ctx context.Context, bucket, key string, opts store.GetOptions) (store.ObjectInfo, io.ReadCloser, error) {
	if _, err := n.GetBucket(ctx, bucket); err != nil {
		return store.ObjectInfo{}, nil, err
	}
	p := n.place(bucket, key)
	if len(p.nodes) == 1 {
		// One replica: it is the quorum.
		if n.state(p.nodes[0].ID) == Dead {
			return store.ObjectInfo{}, nil, unavailable("read", 0, 1, nil)
		}
		info, rc, err := n.replica(p.nodes[0]).Get(ctx, GetRequest{Bucket: bucket, Key: key, Opts: opts})
		if err != nil && !definitive(err) {
			return info, nil, unavailable("read", 0, 1, []error{err})
		}
		return info, rc, err
	}
	if n.readsLocally(p) {
		info, rc, err := n.svc.Get(ctx, GetRequest{Bucket: bucket, Key: key, Opts: opts})
		if err == nil {
			return info, rc, nil
		}
		if rc != nil {
			rc.Close()
		}
	}
	var lastErr error
	whole := opts.Range == nil && opts.PartNumber == 0
	for attempt := 0; attempt < 3; attempt++ {
		info, holders, local, err := n.resolveRead(ctx, bucket, key, opts, whole)
		if err != nil {
			local.closeBody()
			return info, nil, err
		}
		if local.rc != nil {
			return fixShown(local.info, info), local.rc, nil
		}
		// Prefer this node's own copy.
		for i, m := range holders {
			if m.ID == n.id {
				holders[0], holders[i] = holders[i], holders[0]
			}
		}
		for _, m := range holders {
			o := opts
			o.VersionID = internalOf(info)
			got, rc, err := n.replica(m).Get(ctx, GetRequest{Bucket: bucket, Key: key, Opts: o})
			if err == nil {
				return fixShown(got, info), rc, nil
			}
			lastErr = err
			if errors.Is(err, store.ErrInvalidRange) || errors.Is(err, store.ErrInvalidPart) ||
				errors.Is(err, store.ErrInvalidArgument) {
				return fixShown(got, info), nil, err
			}
		}
	}
	if definitive(lastErr) {
		return store.ObjectInfo{}, nil, lastErr
	}
	return store.ObjectInfo{}, nil, unavailable("read", 0, 1, []error{lastErr})
}

// DeleteObject writes a delete marker (versioned bucket), removes the null
// version (unversioned) or removes a named version for good, on the key's
// replicas.
func (n *Node) DeleteObject(ctx context.Context, bucket, key string, opts store.DeleteOptions) (store.DeleteResult, error) {
	v, err := n.versioning(ctx, bucket)
	if err != nil {
		return store.DeleteResult{}, err
	}
	release, err := n.condBegin(ctx, bucket, key, &opts.Cond)
	if err != nil {
		return store.DeleteResult{}, err
	}
	defer release()
	if opts.VersionID == "" && v != store.VersioningOff {
		id, h := n.mint()
		opts.MarkerVersionID, opts.Null, opts.Versioned = id, v == store.VersioningSuspended, true
		opts.ModTime = store.HLCTime(h)
	} else {
		opts.MarkerVersionID, opts.Null, opts.Versioned = "", false, false
	}
	if opts.VersionID != "" && opts.VersionID != store.NullVersionID {
		if _, ok := store.VersionIDTime(opts.VersionID); !ok {
			return store.DeleteResult{}, fmt.Errorf("%w: malformed version ID %q", store.ErrNoSuchVersion, opts.VersionID)
		}
	}
	res, err := n.mutate(ctx, PrepareRequest{Kind: opDelete, Bucket: bucket, Key: key, Delete: opts}, nil, nil)
	return res.Delete, err
}

// SetObjectTags replaces the tags of a version on the key's replicas.
func (n *Node) SetObjectTags(ctx context.Context, bucket, key, versionID string, tags map[string]string) (store.ObjectInfo, error) {
	if _, err := n.GetBucket(ctx, bucket); err != nil {
		return store.ObjectInfo{}, err
	}
	if versionID == "" {
		// Pin the version the quorum sees as latest, so every replica tags
		// the same one.
		info, _, err := n.resolve(ctx, bucket, key, store.GetOptions{})
		if err != nil {
			return info, err
		}
		versionID = internalOf(info)
	}
	// The stamp orders this change against others of the same version on
	// every replica, whatever order they arrive in.
	res, err := n.mutate(ctx, PrepareRequest{Kind: opTags, Bucket: bucket, Key: key, VersionID: versionID,
		Tags: tags, TagsStamp: n.clock.Now()}, nil, nil)
	return res.Info, err
}
