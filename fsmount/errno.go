package fsmount

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"syscall"
)

// errnoOf is the one place where errors become errno values. Unknown
// errors become EIO and are logged once per distinct message.
func (f *FS) errnoOf(op string, err error) syscall.Errno {
	if err == nil {
		return 0
	}
	var errno syscall.Errno
	switch {
	case errors.As(err, &errno):
		return errno
	case errors.Is(err, ErrNotExist), errors.Is(err, fs.ErrNotExist):
		return syscall.ENOENT
	case errors.Is(err, fs.ErrExist):
		return syscall.EEXIST
	case errors.Is(err, ErrAccessDenied), errors.Is(err, fs.ErrPermission):
		return syscall.EACCES
	case errors.Is(err, context.Canceled):
		return syscall.EINTR
	case errors.Is(err, ErrNoBucket):
		f.logOnce(op, err)
		return syscall.EIO
	}
	f.logOnce(op, err)
	return syscall.EIO
}

func (f *FS) logOnce(op string, err error) {
	msg := err.Error()
	if _, loaded := f.logged.LoadOrStore(msg, true); loaded {
		return
	}
	f.log.Error("operation failed", slog.String("op", op), slog.Any("err", err))
}
