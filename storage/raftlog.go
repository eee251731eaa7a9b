package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// Raft log keys (see keys.go for the overall layout). The helpers live here
// rather than in keys.go because only the raft log uses them.
const (
	raftHardStateSuffix = 'h'
	raftSnapshotSuffix  = 's'
	raftEntrySuffix     = 'e'
)

// raftHardStateKey is the key of the marshalled raftpb.HardState.
func raftHardStateKey() []byte { return []byte{prefixRaft, raftHardStateSuffix} }

// raftSnapshotKey is the key of the marshalled snapshot metadata (a
// raftpb.Snapshot whose Data is always empty).
func raftSnapshotKey() []byte { return []byte{prefixRaft, raftSnapshotSuffix} }

// raftEntryKey returns the key of the raft entry at index. The index is
// big-endian so that entries sort by index and can be range-scanned/deleted.
func raftEntryKey(index uint64) []byte {
	k := make([]byte, 10)
	k[0] = prefixRaft
	k[1] = raftEntrySuffix
	binary.BigEndian.PutUint64(k[2:], index)
	return k
}

// raftEntriesEnd is an exclusive upper bound for every raft entry key: the
// prefix successor of "re". raftEntryKey(math.MaxUint64) would not do, as an
// exclusive bound it would miss that very key.
func raftEntriesEnd() []byte { return []byte{prefixRaft, raftEntrySuffix + 1} }

// parseRaftEntryKey returns the index encoded in a raft entry key.
func parseRaftEntryKey(k []byte) (uint64, bool) {
	if len(k) != 10 || k[0] != prefixRaft || k[1] != raftEntrySuffix {
		return 0, false
	}
	return binary.BigEndian.Uint64(k[2:]), true
}

// raftLogLimits bounds the in-memory caches of a RaftLog. It is a parameter
// (rather than constants) so tests can shrink it and exercise the paths that
// fall back to Pebble.
type raftLogLimits struct {
	// terms is how many trailing entry terms are kept in memory. Term() for
	// older indexes (only needed when probing lagging followers) reads Pebble.
	terms int
	// cacheEntries and cacheBytes bound the cache of trailing entries: the
	// leader ships freshly appended entries to followers right away, so
	// keeping them avoids a Pebble read per MsgApp.
	cacheEntries int
	cacheBytes   int
}

// defaultRaftLogLimits are the limits used by OpenRaftLog. Terms are 8 bytes
// each, so a large window is cheap; the entry cache is bounded by bytes too
// because entries carry WAL batches of arbitrary size.
var defaultRaftLogLimits = raftLogLimits{
	terms:        1 << 16,
	cacheEntries: 1024,
	cacheBytes:   64 << 20,
}

// cachedEntry is an entry in the trailing-entries cache together with its
// encoded size, so that Entries can apply maxSize without recomputing it.
type cachedEntry struct {
	ent  *raftpb.Entry
	size uint64
}

// RaftLog is a raft.Storage persisted in the storage node's Pebble instance
// under the 'r' key prefix. Besides the six raft.Storage methods it offers
// Save (persist a Ready's HardState and Entries), ApplySnapshot,
// CreateSnapshot and Compact, mirroring raft.MemoryStorage.
//
// The log always has a "dummy" entry at FirstIndex()-1 whose term is known
// (raft needs it to match the entry preceding the first available one). It
// is persisted as a regular entry key holding only Index and Term, which
// makes it survive restarts without any extra key: the first entry key in
// Pebble is the dummy.
//
// RaftLog is safe for concurrent use. raft itself calls it from the node
// goroutine, but request handlers read Term/LastIndex concurrently, so two
// locks are used:
//   - wmu serializes mutations and Pebble reads of the log, and is held
//     across batch commits (including fsync);
//   - mu guards the in-memory state and is only held briefly, so that
//     Term/LastIndex/FirstIndex readers never wait for an fsync.
//
// Mutators read the in-memory state under wmu alone (no one else can change
// it) and take mu only to publish the new state after their batch committed.
type RaftLog struct {
	db     *pebble.DB
	limits raftLogLimits
	syncs  atomic.Uint64 // fsynced saves (group commit: commits per fsync)

	wmu sync.Mutex
	mu  sync.RWMutex

	// hs is the last stored hard state (never nil; empty if none stored).
	hs *raftpb.HardState
	// snap is the last snapshot's metadata (never nil, Data always nil).
	snap *raftpb.Snapshot
	// dummyIndex/dummyTerm describe the entry at FirstIndex()-1.
	dummyIndex, dummyTerm uint64
	// dummyStored records whether the dummy entry key exists in Pebble. It is
	// false only for a log that never had an entry, and the first Save then
	// writes it, so that a restart finds it as the first entry key.
	dummyStored bool
	// last is the index of the last entry (== dummyIndex if the log is empty).
	last uint64
	// terms holds the terms of the entries (last-len(terms), last].
	terms []uint64
	// cache holds the entries (last-len(cache), last], cacheBytes their size.
	cache      []cachedEntry
	cacheBytes uint64
}

