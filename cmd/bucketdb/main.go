// Command bucketdb is the BucketDB binary: `bucketdb server` runs a storage
// node (a complete S3 server alone, or one node of a cluster) and
// `bucketdb mount` mounts a bucket as a local directory.
package main

import (
	"fmt"
	"os"
)

const usage = `usage: bucketdb <command> [flags]

commands:
  server    run a storage node (S3 API, cluster member)
  mount     mount a bucket (or a prefix of one) as a local directory
  admin     status, gc, scrub, config, remove (run "bucketdb admin -h")
  cluster   status | remove NODE: the cluster's members, their state and healing
  version   print the version

Run "bucketdb <command> -h" for the flags of a command.
`

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	cmd, args := os.Args[1], os.Args[2:]
	var code int
	switch cmd {
	case "server":
		code = runServer(args)
	case "mount":
		code = runMount(args)
	case "admin":
		code = runAdmin(args)
	case "cluster":
		code = runCluster(args)
	case "version", "--version", "-v":
		fmt.Println("bucketdb", version)
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "bucketdb: unknown command %q\n\n%s", cmd, usage)
		code = 2
	}
	os.Exit(code)
}

// runCluster is `bucketdb cluster status|remove NODE`: the cluster views of
// the admin commands, under the name people look for.
func runCluster(args []string) int {
	if len(args) > 0 && (args[0] == "status" || args[0] == "remove") {
		return runAdmin(args)
	}
	fmt.Fprint(os.Stderr, "usage: bucketdb cluster status --endpoint URL\n       bucketdb cluster remove NODE --endpoint URL\n")
	return 2
}
