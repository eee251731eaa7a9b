package engine

import (
	"context"
	"errors"
	"fmt"

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
	apply applyFunc
	done  chan commitResult
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
	req := &commitReq{apply: apply, done: make(chan commitResult, 1)}
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

// runCommitter is the committer goroutine.
func (e *Engine) runCommitter() {
	defer e.wg.Done()
	var group []*commitReq
	for {
		group = group[:0]
		select {
		case req := <-e.commitc:
			group = append(group, req)
		case <-e.ctx.Done():
			e.drainCommits()
			return
		}
	drain:
		for len(group) < 1024 {
			select {
			case req := <-e.commitc:
				group = append(group, req)
			default:
				break drain
			}
		}
		e.commitGroup(group)
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

// commitGroup writes, logs and acknowledges one group.
func (e *Engine) commitGroup(group []*commitReq) {
	if err := e.recoverWrites(e.ctx); err != nil {
		for _, req := range group {
			req.done <- commitResult{err: err}
		}
		return
	}
	ctx := e.ctx
	var recs []wal.Record
	first := e.nextLSN
	next := first
	csn := e.lastCSN
	type pending struct {
		req *commitReq
		csn uint64
	}
	var ok []pending
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
		return
	}
	batch := wal.Batch{Epoch: e.epoch, FirstLSN: first, Records: recs}
	raw, err := batch.Encode(nil)
	if err == nil {
		err = e.append(ctx, raw, batch.LastLSN())
	}
	if err != nil {
		e.failWrites(fmt.Errorf("commit of LSNs %d..%d: %w", first, batch.LastLSN(), err))
		for _, p := range ok {
			p.req.done <- commitResult{err: fmt.Errorf("%w: %v", ErrWritesStopped, err)}
		}
		return
	}
	e.nextLSN = next
	e.lastCSN = csn
	e.pool.SetDurable(next - 1)
	e.visibleCSN.Store(csn)
	e.stats.commits.Add(uint64(len(ok)))
	e.stats.batches.Add(1)
	e.stats.redoBytes.Add(uint64(len(raw)))
	for _, p := range ok {
		p.req.done <- commitResult{csn: p.csn}
	}
}

// append makes a batch durable. The storage client retries what is safe;
// if the outcome stays unknown, the engine fences itself with a new epoch
// and reads the durable end of the log to learn whether the batch made it.
func (e *Engine) append(ctx context.Context, raw []byte, last wal.LSN) error {
	actx, cancel := context.WithTimeout(ctx, e.cfg.CommitTimeout)
	_, err := e.st.Append(actx, raw)
	cancel()
	if err == nil {
		return nil
	}
	if errors.Is(err, storage.ErrStaleEpoch) {
		return fmt.Errorf("another primary took over: %w", err)
	}
	if !errors.Is(err, storage.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	// Unknown outcome: fence the batch, then look.
	fctx, fcancel := context.WithTimeout(e.ctx, e.cfg.CommitTimeout)
	defer fcancel()
	epoch, end, ferr := e.st.BumpEpoch(fctx, e.cfg.NodeName, e.epoch)
	if ferr != nil {
		return fmt.Errorf("append timed out (%v) and fencing failed: %w", err, ferr)
	}
	e.epoch = epoch
	if end >= last {
		e.log.Warn("commit outcome was unknown; the batch is durable", "last_lsn", last)
		return nil
	}
	return fmt.Errorf("append timed out and the batch is not durable (log ends at %d): %w", end, err)
}
