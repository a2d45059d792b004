package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/bucketdb/bucketdb/store"
)

// Listings merge the sorted pages of every reachable active member: a
// k-way merge that de-duplicates replicas, refilling a member's page when
// it runs out, and stopping exactly at MaxKeys so that markers stay exact.
// More than N-R unreachable members: some key may have fewer than R
// replicas answering, so the listing fails with ErrUnavailable.

// entry is one listed item of one member.
type entry struct {
	name string // key or common prefix
	sub  string // order among entries of the same name (ascending)
	cp   bool
	obj  store.ObjectInfo
	up   store.UploadInfo
	node string
}

func (a entry) less(b entry) bool {
	if a.name != b.name {
		return a.name < b.name
	}
	return a.sub < b.sub
}

// cursor walks one member's listing.
type cursor struct {
	node  string
	buf   []entry
	more  bool
	fetch func(ctx context.Context) ([]entry, bool, error)
}

func (c *cursor) fill(ctx context.Context) error {
	for len(c.buf) == 0 && c.more {
		es, more, err := c.fetch(ctx)
		if err != nil {
			return err
		}
		c.buf, c.more = es, more
	}
	return nil
}

// openCursors starts a listing on every reachable active member.
func (n *Node) openCursors(ctx context.Context, bucket string, mk func(Replica, string) func(context.Context) ([]entry, bool, error)) ([]*cursor, error) {
	if _, err := n.GetBucket(ctx, bucket); err != nil {
		return nil, err
	}
	ms := n.activeMembers()
	p := n.place(bucket, "")
	allowed := len(p.nodes) - p.r
	cctx, cancel := n.rpcCtx(ctx, 0)
	defer cancel()
	ch, _ := broadcast(cctx, n, ms, 0, nil, 0, nil, func(ctx context.Context, r Replica, _ io.Reader) (*cursor, error) {
		c := &cursor{more: true}
		c.fetch = mk(r, "")
		return c, c.fill(ctx)
	})
	var cs []*cursor
	var errs []error
	for range ms {
		r := <-ch
		if r.err != nil {
			if errors.Is(r.err, store.ErrNoSuchBucket) {
				// A member that does not know the bucket (it missed the
				// creation) has nothing to list.
				continue
			}
			if definitive(r.err) {
				return nil, r.err
			}
			errs = append(errs, r.err)
			continue
		}
		r.res.node = r.m.ID
		cs = append(cs, r.res)
	}
	if len(errs) > allowed {
		return nil, unavailable("list", len(ms)-len(errs), len(ms)-allowed, errs)
	}
	for _, c := range cs {
		for i := range c.buf {
			c.buf[i].node = c.node
		}
	}
	return cs, nil
}

// merge emits groups of equal entries in order until max groups were
// accepted; it reports whether more entries follow.
func merge(ctx context.Context, cs []*cursor, max int, emit func(group []entry) bool) (bool, error) {
	count := 0
	for {
		var head *entry
		for _, c := range cs {
			if err := c.fill(ctx); err != nil {
				return false, fmt.Errorf("%w: list: %v", store.ErrUnavailable, err)
			}
			for i := range c.buf {
				c.buf[i].node = c.node
			}
			if len(c.buf) > 0 && (head == nil || c.buf[0].less(*head)) {
				head = &c.buf[0]
			}
		}
		if head == nil {
			return false, nil
		}
		if count == max {
			return true, nil
		}
		h := *head
		var group []entry
		for _, c := range cs {
			for len(c.buf) > 0 && !h.less(c.buf[0]) && !c.buf[0].less(h) {
				group = append(group, c.buf[0])
				c.buf = c.buf[1:]
			}
		}
		if emit(group) {
			count++
		}
	}
}

func clampMax(n int) int {
	if n < 0 || n > store.MaxListKeys {
		return store.MaxListKeys
	}
	return n
}

// invertHex maps a lower-case hex ID to one that sorts in reverse.
func invertHex(id string) string {
	b := []byte(id)
	for i, c := range b {
		switch {
		case c >= '0' && c <= '9':
			b[i] = "fedcba9876543210"[c-'0']
		case c >= 'a' && c <= 'f':
			b[i] = "fedcba9876543210"[c-'a'+10]
		}
	}
	return string(b)
}

