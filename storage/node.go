package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/grpc"

	"github.com/polarsql/polar/proto/storagepb"
	"github.com/polarsql/polar/wal"
)

// Config configures a storage node.
type Config struct {
	// ID is the node's Raft id, unique in the cluster and never reused.
	ID uint64
	// Dir holds the node's Pebble instance and received snapshots.
	Dir string
	// Listen is the gRPC listen address (host:port; port 0 picks one).
	Listen string
	// Advertise is the address other nodes and clients use; defaults to
	// the listener's address.
	Advertise string
	// Peers are the initial voters (id -> address, this node included)
	// used only when a new cluster is bootstrapped.
	Peers map[uint64]string
	// Join starts a new node with an empty log that waits to be added to
	// an existing cluster (ChangeMember) instead of bootstrapping one.
	Join bool

	TickInterval   time.Duration // default 100ms
	ElectionTicks  int           // default 10
	HeartbeatTicks int           // default 1
	// SnapshotEntries is how many applied entries trigger a snapshot and
	// log truncation; KeepEntries stay in the log after it for slow
	// followers. Defaults 4096 and 1024.
	SnapshotEntries uint64
	KeepEntries     uint64
	// MaterializeAfter is the number of deltas that make a page due for a
	// new image (default 512); a page is also due after 2 * wal.PageSize
	// bytes of deltas.
	MaterializeAfter int
	// GCInterval is how often page versions below the horizon are dropped
	// (default 1s).
	GCInterval time.Duration
	// AppendTimeout bounds Append when the caller's context has no
	// deadline (default 10s). GetPage waits at most ReadTimeout (5s).
	AppendTimeout time.Duration
	ReadTimeout   time.Duration
	// Logger receives the node's logs (default slog.Default()).
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.TickInterval == 0 {
		c.TickInterval = 100 * time.Millisecond
	}
	if c.ElectionTicks == 0 {
		c.ElectionTicks = 10
	}
	if c.HeartbeatTicks == 0 {
		c.HeartbeatTicks = 1
	}
	if c.SnapshotEntries == 0 {
		c.SnapshotEntries = 4096
	}
	if c.KeepEntries == 0 {
		c.KeepEntries = 1024
	}
	if c.GCInterval == 0 {
		// Every second, as compute nodes report their read points: most
		// versions GC drops are then still in the memtable and never
		// flushed (write_only at a fixed 1000 tps: 30% fewer bytes
		// flushed and 9-10% less CPU per transaction than every 10s).
		c.GCInterval = time.Second
	}
	if c.AppendTimeout == 0 {
		c.AppendTimeout = 10 * time.Second
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Node is one storage node: a member of the Raft group that holds the WAL,
// with the page store as its state machine, serving the Storage and Raft
// gRPC services. It implements Service in-process.
type Node struct {
	cfg Config
	log *slog.Logger
	// db holds the Raft log (and the snapshot-install marker) and is the
	// only one with a WAL: every append is fsynced there. sdb holds the
	// state machine (metadata, the WAL stream index, page versions) with
	// no WAL at all; what a crash loses of it the Raft log replays, and
	// the log is never truncated past what sdb has flushed.
	db    *pebble.DB
	sdb   *pebble.DB
	rlog  *RaftLog
	pages *PageStore
	sm    *stateMachine
	tr    *transport

	// rn is etcd raft's state machine; only the Raft loop (run) touches
	// it. Everyone else reaches it through inbox, and the loop hands log
	// appends and committed entries to the append and apply goroutines
	// through appendq and applyq.
	rn      *raft.RawNode
	inbox   *queue[raftOp]
	appendq *queue[*raftpb.Message]
	applyq  *queue[applyWork]
	// appendBusy counts appends handed to the append goroutine and not yet
	// persisted: the Raft loop persists an append itself only when it is
	// 0, so appends stay in log order.
	appendBusy atomic.Int64
	// applyBusy counts work handed to the apply goroutine and not yet
	// done: the Raft loop applies entries itself only when it is 0.
	applyBusy atomic.Int64
	// inlineApplied counts entries the Raft loop applied itself since it
	// last woke the apply goroutine to consider a snapshot.
	inlineApplied uint64
	// soleVoter is set while the applied configuration has this node as
	// its only voter.
	soleVoter atomic.Bool

	lis  net.Listener
	srv  *grpc.Server
	addr string

	leader    atomic.Uint64
	term      atomic.Uint64
	commit    atomic.Uint64
	reqSeq    atomic.Uint64
	csMu      sync.Mutex
	confState *raftpb.ConfState // guarded by csMu

	wmu     sync.Mutex
	waiters map[uint64]*waiter

	// A flush of sdb under way before a snapshot at flushIndex (with
	// flushConf); only the apply goroutine uses these.
	flushing   <-chan struct{}
	flushIndex uint64
	flushConf  *raftpb.ConfState
	// The configurations maybeSnapshot last compared (by pointer: both
	// are replaced, never changed) and the outcome; apply goroutine only.
	confSeen     *raftpb.ConfState
	confSeenSnap *raftpb.ConfState
	confDiffers  bool

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	stopMu sync.Mutex
	failed error
}

// StartNode opens (or creates) a storage node and starts serving.
func StartNode(cfg Config) (*Node, error) {
	cfg.setDefaults()
	if cfg.ID == 0 {
		return nil, fmt.Errorf("storage: node id must not be 0")
	}
	if err := os.MkdirAll(filepath.Join(cfg.Dir, "snap"), 0o755); err != nil {
		return nil, fmt.Errorf("storage: create data dir: %w", err)
	}
	n := &Node{cfg: cfg, log: cfg.Logger.With("node", cfg.ID), waiters: map[uint64]*waiter{},
		inbox: newQueue[raftOp](), appendq: newQueue[*raftpb.Message](), applyq: newQueue[applyWork]()}
	n.reqSeq.Store(rand.Uint64() >> 1)
	var err error
	// A block cache big enough for the hot page images: materialising a
	// page reads its last image, and without a cache every read is a
	// pread.
	cache := pebble.NewCache(256 << 20)
	defer cache.Unref()
	popts := &pebble.Options{
		MemTableSize: 64 << 20,
		Cache:        cache,
		Logger:       pebbleLogger{n.log},
	}
	// Nothing is compressed, as InnoDB does not compress pages by default.
	// Log entries live seconds (until the next truncation): compressing
	// them in flushes and compactions was 5% of a cluster's CPU. Most page
	// versions are deleted by GC within seconds too, and in a store of a
	// few GB nearly all data sits in the bottom level, so compressing only
	// that cost 6% of oltp_insert's CPU (snappy in compactions) for half
	// the disk space.
	popts.ApplyCompressionSettings(func() pebble.DBCompressionSettings { return pebble.DBCompressionNone })
	ropts := popts.Clone()
	// A small memtable rotates the WAL every few MB, so Pebble soon
	// recycles old WAL files: an fdatasync that overwrites an existing
	// file flushes data only, while one that grows the file also commits
	// the ext4 journal, waiting behind the state machine's sstable writes.
	// With 64 MB every commit's fsync grew the file: the fsync took twice
	// as long and commit latency at 1 thread was 20-40% higher.
	ropts.MemTableSize = 4 << 20
	if n.db, err = openPebble(filepath.Join(cfg.Dir, "raft"), ropts); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			n.db.Close()
		}
	}()
	// The state machine's writes skip the WAL: they would otherwise
	// double what each Raft fsync writes, for data the log already holds.
	sopts := popts.Clone()
	sopts.DisableWAL = true
	if n.sdb, err = openPebble(filepath.Join(cfg.Dir, "state"), sopts); err != nil {
		return nil, err
	}
	defer func() {
		if !ok {
			n.sdb.Close()
		}
	}()
	if err := finishInterruptedInstall(n.db, n.sdb); err != nil {
		return nil, err
	}
	if n.rlog, err = OpenRaftLog(n.db); err != nil {
		return nil, err
	}
	n.pages = NewPageStore(n.sdb, PageStoreOptions{MaterializeAfter: cfg.MaterializeAfter})
	if n.sm, err = openStateMachine(n.sdb, n.pages, n.rlog, n.log); err != nil {
		return nil, err
	}
	snap, err := n.rlog.Snapshot()
	if err != nil {
		return nil, fmt.Errorf("storage: read snapshot metadata: %w", err)
	}
	n.setConfState(snap.GetMetadata().GetConfState())

	if n.lis, err = net.Listen("tcp", cfg.Listen); err != nil {
		return nil, fmt.Errorf("storage: listen on %s: %w", cfg.Listen, err)
	}
	n.addr = cfg.Advertise
	if n.addr == "" {
		n.addr = n.lis.Addr().String()
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.tr = newTransport(n)

	rc := &raft.Config{
		ID:              cfg.ID,
		ElectionTick:    cfg.ElectionTicks,
		HeartbeatTick:   cfg.HeartbeatTicks,
		Storage:         n.rlog,
		MaxSizePerMsg:   4 << 20,
		MaxInflightMsgs: 256,
		// Entries up to the snapshot are reflected in the raft config
		// restored from it; later ones are replayed so conf changes
		// reach raft again (the state machine skips what it applied).
		Applied:     snap.GetMetadata().GetIndex(),
		CheckQuorum: true,
		PreVote:     true,
		Logger:      raftLogger{n.log},
		// Log appends and entry application run on their own goroutines
		// (raftloop.go), so the Raft loop keeps taking acknowledgements
		// while an fsync is under way.
		AsyncStorageWrites: true,
	}
	hs, _, _ := n.rlog.InitialState()
	last, _ := n.rlog.LastIndex()
	fresh := raft.IsEmptyHardState(hs) && last == 0 && raft.IsEmptySnap(snap)
	switch {
	case fresh && !cfg.Join:
		if _, ok := cfg.Peers[cfg.ID]; !ok && len(cfg.Peers) > 0 {
			return nil, fmt.Errorf("storage: peers do not include this node (%d)", cfg.ID)
		}
		var peers []raft.Peer
		if len(cfg.Peers) == 0 {
			peers = []raft.Peer{{ID: cfg.ID, Context: []byte(n.addr)}}
		}
		for id, addr := range cfg.Peers {
			if id == cfg.ID {
				addr = n.addr
			}
			peers = append(peers, raft.Peer{ID: id, Context: []byte(addr)})
		}
		if n.rn, err = raft.NewRawNode(rc); err != nil {
			return nil, fmt.Errorf("storage: start raft: %w", err)
		}
		if err := n.rn.Bootstrap(peers); err != nil {
			return nil, fmt.Errorf("storage: bootstrap raft: %w", err)
		}
	default:
		if n.rn, err = raft.NewRawNode(rc); err != nil {
			return nil, fmt.Errorf("storage: restart raft: %w", err)
		}
	}

	n.srv = grpc.NewServer(grpc.MaxRecvMsgSize(wal.MaxBatchSize+1<<20), grpc.MaxSendMsgSize(wal.MaxBatchSize+1<<20))
	storagepb.RegisterStorageServer(n.srv, &storageServer{n: n})
	storagepb.RegisterRaftServer(n.srv, &raftServer{n: n})
	n.wg.Add(6)
	go func() {
		defer n.wg.Done()
		if err := n.srv.Serve(n.lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			n.log.Error("grpc server stopped", "err", err)
		}
	}()
	go func() { defer n.wg.Done(); n.run() }()
	go func() { defer n.wg.Done(); n.appendLoop() }()
	go func() { defer n.wg.Done(); n.applyLoop() }()
	go func() {
		defer n.wg.Done()
		n.pages.Run(n.ctx, func() wal.LSN { _, l := n.sm.state(); return l })
	}()
	go func() { defer n.wg.Done(); n.gcLoop() }()
	ok = true
	n.log.Info("storage node started", "addr", n.addr, "dir", cfg.Dir, "bootstrap", fresh && !cfg.Join)
	return n, nil
}

// openPebble opens one of the node's two Pebble instances.
func openPebble(dir string, opts *pebble.Options) (*pebble.DB, error) {
	db, err := pebble.Open(dir, opts)
	if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK) {
		return nil, fmt.Errorf("storage: data directory %s is in use by another process: %w", dir, err)
	}
	if err != nil {
		return nil, fmt.Errorf("storage: open pebble %s: %w", dir, err)
	}
	return db, nil
}

