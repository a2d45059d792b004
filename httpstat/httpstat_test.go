package httpstat

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestWriterRecords(t *testing.T) {
	rec := httptest.NewRecorder()
	w := &Writer{ResponseWriter: rec}
	w.WriteHeader(http.StatusPartialContent)
	w.WriteHeader(http.StatusTeapot) // only the first status counts
	if _, err := w.Write([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(w, strings.NewReader("defg")); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	if w.Status != http.StatusPartialContent || w.Bytes != 7 || rec.Body.String() != "abcdefg" || !rec.Flushed {
		t.Fatalf("status %d bytes %d body %q flushed %v", w.Status, w.Bytes, rec.Body.String(), rec.Flushed)
	}
	w2 := &Writer{ResponseWriter: httptest.NewRecorder()}
	w2.Write([]byte("x"))
	if w2.Status != http.StatusOK {
		t.Fatalf("implicit status %d", w2.Status)
	}
	if w.Unwrap() != rec {
		t.Fatal("Unwrap does not return the wrapped writer")
	}
}