var _ raft.Storage = (*RaftLog)(nil)

// OpenRaftLog loads the raft log stored in db: hard state, snapshot
// metadata, first and last index, and the terms (and entries) of the tail of
// the log into the in-memory caches. db is shared with other components and
// is not closed by RaftLog.
func OpenRaftLog(db *pebble.DB) (*RaftLog, error) {
	return openRaftLog(db, defaultRaftLogLimits)
}

func openRaftLog(db *pebble.DB, limits raftLogLimits) (*RaftLog, error) {
	l := &RaftLog{db: db, limits: limits, hs: &raftpb.HardState{}}

	if err := getProto(db, raftHardStateKey(), l.hs); err != nil && !errors.Is(err, pebble.ErrNotFound) {
		return nil, fmt.Errorf("raftlog: load hard state: %w", err)
	}
	snap := &raftpb.Snapshot{}
	if err := getProto(db, raftSnapshotKey(), snap); err != nil && !errors.Is(err, pebble.ErrNotFound) {
		return nil, fmt.Errorf("raftlog: load snapshot metadata: %w", err)
	}
	snap.Data = nil
	l.snap = raftpb.EnsureSnapshot(snap)

	it, err := db.NewIter(&pebble.IterOptions{LowerBound: raftEntryKey(0), UpperBound: raftEntriesEnd()})
	if err != nil {
		return nil, fmt.Errorf("raftlog: %w", err)
	}
	defer it.Close()

	if !it.First() {
		if err := it.Error(); err != nil {
			return nil, fmt.Errorf("raftlog: scan entries: %w", err)
		}
		// No entry was ever written: the dummy is the snapshot position
		// (index 0, term 0 for a fresh log).
		l.dummyIndex = l.snap.GetMetadata().GetIndex()
		l.dummyTerm = l.snap.GetMetadata().GetTerm()
		l.last = l.dummyIndex
		return l, nil
	}
	dummy, err := iterEntry(it)
	if err != nil {
		return nil, err
	}
	l.dummyIndex, l.dummyTerm, l.dummyStored = dummy.GetIndex(), dummy.GetTerm(), true

	// Walk the tail backwards to learn the last index and fill the caches.
	// Only as many entries as the entry cache holds are read, so that
	// opening a long log stays cheap; the terms window grows from there as
	// entries are appended.
	if !it.Last() {
		return nil, fmt.Errorf("raftlog: scan entries: %w", it.Error())
	}
	lastKeyIndex, _ := parseRaftEntryKey(it.Key())
	l.last = lastKeyIndex
	var tail []cachedEntry // newest first
	var tailBytes uint64
	for expect := l.last; expect > l.dummyIndex && len(tail) < min(limits.terms, limits.cacheEntries); expect-- {
		if !it.Valid() {
			return nil, fmt.Errorf("raftlog: entry %d missing (dummy %d, last %d): %w", expect, l.dummyIndex, l.last, it.Error())
		}
		e, err := iterEntry(it)
		if err != nil {
			return nil, err
		}
		if e.GetIndex() != expect {
			return nil, fmt.Errorf("raftlog: entry %d missing (found %d)", expect, e.GetIndex())
		}
		tail = append(tail, cachedEntry{ent: e, size: uint64(proto.Size(e))})
		tailBytes += tail[len(tail)-1].size
		it.Prev()
	}
	l.terms = make([]uint64, len(tail))
	for i := range tail {
		l.terms[len(tail)-1-i] = tail[i].ent.GetTerm()
	}
	// Cache the newest entries within the cache limits.
	n := 0
	var bytes uint64
	for n < len(tail) && n < limits.cacheEntries && bytes+tail[n].size <= uint64(limits.cacheBytes) {
		bytes += tail[n].size
		n++
	}
	l.cache = make([]cachedEntry, n)
	for i := 0; i < n; i++ {
		l.cache[n-1-i] = tail[i]
	}
	l.cacheBytes = bytes
	return l, nil
}