// Addr returns the address the node serves on.
func (n *Node) Addr() string { return n.addr }

// ID returns the node's Raft id.
func (n *Node) ID() uint64 { return n.cfg.ID }

// Stop shuts the node down: no new requests, Raft stopped, Pebble closed.
func (n *Node) Stop() {
	n.stopMu.Lock()
	defer n.stopMu.Unlock()
	if n.ctx.Err() != nil {
		return
	}
	n.cancel()
	stopped := make(chan struct{})
	go func() { n.srv.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(2 * time.Second):
		n.srv.Stop() // streams (StreamWAL, Raft) do not end on their own
	}
	n.tr.stop()
	n.wg.Wait()
	n.failWaiters()
	// Not needed for safety (the log replays), but saves the replay.
	if err := n.sdb.Flush(); err != nil {
		n.log.Error("flush state", "err", err)
	}
	if err := n.sdb.Close(); err != nil {
		n.log.Error("close state pebble", "err", err)
	}
	if err := n.db.Close(); err != nil {
		n.log.Error("close raft pebble", "err", err)
	}
	n.log.Info("storage node stopped")
}

// Done is closed when the node has been stopped or has failed.
func (n *Node) Done() <-chan struct{} { return n.ctx.Done() }

// Err returns the error that stopped the node, if it failed.
func (n *Node) Err() error {
	n.stopMu.Lock()
	defer n.stopMu.Unlock()
	return n.failed
}

