package cluster

import (
	"context"
	"errors"
	"io"
	mrand "math/rand/v2"
	"sort"
	"time"

	"github.com/bucketdb/bucketdb/store"
)

// Buckets and their configuration live on every member. Changes need a
// majority of the active members; creation is a compare-and-set in each
// store, so of two coordinators racing to create one bucket at most one
// reaches a majority (the loser rolls its partial creations back).

// everywhere runs one bucket operation on every active member and returns
// the answers.
func (n *Node) everywhere(ctx context.Context, req BucketRequest) (members int, oks []Member, answers []result[BucketResponse]) {
	ms := n.activeMembers()
	cctx, cancel := n.rpcCtx(ctx, 0)
	defer cancel()
	ch, _ := broadcast(cctx, n, ms, 0, nil, 0, nil,
		func(ctx context.Context, r Replica, _ io.Reader) (BucketResponse, error) { return r.Bucket(ctx, req) })
	for range ms {
		a := <-ch
		if a.err == nil {
			oks = append(oks, a.m)
		}
		answers = append(answers, a)
	}
	return len(ms), oks, answers
}

func majority(n int) int { return n/2 + 1 }

func errsOf[T any](rs []result[T]) []error {
	var es []error
	for _, r := range rs {
		if r.err != nil {
			es = append(es, r.err)
		}
	}
	return es
}

// CreateBucket creates a bucket on every member; it succeeds once a
// majority created it.
func (n *Node) CreateBucket(ctx context.Context, bucket string) error {
	backoff := 5 * time.Millisecond
	for attempt := 1; ; attempt++ {
		members, oks, answers := n.everywhere(ctx, BucketRequest{Op: bucketCreate, Bucket: bucket})
		if len(oks) >= majority(members) {
			return nil
		}
		// Lost (or no quorum): undo what this attempt created.
		bg := context.WithoutCancel(ctx)
		for _, m := range oks {
			cctx, cancel := n.rpcCtx(bg, 0)
			n.replica(m).Bucket(cctx, BucketRequest{Op: bucketDelete, Bucket: bucket})
			cancel()
		}
		errs := errsOf(answers)
		err := commonDefinitive(errs)
		if err == nil {
			return unavailable("create bucket", len(oks), majority(members), errs)
		}
		// Racing creators can split the vote so that none holds a
		// majority and all undo: then nobody won, and this one tries
		// again after a random pause (which breaks the symmetry).
		if !errors.Is(err, store.ErrBucketExists) || attempt == 6 || n.heldByMajority(ctx, bucket) {
			return err
		}
		select {
		case <-time.After(backoff + mrand.N(backoff)):
		case <-ctx.Done():
			return ctx.Err()
		}
		backoff *= 2
	}
}

// heldByMajority reports whether a majority of the members hold bucket.
func (n *Node) heldByMajority(ctx context.Context, bucket string) bool {
	members, oks, _ := n.everywhere(ctx, BucketRequest{Op: bucketGet, Bucket: bucket})
	return len(oks) >= majority(members)
}

// DeleteBucket deletes an empty bucket everywhere.
func (n *Node) DeleteBucket(ctx context.Context, bucket string) error {
	if _, err := n.GetBucket(ctx, bucket); err != nil {
		return err
	}
	vs, err := n.ListObjectVersions(ctx, bucket, store.ListVersionsOptions{MaxKeys: 1})
	if err != nil {
		return err
	}
	ups, err := n.ListMultipartUploads(ctx, bucket, store.ListUploadsOptions{MaxUploads: 1})
	if err != nil {
		return err
	}
	if len(vs.Versions) > 0 || len(vs.CommonPrefixes) > 0 || len(ups.Uploads) > 0 {
		return store.ErrBucketNotEmpty
	}
	members, oks, answers := n.everywhere(ctx, BucketRequest{Op: bucketDelete, Bucket: bucket})
	gone := len(oks)
	for _, a := range answers {
		if errors.Is(a.err, store.ErrNoSuchBucket) {
			gone++
		}
	}
	if gone >= majority(members) && len(oks) > 0 {
		return nil
	}
	errs := errsOf(answers)
	if len(oks) == 0 {
		if err := commonDefinitive(errs); err != nil {
			return err
		}
	}
	return unavailable("delete bucket", gone, majority(members), errs)
}