// getProto reads key from db and unmarshals it into m. It returns
// pebble.ErrNotFound if the key does not exist.
func getProto(db *pebble.DB, key []byte, m proto.Message) error {
	v, closer, err := db.Get(key)
	if err != nil {
		return err
	}
	defer closer.Close()
	return proto.Unmarshal(v, m)
}

// iterEntry decodes the entry at the iterator's position and checks that it
// is stored under its own index.
func iterEntry(it *pebble.Iterator) (*raftpb.Entry, error) {
	idx, ok := parseRaftEntryKey(it.Key())
	if !ok {
		return nil, fmt.Errorf("raftlog: bad entry key %x", it.Key())
	}
	v, err := it.ValueAndErr()
	if err != nil {
		return nil, fmt.Errorf("raftlog: read entry %d: %w", idx, err)
	}
	e := &raftpb.Entry{}
	// proto.Unmarshal copies bytes fields, so e does not alias the
	// iterator's buffer, which is only valid until the next step.
	if err := proto.Unmarshal(v, e); err != nil {
		return nil, fmt.Errorf("raftlog: decode entry %d: %w", idx, err)
	}
	if e.GetIndex() != idx {
		return nil, fmt.Errorf("raftlog: entry key %d holds entry %d", idx, e.GetIndex())
	}
	return e, nil
}

// InitialState implements raft.Storage. The returned HardState is never nil
// (empty if none was stored); the ConfState comes from the last snapshot.
func (l *RaftLog) InitialState() (*raftpb.HardState, *raftpb.ConfState, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	hs := proto.Clone(l.hs).(*raftpb.HardState)
	cs := proto.Clone(l.snap.GetMetadata().GetConfState()).(*raftpb.ConfState)
	return hs, raftpb.EnsureConfState(cs), nil
}

// termVote returns the persisted hard state's term and vote without
// copying it (InitialState clones the hard and conf states).
func (l *RaftLog) termVote() (term, vote uint64) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.hs.GetTerm(), l.hs.GetVote()
}

