package fsmount

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A file overwritten through one mount with content of the same size and
// mtime reads as the new content through another mount that had read the
// old one: the second mount's Lookup learns the new ETag before Open does,
// and Open must still drop the kernel's pages of the old content.
func TestOverwriteSeenThroughOtherMount(t *testing.T) {
	a, c, _ := twoMounts(t, nil)
	pa, pc := filepath.Join(a, "f.txt"), filepath.Join(c, "f.txt")
	mtime := time.Unix(1_700_000_000, 0)
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(pa, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(pa, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	read := func() string {
		t.Helper()
		if _, err := os.Stat(pc); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(pc)
		if err != nil {
			t.Fatal(err)
		}
		return string(got)
	}
	for _, want := range []string{"aaaa", "bbbb", "cccc"} {
		write(want)
		if got := read(); got != want {
			t.Fatalf("other mount reads %q, want %q", got, want)
		}
		// A second open of an unchanged file still reads it right (and
		// may keep the kernel's pages).
		if got := read(); got != want {
			t.Fatalf("other mount rereads %q, want %q", got, want)
		}
	}
}