// fail stops the node after an unrecoverable local error (a failed fsync
// must never be retried as if nothing happened).
func (n *Node) fail(err error) {
	n.log.Error("storage node failed", "err", err)
	n.stopMu.Lock()
	if n.failed == nil {
		n.failed = err
	}
	n.stopMu.Unlock()
	n.cancel()
	n.failWaiters()
}

// installSnapshot replaces the state machine with the data staged for snap
// by the transport, then records the snapshot in the Raft log.
func (n *Node) installSnapshot(snap *raftpb.Snapshot) error {
	md := snap.GetMetadata()
	path := n.tr.stagedSnapshot(md.GetTerm(), md.GetIndex())
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("storage: snapshot %d/%d has no staged data: %w", md.GetTerm(), md.GetIndex(), err)
	}
	if err := installSnapshotData(n.db, n.sdb, path); err != nil {
		return err
	}
	if err := n.sm.reload(); err != nil {
		return err
	}
	n.pages.Reload()
	if err := n.rlog.ApplySnapshot(snap); err != nil && !errors.Is(err, raft.ErrSnapOutOfDate) {
		return fmt.Errorf("storage: apply snapshot to raft log: %w", err)
	}
	n.setConfState(md.GetConfState())
	os.Remove(path)
	applied, last := n.sm.state()
	n.log.Info("installed snapshot", "index", md.GetIndex(), "applied", applied, "last_lsn", last)
	return nil
}