// Entries implements raft.Storage: the entries [lo, hi), limited to maxSize
// bytes of encoded entries but always at least one. Like MemoryStorage it
// returns ErrCompacted if lo <= the dummy index and ErrUnavailable if the
// log holds no entry; where MemoryStorage panics (hi beyond the last index,
// lo > hi) it returns an error instead. The returned slice is freshly
// allocated; the entries must not be mutated.
func (l *RaftLog) Entries(lo, hi, maxSize uint64) ([]*raftpb.Entry, error) {
	// wmu (not mu) because entries below the cache are read from Pebble,
	// which must not change under us.
	l.wmu.Lock()
	defer l.wmu.Unlock()

	if lo <= l.dummyIndex {
		return nil, raft.ErrCompacted
	}
	if hi > l.last+1 {
		return nil, fmt.Errorf("raftlog: entries [%d, %d) beyond last index %d: %w", lo, hi, l.last, raft.ErrUnavailable)
	}
	if lo > hi {
		return nil, fmt.Errorf("raftlog: invalid entries range [%d, %d)", lo, hi)
	}
	if l.last == l.dummyIndex {
		return nil, raft.ErrUnavailable
	}

	n := hi - lo
	if n > 256 {
		n = 256 // don't trust hi for a large allocation: maxSize may stop us early
	}
	out := make([]*raftpb.Entry, 0, n)
	var size uint64
	// add applies raft's limitSize rule: the first entry is always
	// included, then entries while the running total stays <= maxSize.
	add := func(e *raftpb.Entry, s uint64) bool {
		if len(out) > 0 && size+s > maxSize {
			return false
		}
		size += s
		out = append(out, e)
		return true
	}

	cacheStart := l.last + 1 - uint64(len(l.cache))
	next := lo
	if end := min(hi, cacheStart); next < end {
		it, err := l.db.NewIter(&pebble.IterOptions{LowerBound: raftEntryKey(next), UpperBound: raftEntryKey(end)})
		if err != nil {
			return nil, fmt.Errorf("raftlog: %w", err)
		}
		full := false
		for ok := it.First(); ok; ok = it.Next() {
			e, err := iterEntry(it)
			if err != nil {
				it.Close()
				return nil, err
			}
			if e.GetIndex() != next {
				it.Close()
				return nil, fmt.Errorf("raftlog: entry %d missing (found %d): %w", next, e.GetIndex(), raft.ErrUnavailable)
			}
			if !add(e, uint64(proto.Size(e))) {
				full = true
				break
			}
			next++
		}
		err = it.Error()
		if cerr := it.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("raftlog: read entries: %w", err)
		}
		if full {
			return out, nil
		}
		if next != end {
			return nil, fmt.Errorf("raftlog: entry %d missing: %w", next, raft.ErrUnavailable)
		}
	}
	for ; next < hi; next++ {
		c := l.cache[next-cacheStart]
		if !add(c.ent, c.size) {
			break
		}
	}
	return out, nil
}

// Term implements raft.Storage: the term of entry i for i in
// [FirstIndex()-1, LastIndex()], ErrCompacted below and ErrUnavailable
// above that range. Recent terms are served from memory; older ones are
// read from Pebble.
func (l *RaftLog) Term(i uint64) (uint64, error) {
	l.mu.RLock()
	t, ok, err := l.cachedTerm(i)
	l.mu.RUnlock()
	if ok || err != nil {
		return t, err
	}
	l.wmu.Lock()
	defer l.wmu.Unlock()
	return l.termLocked(i)
}

// cachedTerm answers Term from memory. ok is false if the entry exists but
// its term is not cached. Callers hold mu or wmu.
func (l *RaftLog) cachedTerm(i uint64) (term uint64, ok bool, err error) {
	switch {
	case i < l.dummyIndex:
		return 0, false, raft.ErrCompacted
	case i > l.last:
		return 0, false, raft.ErrUnavailable
	case i == l.dummyIndex:
		return l.dummyTerm, true, nil
	}
	termsStart := l.last + 1 - uint64(len(l.terms))
	if i >= termsStart {
		return l.terms[i-termsStart], true, nil
	}
	return 0, false, nil
}

// termLocked is Term for callers holding wmu; it may read Pebble.
func (l *RaftLog) termLocked(i uint64) (uint64, error) {
	t, ok, err := l.cachedTerm(i)
	if ok || err != nil {
		return t, err
	}
	e := &raftpb.Entry{}
	if err := getProto(l.db, raftEntryKey(i), e); err != nil {
		return 0, fmt.Errorf("raftlog: read term of entry %d: %w", i, err)
	}
	return e.GetTerm(), nil
}

// LastIndex implements raft.Storage.
func (l *RaftLog) LastIndex() (uint64, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.last, nil
}

// FirstIndex implements raft.Storage: the index after the dummy entry.
func (l *RaftLog) FirstIndex() (uint64, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.dummyIndex + 1, nil
}

// snapshotMeta returns the last snapshot's index and configuration
// without copying them (a new snapshot replaces them, never changes them):
// the caller must not modify cs.
func (l *RaftLog) snapshotMeta() (index uint64, cs *raftpb.ConfState) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	md := l.snap.GetMetadata()
	return md.GetIndex(), md.GetConfState()
}

