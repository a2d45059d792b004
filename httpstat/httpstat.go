// Package httpstat records what a handler sent through an
// http.ResponseWriter (status and body bytes), for the request logs of the
// S3 layer and of the internal routes.
package httpstat

import (
	"io"
	"net/http"
)

// Writer wraps an http.ResponseWriter and records the status and the body
// bytes written. It keeps io.Copy's sendfile/splice path (ReadFrom) and
// lets http.ResponseController reach the wrapped writer (Unwrap).
type Writer struct {
	http.ResponseWriter
	Status int   // the first status written; 0 while nothing was
	Bytes  int64 // body bytes written
}

func (w *Writer) WriteHeader(code int) {
	if w.Status == 0 {
		w.Status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *Writer) Write(p []byte) (int, error) {
	if w.Status == 0 {
		w.Status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.Bytes += int64(n)
	return n, err
}

// ReadFrom keeps io.Copy on the sendfile/splice path of net/http.
func (w *Writer) ReadFrom(r io.Reader) (int64, error) {
	if w.Status == 0 {
		w.Status = http.StatusOK
	}
	n, err := io.Copy(w.ResponseWriter, r)
	w.Bytes += n
	return n, err
}

// Flush flushes the wrapped writer when it can.
func (w *Writer) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap returns the wrapped writer (for http.ResponseController).
func (w *Writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }
