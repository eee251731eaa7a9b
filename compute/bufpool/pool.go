// Package bufpool is a compute node's page cache: a fixed budget of 16 KiB
// frames holding pages read from the storage tier, with clock eviction,
// pin counts and per-frame latches.
//
// The pool never writes pages anywhere: the log is the database. A frame
// changed by a mini-transaction holds changes that become durable only
// when the batch carrying their redo is committed by storage; until then
// (dirty LSN above the durable LSN) the frame cannot be evicted, because
// storage could not give the change back.
//
// On a miss the pool asks storage for the page at the page's last-written
// LSN, not at the newest durable LSN, so any replica that has applied that
// far can answer without waiting for the log tip.
package bufpool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/polarsql/polar/storage"
	"github.com/polarsql/polar/wal"
)

// PageSource reads pages as of an LSN; storage.Service satisfies it.
type PageSource interface {
	GetPage(ctx context.Context, page wal.PageID, lsn wal.LSN) (storage.Page, error)
}

// Config configures a pool.
type Config struct {
	// Bytes is the memory budget for frames (at least 8 frames).
	Bytes int64
	// Source is where misses are read from.
	Source PageSource
	// StartLSN is the durable end of the log when the node opened: a
	// conservative last-written LSN for pages the pool has never seen.
	StartLSN wal.LSN
	// Logger receives warnings (default slog.Default()).
	Logger *slog.Logger
}

// Pool is a page cache. All methods are safe for concurrent use.
type Pool struct {
	src PageSource
	log *slog.Logger
	max int

	mu      sync.Mutex
	table   map[wal.PageID]*Frame
	frames  []*Frame
	hand    int
	evicted map[wal.PageID]wal.LSN // last-written LSN of pages evicted recently
	floor   wal.LSN                // last-written LSN bound for pages not in evicted

	durable atomic.Uint64
	horizon atomic.Uint64 // storage's page GC horizon
	hits    atomic.Uint64
	misses  atomic.Uint64
	evicts  atomic.Uint64
}

// maxEvictedEntries bounds the evicted-page LSN map; older entries fold
// into the floor.
const maxEvictedEntries = 1 << 16

// ErrInvalidated is returned to readers of a frame whose contents were
// dropped after a failed commit.
var ErrInvalidated = errors.New("bufpool: page invalidated")

