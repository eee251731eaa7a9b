// Package engine is a Polar compute node's transactional engine: B+trees
// of multi-versioned rows over the buffer pool, transactions with
// snapshot reads and row locks, and group commit to the storage tier.
//
// The engine exposes indexes as ordered key/value maps (keys must be
// prefix-free, as keycodec encodings are); tables, columns and SQL live
// above it. Every index is a B+tree whose entries are versions:
//
//	tree key   = user key ‖ ^CSN (8 bytes big-endian, newest first)
//	tree value = flag byte (0 put, 1 tombstone) ‖ value
//
// A reader at snapshot S takes, per user key, the first version with
// CSN ≤ S. Writes are buffered in the transaction and written into the
// trees only at commit, by the single committer goroutine (no-steal), so
// the WAL is redo-only and rollback is free.
package engine

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/polarsql/polar/compute/btree"
	"github.com/polarsql/polar/compute/bufpool"
	"github.com/polarsql/polar/compute/lock"
	"github.com/polarsql/polar/compute/mtr"
	"github.com/polarsql/polar/storage"
	"github.com/polarsql/polar/wal"
)

// Config configures an engine.
type Config struct {
	// Storage is the storage tier (a *storage.Client or an in-process
	// *storage.Node).
	Storage storage.Service
	// NodeName identifies this compute node in storage metadata.
	NodeName string
	// BufferPoolBytes is the page cache budget (default a quarter of the
	// machine's memory).
	BufferPoolBytes int64
	// LockWaitTimeout is the default row lock wait (MySQL's
	// innodb_lock_wait_timeout, default 50 s).
	LockWaitTimeout time.Duration
	// CommitTimeout bounds one append to storage before the engine fences
	// itself and checks the outcome (default 10 s).
	CommitTimeout time.Duration
	// ReportInterval is how often the node reports its read LSN for the
	// storage GC horizon (default 1 s).
	ReportInterval time.Duration
	// Logger receives the engine's logs (default slog.Default()).
	Logger *slog.Logger
}

// ErrClosed is returned by calls on a closed engine.
var ErrClosed = errors.New("engine: closed")

// IndexID names an index: the page ID of its B+tree's root, which never
// moves.
type IndexID = wal.PageID

// metaPage is page 0: the page allocator and the catalog root.
const metaPage wal.PageID = 0

// catalogRoot is the root of the catalog index, created at bootstrap.
const catalogRoot wal.PageID = 1

// Engine is one compute node's engine (the primary: it accepts writes).
type Engine struct {
	cfg   Config
	log   *slog.Logger
	st    storage.Service
	pool  *bufpool.Pool
	locks *lock.Manager

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	commitc chan *commitReq
	// Owned by the committer goroutine after Open.
	epoch   uint64
	nextLSN wal.LSN
	lastCSN uint64

	visibleCSN atomic.Uint64
	txnSeq     atomic.Uint64

	wmu         sync.Mutex
	stopErr     error // why writes are refused
	deposed     bool  // another primary took over: writes never resume
	lastRecover time.Time

	tmu   sync.Mutex
	trees map[IndexID]*btree.Tree

	smu       sync.Mutex
	snapshots map[lock.TxnID]uint64 // open snapshots, for row version pruning

	stats struct {
		commits, batches, redoBytes atomic.Uint64
		// Commit stage timings, summed over commits (see Stats).
		waitNs, writeNs, durableNs, totalNs atomic.Uint64
	}
}

func (c *Config) setDefaults() {
	if c.NodeName == "" {
		c.NodeName = "primary"
	}
	if c.BufferPoolBytes == 0 {
		c.BufferPoolBytes = defaultPoolBytes()
	}
	if c.LockWaitTimeout == 0 {
		c.LockWaitTimeout = 50 * time.Second
	}
	if c.CommitTimeout == 0 {
		c.CommitTimeout = 10 * time.Second
	}
	if c.ReportInterval == 0 {
		c.ReportInterval = time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// defaultPoolBytes is a quarter of MemTotal, or 256 MiB when it cannot be
// read.
func defaultPoolBytes() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			var kb int64
			if _, err := fmt.Sscanf(line, "MemTotal: %d kB", &kb); err == nil && kb > 0 {
				return kb << 10 / 4
			}
		}
	}
	return 256 << 20
}

