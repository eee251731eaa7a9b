package instance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/polarsql/polar/compute/catalog"
	"github.com/polarsql/polar/compute/engine"
	"github.com/polarsql/polar/sql"
	"github.com/polarsql/polar/storage"
)

// Config configures an Instance. Exactly one of Dir, InMemory and
// StorageAddrs chooses where the data lives.
type Config struct {
	// Dir is the data directory of the embedded mode; the in-process
	// storage node keeps its Pebble instance in Dir/storage.
	Dir string
	// InMemory runs the in-process storage node in a temporary directory
	// (on tmpfs when /dev/shm exists) that Close removes.
	InMemory bool
	// StorageAddrs are the storage nodes of a cluster to dial (host:port);
	// no local storage node is started.
	StorageAddrs []string

	// StorageListen is the in-process storage node's gRPC address
	// (default "127.0.0.1:0": the engine does not use it, so any free
	// port will do).
	StorageListen string
	// StorageConfig, if set, adjusts the in-process storage node's
	// configuration just before it starts (tests: ticks, snapshot sizes).
	StorageConfig func(*storage.Config)

	// NodeName identifies this compute node in storage metadata (default:
	// the engine's, "primary").
	NodeName string
	// BufferPoolBytes is the engine's page cache budget (default: the
	// engine's, a quarter of the machine's memory; InMemory: 256 MiB,
	// since a process may hold many small in-memory databases).
	BufferPoolBytes int64
	// Logger receives the logs of every layer (default slog.Default()).
	Logger *slog.Logger
}

// embeddedTick is the in-process storage node's Raft tick. A single voter
// has no peers to heartbeat and nobody to lose an election to, so the tick
// only decides how long startup waits for its first election: 20 ms makes
// that 0.2-0.4 s instead of the 1-2 s of the cluster default.
const embeddedTick = 20 * time.Millisecond

// memPoolBytes is the default buffer pool of an in-memory instance.
const memPoolBytes = 256 << 20

// Instance is one running compute node with its storage.
type Instance struct {
	log    *slog.Logger
	node   *storage.Node   // embedded and in-memory modes
	client *storage.Client // cluster mode
	st     storage.Service
	tmpDir string // in-memory mode: removed by Close

	eng *engine.Engine
	cat *catalog.Catalog
	db  *sql.DB

	closeOnce sync.Once
	closeErr  error
}

// Open starts storage (or dials it), waits for its Raft leader and opens
// the engine, the catalog and the SQL front end. ctx bounds the whole
// start-up; on failure everything started so far is shut down again.
func Open(ctx context.Context, cfg Config) (*Instance, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	modes := 0
	for _, set := range []bool{cfg.Dir != "", cfg.InMemory, len(cfg.StorageAddrs) > 0} {
		if set {
			modes++
		}
	}
	if modes != 1 {
		return nil, errors.New("instance: set exactly one of Dir, InMemory and StorageAddrs")
	}
	in := &Instance{log: cfg.Logger}
	ok := false
	defer func() {
		if !ok {
			_ = in.shutdown()
		}
	}()

	if len(cfg.StorageAddrs) > 0 {
		c, err := storage.Dial(cfg.StorageAddrs)
		if err != nil {
			return nil, fmt.Errorf("instance: dial storage: %w", err)
		}
		in.client, in.st = c, c
	} else {
		dir := filepath.Join(cfg.Dir, "storage")
		if cfg.InMemory {
			tmp, err := memDir()
			if err != nil {
				return nil, err
			}
			in.tmpDir, dir = tmp, tmp
			if cfg.BufferPoolBytes == 0 {
				cfg.BufferPoolBytes = memPoolBytes
			}
		}
		listen := cfg.StorageListen
		if listen == "" {
			listen = "127.0.0.1:0"
		}
		scfg := storage.Config{ID: 1, Dir: dir, Listen: listen, TickInterval: embeddedTick, Logger: cfg.Logger}
		if cfg.StorageConfig != nil {
			cfg.StorageConfig(&scfg)
		}
		n, err := storage.StartNode(scfg)
		if err != nil {
			return nil, fmt.Errorf("instance: start storage node: %w", err)
		}
		in.node, in.st = n, n
	}

	if err := waitLeader(ctx, in.st, in.log, in.client != nil); err != nil {
		return nil, err
	}
	eng, err := engine.Open(ctx, engine.Config{
		Storage:         in.st,
		NodeName:        cfg.NodeName,
		BufferPoolBytes: cfg.BufferPoolBytes,
		Logger:          cfg.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("instance: open engine: %w", err)
	}
	in.eng = eng
	in.cat = catalog.Open(eng)
	scfg := sql.Config{Logger: cfg.Logger}
	if in.node != nil {
		scfg.LogSyncs = in.node.Syncs
	}
	in.db = sql.New(eng, in.cat, scfg)
	ok = true
	return in, nil
}

// memDir creates the directory of an in-memory instance: tmpfs if the
// machine has /dev/shm, else the usual temporary directory.
func memDir() (string, error) {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "polar-mem-"); err == nil {
			return d, nil
		}
		// Not writable (some containers): fall back below.
	}
	d, err := os.MkdirTemp("", "polar-mem-")
	if err != nil {
		return "", fmt.Errorf("instance: create in-memory directory: %w", err)
	}
	return d, nil
}

