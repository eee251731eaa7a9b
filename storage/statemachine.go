package storage

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/polarsql/polar/proto/storagepb"
	"github.com/polarsql/polar/wal"
)

// ReaderTTL is how long a compute node's reported read point counts
// towards the GC horizon without being renewed.
const ReaderTTL = 30 * time.Second

// stateMachine applies committed Raft entries: WAL batches into the page
// store and the streamable log, and cluster metadata. Only the node's apply
// goroutine calls apply (a snapshot install first waits for it to drain);
// everything else reads published state under mu.
type stateMachine struct {
	db    *pebble.DB
	pages *PageStore
	log   *slog.Logger

	mu       sync.Mutex
	applied  uint64  // last applied Raft index
	lastLSN  wal.LSN // durable end of the log
	meta     metadata
	firstLSN wal.LSN            // oldest LSN StreamWAL can still serve (local; moves with GC)
	recent   map[wal.LSN]uint32 // lastLSN -> CRC of recently applied batches, for retries
	notify   chan struct{}      // closed and replaced whenever something is applied
}

// metadata is the replicated cluster metadata, stored as JSON under
// metaKey("meta"); it changes rarely.
type metadata struct {
	Epoch   uint64               `json:"epoch"`
	Primary string               `json:"primary"`
	Members map[uint64]member    `json:"members"`
	Readers map[string]readPoint `json:"readers"`
	Horizon wal.LSN              `json:"horizon"`
}

type member struct {
	Addr    string `json:"addr"`
	Learner bool   `json:"learner"`
}

type readPoint struct {
	LSN    wal.LSN `json:"lsn"`
	UnixMS int64   `json:"unix_ms"`
}

// applyResult is what a proposer learns about its command.
type applyResult struct {
	err       error
	lastLSN   wal.LSN
	duplicate bool
	epoch     uint64
	horizon   wal.LSN
}

var (
	keyApplied = metaKey("applied") // raft index u64 | lastLSN u64
	keyMeta    = metaKey("meta")
)

func openStateMachine(db *pebble.DB, pages *PageStore, log *slog.Logger) (*stateMachine, error) {
	sm := &stateMachine{db: db, pages: pages, log: log, notify: make(chan struct{}), recent: map[wal.LSN]uint32{}}
	if err := sm.load(); err != nil {
		return nil, err
	}
	return sm, nil
}

// load reads the persisted apply progress and metadata.
func (sm *stateMachine) load() error {
	sm.applied, sm.lastLSN = 0, 0
	sm.meta = metadata{Members: map[uint64]member{}, Readers: map[string]readPoint{}}
	v, closer, err := sm.db.Get(keyApplied)
	switch {
	case errors.Is(err, pebble.ErrNotFound):
	case err != nil:
		return fmt.Errorf("storage: read apply progress: %w", err)
	default:
		if len(v) != 16 {
			closer.Close()
			return fmt.Errorf("storage: apply progress of %d bytes", len(v))
		}
		sm.applied = binary.BigEndian.Uint64(v)
		sm.lastLSN = wal.LSN(binary.BigEndian.Uint64(v[8:]))
		closer.Close()
	}
	v, closer, err = sm.db.Get(keyMeta)
	switch {
	case errors.Is(err, pebble.ErrNotFound):
	case err != nil:
		return fmt.Errorf("storage: read metadata: %w", err)
	default:
		err := json.Unmarshal(v, &sm.meta)
		closer.Close()
		if err != nil {
			return fmt.Errorf("storage: decode metadata: %w", err)
		}
		if sm.meta.Members == nil {
			sm.meta.Members = map[uint64]member{}
		}
		if sm.meta.Readers == nil {
			sm.meta.Readers = map[string]readPoint{}
		}
	}
	first, err := sm.oldestWAL()
	if err != nil {
		return err
	}
	sm.firstLSN = first
	return nil
}

// oldestWAL returns the first LSN of the oldest retained batch (lastLSN+1
// if none is retained).
func (sm *stateMachine) oldestWAL() (wal.LSN, error) {
	it, err := sm.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixWAL}, UpperBound: []byte{prefixWAL + 1}})
	if err != nil {
		return 0, fmt.Errorf("storage: scan wal: %w", err)
	}
	defer it.Close()
	if !it.First() {
		return sm.lastLSN + 1, it.Error()
	}
	h, err := wal.DecodeHeader(it.Value())
	if err != nil {
		return 0, fmt.Errorf("storage: oldest wal batch: %w", err)
	}
	return h.FirstLSN, nil
}

