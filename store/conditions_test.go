package store

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
)

func TestConditions(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	mustBucket(t, s, "b", VersioningEnabled)
	v1 := mustPut(t, s, "b", "k", []byte("one"), PutOptions{})
	put := func(key string, c Conditions) error {
		_, err := s.PutObject(ctx, "b", key, bytes.NewReader([]byte("x")), 1, PutOptions{Cond: c})
		return err
	}
	for _, tc := range []struct {
		name string
		key  string
		c    Conditions
		want error
	}{
		{"if-none-match-exists", "k", Conditions{IfNoneMatch: "*"}, ErrPreconditionFailed},
		{"if-none-match-new", "new", Conditions{IfNoneMatch: "*"}, nil},
		{"if-match-wrong", "k", Conditions{IfMatch: `"deadbeef"`}, ErrPreconditionFailed},
		{"if-match-missing", "none", Conditions{IfMatch: v1.ETag}, ErrNoSuchKey},
		{"if-match-ok", "k", Conditions{IfMatch: `"` + v1.ETag + `"`}, nil},
		{"if-match-star", "k", Conditions{IfMatch: "*"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := put(tc.key, tc.c); !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	// A latest delete marker counts as not existing.
	if _, err := s.DeleteObject(ctx, "b", "new", DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := put("new", Conditions{IfNoneMatch: "*"}); err != nil {
		t.Fatalf("if-none-match over a delete marker: %v", err)
	}
	// Conditional delete.
	if _, err := s.DeleteObject(ctx, "b", "k", DeleteOptions{Cond: Conditions{IfMatch: "nope"}}); !errors.Is(err, ErrPreconditionFailed) {
		t.Fatalf("conditional delete: %v", err)
	}
}

func TestConcurrentIfNoneMatchOneWinner(t *testing.T) {
	s := newTestStore(t)
	mustBucket(t, s, "b", VersioningOff)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.PutObject(context.Background(), "b", "k", bytes.NewReader([]byte{byte(i)}), 1,
				PutOptions{Cond: Conditions{IfNoneMatch: "*"}})
		}()
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case errors.Is(err, ErrPreconditionFailed), errors.Is(err, ErrConditionalConflict):
		default:
			t.Fatalf("unexpected error %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d writers won If-None-Match: *", wins)
	}
}

func TestFencing(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	mustBucket(t, s, "b", VersioningOff)
	if err := s.ObserveFencingToken(ctx, "b", "k", 5); err != nil {
		t.Fatal(err)
	}
	if err := s.ObserveFencingToken(ctx, "b", "k", 3); err != nil { // lower: ignored
		t.Fatal(err)
	}
	if hi, _ := s.FencingToken(ctx, "b", "k"); hi != 5 {
		t.Fatalf("token %d", hi)
	}
	for _, tc := range []struct {
		token uint64
		want  error
	}{{4, ErrStaleFencingToken}, {5, nil}, {6, nil}, {0, nil}} {
		_, err := s.PutObject(ctx, "b", "k", bytes.NewReader(nil), 0, PutOptions{Cond: Conditions{FencingToken: tc.token}})
		if !errors.Is(err, tc.want) && !(err == nil && tc.want == nil) {
			t.Errorf("token %d: got %v want %v", tc.token, err, tc.want)
		}
	}
	if _, err := s.DeleteObject(ctx, "b", "k", DeleteOptions{Cond: Conditions{FencingToken: 1}}); !errors.Is(err, ErrStaleFencingToken) {
		t.Fatalf("stale delete: %v", err)
	}
	if err := headErr(s, "b", "k", ""); err != nil {
		t.Fatalf("object gone after refused delete: %v", err)
	}
}

func TestTags(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	mustBucket(t, s, "b", VersioningEnabled)
	v1 := mustPut(t, s, "b", "k", []byte("1"), PutOptions{Meta: ObjectMeta{Tags: map[string]string{"a": "1"}}})
	v2 := mustPut(t, s, "b", "k", []byte("2"), PutOptions{})
	if info, err := s.SetObjectTags(ctx, "b", "k", "", map[string]string{"x": "y"}); err != nil || info.VersionID != v2.VersionID || info.Tags["x"] != "y" {
		t.Fatalf("tag latest: %+v %v", info, err)
	}
	if info, _ := s.HeadObject(ctx, "b", "k", GetOptions{VersionID: v1.VersionID}); info.Tags["a"] != "1" || len(info.Tags) != 1 {
		t.Fatalf("v1 tags %v", info.Tags)
	}
	if _, err := s.SetObjectTags(ctx, "b", "k", v1.VersionID, nil); err != nil {
		t.Fatal(err)
	}
	if info, _ := s.HeadObject(ctx, "b", "k", GetOptions{VersionID: v1.VersionID}); info.Tags != nil {
		t.Fatalf("v1 tags not removed: %v", info.Tags)
	}
	if info, _ := s.HeadObject(ctx, "b", "k", GetOptions{}); info.Tags["x"] != "y" {
		t.Fatalf("latest tags %v", info.Tags)
	}
	if _, err := s.SetObjectTags(ctx, "b", "k", NewVersionID(1), nil); !errors.Is(err, ErrNoSuchVersion) {
		t.Fatalf("missing version: %v", err)
	}
	if _, err := s.DeleteObject(ctx, "b", "k", DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetObjectTags(ctx, "b", "k", "", map[string]string{"a": "b"}); !errors.Is(err, ErrNoSuchKey) {
		t.Fatalf("tag a deleted key: %v", err)
	}
}

func TestETagMatches(t *testing.T) {
	for _, tc := range []struct {
		sent string
		want bool
	}{
		{"abc", true}, {`"abc"`, true}, {"*", true}, {`W/"abc"`, true}, {`"x", "abc"`, true},
		{"ABC", true}, {"abd", false}, {`"x","y"`, false}, {"", false},
	} {
		if got := etagMatches(tc.sent, "abc"); got != tc.want {
			t.Errorf("etagMatches(%q) = %v", tc.sent, got)
		}
	}
}
