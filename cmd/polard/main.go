// Command polard runs Polar.
//
//	polard                        embedded default: one process holds a
//	                              storage node (a single Raft voter), the
//	                              compute engine and the MySQL server on
//	                              127.0.0.1:3306; data in ./polar-data
//	polard --role=storage --id=1 --listen=127.0.0.1:7001 \
//	       --peers=1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003 --data=/var/lib/polar/s1
//	                              one member of a storage cluster
//	polard --role=compute --storage=127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003 --port=3306
//	                              a compute node (the primary) serving MySQL
//	                              over a storage cluster; it keeps no local
//	                              state, so it has no --data
//
// Connect with any MySQL client: mysql -h127.0.0.1 -P3306 -uroot. The root
// password is --root-password, by default $POLAR_ROOT_PASSWORD, else empty.
//
// --listen is the storage node's gRPC address. For --role=storage it
// defaults to 127.0.0.1:7070. For the embedded default it defaults to
// 127.0.0.1:0, a free port: the engine calls its in-process node directly,
// so a fixed port would only collide with other polards; the ready line
// reports the port for polarctl.
//
// polard logs "ready for connections" with the MySQL address on stderr once
// it accepts clients (--port=0 picks a free port). If the MySQL port is taken
// it says so in one line and exits 1 before touching the data directory.
//
// SIGTERM or SIGINT shuts down cleanly — stop accepting, close client
// connections (their open transactions roll back), close the engine, stop
// storage — and exits 0; a second signal kills at once. After SIGKILL a
// restart recovers every acknowledged commit from the Raft log.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/polarsql/polar/compute/instance"
	"github.com/polarsql/polar/compute/mysqlserver"
	"github.com/polarsql/polar/sql"
	"github.com/polarsql/polar/storage"
)

// Bounds on start-up (waiting for a storage leader, opening the engine)
// and on shutdown.
const (
	startTimeout    = 2 * time.Minute
	shutdownTimeout = 10 * time.Second
)

func main() {
	err := run(os.Args[1:])
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		// The flag package has printed the problem and the usage.
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "polard:", err)
		os.Exit(1)
	}
}

// errUsage marks a command line the flag package rejected.
var errUsage = errors.New("usage")

// options are the parsed flags.
type options struct {
	role            string
	id              uint64
	dataDir         string
	listen          string
	advertise       string
	peers           map[uint64]string
	join            bool
	snapshotEntries uint64
	host            string
	port            int
	rootPassword    string
	storageAddrs    []string
	bufferPoolMB    int64
	log             *slog.Logger
}

// Flags that only some roles use; giving them to another role is a
// mistake worth reporting rather than ignoring.
var roleFlags = map[string][]string{
	"storage": {"host", "port", "root-password", "storage", "buffer-pool-mb"},
	"all":     {"id", "advertise", "peers", "join", "storage"},
	"compute": {"id", "advertise", "peers", "join", "data", "listen", "snapshot-entries"},
}

