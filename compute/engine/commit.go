package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/polarsql/polar/compute/mtr"
	"github.com/polarsql/polar/storage"
	"github.com/polarsql/polar/wal"
)

// Group commit. One committer goroutine owns the write path: it takes the
// commits queued since its last round, gives each a commit sequence number
// (CSN), lets each write its row versions into the B+tree pages (one
// mini-transaction per commit, ended by a wal.Commit record), packs all
// their redo into one batch and appends it to storage. When storage has
// committed the batch, every commit in it is durable: the visible CSN moves
// past them and their callers are told. That is the only durability point.
//
// Because a single goroutine changes pages and assigns LSNs, page changes
// need exclusive latches only against readers, and LSNs are contiguous by
// construction.

// ErrWritesStopped is returned while the engine refuses writes: after a
// commit failed in a way that left the cache ahead of storage, or after
// another primary took over (stale epoch).
var ErrWritesStopped = errors.New("engine: writes stopped")

// applyFunc writes a commit's row versions at csn into pages through m.
type applyFunc func(ctx context.Context, m *mtr.MTR, csn uint64) error

type commitReq struct {
	apply  applyFunc
	done   chan commitResult
	queued time.Time // when commit queued it
}

type commitResult struct {
	csn uint64
	err error
}

// maxGroupBytes bounds the redo of one group so batches stay well under
// wal.MaxBatchSize.
const maxGroupBytes = wal.MaxBatchSize / 2