// ListObjects lists the latest version of each key. When members disagree
// about a key (one lacks it although it is a replica: the key may be
// deleted there), the key is resolved on a read quorum.
func (n *Node) ListObjects(ctx context.Context, bucket string, opts store.ListOptions) (store.ListResult, error) {
	max := clampMax(opts.MaxKeys)
	var res store.ListResult
	if max == 0 {
		_, err := n.GetBucket(ctx, bucket)
		return res, err
	}
	cs, err := n.openCursors(ctx, bucket, func(r Replica, _ string) func(context.Context) ([]entry, bool, error) {
		o := opts
		o.MaxKeys = max
		return func(ctx context.Context) ([]entry, bool, error) {
			cctx, cancel := n.rpcCtx(ctx, 0)
			defer cancel()
			page, err := r.List(cctx, ListRequest{Kind: listObjects, Bucket: bucket, Objects: o})
			if err != nil {
				return nil, false, err
			}
			var es []entry
			oi, ci := 0, 0
			for oi < len(page.Objects.Objects) || ci < len(page.Objects.CommonPrefixes) {
				if ci == len(page.Objects.CommonPrefixes) || oi < len(page.Objects.Objects) && page.Objects.Objects[oi].Key < page.Objects.CommonPrefixes[ci] {
					ob := page.Objects.Objects[oi]
					es = append(es, entry{name: ob.Key, obj: ob})
					oi++
				} else {
					es = append(es, entry{name: page.Objects.CommonPrefixes[ci], cp: true})
					ci++
				}
			}
			o.Marker = page.Objects.NextMarker
			return es, page.Objects.IsTruncated, nil
		}
	})
	if err != nil {
		return res, err
	}
	listed := map[string]bool{}
	for _, c := range cs {
		listed[c.node] = true
	}
	var last string
	var ferr error
	more, err := merge(ctx, cs, max, func(g []entry) bool {
		if g[0].cp {
			res.CommonPrefixes = append(res.CommonPrefixes, g[0].name)
			last = g[0].name
			return true
		}
		best := g[0].obj
		has := map[string]bool{}
		for _, e := range g {
			has[e.node] = true
			if internalOf(e.obj) > internalOf(best) {
				best = e.obj
			}
		}
		disagree := false
		for _, e := range g {
			if internalOf(e.obj) != internalOf(best) {
				disagree = true
			}
		}
		for _, m := range n.place(bucket, best.Key).nodes {
			if listed[m.ID] && !has[m.ID] {
				disagree = true
			}
		}
		if disagree {
			info, _, err := n.resolve(ctx, bucket, best.Key, store.GetOptions{})
			if err != nil {
				if info.DeleteMarker || isNotFound(err) {
					return false
				}
				ferr = err
				return false
			}
			best = info
		}
		best.IsLatest = true
		res.Objects = append(res.Objects, best)
		last = best.Key
		return true
	})
	if err == nil {
		err = ferr
	}
	if err != nil {
		return store.ListResult{}, err
	}
	if more {
		res.IsTruncated, res.NextMarker = true, last
	}
	return res, nil
}

func isNotFound(err error) bool {
	name, _ := sentinelOf(err)
	return name == "NoSuchKey" || name == "NoSuchVersion"
}

// ListObjectVersions merges the members' version listings.
func (n *Node) ListObjectVersions(ctx context.Context, bucket string, opts store.ListVersionsOptions) (store.ListVersionsResult, error) {
	max := clampMax(opts.MaxKeys)
	var res store.ListVersionsResult
	if max == 0 {
		_, err := n.GetBucket(ctx, bucket)
		return res, err
	}
	cs, err := n.openCursors(ctx, bucket, func(r Replica, _ string) func(context.Context) ([]entry, bool, error) {
		o := opts
		o.MaxKeys = max
		return func(ctx context.Context) ([]entry, bool, error) {
			cctx, cancel := n.rpcCtx(ctx, 0)
			defer cancel()
			page, err := r.List(cctx, ListRequest{Kind: listVersions, Bucket: bucket, Versions: o})
			if err != nil {
				return nil, false, err
			}
			var es []entry
			vi, ci := 0, 0
			vs, cps := page.Versions.Versions, page.Versions.CommonPrefixes
			for vi < len(vs) || ci < len(cps) {
				if ci == len(cps) || vi < len(vs) && vs[vi].Key < cps[ci] {
					es = append(es, entry{name: vs[vi].Key, sub: invertHex(internalOf(vs[vi])), obj: vs[vi]})
					vi++
				} else {
					es = append(es, entry{name: cps[ci], cp: true})
					ci++
				}
			}
			o.KeyMarker, o.VersionIDMarker = page.Versions.NextKeyMarker, page.Versions.NextVersionIDMarker
			return es, page.Versions.IsTruncated, nil
		}
	})
	if err != nil {
		return res, err
	}
	listed := map[string]bool{}
	for _, c := range cs {
		listed[c.node] = true
	}
	// tombstoned reports whether a replica of the key that lacks this
	// version removed it for good (the others missed the removal).
	tombs := map[string]map[string]bool{} // key + "\x00" + member -> IDs
	tombstoned := func(g []entry) bool {
		has := map[string]bool{}
		for _, e := range g {
			has[e.node] = true
		}
		key, id := g[0].name, internalOf(g[0].obj)
		for _, m := range n.place(bucket, key).nodes {
			if !listed[m.ID] || has[m.ID] {
				continue
			}
			ck := key + "\x00" + m.ID
			ts, ok := tombs[ck]
			if !ok {
				ts = n.fetchView(ctx, m, bucket, key, "", key).tombs[key]
				tombs[ck] = ts
			}
			if ts[id] {
				n.repairLater(bucket, key)
				return true
			}
		}
		return false
	}
	prevKey, emittedKey := "", ""
	first, emitted := true, false
	nullSeen := false
	var last entry
	more, err := merge(ctx, cs, max, func(g []entry) bool {
		e := g[0]
		if e.cp {
			res.CommonPrefixes = append(res.CommonPrefixes, e.name)
			last = e
			return true
		}
		if first || e.name != prevKey {
			nullSeen = false
		}
		first, prevKey = false, e.name
		v := e.obj
		if v.VersionID == store.NullVersionID {
			if nullSeen {
				return false // an older null version a stale replica still holds
			}
			nullSeen = true
		}
		if tombstoned(g) {
			return false
		}
		continuing := e.name == opts.KeyMarker && opts.VersionIDMarker != ""
		v.IsLatest = (!emitted || e.name != emittedKey) && !continuing
		emitted, emittedKey = true, e.name
		res.Versions = append(res.Versions, v)
		last = e
		return true
	})
	if err != nil {
		return store.ListVersionsResult{}, err
	}
	if more {
		res.IsTruncated = true
		res.NextKeyMarker = last.name
		if !last.cp {
			res.NextVersionIDMarker = last.obj.VersionID
		}
	}
	return res, nil
}

