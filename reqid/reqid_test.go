package reqid

import (
	"context"
	"strings"
	"testing"
)

func TestWithFrom(t *testing.T) {
	ctx := context.Background()
	if got := From(ctx); got != "" {
		t.Fatalf("From(empty) = %q", got)
	}
	if With(ctx, "") != ctx {
		t.Fatal("With(ctx, \"\") must return ctx unchanged")
	}
	ctx = With(ctx, "ABC123")
	if got := From(ctx); got != "ABC123" {
		t.Fatalf("From = %q, want ABC123", got)
	}
}

func TestValid(t *testing.T) {
	for _, tc := range []struct {
		id   string
		want bool
	}{
		{"", false},
		{"A1B2C3D400000001", true},
		{"has space", false},
		{"new\nline", false},
		{strings.Repeat("a", maxLen), true},
		{strings.Repeat("a", maxLen+1), false},
	} {
		if got := Valid(tc.id); got != tc.want {
			t.Errorf("Valid(%q) = %v, want %v", tc.id, got, tc.want)
		}
	}
}
