package cluster

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/bucketdb/bucketdb/store"
)

func TestWireErrors(t *testing.T) {
	for name, sentinel := range wireErrors {
		t.Run(name, func(t *testing.T) {
			wrapped := fmt.Errorf("bucket/key: %w", sentinel)
			got := decodeError("n1", encodeError(wrapped))
			if !errors.Is(got, sentinel) {
				t.Fatalf("%v decoded as %v", wrapped, got)
			}
			if got.Error() == sentinel.Error() {
				t.Fatalf("remote context lost: %v", got)
			}
			if bare := decodeError("n1", encodeError(sentinel)); bare != sentinel {
				t.Fatalf("bare sentinel decoded as %v", bare)
			}
		})
	}
	other := decodeError("n1", encodeError(errors.New("disk on fire")))
	if _, ok := sentinelOf(other); ok || definitive(other) {
		t.Fatalf("unknown error decoded as a sentinel: %v", other)
	}
	if definitive(fmt.Errorf("%w: x", errUnreachable)) || !definitive(store.ErrNoSuchKey) || definitive(context.Canceled) {
		t.Fatal("definitive misclassifies")
	}
}
