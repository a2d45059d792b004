// Package reqid carries a request ID through a context.Context, so that the
// ID the S3 layer mints for a client request reaches the object layer and,
// over the internal RPC, the peer nodes that serve part of it. It imports
// nothing of BucketDB and holds no state; every layer may import it.
package reqid

import "context"

// Header is the HTTP header that carries the request ID on node-to-node
// calls.
const Header = "X-Bucketdb-Request-Id"

// maxLen bounds an ID taken from the wire.
const maxLen = 128

type key struct{}

// With returns a copy of ctx that carries id. An empty id returns ctx.
func With(ctx context.Context, id string) context.Context {
	if id == "" {
		return ctx
	}
	return context.WithValue(ctx, key{}, id)
}

// From returns the request ID ctx carries, or "".
func From(ctx context.Context) string {
	id, _ := ctx.Value(key{}).(string)
	return id
}

// Valid reports whether id, received from a peer, is safe to log and pass
// on: non-empty, bounded, printable ASCII without spaces.
func Valid(id string) bool {
	if id == "" || len(id) > maxLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}