// apply applies committed entries in one Pebble batch and publishes the
// result. It returns the results of this node's commands by request id.
// Entries at or below the applied index (replayed after a restart or a
// snapshot) change nothing.
func (sm *stateMachine) apply(ents []*raftpb.Entry) (map[uint64]applyResult, error) {
	applied, lastLSN := sm.applied, sm.lastLSN
	meta := sm.meta
	metaChanged := false
	cloneMeta := func() {
		if metaChanged {
			return
		}
		metaChanged = true
		m := metadata{Epoch: meta.Epoch, Primary: meta.Primary, Horizon: meta.Horizon,
			Members: make(map[uint64]member, len(meta.Members)), Readers: make(map[string]readPoint, len(meta.Readers))}
		for k, v := range meta.Members {
			m.Members[k] = v
		}
		for k, v := range meta.Readers {
			m.Readers[k] = v
		}
		meta = m
	}
	var results map[uint64]applyResult
	var batches []*wal.Batch
	recent := map[wal.LSN]uint32{}
	wb := sm.db.NewBatch()
	defer wb.Close()
	for i := range ents {
		e := ents[i]
		if e.GetIndex() <= applied {
			continue
		}
		applied = e.GetIndex()
		switch e.GetType() {
		case raftpb.EntryNormal:
			if len(e.Data) == 0 {
				continue // a new leader's empty entry
			}
			cmd, err := decodeCommand(e.Data)
			if err != nil {
				sm.log.Error("skipping undecodable raft entry", "index", e.GetIndex(), "err", err)
				continue
			}
			var res applyResult
			switch cmd.typ {
			case cmdAppend:
				var b *wal.Batch
				b, res = sm.applyAppend(wb, cmd.body, meta.Epoch, lastLSN, recent)
				if b != nil {
					batches = append(batches, b)
					lastLSN = b.LastLSN()
					recent[lastLSN] = binary.LittleEndian.Uint32(cmd.body[len(cmd.body)-4:])
				}
				res.lastLSN = lastLSN
			case cmdBumpEpoch:
				var req storagepb.BumpEpochRequest
				if err := proto.Unmarshal(cmd.body, &req); err != nil {
					res.err = fmt.Errorf("%w: bump epoch: %v", ErrInvalid, err)
					break
				}
				if req.ExpectEpoch != 0 && req.ExpectEpoch != meta.Epoch {
					res.err = fmt.Errorf("%w: epoch is %d, not %d", ErrStaleEpoch, meta.Epoch, req.ExpectEpoch)
					res.epoch = meta.Epoch
					break
				}
				cloneMeta()
				meta.Epoch++
				meta.Primary = req.Primary
				res.epoch, res.lastLSN = meta.Epoch, lastLSN
			case cmdReportRead:
				var req storagepb.ReportReadLSNRequest
				if err := proto.Unmarshal(cmd.body, &req); err != nil {
					res.err = fmt.Errorf("%w: report read lsn: %v", ErrInvalid, err)
					break
				}
				cloneMeta()
				if req.Leave {
					delete(meta.Readers, req.Node)
				} else {
					meta.Readers[req.Node] = readPoint{LSN: wal.LSN(req.Lsn), UnixMS: cmd.unixMS}
				}
				meta.Horizon = computeHorizon(meta.Readers, meta.Horizon, lastLSN, cmd.unixMS)
				res.horizon = meta.Horizon
			}
			if results == nil {
				results = map[uint64]applyResult{}
			}
			results[cmd.reqID] = res
		case raftpb.EntryConfChange:
			var cc raftpb.ConfChange
			if err := proto.Unmarshal(e.Data, &cc); err != nil {
				return nil, fmt.Errorf("storage: decode conf change at %d: %w", e.GetIndex(), err)
			}
			cloneMeta()
			switch cc.GetType() {
			case raftpb.ConfChangeAddNode, raftpb.ConfChangeAddLearnerNode:
				meta.Members[cc.GetNodeId()] = member{Addr: string(cc.Context), Learner: cc.GetType() == raftpb.ConfChangeAddLearnerNode}
			case raftpb.ConfChangeRemoveNode:
				delete(meta.Members, cc.GetNodeId())
			}
		}
	}
	if applied == sm.applied {
		return results, nil
	}
	var prog [16]byte
	binary.BigEndian.PutUint64(prog[:], applied)
	binary.BigEndian.PutUint64(prog[8:], uint64(lastLSN))
	if err := wb.Set(keyApplied, prog[:], nil); err != nil {
		return nil, fmt.Errorf("storage: write apply progress: %w", err)
	}
	if metaChanged {
		v, err := json.Marshal(&meta)
		if err != nil {
			return nil, fmt.Errorf("storage: encode metadata: %w", err)
		}
		if err := wb.Set(keyMeta, v, nil); err != nil {
			return nil, fmt.Errorf("storage: write metadata: %w", err)
		}
	}
	// NoSync: the Raft log is the durable copy; a crash replays entries
	// after the last persisted applied index.
	if err := wb.Commit(pebble.NoSync); err != nil {
		return nil, fmt.Errorf("storage: commit applied entries: %w", err)
	}
	for _, b := range batches {
		sm.pages.Committed(b)
	}
	sm.mu.Lock()
	sm.applied, sm.lastLSN, sm.meta = applied, lastLSN, meta
	if len(sm.recent) > 4096 {
		sm.recent = map[wal.LSN]uint32{}
	}
	for k, v := range recent {
		sm.recent[k] = v
	}
	close(sm.notify)
	sm.notify = make(chan struct{})
	sm.mu.Unlock()
	return results, nil
}