// Open starts an engine as the primary: it takes a new epoch (fencing any
// previous primary), learns the durable end of the log and the last CSN
// from storage, and bootstraps an empty database. No redo is replayed:
// storage has it.
func Open(ctx context.Context, cfg Config) (*Engine, error) {
	cfg.setDefaults()
	if cfg.Storage == nil {
		return nil, fmt.Errorf("engine: no storage")
	}
	e := &Engine{cfg: cfg, log: cfg.Logger.With("node", cfg.NodeName), st: cfg.Storage, locks: lock.New(),
		commitc: make(chan *commitReq, 4096), trees: map[IndexID]*btree.Tree{}, snapshots: map[lock.TxnID]uint64{}}
	epoch, last, err := e.st.BumpEpoch(ctx, cfg.NodeName, 0)
	if err != nil {
		return nil, fmt.Errorf("engine: take epoch: %w", err)
	}
	e.epoch, e.nextLSN = epoch, last+1
	e.pool = bufpool.New(bufpool.Config{Bytes: cfg.BufferPoolBytes, Source: e.st, StartLSN: last, Logger: e.log})
	if last > 0 {
		csn, err := e.lastCommitCSN(ctx, last)
		if err != nil {
			return nil, err
		}
		e.lastCSN = csn
	}
	e.visibleCSN.Store(e.lastCSN)
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.wg.Add(2)
	go e.runCommitter()
	go e.runReporter()
	if last == 0 {
		if err := e.bootstrap(ctx); err != nil {
			e.Close()
			return nil, err
		}
	}
	e.log.Info("engine open", "epoch", epoch, "last_lsn", last, "csn", e.lastCSN)
	return e, nil
}

// lastCommitCSN reads the CSN of the last commit record in the log: every
// batch ends with one.
func (e *Engine) lastCommitCSN(ctx context.Context, last wal.LSN) (uint64, error) {
	var csn uint64
	found := errors.New("found")
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := e.st.StreamWAL(sctx, last, func(raw []byte) error {
		b, err := wal.DecodeBatch(raw)
		if err != nil {
			return err
		}
		for i := len(b.Records) - 1; i >= 0; i-- {
			if b.Records[i].Kind == wal.KindCommit {
				csn = b.Records[i].CSN
				return found
			}
		}
		return fmt.Errorf("engine: batch ending at %d has no commit record", b.LastLSN())
	})
	if !errors.Is(err, found) {
		return 0, fmt.Errorf("engine: read the last commit: %w", err)
	}
	return csn, nil
}

// Meta page layout (after the 64-byte page header area):
//
//	64 magic u32 "PLR1" | 68 version u32 | 72 next page number u64 |
//	80 free list head u64
const (
	metaMagic     = 0x31524c50 // "PLR1"
	metaOffMagic  = 64
	metaOffVer    = 68
	metaOffNext   = 72
	metaOffFree   = 80
	freeOffNext   = 64 // in a free page: the next free page
	firstDataPage = 2
)

// bootstrap creates the meta page and the catalog index of a new database.
func (e *Engine) bootstrap(ctx context.Context) error {
	_, err := e.commit(ctx, func(ctx context.Context, m *mtr.MTR, csn uint64) error {
		p, err := m.NewPage(e.pool, metaPage)
		if err != nil {
			return err
		}
		binary.LittleEndian.PutUint32(p[metaOffMagic:], metaMagic)
		binary.LittleEndian.PutUint32(p[metaOffVer:], 1)
		binary.LittleEndian.PutUint64(p[metaOffNext:], firstDataPage)
		return btree.Create(ctx, m, e.pool, catalogRoot, uint64(catalogRoot))
	})
	if err != nil {
		return fmt.Errorf("engine: bootstrap: %w", err)
	}
	return nil
}

