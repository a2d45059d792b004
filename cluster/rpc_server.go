package cluster

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bucketdb/bucketdb/store"
)

// Paths served by Node.Handler.
const (
	rpcPrefix       = "/_bucketdb/rpc/"
	adminStatusPath = "/_bucketdb/admin/status"
	adminRemovePath = "/_bucketdb/admin/remove"

	hdrResult = "X-Bucketdb-Result" // base64 JSON reply of a GET
	hdrHLC    = "X-Bucketdb-Hlc"    // sender's hybrid logical clock
	hdrNode   = "X-Bucketdb-Node"   // sender's node ID
)

// reply is the JSON envelope of every RPC answer.
type reply[T any] struct {
	Error  *wireError `json:"error,omitempty"`
	Result T          `json:"result"`
}

// rpcServer serves the Replica of one node: streamed bodies, listings and
// digests as HTTP requests (ops), everything else over call channels
// (calls, mux.go).
type rpcServer struct {
	n     *Node
	ops   map[string]http.HandlerFunc
	calls map[string]muxHandler
}

func newRPCServer(n *Node) *rpcServer {
	s := &rpcServer{n: n}
	svc := n.svc
	s.ops = map[string]http.HandlerFunc{
		"prepare":    streaming(s, svc.Prepare),
		"putversion": streaming(s, svc.PutVersion),
		"list":       unary(s, svc.List),
		"uploadpart": streaming(s, svc.UploadPart),
		"digests":    unary(s, svc.Digests),
		"get":        s.serveGet,
		"mux":        s.serveMux,
	}
	s.calls = map[string]muxHandler{
		"bucket":        muxUnary(svc.Bucket),
		"prepare":       muxPrepare(svc),
		"commit":        muxUnary(svc.Commit),
		"abort":         muxUnary(svc.Abort),
		"deleteversion": muxUnary(svc.DeleteVersion),
		"upload":        muxUnary(svc.Upload),
		"members":       muxUnary(svc.Members),
		"stats":         muxUnary(svc.Stats),
		"lease":         muxUnary(svc.Lease),
		"lock":          muxUnary(svc.Lock),
		"head": muxUnary(func(ctx context.Context, req GetRequest) (store.ObjectInfo, error) {
			req.Head = true
			info, rc, err := svc.Get(ctx, req)
			if rc != nil {
				rc.Close()
			}
			return info, err
		}),
	}
	return s
}

// muxPrepare serves a prepare whose body (if any) came inside the call.
func muxPrepare(svc *service) muxHandler {
	return func(ctx context.Context, in, body []byte) []byte {
		var req PrepareRequest
		if err := json.Unmarshal(in, &req); err != nil {
			return replyJSON(CommitResponse{}, fmt.Errorf("%w: bad request: %v", errUnreachable, err))
		}
		res, err := svc.Prepare(ctx, req, bytes.NewReader(body))
		return replyJSON(res, err)
	}
}

func (s *rpcServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := verify(r, s.n.secret, time.Now()); err != nil {
		http.Error(w, "cluster RPC: "+err.Error(), http.StatusForbidden)
		return
	}
	op, ok := s.ops[strings.TrimPrefix(r.URL.Path, rpcPrefix)]
	if !ok || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	if ts, err := strconv.ParseUint(r.Header.Get(hdrHLC), 10, 64); err == nil {
		s.n.clock.Observe(ts)
	}
	op(w, r)
}

func (s *rpcServer) stamp(w http.ResponseWriter) {
	w.Header().Set(hdrHLC, strconv.FormatUint(s.n.clock.Now(), 10))
	w.Header().Set(hdrNode, s.n.id)
}

func writeReply[T any](s *rpcServer, w http.ResponseWriter, res T, err error) {
	env := reply[T]{Result: res}
	if err != nil {
		we := encodeError(err)
		env.Error = &we
	}
	s.stamp(w)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(env)
}

func unary[Req, Resp any](s *rpcServer, fn func(context.Context, Req) (Resp, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req Req
		if err := json.NewDecoder(io.LimitReader(r.Body, 64<<20)).Decode(&req); err != nil {
			http.Error(w, "bad request: "+err.Error(), http.StatusBadRequest)
			return
		}
		res, err := fn(r.Context(), req)
		writeReply(s, w, res, err)
	}
}

func streaming[Req, Resp any](s *rpcServer, fn func(context.Context, Req, io.Reader) (Resp, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req Req
		if err := readStreamHead(r.Body, &req); err != nil {
			http.Error(w, "bad request: "+err.Error(), http.StatusBadRequest)
			return
		}
		res, err := fn(r.Context(), req, r.Body)
		writeReply(s, w, res, err)
	}
}

func (s *rpcServer) serveGet(w http.ResponseWriter, r *http.Request) {
	var req GetRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		http.Error(w, "bad request: "+err.Error(), http.StatusBadRequest)
		return
	}
	info, rc, err := s.n.svc.Get(r.Context(), req)
	env := reply[any]{Result: info}
	if err != nil {
		we := encodeError(err)
		env.Error = &we
	}
	h, _ := encodeHeader(env)
	w.Header().Set(hdrResult, h)
	s.stamp(w)
	if rc == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, rc); err != nil {
		// Break the connection so the reader sees an error, never a
		// silently short body.
		panic(http.ErrAbortHandler)
	}
}

// readStreamHead reads the request that precedes a streamed body: a 4-byte
// big-endian length and that much JSON.
func readStreamHead(r io.Reader, v any) error {
	var l [4]byte
	if _, err := io.ReadFull(r, l[:]); err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(l[:])
	if n > 64<<20 {
		return fmt.Errorf("request of %d bytes", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func encodeHeader(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func decodeHeader(h string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		return fmt.Errorf("decode header: %w", err)
	}
	return json.Unmarshal(b, v)
}