// applyAppend validates one batch against the log and adds it to wb. A
// batch that was already applied (a client's retry) is reported as a
// duplicate and changes nothing.
func (sm *stateMachine) applyAppend(wb *pebble.Batch, raw []byte, epoch uint64, lastLSN wal.LSN, pending map[wal.LSN]uint32) (*wal.Batch, applyResult) {
	b, err := wal.DecodeBatch(raw)
	if err != nil {
		return nil, applyResult{err: err}
	}
	if b.Epoch != epoch {
		return nil, applyResult{err: fmt.Errorf("%w: batch epoch %d, current epoch %d", ErrStaleEpoch, b.Epoch, epoch), epoch: epoch}
	}
	last := b.LastLSN()
	if last <= lastLSN {
		if sm.isApplied(last, raw, pending) {
			return nil, applyResult{duplicate: true}
		}
		return nil, applyResult{err: fmt.Errorf("%w: batch [%d,%d] overlaps the log ending at %d", ErrLSNGap, b.FirstLSN, last, lastLSN)}
	}
	if b.FirstLSN != lastLSN+1 {
		return nil, applyResult{err: fmt.Errorf("%w: batch starts at %d, log ends at %d", ErrLSNGap, b.FirstLSN, lastLSN)}
	}
	if err := sm.pages.AddBatch(wb, b); err != nil {
		return nil, applyResult{err: fmt.Errorf("storage: add batch: %w", err)}
	}
	if err := wb.Set(walKey(last), raw, nil); err != nil {
		return nil, applyResult{err: fmt.Errorf("storage: write wal: %w", err)}
	}
	return b, applyResult{}
}

// isApplied reports whether exactly this batch is the one applied ending at
// last.
func (sm *stateMachine) isApplied(last wal.LSN, raw []byte, pending map[wal.LSN]uint32) bool {
	crc := binary.LittleEndian.Uint32(raw[len(raw)-4:])
	if c, ok := pending[last]; ok {
		return c == crc
	}
	sm.mu.Lock()
	c, ok := sm.recent[last]
	sm.mu.Unlock()
	if ok {
		return c == crc
	}
	v, closer, err := sm.db.Get(walKey(last))
	if err != nil {
		return false
	}
	defer closer.Close()
	return string(v) == string(raw)
}

// computeHorizon is the minimum read LSN over readers reported within
// ReaderTTL of now; it never moves backwards and never passes the log end.
// Readers that expired are dropped from the map.
func computeHorizon(readers map[string]readPoint, prev, lastLSN wal.LSN, nowMS int64) wal.LSN {
	h := wal.LSN(math.MaxUint64)
	for node, rp := range readers {
		if nowMS-rp.UnixMS > ReaderTTL.Milliseconds() {
			delete(readers, node)
			continue
		}
		h = min(h, rp.LSN)
	}
	if len(readers) == 0 {
		return prev
	}
	h = min(h, lastLSN)
	return max(h, prev)
}

// state returns the published apply progress.
func (sm *stateMachine) state() (applied uint64, lastLSN wal.LSN) {
	sm.mu.Lock()
	defer sm.mu.Unlock()
	return sm.applied, sm.lastLSN
}