// waitLeader polls storage until it reports a Raft leader: the engine's
// first call (BumpEpoch) is not retried on a cluster that is still
// electing or whose nodes are still starting.
func waitLeader(ctx context.Context, st storage.Service, log *slog.Logger, remote bool) error {
	delay := 5 * time.Millisecond
	start := time.Now()
	lastLog := start
	var lastErr error
	for {
		info, err := st.ClusterInfo(ctx)
		if err == nil && info.LeaderID != 0 {
			return nil
		}
		lastErr = err
		if remote && time.Since(lastLog) >= 5*time.Second {
			lastLog = time.Now()
			log.Info("waiting for the storage cluster to elect a leader", "waited", time.Since(start).Round(time.Second), "err", err)
		}
		select {
		case <-ctx.Done():
			if lastErr != nil {
				return fmt.Errorf("instance: no storage leader: %w (last error: %v)", ctx.Err(), lastErr)
			}
			return fmt.Errorf("instance: no storage leader: %w", ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, 200*time.Millisecond)
	}
}

// DB returns the SQL front end: DB().Handler is the mysqlserver handler
// factory, DB().NewSession opens an embedded session.
func (in *Instance) DB() *sql.DB { return in.db }

// Engine returns the transactional engine.
func (in *Instance) Engine() *engine.Engine { return in.eng }

// Catalog returns the schema catalog.
func (in *Instance) Catalog() *catalog.Catalog { return in.cat }

// Storage returns the storage tier the engine uses.
func (in *Instance) Storage() storage.Service { return in.st }

// StorageAddr returns the in-process storage node's gRPC address, or ""
// when the instance uses a storage cluster.
func (in *Instance) StorageAddr() string {
	if in.node == nil {
		return ""
	}
	return in.node.Addr()
}

// Done is closed when the in-process storage node stops or fails (Err
// tells which); it is nil, never ready, for a storage cluster, whose
// failures surface as errors of the statements instead.
func (in *Instance) Done() <-chan struct{} {
	if in.node == nil {
		return nil
	}
	return in.node.Done()
}

// Err returns the error that stopped the in-process storage node, if it
// failed.
func (in *Instance) Err() error {
	if in.node == nil {
		return nil
	}
	return in.node.Err()
}

// Close shuts the instance down: the engine (queued commits fail), then the
// storage node or the cluster connections, then an in-memory instance's
// directory. Sessions (MySQL server connections, driver connections) must
// be closed before: their open transactions roll back then, while the
// engine still runs. Close is idempotent and safe for concurrent calls;
// every call returns the first call's result.
func (in *Instance) Close() error {
	in.closeOnce.Do(func() { in.closeErr = in.shutdown() })
	return in.closeErr
}

// shutdown stops whatever Open started, in reverse order.
func (in *Instance) shutdown() error {
	var errs []error
	if in.eng != nil {
		if err := in.eng.Close(); err != nil {
			errs = append(errs, fmt.Errorf("instance: close engine: %w", err))
		}
	}
	if in.node != nil {
		in.node.Stop()
		if err := in.node.Err(); err != nil {
			errs = append(errs, fmt.Errorf("instance: storage node: %w", err))
		}
	}
	if in.client != nil {
		if err := in.client.Close(); err != nil {
			errs = append(errs, fmt.Errorf("instance: close storage client: %w", err))
		}
	}
	if in.tmpDir != "" {
		if err := os.RemoveAll(in.tmpDir); err != nil {
			errs = append(errs, fmt.Errorf("instance: remove in-memory directory: %w", err))
		}
	}
	return errors.Join(errs...)
}