// maybeSnapshot records a snapshot and truncates the log once enough
// entries have been applied since the last one. The state machine has no
// WAL, so it must be durable up to the snapshot's index before the log
// entries that could rebuild it go (and before a snapshot there exists to
// restart from): it is flushed first, in the background, and the snapshot
// is taken at the index applied when the flush began, on a later call once
// the flush is done. Only the apply goroutine calls it.
func (n *Node) maybeSnapshot() error {
	if n.flushing != nil {
		select {
		case <-n.flushing:
		default:
			return nil
		}
		n.flushing = nil
		return n.snapshotAt(n.flushIndex, n.flushConf)
	}
	applied, _ := n.sm.state()
	snapIndex, snapConf := n.rlog.snapshotMeta()
	if applied <= snapIndex {
		return nil
	}
	// Also snapshot after a membership change: a node added later gets
	// the newest snapshot, and raft refuses one whose config lacks it.
	// Called after every apply, so the comparison (which copies and
	// sorts) runs only when either configuration was replaced.
	cs := n.getConfState()
	if cs != n.confSeen || snapConf != n.confSeenSnap {
		n.confSeen, n.confSeenSnap = cs, snapConf
		n.confDiffers = cs != nil && cs.Equivalent(snapConf) != nil
	}
	if applied < snapIndex+n.cfg.SnapshotEntries && !n.confDiffers {
		return nil
	}
	// The snapshot will truncate the log to KeepEntries before applied:
	// batches there that StreamWAL must still serve move into the state
	// first, and the flush makes them durable.
	if applied > n.cfg.KeepEntries {
		if err := n.sm.keepBatches(applied - n.cfg.KeepEntries); err != nil {
			return err
		}
	}
	// A synchronous flush here stalled apply (and every commit) for the
	// time it takes to write a memtable.
	done, err := n.sdb.AsyncFlush()
	if err != nil {
		return fmt.Errorf("storage: flush state before snapshot: %w", err)
	}
	n.flushing, n.flushIndex, n.flushConf = done, applied, cs
	return nil
}

// snapshotAt records a snapshot at index (state durable up to it) and
// truncates the log to KeepEntries before it.
func (n *Node) snapshotAt(index uint64, cs *raftpb.ConfState) error {
	if _, err := n.rlog.CreateSnapshot(index, cs); err != nil {
		if errors.Is(err, raft.ErrSnapOutOfDate) {
			return nil // a snapshot installed meanwhile is newer
		}
		return fmt.Errorf("storage: create snapshot: %w", err)
	}
	if index > n.cfg.KeepEntries {
		first, _ := n.rlog.FirstIndex()
		if c := index - n.cfg.KeepEntries; c > first {
			if err := n.rlog.Compact(c); err != nil && !errors.Is(err, raft.ErrCompacted) {
				return fmt.Errorf("storage: compact raft log: %w", err)
			}
		}
	}
	n.log.Debug("snapshot taken", "index", index)
	return nil
}