// commit queues a commit and waits until it is durable or failed.
func (e *Engine) commit(ctx context.Context, apply applyFunc) (uint64, error) {
	req := &commitReq{apply: apply, done: make(chan commitResult, 1), queued: time.Now()}
	select {
	case e.commitc <- req:
	case <-e.ctx.Done():
		return 0, ErrClosed
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	// Once queued, the commit's outcome is decided by the committer; wait
	// for it even if ctx ends, so the caller never reports a commit that
	// later turns out durable as failed.
	res := <-req.done
	return res.csn, res.err
}

// maxInFlight bounds the commit groups whose appends are in flight at
// once when storage takes pipelined appends.
const maxInFlight = 8

// flight is a commit group whose batch storage is making durable.
type flight struct {
	out    <-chan storage.AppendOutcome
	cancel context.CancelFunc
	ok     []pending
	first  wal.LSN
	last   wal.LSN
	csn    uint64
	bytes  int
	// When the committer took the group and when its append started:
	// the commit stage timings in Stats.
	began, appended time.Time
}

type pending struct {
	req *commitReq
	csn uint64
}

// runCommitter is the committer goroutine. With a storage.Pipeliner it
// forms and sends the next group while earlier ones are in flight
// (storage merges them into one fsync), acknowledging groups strictly in
// log order; otherwise each group's append completes before the next.
func (e *Engine) runCommitter() {
	defer e.wg.Done()
	pipe, _ := e.st.(storage.Pipeliner)
	var group []*commitReq
	var inflight []*flight
	for {
		var oldest <-chan storage.AppendOutcome
		if len(inflight) > 0 {
			oldest = inflight[0].out
		}
		reqc := e.commitc
		if len(inflight) >= maxInFlight {
			reqc = nil
		}
		select {
		case req := <-reqc:
			group = append(group[:0], req)
		drain:
			for len(group) < 1024 {
				select {
				case req := <-e.commitc:
					group = append(group, req)
				default:
					break drain
				}
			}
			if f := e.startGroup(group, pipe); f != nil {
				inflight = append(inflight, f)
			}
		case o := <-oldest:
			inflight = e.settle(inflight, &o)
		case <-e.ctx.Done():
			// Queued commits fail; groups in flight get their real outcome.
			for len(inflight) > 0 {
				o := <-inflight[0].out
				inflight = e.settle(inflight, &o)
			}
			e.drainCommits()
			return
		}
	}
}

// drainCommits fails queued commits at shutdown.
func (e *Engine) drainCommits() {
	for {
		select {
		case req := <-e.commitc:
			req.done <- commitResult{err: ErrClosed}
		default:
			return
		}
	}
}

// startGroup writes one group's versions into pages, encodes its batch and
// starts the append. It returns the group in flight, or nil when nothing
// is left to wait for (no commit applied, or the append completed here).
func (e *Engine) startGroup(group []*commitReq, pipe storage.Pipeliner) *flight {
	if err := e.recoverWrites(e.ctx); err != nil {
		for _, req := range group {
			req.done <- commitResult{err: err}
		}
		return nil
	}
	ctx := e.ctx
	var recs []wal.Record
	first := e.nextLSN
	next := first
	csn := e.lastCSN
	var ok []pending
	began := time.Now()
	m := mtr.New()
	size := 0
	for i, req := range group {
		if size > maxGroupBytes {
			// Leave the rest for the next round.
			go func(rest []*commitReq) {
				for _, r := range rest {
					e.commitc <- r
				}
			}(append([]*commitReq(nil), group[i:]...))
			break
		}
		c := csn + 1
		if err := req.apply(ctx, m, c); err != nil {
			m.Abort()
			req.done <- commitResult{err: err}
			continue
		}
		before := len(recs)
		recs, next = m.Finish(recs, next)
		recs = append(recs, wal.Commit(next, c))
		next++
		m.Release()
		for _, r := range recs[before:] {
			size += len(r.Data) + 16
		}
		csn = c
		ok = append(ok, pending{req, c})
	}
	if len(ok) == 0 {
		return nil
	}
	batch := wal.Batch{Epoch: e.epoch, FirstLSN: first, Records: recs}
	raw, err := batch.Encode(nil)
	f := &flight{ok: ok, first: first, last: batch.LastLSN(), csn: csn, bytes: len(raw), began: began, appended: time.Now()}
	// The next group continues the numbering; a failure resets both from
	// storage (recoverWrites).
	e.nextLSN, e.lastCSN = next, csn
	if err == nil && pipe != nil {
		actx, cancel := context.WithTimeout(ctx, e.cfg.CommitTimeout)
		f.cancel = cancel
		if f.out, err = pipe.StartAppend(actx, raw); err == nil {
			return f
		}
		cancel()
	}
	if err == nil {
		actx, cancel := context.WithTimeout(ctx, e.cfg.CommitTimeout)
		_, err = e.st.Append(actx, raw)
		cancel()
	}
	done := make(chan storage.AppendOutcome, 1)
	done <- storage.AppendOutcome{Err: err}
	f.out = done
	e.settle([]*flight{f}, nil)
	return nil
}

// settle handles the outcome of the oldest group in flight (o, or read from
// its channel when o is nil). On success the group is acknowledged. On
// failure every later group's outcome is collected too, the batches are
// fenced with a new epoch, those that reached the durable end of the log
// are acknowledged and the rest fail, and writes stop until recovery. It
// returns the groups still in flight.
func (e *Engine) settle(inflight []*flight, o *storage.AppendOutcome) []*flight {
	f := inflight[0]
	var out storage.AppendOutcome
	if o != nil {
		out = *o
	} else {
		out = <-f.out
	}
	if out.Err == nil {
		e.acknowledge(f)
		return inflight[1:]
	}
	for _, later := range inflight[1:] {
		<-later.out // their batches follow a failed one: only fencing tells
	}
	err := out.Err
	durable := wal.LSN(0)
	if errors.Is(err, storage.ErrStaleEpoch) {
		err = fmt.Errorf("another primary took over: %w", err)
	} else {
		fctx, cancel := context.WithTimeout(e.ctx, e.cfg.CommitTimeout)
		epoch, end, ferr := e.st.BumpEpoch(fctx, e.cfg.NodeName, e.epoch)
		cancel()
		if ferr != nil {
			err = fmt.Errorf("append failed (%v) and fencing failed: %w", err, ferr)
		} else {
			e.epoch, durable = epoch, end
		}
	}
	var failed []*flight
	for _, g := range inflight {
		if g.cancel != nil {
			g.cancel()
		}
		if durable >= g.last {
			e.log.Warn("commit outcome was unknown; the batch is durable", "last_lsn", g.last)
			e.acknowledge(g)
		} else {
			failed = append(failed, g)
		}
	}
	if len(failed) > 0 {
		e.failWrites(fmt.Errorf("commit of LSNs %d..%d: %w", failed[0].first, failed[len(failed)-1].last, err))
		for _, g := range failed {
			for _, p := range g.ok {
				p.req.done <- commitResult{err: fmt.Errorf("%w: %v", ErrWritesStopped, err)}
			}
		}
	}
	return nil
}

// acknowledge makes a durable group visible and tells its committers.
func (e *Engine) acknowledge(f *flight) {
	if f.cancel != nil {
		f.cancel()
	}
	e.pool.SetDurable(f.last)
	e.visibleCSN.Store(f.csn)
	e.stats.commits.Add(uint64(len(f.ok)))
	e.stats.batches.Add(1)
	e.stats.redoBytes.Add(uint64(f.bytes))
	now := time.Now()
	n := time.Duration(len(f.ok))
	var wait, total time.Duration
	for _, p := range f.ok {
		wait += f.began.Sub(p.req.queued)
		total += now.Sub(p.req.queued)
	}
	e.stats.waitNs.Add(uint64(wait))
	e.stats.writeNs.Add(uint64(n * f.appended.Sub(f.began)))
	e.stats.durableNs.Add(uint64(n * now.Sub(f.appended)))
	e.stats.totalNs.Add(uint64(total))
	for _, p := range f.ok {
		p.req.done <- commitResult{csn: p.csn}
	}
}