// ListMultipartUploads merges the members' upload listings.
func (n *Node) ListMultipartUploads(ctx context.Context, bucket string, opts store.ListUploadsOptions) (store.ListUploadsResult, error) {
	max := clampMax(opts.MaxUploads)
	var res store.ListUploadsResult
	if max == 0 {
		_, err := n.GetBucket(ctx, bucket)
		return res, err
	}
	cs, err := n.openCursors(ctx, bucket, func(r Replica, _ string) func(context.Context) ([]entry, bool, error) {
		o := opts
		o.MaxUploads = max
		return func(ctx context.Context) ([]entry, bool, error) {
			cctx, cancel := n.rpcCtx(ctx, 0)
			defer cancel()
			page, err := r.List(cctx, ListRequest{Kind: listUploads, Bucket: bucket, Uploads: o})
			if err != nil {
				return nil, false, err
			}
			var es []entry
			ui, ci := 0, 0
			us, cps := page.Uploads.Uploads, page.Uploads.CommonPrefixes
			for ui < len(us) || ci < len(cps) {
				if ci == len(cps) || ui < len(us) && us[ui].Key < cps[ci] {
					es = append(es, entry{name: us[ui].Key, sub: us[ui].UploadID, up: us[ui]})
					ui++
				} else {
					es = append(es, entry{name: cps[ci], cp: true})
					ci++
				}
			}
			o.KeyMarker, o.UploadIDMarker = page.Uploads.NextKeyMarker, page.Uploads.NextUploadIDMarker
			return es, page.Uploads.IsTruncated, nil
		}
	})
	if err != nil {
		return res, err
	}
	listed := map[string]bool{}
	for _, c := range cs {
		listed[c.node] = true
	}
	var last entry
	more, err := merge(ctx, cs, max, func(g []entry) bool {
		e := g[0]
		if e.cp {
			res.CommonPrefixes = append(res.CommonPrefixes, e.name)
		} else {
			if leftoverUpload(n.place(bucket, e.name).nodes, listed, g) {
				return false
			}
			res.Uploads = append(res.Uploads, e.up)
		}
		last = e
		return true
	})
	if err != nil {
		return store.ListUploadsResult{}, err
	}
	if more {
		res.IsTruncated = true
		res.NextKeyMarker = last.name
		if !last.cp {
			res.NextUploadIDMarker = last.up.UploadID
		}
	}
	return res, nil
}

// leftoverUpload reports whether an upload is only held by members that no
// longer own its key while owners that answered do not hold it: the
// remains of an upload completed or aborted after a membership change.
func leftoverUpload(owners []Member, listed map[string]bool, g []entry) bool {
	has := map[string]bool{}
	for _, e := range g {
		has[e.node] = true
	}
	ownerListed := false
	for _, m := range owners {
		if has[m.ID] {
			return false
		}
		ownerListed = ownerListed || listed[m.ID]
	}
	return ownerListed
}
