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
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/polarsql/polar/proto/storagepb"
	"github.com/polarsql/polar/wal"
)

// ReaderTTL is how long a compute node's reported read point counts
// towards the GC horizon without being renewed.
const ReaderTTL = 30 * time.Second

// stateMachine applies committed Raft entries: WAL batches into the page
// store and the stream index, and cluster metadata. Only the node's apply
// goroutine calls apply (a snapshot install first waits for it to drain);
// everything else reads published state under mu.
//
// StreamWAL serves batches from the Raft log, which holds them anyway: the
// state machine keeps only a reference from each batch's last LSN to its
// Raft entry. Copying every batch into the state store was a third of what
// it wrote, flushed and compacted. Before the log is truncated, the
// batches above the GC horizon that it would take along are copied into
// the state (keepBatches); with a compute node reporting, that is a
// fraction of them, and below the horizon nothing needs to be kept.
type stateMachine struct {
	db    *pebble.DB
	pages *PageStore
	rlog  *RaftLog
	log   *slog.Logger

	// walMu orders keepBatches' copies against collectWAL's deletes, so a
	// copy never brings back a collected batch.
	walMu sync.Mutex

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

func openStateMachine(db *pebble.DB, pages *PageStore, rlog *RaftLog, log *slog.Logger) (*stateMachine, error) {
	sm := &stateMachine{db: db, pages: pages, rlog: rlog, log: log, notify: make(chan struct{}), recent: map[wal.LSN]uint32{}}
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
	if ref, ok := decodeWALRef(it.Value()); ok {
		return ref.first, nil
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
				b, res = sm.applyAppend(wb, e.GetIndex(), cmd.body, meta.Epoch, lastLSN, recent)
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

// applyAppend validates one batch, the body of the Raft entry at index,
// against the log and adds it to wb. A batch that was already applied (a
// client's retry) is reported as a duplicate and changes nothing.
func (sm *stateMachine) applyAppend(wb *pebble.Batch, index uint64, raw []byte, epoch uint64, lastLSN wal.LSN, pending map[wal.LSN]uint32) (*wal.Batch, applyResult) {
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
	ref := walRef{index: index, first: b.FirstLSN, crc: binary.LittleEndian.Uint32(raw[len(raw)-4:])}
	if err := wb.Set(walKey(last), ref.encode(), nil); err != nil {
		return nil, applyResult{err: fmt.Errorf("storage: write wal index: %w", err)}
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
	if ref, ok := decodeWALRef(v); ok {
		return ref.crc == crc
	}
	return string(v) == string(raw)
}

// A stream index value (key walKey(last)) is either a walRef, tagged with
// walRefTag, or a whole encoded batch, which starts with its format
// version: batches arrive whole in snapshots, whose receiver lacks the
// Raft entries before them.
const (
	walRefTag  = 0xff
	walRefSize = 1 + 8 + 8 + 4
)

// walRef locates a committed batch in the Raft log.
type walRef struct {
	index uint64  // the Raft entry holding the batch
	first wal.LSN // the batch's first LSN
	crc   uint32  // the batch's CRC (its last 4 bytes)
}

func (r walRef) encode() []byte {
	b := make([]byte, walRefSize)
	b[0] = walRefTag
	binary.BigEndian.PutUint64(b[1:], r.index)
	binary.BigEndian.PutUint64(b[9:], uint64(r.first))
	binary.LittleEndian.PutUint32(b[17:], r.crc)
	return b
}

func decodeWALRef(v []byte) (walRef, bool) {
	if len(v) != walRefSize || v[0] != walRefTag {
		return walRef{}, false
	}
	return walRef{index: binary.BigEndian.Uint64(v[1:]), first: wal.LSN(binary.BigEndian.Uint64(v[9:])), crc: binary.LittleEndian.Uint32(v[17:])}, true
}

// resolveWAL returns the batch ending at last that the stream index value
// v stands for, reading it from rlog when v is a reference.
func resolveWAL(rlog *RaftLog, last wal.LSN, v []byte) ([]byte, error) {
	ref, ok := decodeWALRef(v)
	if !ok {
		return append([]byte(nil), v...), nil
	}
	ents, err := rlog.Entries(ref.index, ref.index+1, math.MaxUint64)
	if errors.Is(err, raft.ErrCompacted) {
		first, _ := rlog.FirstIndex()
		return nil, fmt.Errorf("%w: the batch ending at LSN %d (Raft entry %d) was truncated from the log, which starts at entry %d", ErrBelowHorizon, last, ref.index, first)
	}
	if err != nil {
		return nil, fmt.Errorf("storage: read the batch ending at LSN %d: %w", last, err)
	}
	cmd, err := decodeCommand(ents[0].Data)
	if err != nil || cmd.typ != cmdAppend || len(cmd.body) < 4 || binary.LittleEndian.Uint32(cmd.body[len(cmd.body)-4:]) != ref.crc {
		return nil, fmt.Errorf("storage: Raft entry %d does not hold the batch ending at LSN %d", ref.index, last)
	}
	return cmd.body, nil
}

// keepBatches copies the batches at or above the GC horizon whose Raft
// entries are at or below index into the state, whole, so StreamWAL still
// serves them after the log is truncated to index. Only the apply
// goroutine calls it.
func (sm *stateMachine) keepBatches(index uint64) error {
	sm.walMu.Lock()
	defer sm.walMu.Unlock()
	sm.mu.Lock()
	from := max(sm.meta.Horizon, sm.firstLSN)
	sm.mu.Unlock()
	it, err := sm.db.NewIter(&pebble.IterOptions{LowerBound: walKey(from), UpperBound: []byte{prefixWAL + 1}})
	if err != nil {
		return fmt.Errorf("storage: scan wal: %w", err)
	}
	defer it.Close()
	wb := sm.db.NewBatch()
	defer wb.Close()
	for ok := it.First(); ok; ok = it.Next() {
		ref, isRef := decodeWALRef(it.Value())
		if !isRef {
			continue
		}
		if ref.index > index {
			break
		}
		raw, err := resolveWAL(sm.rlog, wal.LSN(binary.BigEndian.Uint64(it.Key()[1:])), it.Value())
		if errors.Is(err, ErrBelowHorizon) {
			// Already gone (it cannot be, by the order of copies, flushes
			// and truncations): StreamWAL will refuse it, the node goes on.
			sm.log.Warn("stream batch lost before it could be kept", "err", err)
			continue
		}
		if err != nil {
			return err
		}
		if err := wb.Set(it.Key(), raw, nil); err != nil {
			return fmt.Errorf("storage: keep batch: %w", err)
		}
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("storage: scan wal: %w", err)
	}
	if wb.Empty() {
		return nil
	}
	if err := wb.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("storage: keep batches: %w", err)
	}
	return nil
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
	sm.walMu.Lock()
	defer sm.walMu.Unlock()
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
		last := wal.LSN(binary.BigEndian.Uint64(it.Key()[1:]))
		v, err := resolveWAL(sm.rlog, last, it.Value())
		if err != nil {
			return nil, err
		}
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
