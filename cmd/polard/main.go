// Command polard runs Polar.
//
//	polard                        embedded default: everything in one process,
//	                              data in ./polar-data (today: one storage node;
//	                              the MySQL front end arrives with the compute
//	                              and SQL layers)
//	polard --role=storage --id=1 --listen=127.0.0.1:7001 \
//	       --peers=1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003 --data=/var/lib/polar/s1
//	                              one member of a storage cluster
//
// SIGTERM or SIGINT shuts down cleanly; after SIGKILL a restart recovers
// every acknowledged write from the Raft log.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/polarsql/polar/storage"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "polard:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("polard", flag.ContinueOnError)
	role := fs.String("role", "all", "what this process runs: all (embedded default), storage")
	id := fs.Uint64("id", 1, "storage node id (unique in the cluster, never reused)")
	dataDir := fs.String("data", "./polar-data", "data directory")
	listen := fs.String("listen", "127.0.0.1:7070", "storage gRPC listen address")
	advertise := fs.String("advertise", "", "storage address other nodes use (default: the listen address)")
	peers := fs.String("peers", "", "initial storage voters, id=host:port,... (bootstrap only; empty: a single-node cluster)")
	join := fs.Bool("join", false, "start empty and wait to be added to an existing cluster (polarctl member add)")
	snapshotEntries := fs.Uint64("snapshot-entries", 0, "applied entries between raft snapshots (default 4096)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("bad --log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(log)

	peerMap, err := parsePeers(*peers)
	if err != nil {
		return err
	}
	dir := *dataDir
	switch *role {
	case "all":
		dir = dir + "/storage"
		log.Info("embedded default: starting one storage node; the MySQL front end is not built yet")
	case "storage":
	default:
		return fmt.Errorf("unknown --role %q (want all or storage)", *role)
	}
	node, err := storage.StartNode(storage.Config{
		ID:              *id,
		Dir:             dir,
		Listen:          *listen,
		Advertise:       *advertise,
		Peers:           peerMap,
		Join:            *join,
		SnapshotEntries: *snapshotEntries,
		Logger:          log,
	})
	if err != nil {
		return err
	}
	fmt.Printf("polard storage node %d listening on %s\n", node.ID(), node.Addr())

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case <-node.Done():
	}
	done := make(chan struct{})
	go func() { node.Stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		return errors.New("shutdown timed out")
	}
	return node.Err()
}

// parsePeers reads "1=host:port,2=host:port".
func parsePeers(s string) (map[uint64]string, error) {
	if s == "" {
		return nil, nil
	}
	m := map[uint64]string{}
	for _, part := range strings.Split(s, ",") {
		idStr, addr, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || addr == "" {
			return nil, fmt.Errorf("bad --peers entry %q: want id=host:port", part)
		}
		id, err := strconv.ParseUint(idStr, 10, 64)
		if err != nil || id == 0 {
			return nil, fmt.Errorf("bad --peers id %q", idStr)
		}
		m[id] = addr
	}
	return m, nil
}