func run(args []string) error {
	fs := flag.NewFlagSet("polard", flag.ContinueOnError)
	role := fs.String("role", "all", "what this process runs: all (embedded default), storage, compute")
	id := fs.Uint64("id", 1, "storage node id (unique in the cluster, never reused)")
	dataDir := fs.String("data", "./polar-data", "data directory")
	listen := fs.String("listen", "", "storage gRPC listen address (default 127.0.0.1:7070 for --role=storage, a free port for --role=all)")
	advertise := fs.String("advertise", "", "storage address other nodes use (default: the listen address)")
	peers := fs.String("peers", "", "initial storage voters, id=host:port,... (bootstrap only; empty: a single-node cluster)")
	join := fs.Bool("join", false, "start empty and wait to be added to an existing cluster (polarctl member add)")
	snapshotEntries := fs.Uint64("snapshot-entries", 0, "applied entries between raft snapshots (default 4096)")
	host := fs.String("host", "127.0.0.1", "MySQL protocol listen host")
	port := fs.Int("port", 3306, "MySQL protocol listen port (0: any free port)")
	// Not defaulted from the environment here: --help would print it.
	rootPassword := fs.String("root-password", "", "password of the MySQL user root (default $POLAR_ROOT_PASSWORD, else empty)")
	storageList := fs.String("storage", "", "--role=compute: the storage cluster's nodes, host:port,...")
	bufferPoolMB := fs.Int64("buffer-pool-mb", 0, "page cache size in MiB (default a quarter of the machine's memory)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	pprofAddr := fs.String("pprof", "", "serve Go profiles (/debug/pprof/) on this address, e.g. 127.0.0.1:6060")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("bad --log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(log)

	misused, known := roleFlags[*role]
	if !known {
		return fmt.Errorf("unknown --role %q (want all, storage or compute)", *role)
	}
	var bad []string
	passwordSet := false
	fs.Visit(func(f *flag.Flag) {
		passwordSet = passwordSet || f.Name == "root-password"
		for _, name := range misused {
			if f.Name == name {
				bad = append(bad, "--"+name)
			}
		}
	})
	if len(bad) > 0 {
		return fmt.Errorf("%s not used by --role=%s", strings.Join(bad, ", "), *role)
	}

	if !passwordSet {
		*rootPassword = os.Getenv("POLAR_ROOT_PASSWORD")
	}
	if *pprofAddr != "" {
		stop, err := startPprof(*pprofAddr, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	peerMap, err := parsePeers(*peers)
	if err != nil {
		return err
	}
	o := options{role: *role, id: *id, dataDir: *dataDir, listen: *listen, advertise: *advertise, peers: peerMap,
		join: *join, snapshotEntries: *snapshotEntries, host: *host, port: *port, rootPassword: *rootPassword,
		bufferPoolMB: *bufferPoolMB, log: log}
	for _, a := range strings.Split(*storageList, ",") {
		if a = strings.TrimSpace(a); a != "" {
			o.storageAddrs = append(o.storageAddrs, a)
		}
	}
	switch o.role {
	case "storage":
		if o.listen == "" {
			o.listen = "127.0.0.1:7070"
		}
		return runStorage(o)
	case "compute":
		if len(o.storageAddrs) == 0 {
			return errors.New("--role=compute needs --storage=host:port,... (the storage cluster's nodes)")
		}
	}
	if o.port < 0 || o.port > 65535 {
		return fmt.Errorf("bad --port %d", o.port)
	}
	return runServer(o)
}

// runStorage runs one storage node until a signal or its failure.
func runStorage(o options) error {
	node, err := storage.StartNode(storage.Config{
		ID:              o.id,
		Dir:             o.dataDir,
		Listen:          o.listen,
		Advertise:       o.advertise,
		Peers:           o.peers,
		Join:            o.join,
		SnapshotEntries: o.snapshotEntries,
		Logger:          o.log,
	})
	if err != nil {
		return err
	}
	fmt.Printf("polard storage node %d listening on %s\n", node.ID(), node.Addr())

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	select {
	case <-ctx.Done():
		o.log.Info("shutting down")
	case <-node.Done():
	}
	stop()
	done := make(chan struct{})
	go func() { node.Stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(shutdownTimeout):
		return errors.New("shutdown timed out")
	}
	return node.Err()
}

// runServer runs a compute node with the MySQL server: over an in-process
// storage node (role all) or a storage cluster (role compute).
func runServer(o options) error {
	log := o.log
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	// Listen first: a taken port is the most common start-up failure and
	// should cost nothing (no storage opened, no data directory created).
	// Clients that connect before Serve wait in the listen backlog.
	addr := net.JoinHostPort(o.host, strconv.Itoa(o.port))
	var db *sql.DB // set before Serve starts; the factory runs only in Serve
	srv, err := mysqlserver.New(mysqlserver.Config{
		Addr:    addr,
		Version: sql.Version,
		Users:   map[string]string{"root": o.rootPassword},
		Logger:  log,
	}, func(ci mysqlserver.ConnInfo) mysqlserver.Handler { return db.Handler(ci) })
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("MySQL port %s is in use: %w", addr, unwrapListen(err))
		}
		return err
	}

	cfg := instance.Config{BufferPoolBytes: o.bufferPoolMB << 20, Logger: log}
	if o.role == "compute" {
		cfg.StorageAddrs = o.storageAddrs
	} else {
		cfg.Dir = o.dataDir
		cfg.StorageListen = o.listen
		if o.snapshotEntries != 0 {
			cfg.StorageConfig = func(c *storage.Config) { c.SnapshotEntries = o.snapshotEntries }
		}
	}
	openCtx, cancelOpen := context.WithTimeout(ctx, startTimeout)
	inst, err := instance.Open(openCtx, cfg)
	cancelOpen()
	if err != nil {
		srv.Close()
		if ctx.Err() != nil {
			log.Info("interrupted during start-up", "err", err)
			return nil
		}
		return err
	}
	db = inst.DB()

	serveDone := make(chan error, 1)
	go func() { serveDone <- srv.Serve(context.Background()) }()
	host, port, _ := net.SplitHostPort(srv.Addr())
	log.Info("ready for connections", "mysql", srv.Addr(), "role", o.role, "storage", storageDesc(o, inst),
		"connect", fmt.Sprintf("mysql -h%s -P%s -uroot", host, port))

	var failure error
	serveReturned := false
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-serveDone:
		serveReturned = true
		failure = fmt.Errorf("MySQL server stopped: %w", err)
	case <-inst.Done():
		failure = fmt.Errorf("storage node stopped: %w", inst.Err())
	}
	stop() // a second signal now kills the process

	done := make(chan error, 1)
	go func() {
		// Connections first: their sessions roll back while the engine
		// still runs; then the engine, then storage.
		srv.Close()
		if !serveReturned {
			<-serveDone
		}
		done <- inst.Close()
	}()
	select {
	case err := <-done:
		if err != nil && failure == nil {
			failure = err
		}
	case <-time.After(shutdownTimeout):
		return errors.New("shutdown timed out")
	}
	if failure == nil {
		log.Info("stopped")
	}
	return failure
}

// unwrapListen returns the net package's error inside mysqlserver's
// "cannot listen" wrapping, so the message names the port only once.
func unwrapListen(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}

// storageDesc describes where the instance's storage is, for the ready line.
func storageDesc(o options, inst *instance.Instance) string {
	if o.role == "compute" {
		return strings.Join(o.storageAddrs, ",")
	}
	return fmt.Sprintf("%s (in-process, data in %s)", inst.StorageAddr(), o.dataDir)
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
