// Command polarctl administers a Polar cluster.
//
//	polarctl --storage=host:port,... status
//	polarctl --storage=... member add ID ADDR [--learner]
//	polarctl --storage=... member remove ID
//	polarctl --storage=... epoch bump PRIMARY [EXPECT]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/polarsql/polar/storage"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "polarctl:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("polarctl", flag.ContinueOnError)
	addrs := fs.String("storage", "127.0.0.1:7070", "storage node addresses, comma-separated")
	timeout := fs.Duration("timeout", 10*time.Second, "how long to wait for the cluster")
	learner := fs.Bool("learner", false, "member add: add as a non-voting learner")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := storage.Dial(strings.Split(*addrs, ","))
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	a := fs.Args()
	if len(a) == 0 {
		return fmt.Errorf("usage: polarctl [--storage=addrs] status | member add ID ADDR | member remove ID | epoch bump PRIMARY [EXPECT]")
	}
	switch {
	case a[0] == "status":
		info, err := c.ClusterInfo(ctx)
		if err != nil {
			return err
		}
		return printJSON(info)
	case a[0] == "member" && len(a) >= 3 && (a[1] == "add" || a[1] == "remove"):
		id, err := strconv.ParseUint(a[2], 10, 64)
		if err != nil {
			return fmt.Errorf("bad member id %q", a[2])
		}
		addr := ""
		if a[1] == "add" {
			if len(a) < 4 {
				return fmt.Errorf("member add needs ID and ADDR")
			}
			addr = a[3]
		}
		members, err := c.ChangeMember(ctx, a[1] == "add", id, addr, *learner)
		if err != nil {
			return err
		}
		return printJSON(members)
	case a[0] == "epoch" && len(a) >= 3 && a[1] == "bump":
		var expect uint64
		if len(a) > 3 {
			if expect, err = strconv.ParseUint(a[3], 10, 64); err != nil {
				return fmt.Errorf("bad expected epoch %q", a[3])
			}
		}
		epoch, last, err := c.BumpEpoch(ctx, a[2], expect)
		if err != nil {
			return err
		}
		return printJSON(map[string]any{"epoch": epoch, "last_lsn": last})
	}
	return fmt.Errorf("unknown command %q", strings.Join(a, " "))
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