// Snapshot implements raft.Storage. It returns the stored snapshot
// metadata with no Data: the state machine's data travels separately, so
// the caller attaches it before sending.
func (l *RaftLog) Snapshot() (*raftpb.Snapshot, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return proto.Clone(l.snap).(*raftpb.Snapshot), nil
}

// Save persists a raft Ready's HardState and Entries in one Pebble batch.
// Entries replace any existing entries with index >= ents[0].Index (a new
// leader overwriting an uncommitted suffix); entries at or below the dummy
// index are ignored, as in MemoryStorage.Append. hs is stored unless it is
// empty. With mustSync the batch is fsynced before Save returns, as raft
// requires before messages of the same Ready are sent.
//
// ents must be contiguous and start at most at LastIndex()+1. The entries
// are kept in the cache without copying; like everywhere in raft they must
// not be mutated afterwards.
func (l *RaftLog) Save(hs *raftpb.HardState, ents []*raftpb.Entry, mustSync bool) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()

	for i := 1; i < len(ents); i++ {
		if ents[i].GetIndex() != ents[0].GetIndex()+uint64(i) {
			return fmt.Errorf("raftlog: non-contiguous entries: %d follows %d", ents[i].GetIndex(), ents[i-1].GetIndex())
		}
	}
	// Drop entries that are already compacted.
	if len(ents) > 0 {
		first := l.dummyIndex + 1
		if lastNew := ents[0].GetIndex() + uint64(len(ents)) - 1; lastNew < first {
			ents = nil
		} else if ents[0].GetIndex() < first {
			ents = ents[first-ents[0].GetIndex():]
		}
	}
	if len(ents) > 0 && ents[0].GetIndex() > l.last+1 {
		return fmt.Errorf("raftlog: missing log entry [last: %d, append at: %d]", l.last, ents[0].GetIndex())
	}
	storeHS := !raft.IsEmptyHardState(hs)
	if len(ents) == 0 && !storeHS {
		return nil
	}

	b := l.db.NewBatch()
	defer b.Close()
	writeDummy := len(ents) > 0 && !l.dummyStored
	if writeDummy {
		if err := setDummy(b, l.dummyIndex, l.dummyTerm); err != nil {
			return err
		}
	}
	sizes := make([]uint64, len(ents))
	for i, e := range ents {
		v, err := proto.Marshal(e)
		if err != nil {
			return fmt.Errorf("raftlog: encode entry %d: %w", e.GetIndex(), err)
		}
		sizes[i] = uint64(len(v))
		if err := b.Set(raftEntryKey(e.GetIndex()), v, nil); err != nil {
			return err
		}
	}
	newLast := l.last
	if len(ents) > 0 {
		newLast = ents[len(ents)-1].GetIndex()
		if l.last > newLast {
			// The new entries end before the old log did: the old suffix
			// belongs to a superseded term and must go.
			if err := b.DeleteRange(raftEntryKey(newLast+1), raftEntryKey(l.last+1), nil); err != nil {
				return err
			}
		}
	}
	var newHS *raftpb.HardState
	if storeHS {
		newHS = proto.Clone(hs).(*raftpb.HardState)
		v, err := proto.Marshal(newHS)
		if err != nil {
			return fmt.Errorf("raftlog: encode hard state: %w", err)
		}
		if err := b.Set(raftHardStateKey(), v, nil); err != nil {
			return err
		}
	}
	opts := pebble.NoSync
	if mustSync {
		opts = pebble.Sync
		l.syncs.Add(1)
	}
	if err := b.Commit(opts); err != nil {
		return fmt.Errorf("raftlog: commit: %w", err)
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	if newHS != nil {
		l.hs = newHS
	}
	if len(ents) == 0 {
		return nil
	}
	l.dummyStored = l.dummyStored || writeDummy
	start := ents[0].GetIndex()
	// Cut the caches at start (or reset them if start is below their
	// window) and append the new entries.
	if termsStart := l.last + 1 - uint64(len(l.terms)); start >= termsStart {
		l.terms = l.terms[:start-termsStart]
	} else {
		l.terms = l.terms[:0]
	}
	if cacheStart := l.last + 1 - uint64(len(l.cache)); start >= cacheStart {
		for _, c := range l.cache[start-cacheStart:] {
			l.cacheBytes -= c.size
		}
		l.cache = l.cache[:start-cacheStart]
	} else {
		l.cache, l.cacheBytes = l.cache[:0], 0
	}
	for i, e := range ents {
		l.terms = append(l.terms, e.GetTerm())
		l.cache = append(l.cache, cachedEntry{ent: e, size: sizes[i]})
		l.cacheBytes += sizes[i]
	}
	l.last = newLast
	l.trimCaches()
	return nil
}