// metadata returns a copy of the published metadata.
func (sm *stateMachine) metadata() metadata {
	sm.mu.Lock()
	defer sm.mu.Unlock()
	m := sm.meta
	m.Members = make(map[uint64]member, len(sm.meta.Members))
	for k, v := range sm.meta.Members {
		m.Members[k] = v
	}
	m.Readers = make(map[string]readPoint, len(sm.meta.Readers))
	for k, v := range sm.meta.Readers {
		m.Readers[k] = v
	}
	return m
}

// sortedMembers lists members by id.
func (m metadata) sortedMembers() []*storagepb.Member {
	out := make([]*storagepb.Member, 0, len(m.Members))
	for id, mb := range m.Members {
		out = append(out, &storagepb.Member{Id: id, Addr: mb.Addr, Learner: mb.Learner})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Id < out[j].Id })
	return out
}

// waitLSN blocks until the node has applied lsn or ctx ends.
func (sm *stateMachine) waitLSN(ctx context.Context, lsn wal.LSN) error {
	for {
		sm.mu.Lock()
		last, ch := sm.lastLSN, sm.notify
		sm.mu.Unlock()
		if last >= lsn {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("%w: waiting for LSN %d, applied %d: %v", ErrTimeout, lsn, last, ctx.Err())
		}
	}
}

// changed returns a channel closed at the next apply.
func (sm *stateMachine) changed() <-chan struct{} {
	sm.mu.Lock()
	defer sm.mu.Unlock()
	return sm.notify
}

// readPage answers GetPage once lsn is applied.
func (sm *stateMachine) readPage(ctx context.Context, page wal.PageID, lsn wal.LSN) ([]byte, wal.LSN, error) {
	if err := sm.waitLSN(ctx, lsn); err != nil {
		return nil, 0, err
	}
	return sm.pages.ReadPage(page, lsn)
}

// collectWAL drops streamable batches wholly below the horizon. Pages are
// collected by the page store.
func (sm *stateMachine) collectWAL(horizon wal.LSN) error {
	sm.mu.Lock()
	first := sm.firstLSN
	sm.mu.Unlock()
	if horizon <= first {
		return nil
	}
	// Find the newest batch ending below horizon; everything up to it goes.
	it, err := sm.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixWAL}, UpperBound: walKey(horizon)})
	if err != nil {
		return fmt.Errorf("storage: scan wal: %w", err)
	}
	ok := it.Last()
	var end []byte
	if ok {
		end = append([]byte(nil), it.Key()...)
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("storage: scan wal: %w", err)
	}
	if !ok {
		return nil
	}
	endLSN := wal.LSN(binary.BigEndian.Uint64(end[1:]))
	if err := sm.db.DeleteRange([]byte{prefixWAL}, walKey(endLSN+1), pebble.NoSync); err != nil {
		return fmt.Errorf("storage: drop wal below %d: %w", horizon, err)
	}
	sm.mu.Lock()
	sm.firstLSN = endLSN + 1
	sm.mu.Unlock()
	return nil
}

// streamFrom returns the retained batches whose records reach from or
// later, up to max bytes, in LSN order.
func (sm *stateMachine) streamFrom(from wal.LSN, maxBytes int) ([][]byte, error) {
	sm.mu.Lock()
	first := sm.firstLSN
	sm.mu.Unlock()
	if from < first && from != 0 {
		return nil, fmt.Errorf("%w: LSN %d was collected; the log starts at %d", ErrBelowHorizon, from, first)
	}
	it, err := sm.db.NewIter(&pebble.IterOptions{LowerBound: walKey(from), UpperBound: []byte{prefixWAL + 1}})
	if err != nil {
		return nil, fmt.Errorf("storage: scan wal: %w", err)
	}
	defer it.Close()
	var out [][]byte
	n := 0
	for ok := it.First(); ok && (n < maxBytes || len(out) == 0); ok = it.Next() {
		v := append([]byte(nil), it.Value()...)
		out = append(out, v)
		n += len(v)
	}
	return out, it.Error()
}

// reload re-reads everything from Pebble after a snapshot install and
// wakes waiters.
func (sm *stateMachine) reload() error {
	sm.mu.Lock()
	defer sm.mu.Unlock()
	if err := sm.load(); err != nil {
		return err
	}
	sm.recent = map[wal.LSN]uint32{}
	close(sm.notify)
	sm.notify = make(chan struct{})
	return nil
}