// allocator implements btree.Allocator on the meta page. Only the
// committer calls it, inside its MTR.
type allocator struct{ e *Engine }

// Allocate pops the free list or extends the space.
func (a allocator) Allocate(ctx context.Context, m *mtr.MTR) (wal.PageID, error) {
	meta, err := m.Page(ctx, a.e.pool, metaPage)
	if err != nil {
		return 0, err
	}
	if binary.LittleEndian.Uint32(meta[metaOffMagic:]) != metaMagic {
		return 0, fmt.Errorf("engine: meta page is not initialised")
	}
	if head := binary.LittleEndian.Uint64(meta[metaOffFree:]); head != 0 {
		fp, err := m.Page(ctx, a.e.pool, wal.PageID(head))
		if err != nil {
			return 0, err
		}
		binary.LittleEndian.PutUint64(meta[metaOffFree:], binary.LittleEndian.Uint64(fp[freeOffNext:]))
		// The page is now in m; the caller's NewPage turns it into a new
		// page logged as a full image.
		return wal.PageID(head), nil
	}
	next := binary.LittleEndian.Uint64(meta[metaOffNext:])
	binary.LittleEndian.PutUint64(meta[metaOffNext:], next+1)
	return wal.PageID(next), nil
}

// Free pushes a page on the free list.
func (a allocator) Free(ctx context.Context, m *mtr.MTR, id wal.PageID) error {
	meta, err := m.Page(ctx, a.e.pool, metaPage)
	if err != nil {
		return err
	}
	p, err := m.Page(ctx, a.e.pool, id)
	if err != nil {
		return err
	}
	clear(p[wal.PageLSNSize:])
	binary.LittleEndian.PutUint64(p[freeOffNext:], binary.LittleEndian.Uint64(meta[metaOffFree:]))
	binary.LittleEndian.PutUint64(meta[metaOffFree:], uint64(id))
	return nil
}

// tree returns the B+tree of an index.
func (e *Engine) tree(id IndexID) *btree.Tree {
	e.tmu.Lock()
	defer e.tmu.Unlock()
	t, ok := e.trees[id]
	if !ok {
		t = btree.Open(e.pool, id, allocator{e})
		e.trees[id] = t
	}
	return t
}

// CatalogIndex is the index the catalog layer keeps its entries in.
func (e *Engine) CatalogIndex() IndexID { return catalogRoot }

// CreateIndex creates an empty index and returns its id once durable.
func (e *Engine) CreateIndex(ctx context.Context) (IndexID, error) {
	var id IndexID
	_, err := e.commit(ctx, func(ctx context.Context, m *mtr.MTR, csn uint64) error {
		var err error
		if id, err = (allocator{e}).Allocate(ctx, m); err != nil {
			return err
		}
		return btree.Create(ctx, m, e.pool, id, uint64(id))
	})
	if err != nil {
		return 0, fmt.Errorf("engine: create index: %w", err)
	}
	return id, nil
}

// runReporter reports the node's read LSN so storage can collect page
// versions: a primary only ever reads the newest version of a page, so it
// needs nothing older than its durable LSN.
func (e *Engine) runReporter() {
	defer e.wg.Done()
	t := time.NewTicker(e.cfg.ReportInterval)
	defer t.Stop()
	for {
		select {
		case <-e.ctx.Done():
			return
		case <-t.C:
		}
		// Raise the pool's read floor first: once reported, storage may
		// collect versions below this LSN before the answer arrives.
		d := e.pool.Durable()
		e.pool.SetHorizon(d)
		ctx, cancel := context.WithTimeout(e.ctx, 5*time.Second)
		h, err := e.st.ReportReadLSN(ctx, e.cfg.NodeName, d, false)
		cancel()
		if err != nil {
			if e.ctx.Err() == nil {
				e.log.Warn("report read LSN", "err", err)
			}
			continue
		}
		e.pool.SetHorizon(h)
	}
}