// GetBucket answers from this node's store; a bucket this node does not
// know (it may have been down when it was created) is looked up on the
// other members, where a majority decides.
func (n *Node) GetBucket(ctx context.Context, bucket string) (store.BucketInfo, error) {
	b, err := n.st.GetBucket(ctx, bucket)
	if err == nil || !errors.Is(err, store.ErrNoSuchBucket) {
		return b, err
	}
	members, oks, answers := n.everywhere(ctx, BucketRequest{Op: bucketGet, Bucket: bucket})
	if len(oks) >= majority(members) {
		for _, a := range answers {
			if a.err == nil {
				n.repairBucketsLater()
				return a.res.Info, nil
			}
		}
	}
	if len(oks) == 0 || members == 1 {
		return b, err
	}
	missing := 0
	for _, a := range answers {
		if errors.Is(a.err, store.ErrNoSuchBucket) {
			missing++
		}
	}
	if missing >= majority(members) {
		return b, err
	}
	return b, unavailable("bucket lookup", len(oks), majority(members), errsOf(answers))
}

// ListBuckets lists the buckets that a majority of the answering members
// hold.
func (n *Node) ListBuckets(ctx context.Context) ([]store.BucketInfo, error) {
	_, _, answers := n.everywhere(ctx, BucketRequest{Op: bucketList})
	count := map[string]int{}
	info := map[string]store.BucketInfo{}
	answered := 0
	for _, a := range answers {
		if a.err != nil {
			continue
		}
		answered++
		for _, b := range a.res.Buckets {
			count[b.Name]++
			if cur, ok := info[b.Name]; !ok || b.Created.Before(cur.Created) || a.m.ID == n.id {
				info[b.Name] = b
			}
		}
	}
	if answered == 0 {
		return n.st.ListBuckets(ctx)
	}
	out := []store.BucketInfo{}
	for name, c := range count {
		if c >= majority(answered) {
			out = append(out, info[name])
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// bucketChange applies a configuration change on every member (majority).
func (n *Node) bucketChange(ctx context.Context, req BucketRequest) error {
	if _, err := n.GetBucket(ctx, req.Bucket); err != nil {
		return err
	}
	members, oks, answers := n.everywhere(ctx, req)
	if len(oks) >= majority(members) {
		return nil
	}
	errs := errsOf(answers)
	if len(oks) == 0 {
		if err := commonDefinitive(errs); err != nil {
			return err
		}
	}
	return unavailable("bucket change", len(oks), majority(members), errs)
}

// SetBucketVersioning sets the versioning state on every member.
func (n *Node) SetBucketVersioning(ctx context.Context, bucket string, v store.Versioning) error {
	return n.bucketChange(ctx, BucketRequest{Op: bucketVersioning, Bucket: bucket, Versioning: v})
}

// PutBucketConfig stores a configuration document on every member.
func (n *Node) PutBucketConfig(ctx context.Context, bucket, kind string, doc []byte) error {
	return n.bucketChange(ctx, BucketRequest{Op: bucketPutConfig, Bucket: bucket, Kind: kind, Doc: doc})
}

// DeleteBucketConfig removes a configuration document on every member.
func (n *Node) DeleteBucketConfig(ctx context.Context, bucket, kind string) error {
	return n.bucketChange(ctx, BucketRequest{Op: bucketDelConfig, Bucket: bucket, Kind: kind})
}

// GetBucketConfig reads a configuration document from this node (from the
// others if it does not know the bucket).
func (n *Node) GetBucketConfig(ctx context.Context, bucket, kind string) ([]byte, error) {
	doc, err := n.st.GetBucketConfig(ctx, bucket, kind)
	if !errors.Is(err, store.ErrNoSuchBucket) {
		return doc, err
	}
	if _, err := n.GetBucket(ctx, bucket); err != nil {
		return nil, err
	}
	for _, m := range n.activeMembers() {
		if m.ID == n.id || n.state(m.ID) == Dead {
			continue
		}
		cctx, cancel := n.rpcCtx(ctx, 0)
		r, err := n.replica(m).Bucket(cctx, BucketRequest{Op: bucketGetConfig, Bucket: bucket, Kind: kind})
		cancel()
		if definitive(err) {
			return r.Doc, err
		}
	}
	return nil, unavailable("bucket config", 0, 1, nil)
}
