package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/minio/minio-go/v7/pkg/signer"
)

const adminUsage = `usage: bucketdb admin <command> [NODE] --endpoint URL [flags]

commands:
  status        node health and cluster status (members, quorums, backlog)
  gc            run garbage collection now and print what it reclaimed
  scrub         verify every stored checksum; repair bad replicas from good ones
  config        print the node's configuration
  remove NODE   decommission member NODE (drain its data, then it leaves)

Requests are signed (SigV4) with the node's S3 credentials: --access-key /
--secret-key, else BUCKETDB_ACCESS_KEY / BUCKETDB_SECRET_KEY, else
AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
`

// adminFlags are the flags of `bucketdb admin`.
type adminFlags struct {
	endpoint, accessKey, secretKey, region string
	timeout                                time.Duration
}

func runAdmin(args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(os.Stderr, adminUsage)
		return 2
	}
	cmd, args := args[0], args[1:]
	var f adminFlags
	fs := flag.NewFlagSet("admin "+cmd, flag.ContinueOnError)
	fs.StringVar(&f.endpoint, "endpoint", "http://127.0.0.1:9000", "URL of any node")
	fs.StringVar(&f.accessKey, "access-key", "", "S3 access key (default: from the environment)")
	fs.StringVar(&f.secretKey, "secret-key", "", "S3 secret key (default: from the environment)")
	fs.StringVar(&f.region, "region", "us-east-1", "region the node was started with")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Minute, "give up after this long (scrub and gc walk the whole store)")
	// Flags may come before or after the positional NODE.
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	method, path, q := http.MethodGet, "", url.Values{}
	switch cmd {
	case "status", "config":
		path = cmd
	case "gc", "scrub":
		method, path = http.MethodPost, cmd
	case "remove":
		if len(pos) != 1 {
			fmt.Fprintln(os.Stderr, "bucketdb admin remove: name exactly one NODE")
			return 2
		}
		method, path = http.MethodPost, "remove"
		q.Set("node", pos[0])
		pos = nil
	default:
		fmt.Fprintf(os.Stderr, "bucketdb admin: unknown command %q\n\n%s", cmd, adminUsage)
		return 2
	}
	if len(pos) > 0 {
		fmt.Fprintf(os.Stderr, "bucketdb admin %s: unexpected arguments %v\n", cmd, pos)
		return 2
	}
	if f.accessKey == "" {
		f.accessKey, f.secretKey = envCredentials()
	}
	if f.accessKey == "" || f.secretKey == "" {
		fmt.Fprintln(os.Stderr, "bucketdb admin: no credentials (--access-key/--secret-key or BUCKETDB_ACCESS_KEY/BUCKETDB_SECRET_KEY)")
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	defer cancel()
	body, err := adminCall(ctx, f, method, path, q)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bucketdb admin:", err)
		return 1
	}
	os.Stdout.Write(body)
	return 0
}

func envCredentials() (string, string) {
	if ak, sk := os.Getenv("BUCKETDB_ACCESS_KEY"), os.Getenv("BUCKETDB_SECRET_KEY"); ak != "" {
		return ak, sk
	}
	return os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
}

// emptySHA256 is the SHA-256 of an empty body, signed as the payload hash.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// adminCall sends one signed request to the ops endpoint and returns the
// JSON body; a non-200 answer is an error carrying the server's message.
func adminCall(ctx context.Context, f adminFlags, method, op string, q url.Values) ([]byte, error) {
	base := strings.TrimRight(f.endpoint, "/")
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	u := base + opsPrefix + op
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Amz-Content-Sha256", emptySHA256)
	req = signer.SignV4(*req, f.accessKey, f.secretKey, "", f.region)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			return nil, fmt.Errorf("%s: %s", resp.Status, e.Error)
		}
		return nil, fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(body))
	}
	return body, nil
}