// writeErr returns why writes are refused, if they are.
func (e *Engine) writeErr() error {
	e.wmu.Lock()
	defer e.wmu.Unlock()
	return e.stopErr
}

// failWrites stops writes after a commit failure and drops every cached
// page that holds changes storage does not have.
func (e *Engine) failWrites(err error) {
	e.log.Error("commit failed; writes stopped", "err", err)
	e.wmu.Lock()
	if e.stopErr == nil {
		e.stopErr = fmt.Errorf("%w: %v", ErrWritesStopped, err)
	}
	if errors.Is(err, storage.ErrStaleEpoch) {
		e.deposed = true
	}
	e.wmu.Unlock()
	n := e.pool.DiscardAbove(e.pool.Durable())
	e.log.Info("dropped pages with changes that are not durable", "pages", n)
}

// recoverWrites tries, at most once a second, to resume writes after a
// failed commit: it fences with a new epoch (which fails if another
// primary took over), learns the durable end of the log and the last CSN
// again, and rebuilds the page cache from storage. Only the committer
// calls it.
func (e *Engine) recoverWrites(ctx context.Context) error {
	e.wmu.Lock()
	stopErr, deposed := e.stopErr, e.deposed
	if stopErr == nil {
		e.wmu.Unlock()
		return nil
	}
	if deposed || time.Since(e.lastRecover) < time.Second {
		e.wmu.Unlock()
		return stopErr
	}
	e.lastRecover = time.Now()
	e.wmu.Unlock()
	fctx, cancel := context.WithTimeout(ctx, e.cfg.CommitTimeout)
	defer cancel()
	epoch, last, err := e.st.BumpEpoch(fctx, e.cfg.NodeName, e.epoch)
	if err != nil {
		if errors.Is(err, storage.ErrStaleEpoch) {
			e.wmu.Lock()
			e.deposed = true
			e.wmu.Unlock()
		}
		return fmt.Errorf("%w (recovery failed: %v)", stopErr, err)
	}
	csn := uint64(0)
	if last > 0 {
		if csn, err = e.lastCommitCSN(fctx, last); err != nil {
			return fmt.Errorf("%w (recovery failed: %v)", stopErr, err)
		}
	}
	e.epoch, e.nextLSN, e.lastCSN = epoch, last+1, csn
	e.pool.Reset(last)
	e.visibleCSN.Store(csn)
	e.wmu.Lock()
	e.stopErr = nil
	e.wmu.Unlock()
	e.log.Info("writes resumed", "epoch", epoch, "last_lsn", last, "csn", csn)
	return nil
}

// Close stops the engine. Queued commits fail with ErrClosed.
func (e *Engine) Close() error {
	if e.ctx.Err() != nil {
		return nil
	}
	e.cancel()
	e.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	e.st.ReportReadLSN(ctx, e.cfg.NodeName, 0, true)
	return nil
}

// Stats are the engine's counters.
type Stats struct {
	Commits, Batches, RedoBytes uint64
	VisibleCSN                  uint64
	Pool                        bufpool.Stats
	// Where acknowledged commits spent their time, summed over them
	// (divide by Commits for the mean): queued for the committer,
	// writing their versions into pages and packing the redo (their
	// group's time), storage making the group durable, and in all, from
	// queueing to acknowledgement.
	CommitWait, CommitWrite, CommitDurable, CommitTotal time.Duration
}

// Stats returns the engine's counters.
func (e *Engine) Stats() Stats {
	return Stats{Commits: e.stats.commits.Load(), Batches: e.stats.batches.Load(), RedoBytes: e.stats.redoBytes.Load(),
		VisibleCSN: e.visibleCSN.Load(), Pool: e.pool.Stats(),
		CommitWait: time.Duration(e.stats.waitNs.Load()), CommitWrite: time.Duration(e.stats.writeNs.Load()),
		CommitDurable: time.Duration(e.stats.durableNs.Load()), CommitTotal: time.Duration(e.stats.totalNs.Load())}
}