// gcLoop drops page versions and WAL batches below the GC horizon.
func (n *Node) gcLoop() {
	t := time.NewTicker(n.cfg.GCInterval)
	defer t.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
		}
		n.collect(n.ctx)
	}
}

// collect runs one GC pass at the current horizon.
func (n *Node) collect(ctx context.Context) {
	h := n.sm.metadata().Horizon
	if h == 0 {
		return
	}
	if _, err := n.pages.GC(ctx, h); err != nil && ctx.Err() == nil {
		n.log.Error("page gc", "horizon", h, "err", err)
	}
	if err := n.sm.collectWAL(h); err != nil {
		n.log.Error("wal gc", "horizon", h, "err", err)
	}
}

// isLeader reports whether this node currently leads, or the leader hint.
func (n *Node) leaderError() error {
	lead := n.leader.Load()
	if lead == n.cfg.ID {
		return nil
	}
	e := &NotLeaderError{LeaderID: lead}
	if lead != 0 {
		e.LeaderAddr = n.memberAddr(lead)
	}
	return e
}

// memberAddr returns a member's address from the applied metadata, or the
// bootstrap peers.
func (n *Node) memberAddr(id uint64) string {
	if id == n.cfg.ID {
		return n.addr
	}
	if m, ok := n.sm.metadata().Members[id]; ok {
		return m.Addr
	}
	return n.cfg.Peers[id]
}

// waiter is a proposer waiting for its command's applied result.
type waiter struct {
	done func(applyResult, error)
	stop func() bool // ends the watch on the proposer's context
}

// propose submits a command and waits for its applied result.
func (n *Node) propose(ctx context.Context, typ cmdType, body []byte) (applyResult, error) {
	type outcome struct {
		res applyResult
		err error
	}
	ch := make(chan outcome, 1)
	if err := n.proposeAsync(ctx, typ, body, func(res applyResult, err error) { ch <- outcome{res, err} }); err != nil {
		return applyResult{}, err
	}
	o := <-ch
	return o.res, o.err
}

// proposeAsync hands a command to the Raft loop, after every earlier
// proposal, and returns. done is called exactly once, on whichever
// goroutine settles it: with the applied result, or with an error when
// Raft drops the proposal, ctx ends or the node stops.
func (n *Node) proposeAsync(ctx context.Context, typ cmdType, body []byte, done func(applyResult, error)) error {
	if err := n.leaderError(); err != nil {
		return err
	}
	id := n.reqSeq.Add(1)
	w := &waiter{done: done}
	n.wmu.Lock()
	n.waiters[id] = w
	// Under wmu, so settle sees stop; the callback runs on its own
	// goroutine and waits for wmu if ctx has already ended.
	w.stop = context.AfterFunc(ctx, func() { n.settle(id, applyResult{}, n.ctxError(ctx, ctx.Err())) })
	n.wmu.Unlock()
	if n.ctx.Err() != nil {
		// failWaiters may have run before the waiter was added.
		n.settle(id, applyResult{}, ErrShuttingDown)
		return nil
	}
	n.inbox.put(raftOp{kind: opPropose, data: encodeCommand(typ, id, time.Now().UnixMilli(), body), id: id})
	return nil
}

// settle reports a proposal's outcome, unless it was already reported.
func (n *Node) settle(id uint64, res applyResult, err error) {
	n.wmu.Lock()
	w, ok := n.waiters[id]
	delete(n.waiters, id)
	n.wmu.Unlock()
	if ok {
		w.stop()
		w.done(res, err)
	}
}

// failWaiters fails every proposal still waiting, once the node stops.
func (n *Node) failWaiters() {
	n.wmu.Lock()
	ws := n.waiters
	n.waiters = map[uint64]*waiter{}
	n.wmu.Unlock()
	for _, w := range ws {
		w.stop()
		w.done(applyResult{}, ErrShuttingDown)
	}
}

func (n *Node) leaderErrorOrUnknown() error {
	if err := n.leaderError(); err != nil {
		return err
	}
	return &NotLeaderError{}
}

func (n *Node) ctxError(ctx context.Context, err error) error {
	if n.ctx.Err() != nil {
		return ErrShuttingDown
	}
	return fmt.Errorf("%w: %v", ErrTimeout, err)
}

// withDefaultTimeout gives ctx a deadline if it has none.
func withDefaultTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}