// New returns an empty pool.
func New(cfg Config) *Pool {
	n := int(cfg.Bytes / wal.PageSize)
	if n < 8 {
		n = 8
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	p := &Pool{src: cfg.Source, log: log, max: n, table: make(map[wal.PageID]*Frame, n),
		evicted: map[wal.PageID]wal.LSN{}, floor: cfg.StartLSN}
	p.durable.Store(uint64(cfg.StartLSN))
	return p
}

// Frame is one cached page. Callers pin it with Fetch or Create, latch it
// (RLock to read, Lock to change) and Release it when done.
type Frame struct {
	sync.RWMutex
	id   wal.PageID
	data []byte
	pins atomic.Int32
	ref  atomic.Bool

	ready chan struct{} // closed once data is loaded or err set
	err   error

	// dirty is the LSN of the newest change not known to be durable;
	// written under the exclusive latch, read by eviction under p.mu.
	dirty atomic.Uint64
}

// ID returns the page the frame holds.
func (f *Frame) ID() wal.PageID { return f.id }

// Data returns the page bytes; hold the latch while using them.
func (f *Frame) Data() []byte { return f.data }

// Fetch returns the frame for id, pinned, reading it from storage on a
// miss. The caller must Release it.
func (p *Pool) Fetch(ctx context.Context, id wal.PageID) (*Frame, error) {
	p.mu.Lock()
	if f, ok := p.table[id]; ok {
		f.pins.Add(1)
		f.ref.Store(true)
		p.mu.Unlock()
		// Almost always the page is loaded: a non-blocking check skips
		// the two-channel select (and ctx.Done's setup), which was 40% of
		// a hit's cost.
		select {
		case <-f.ready:
		default:
			select {
			case <-f.ready:
			case <-ctx.Done():
				f.Release()
				return nil, fmt.Errorf("bufpool: wait for page %v: %w", id, ctx.Err())
			}
		}
		if f.err != nil {
			f.Release()
			return nil, f.err
		}
		p.hits.Add(1)
		return f, nil
	}
	f, err := p.allocLocked(id)
	if err != nil {
		p.mu.Unlock()
		return nil, err
	}
	lsn := p.lastWrittenLocked(id)
	p.mu.Unlock()
	p.misses.Add(1)

	pg, err := p.src.GetPage(ctx, id, lsn)
	if errors.Is(err, storage.ErrBelowHorizon) {
		// Storage collected past the horizon this pool knew. As the only
		// writer, the page is the same at every LSN from its last write
		// to the durable end, so read it there.
		lsn = p.Durable()
		pg, err = p.src.GetPage(ctx, id, lsn)
	}
	if err == nil && len(pg.Image) != wal.PageSize {
		err = fmt.Errorf("bufpool: storage returned %d bytes for page %v", len(pg.Image), id)
	}
	if err != nil {
		f.err = fmt.Errorf("bufpool: read page %v at LSN %d: %w", id, lsn, err)
		p.mu.Lock()
		if p.table[id] == f {
			delete(p.table, id)
		}
		p.mu.Unlock()
		close(f.ready)
		f.Release()
		return nil, f.err
	}
	copy(f.data, pg.Image)
	close(f.ready)
	return f, nil
}

// Create returns a pinned frame for a page that is new (never written):
// zeroed, not read from storage. The caller initialises it in a
// mini-transaction, which logs it as a full image.
func (p *Pool) Create(id wal.PageID) (*Frame, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if f, ok := p.table[id]; ok {
		return nil, fmt.Errorf("bufpool: create page %v: already cached (pins %d)", id, f.pins.Load())
	}
	f, err := p.allocLocked(id)
	if err != nil {
		return nil, err
	}
	close(f.ready)
	return f, nil
}

// allocLocked takes a free or evictable frame for id, registers it and
// pins it; the frame's ready channel is open.
func (p *Pool) allocLocked(id wal.PageID) (*Frame, error) {
	var f *Frame
	if len(p.frames) < p.max {
		f = &Frame{data: make([]byte, wal.PageSize)}
		p.frames = append(p.frames, f)
	} else if f = p.victimLocked(); f == nil {
		// Every frame is pinned or holds non-durable changes: grow
		// rather than fail. The extra frame stays for reuse.
		p.log.Warn("buffer pool over budget: no evictable frame", "frames", len(p.frames), "budget", p.max)
		f = &Frame{data: make([]byte, wal.PageSize)}
		p.frames = append(p.frames, f)
	}
	f.id = id
	f.err = nil
	f.ready = make(chan struct{})
	f.dirty.Store(0)
	f.pins.Store(1)
	f.ref.Store(true)
	clear(f.data)
	p.table[id] = f
	return f, nil
}

// victimLocked finds an unpinned, clean frame with the clock algorithm and
// unregisters it.
func (p *Pool) victimLocked() *Frame {
	durable := p.durable.Load()
	for i := 0; i < 2*len(p.frames); i++ {
		f := p.frames[p.hand]
		p.hand = (p.hand + 1) % len(p.frames)
		if f.pins.Load() != 0 || f.dirty.Load() > durable {
			continue
		}
		if f.ref.Swap(false) {
			continue
		}
		if p.table[f.id] == f {
			delete(p.table, f.id)
			if f.err == nil {
				p.rememberLocked(f.id, wal.PageLSN(f.data))
			}
		}
		p.evicts.Add(1)
		return f
	}
	return nil
}

// rememberLocked records the last-written LSN of an evicted page.
func (p *Pool) rememberLocked(id wal.PageID, lsn wal.LSN) {
	if len(p.evicted) >= maxEvictedEntries {
		for k, v := range p.evicted {
			p.floor = max(p.floor, v)
			delete(p.evicted, k)
			if len(p.evicted) < maxEvictedEntries/2 {
				break
			}
		}
	}
	p.evicted[id] = lsn
}

// lastWrittenLocked is the LSN to read a page at: its LSN when evicted, or
// the floor for pages not seen since that bound. Any LSN between that and
// the durable end gives the same page (this node is the only writer), so
// it is raised to storage's GC horizon, below which versions are gone.
func (p *Pool) lastWrittenLocked(id wal.PageID) wal.LSN {
	lsn, ok := p.evicted[id]
	if !ok {
		lsn = p.floor
	}
	return max(lsn, wal.LSN(p.horizon.Load()))
}

// SetHorizon records storage's page GC horizon.
func (p *Pool) SetHorizon(h wal.LSN) {
	if uint64(h) > p.horizon.Load() {
		p.horizon.Store(uint64(h))
	}
}

// Release unpins the frame.
func (f *Frame) Release() {
	if f.pins.Add(-1) < 0 {
		panic("bufpool: frame released more often than pinned")
	}
}

// MarkDirty records that the frame, exclusively latched by the caller,
// holds a change at lsn that is not durable yet.
func (f *Frame) MarkDirty(lsn wal.LSN) {
	if uint64(lsn) > f.dirty.Load() {
		f.dirty.Store(uint64(lsn))
	}
}

// SetDurable tells the pool that every change up to lsn is durable, so
// frames holding only such changes may be evicted.
func (p *Pool) SetDurable(lsn wal.LSN) {
	for {
		cur := p.durable.Load()
		if uint64(lsn) <= cur || p.durable.CompareAndSwap(cur, uint64(lsn)) {
			return
		}
	}
}

// Durable returns the durable LSN the pool knows.
func (p *Pool) Durable() wal.LSN { return wal.LSN(p.durable.Load()) }

// DiscardAbove drops every cached page with changes above lsn (after a
// commit failed: those changes will never be durable) and returns how many
// it dropped. Pinned frames are detached from the table, so later Fetches
// re-read them from storage; their current users see stale bytes only
// until they release them, which the engine prevents by refusing work
// while it recovers.
func (p *Pool) DiscardAbove(lsn wal.LSN) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for id, f := range p.table {
		if f.dirty.Load() > uint64(lsn) {
			delete(p.table, id)
			// Its last durable change is at most lsn: read it back there.
			p.rememberLocked(id, lsn)
			if f.pins.Load() == 0 {
				f.dirty.Store(0)
			} else {
				// Replace the frame object so the slot can be reused
				// without touching memory a pinned user still holds.
				for i := range p.frames {
					if p.frames[i] == f {
						p.frames[i] = &Frame{data: make([]byte, wal.PageSize), ready: closedChan}
					}
				}
			}
			n++
		}
	}
	return n
}

// Reset forgets every cached page and restarts the pool at lsn, the new
// durable end of the log: used when the engine rebuilds its state after a
// commit whose outcome was unknown, since a batch that landed after all
// may have changed pages the pool cannot tell apart. Pinned frames are
// detached as in DiscardAbove.
func (p *Pool) Reset(lsn wal.LSN) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, f := range p.table {
		delete(p.table, id)
		if f.pins.Load() == 0 {
			f.dirty.Store(0)
			continue
		}
		for i := range p.frames {
			if p.frames[i] == f {
				p.frames[i] = &Frame{data: make([]byte, wal.PageSize), ready: closedChan}
			}
		}
	}
	clear(p.evicted)
	p.floor = lsn
	p.durable.Store(uint64(lsn))
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// Stats are the pool's counters.
type Stats struct {
	Frames, Budget          int
	Hits, Misses, Evictions uint64
	Durable                 wal.LSN
}

// Stats returns the pool's counters.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	frames := len(p.frames)
	p.mu.Unlock()
	return Stats{Frames: frames, Budget: p.max, Hits: p.hits.Load(), Misses: p.misses.Load(),
		Evictions: p.evicts.Load(), Durable: p.Durable()}
}