// trimCaches enforces the cache limits by dropping the oldest items.
// Callers hold mu and wmu.
func (l *RaftLog) trimCaches() {
	// Terms are trimmed in bulk (at twice the limit) so that the copy is
	// amortized over many appends.
	if len(l.terms) > 2*l.limits.terms {
		l.terms = append([]uint64(nil), l.terms[len(l.terms)-l.limits.terms:]...)
	}
	drop := 0
	for drop < len(l.cache) && (len(l.cache)-drop > l.limits.cacheEntries || l.cacheBytes > uint64(l.limits.cacheBytes)) {
		l.cacheBytes -= l.cache[drop].size
		l.cache[drop] = cachedEntry{} // let the entry be collected
		drop++
	}
	if drop > 0 {
		l.cache = l.cache[drop:]
	}
}

// setDummy writes the dummy entry (index and term only) into b.
func setDummy(b *pebble.Batch, index, term uint64) error {
	v, err := proto.Marshal(&raftpb.Entry{Index: &index, Term: &term})
	if err != nil {
		return fmt.Errorf("raftlog: encode dummy entry: %w", err)
	}
	return b.Set(raftEntryKey(index), v, nil)
}

// ApplySnapshot installs a snapshot received from the leader: its metadata
// replaces the stored snapshot (Data is dropped; the state machine installs
// the data itself), all log entries are deleted, the snapshot position
// becomes the dummy entry (FirstIndex = index+1), and the hard state's
// commit is raised to at least the snapshot index so that a restart never
// sees a commit index below the first available entry. The write is
// synced. Like MemoryStorage it returns raft.ErrSnapOutOfDate if the stored
// snapshot is not older (a stored snapshot at index 0 is never "newer").
func (l *RaftLog) ApplySnapshot(snap *raftpb.Snapshot) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()

	meta := raftpb.EnsureSnapshotMetadata(proto.Clone(snap.GetMetadata()).(*raftpb.SnapshotMetadata))
	cur := l.snap.GetMetadata().GetIndex()
	if cur != 0 && cur >= meta.GetIndex() {
		return raft.ErrSnapOutOfDate
	}
	newSnap := &raftpb.Snapshot{Metadata: meta}
	idx, term := meta.GetIndex(), meta.GetTerm()

	b := l.db.NewBatch()
	defer b.Close()
	if err := b.DeleteRange(raftEntryKey(0), raftEntriesEnd(), nil); err != nil {
		return err
	}
	if err := setDummy(b, idx, term); err != nil {
		return err
	}
	v, err := proto.Marshal(newSnap)
	if err != nil {
		return fmt.Errorf("raftlog: encode snapshot metadata: %w", err)
	}
	if err := b.Set(raftSnapshotKey(), v, nil); err != nil {
		return err
	}
	newHS := l.hs
	if l.hs.GetCommit() < idx {
		newHS = proto.Clone(l.hs).(*raftpb.HardState)
		newHS.Commit = &idx
		v, err := proto.Marshal(newHS)
		if err != nil {
			return fmt.Errorf("raftlog: encode hard state: %w", err)
		}
		if err := b.Set(raftHardStateKey(), v, nil); err != nil {
			return err
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("raftlog: commit: %w", err)
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	l.snap = newSnap
	l.hs = newHS
	l.dummyIndex, l.dummyTerm, l.dummyStored = idx, term, true
	l.last = idx
	l.terms = nil
	l.cache, l.cacheBytes = nil, 0
	return nil
}

// CreateSnapshot records snapshot metadata at index, with the term of that
// entry and cs as the configuration (if cs is nil the previous snapshot's
// ConfState is kept, as in MemoryStorage). No data is stored: the state
// machine's data travels separately. The log is not compacted; call Compact
// for that. It returns raft.ErrSnapOutOfDate if index is not newer than the
// current snapshot, raft.ErrCompacted if the entry's term is no longer known,
// and an error if index > LastIndex (where MemoryStorage panics). The write
// is synced because the snapshot is what peers are sent once the log is
// compacted.
func (l *RaftLog) CreateSnapshot(index uint64, cs *raftpb.ConfState) (*raftpb.Snapshot, error) {
	l.wmu.Lock()
	defer l.wmu.Unlock()

	if index <= l.snap.GetMetadata().GetIndex() {
		return nil, raft.ErrSnapOutOfDate
	}
	if index > l.last {
		return nil, fmt.Errorf("raftlog: snapshot %d is out of bound lastindex(%d)", index, l.last)
	}
	term, err := l.termLocked(index)
	if err != nil {
		return nil, err
	}
	newSnap := proto.Clone(l.snap).(*raftpb.Snapshot)
	newSnap.Metadata.Index = &index
	newSnap.Metadata.Term = &term
	if cs != nil {
		newSnap.Metadata.ConfState = proto.Clone(cs).(*raftpb.ConfState)
	}
	v, err := proto.Marshal(newSnap)
	if err != nil {
		return nil, fmt.Errorf("raftlog: encode snapshot metadata: %w", err)
	}
	if err := l.db.Set(raftSnapshotKey(), v, pebble.Sync); err != nil {
		return nil, fmt.Errorf("raftlog: write snapshot metadata: %w", err)
	}

	l.mu.Lock()
	l.snap = newSnap
	l.mu.Unlock()
	return proto.Clone(newSnap).(*raftpb.Snapshot), nil
}

// Compact discards the entries up to and including compactIndex, which
// becomes the dummy entry (its term is kept), exactly like
// MemoryStorage.Compact. It returns raft.ErrCompacted if compactIndex is not
// above the current dummy index and an error (MemoryStorage panics) if it is
// beyond LastIndex. The batch is not synced: losing a compaction in a crash
// only leaves extra entries behind, and Pebble's WAL is ordered, so any
// later synced write makes it durable anyway.
func (l *RaftLog) Compact(compactIndex uint64) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()

	if compactIndex <= l.dummyIndex {
		return raft.ErrCompacted
	}
	if compactIndex > l.last {
		return fmt.Errorf("raftlog: compact %d is out of bound lastindex(%d)", compactIndex, l.last)
	}
	term, err := l.termLocked(compactIndex)
	if err != nil {
		return err
	}
	b := l.db.NewBatch()
	defer b.Close()
	if err := b.DeleteRange(raftEntryKey(0), raftEntryKey(compactIndex), nil); err != nil {
		return err
	}
	// Overwrite the new dummy with index and term only: its payload is
	// covered by the snapshot and no longer needed.
	if err := setDummy(b, compactIndex, term); err != nil {
		return err
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("raftlog: commit: %w", err)
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	l.dummyIndex, l.dummyTerm, l.dummyStored = compactIndex, term, true
	if termsStart := l.last + 1 - uint64(len(l.terms)); compactIndex >= termsStart {
		l.terms = l.terms[compactIndex-termsStart+1:]
	}
	if cacheStart := l.last + 1 - uint64(len(l.cache)); compactIndex >= cacheStart {
		n := compactIndex - cacheStart + 1
		for i := range n {
			l.cacheBytes -= l.cache[i].size
			l.cache[i] = cachedEntry{}
		}
		l.cache = l.cache[n:]
	}
	return nil
}
