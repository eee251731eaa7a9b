package storage

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

func openTestPebble(t *testing.T, dir string, fs vfs.FS) *pebble.DB {
	t.Helper()
	db, err := pebble.Open(dir, &pebble.Options{FS: fs, Logger: quietPebbleLogger{}})
	if err != nil {
		t.Fatalf("pebble.Open: %v", err)
	}
	return db
}

// quietPebbleLogger keeps Pebble's informational messages out of test
// output; fatal errors still fail the test via panic.
type quietPebbleLogger struct{}

func (quietPebbleLogger) Infof(string, ...any)           {}
func (quietPebbleLogger) Errorf(string, ...any)          {}
func (quietPebbleLogger) Fatalf(format string, a ...any) { panic(fmt.Sprintf(format, a...)) }

func mkEntries(start uint64, terms ...uint64) []*raftpb.Entry {
	ents := make([]*raftpb.Entry, len(terms))
	for i, term := range terms {
		ents[i] = &raftpb.Entry{Index: new(start + uint64(i)), Term: new(term), Data: []byte(fmt.Sprintf("e%d", start+uint64(i)))}
	}
	return ents
}

func hardState(term, vote, commit uint64) *raftpb.HardState {
	return &raftpb.HardState{Term: &term, Vote: &vote, Commit: &commit}
}

// normSnap makes snapshots from both implementations comparable: presence
// of zero-valued optional fields differs between them, and MemoryStorage
// keeps Data while RaftLog never stores it.
func normSnap(s *raftpb.Snapshot) *raftpb.Snapshot {
	if s == nil {
		return nil
	}
	s = raftpb.EnsureSnapshot(proto.Clone(s).(*raftpb.Snapshot))
	s.Data = nil
	return s
}

// sameErr reports whether got matches the error MemoryStorage returned:
// both nil, or got wrapping the same sentinel.
func sameErr(got, want error) bool {
	if want == nil {
		return got == nil
	}
	return errors.Is(got, want)
}

// diffHarness drives a RaftLog and a raft.MemoryStorage through the same
// random operations and compares every raft.Storage method after each step.
type diffHarness struct {
	t      *testing.T
	rng    *rand.Rand
	dir    string
	limits raftLogLimits
	db     *pebble.DB
	log    *RaftLog
	ms     *raft.MemoryStorage
	term   uint64 // highest term handed out so far
}

func (h *diffHarness) open() {
	h.t.Helper()
	h.db = openTestPebble(h.t, h.dir, nil)
	l, err := openRaftLog(h.db, h.limits)
	if err != nil {
		h.t.Fatalf("openRaftLog: %v", err)
	}
	h.log = l
}

func (h *diffHarness) reopen() {
	h.t.Helper()
	if err := h.db.Close(); err != nil {
		h.t.Fatalf("close: %v", err)
	}
	h.open()
}

// bounds returns MemoryStorage's dummy (offset), first and last index.
func (h *diffHarness) bounds() (offset, first, last uint64) {
	first, _ = h.ms.FirstIndex()
	last, _ = h.ms.LastIndex()
	return first - 1, first, last
}

// between returns a uniformly random value in [lo, hi] (lo if hi < lo).
func (h *diffHarness) between(lo, hi uint64) uint64 {
	if hi <= lo {
		return lo
	}
	return lo + h.rng.Uint64N(hi-lo+1)
}

func (h *diffHarness) randomData() []byte {
	n := h.rng.IntN(120)
	if h.rng.IntN(4) == 0 {
		n = 0
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(h.rng.Uint32())
	}
	return b
}

func (h *diffHarness) randomConfState() *raftpb.ConfState {
	if h.rng.IntN(3) == 0 {
		return nil
	}
	cs := &raftpb.ConfState{}
	for i := range h.rng.IntN(4) {
		cs.Voters = append(cs.Voters, uint64(i+1))
	}
	if h.rng.IntN(2) == 0 {
		cs.Learners = []uint64{10 + h.rng.Uint64N(5)}
	}
	if h.rng.IntN(2) == 0 {
		cs.AutoLeave = new(h.rng.IntN(2) == 0)
	}
	return cs
}

func (h *diffHarness) stepSave() string {
	offset, first, last := h.bounds()
	var start uint64
	if h.rng.IntN(3) == 0 {
		// A new leader overwrites a suffix with entries of a higher term.
		h.term++
		start = h.between(max(first, 1), last+1)
	} else {
		// Mostly appends, sometimes starting at or below the dummy, which
		// must be ignored.
		start = h.between(max(offset, 3)-2, last+1)
		if h.rng.IntN(2) == 0 {
			start = last + 1
		}
	}
	if h.term == 0 {
		h.term = 1
	}
	n := h.rng.IntN(7)
	ents := make([]*raftpb.Entry, n)
	for i := range ents {
		typ := raftpb.EntryNormal
		if h.rng.IntN(8) == 0 {
			typ = raftpb.EntryConfChange
		}
		ents[i] = &raftpb.Entry{Index: new(start + uint64(i)), Term: new(h.term), Type: &typ, Data: h.randomData()}
	}
	var hs *raftpb.HardState
	switch h.rng.IntN(3) {
	case 0: // no hard state change
	case 1:
		hs = &raftpb.HardState{}
	default:
		hs = hardState(h.term, h.rng.Uint64N(4), h.between(0, last))
	}
	mustSync := h.rng.IntN(2) == 0

	if err := h.log.Save(hs, ents, mustSync); err != nil {
		h.t.Fatalf("Save(start=%d, n=%d): %v", start, n, err)
	}
	if err := h.ms.Append(ents); err != nil {
		h.t.Fatalf("ms.Append: %v", err)
	}
	if !raft.IsEmptyHardState(hs) {
		if err := h.ms.SetHardState(proto.Clone(hs).(*raftpb.HardState)); err != nil {
			h.t.Fatal(err)
		}
	}
	return fmt.Sprintf("Save(start=%d n=%d term=%d hs=%v sync=%v)", start, n, h.term, hs, mustSync)
}

// stepBadSave checks that invalid appends are rejected without changing
// anything (MemoryStorage would panic, so it is not called).
func (h *diffHarness) stepBadSave() string {
	_, _, last := h.bounds()
	gap := mkEntries(last+2, h.term)
	if err := h.log.Save(hardState(99, 99, 99), gap, true); err == nil {
		h.t.Fatalf("Save with a gap after last %d succeeded", last)
	}
	holes := mkEntries(last+1, h.term, h.term)
	holes[1].Index = new(last + 3)
	if err := h.log.Save(nil, holes, true); err == nil {
		h.t.Fatalf("Save of non-contiguous entries succeeded")
	}
	return "BadSave"
}

func (h *diffHarness) stepCompact() string {
	offset, _, last := h.bounds()
	i := h.between(max(offset, 1)-1, last+1)
	err := h.log.Compact(i)
	switch {
	case i <= offset:
		if !errors.Is(err, raft.ErrCompacted) {
			h.t.Fatalf("Compact(%d) with dummy %d: got %v, want ErrCompacted", i, offset, err)
		}
		if msErr := h.ms.Compact(i); msErr != raft.ErrCompacted {
			h.t.Fatalf("ms.Compact(%d): %v", i, msErr)
		}
	case i > last:
		if err == nil {
			h.t.Fatalf("Compact(%d) beyond last %d succeeded", i, last)
		}
	default:
		if err != nil {
			h.t.Fatalf("Compact(%d): %v", i, err)
		}
		if err := h.ms.Compact(i); err != nil {
			h.t.Fatalf("ms.Compact(%d): %v", i, err)
		}
	}
	return fmt.Sprintf("Compact(%d)", i)
}

func (h *diffHarness) stepCreateSnapshot() string {
	offset, _, last := h.bounds()
	msSnap, _ := h.ms.Snapshot()
	snapIndex := msSnap.GetMetadata().GetIndex()
	i := h.between(max(snapIndex, 1)-1, last+1)
	if h.rng.IntN(2) == 0 {
		i = h.between(max(offset, snapIndex+1), last)
	}
	cs := h.randomConfState()
	got, err := h.log.CreateSnapshot(i, cs)
	switch {
	case i <= snapIndex:
		if !errors.Is(err, raft.ErrSnapOutOfDate) {
			h.t.Fatalf("CreateSnapshot(%d) with snapshot at %d: got %v, want ErrSnapOutOfDate", i, snapIndex, err)
		}
		if _, msErr := h.ms.CreateSnapshot(i, cs, nil); msErr != raft.ErrSnapOutOfDate {
			h.t.Fatalf("ms.CreateSnapshot(%d): %v", i, msErr)
		}
	case i > last || i < offset:
		// MemoryStorage panics here.
		if err == nil {
			h.t.Fatalf("CreateSnapshot(%d) outside [%d, %d] succeeded", i, offset, last)
		}
	default:
		if err != nil {
			h.t.Fatalf("CreateSnapshot(%d): %v", i, err)
		}
		want, err := h.ms.CreateSnapshot(i, cs, nil)
		if err != nil {
			h.t.Fatalf("ms.CreateSnapshot(%d): %v", i, err)
		}
		if !proto.Equal(normSnap(got), normSnap(want)) {
			h.t.Fatalf("CreateSnapshot(%d) = %v, want %v", i, got, want)
		}
	}
	return fmt.Sprintf("CreateSnapshot(%d, %v)", i, cs)
}

func (h *diffHarness) stepApplySnapshot() string {
	_, _, last := h.bounds()
	msSnap, _ := h.ms.Snapshot()
	snapIndex := msSnap.GetMetadata().GetIndex()
	idx := h.between(max(snapIndex, 2)-2, last+20)
	if h.rng.IntN(2) == 0 {
		h.term++
	}
	term := h.term
	snap := &raftpb.Snapshot{
		Data:     []byte("state machine data that must not be stored"),
		Metadata: &raftpb.SnapshotMetadata{Index: &idx, Term: &term, ConfState: h.randomConfState()},
	}
	err := h.log.ApplySnapshot(snap)
	msErr := h.ms.ApplySnapshot(proto.Clone(snap).(*raftpb.Snapshot))
	if !sameErr(err, msErr) {
		h.t.Fatalf("ApplySnapshot(%d) with snapshot at %d: got %v, want %v", idx, snapIndex, err, msErr)
	}
	if msErr == nil {
		// RaftLog raises the commit index to the snapshot; mirror it.
		hs, _, _ := h.ms.InitialState()
		if hs.GetCommit() < idx {
			if err := h.ms.SetHardState(hardState(hs.GetTerm(), hs.GetVote(), idx)); err != nil {
				h.t.Fatal(err)
			}
		}
	}
	return fmt.Sprintf("ApplySnapshot(%d, term %d)", idx, term)
}

// check compares every raft.Storage method of the two implementations.
func (h *diffHarness) check(what string) {
	h.t.Helper()
	fail := func(format string, args ...any) {
		h.t.Helper()
		h.t.Fatalf("after %s: %s", what, fmt.Sprintf(format, args...))
	}

	gotHS, gotCS, err := h.log.InitialState()
	if err != nil {
		fail("InitialState: %v", err)
	}
	wantHS, wantCS, _ := h.ms.InitialState()
	if gotHS.GetTerm() != wantHS.GetTerm() || gotHS.GetVote() != wantHS.GetVote() || gotHS.GetCommit() != wantHS.GetCommit() {
		fail("HardState = %v, want %v", gotHS, wantHS)
	}
	norm := func(cs *raftpb.ConfState) *raftpb.ConfState {
		return raftpb.EnsureConfState(proto.Clone(cs).(*raftpb.ConfState))
	}
	if gotCS == nil || !proto.Equal(norm(gotCS), norm(wantCS)) {
		fail("ConfState = %v, want %v", gotCS, wantCS)
	}

	first, _ := h.log.FirstIndex()
	last, _ := h.log.LastIndex()
	wantFirst, _ := h.ms.FirstIndex()
	wantLast, _ := h.ms.LastIndex()
	if first != wantFirst || last != wantLast {
		fail("FirstIndex, LastIndex = %d, %d, want %d, %d", first, last, wantFirst, wantLast)
	}

	gotSnap, err := h.log.Snapshot()
	if err != nil {
		fail("Snapshot: %v", err)
	}
	if len(gotSnap.GetData()) != 0 {
		fail("Snapshot has data %q", gotSnap.GetData())
	}
	wantSnap, _ := h.ms.Snapshot()
	if !proto.Equal(normSnap(gotSnap), normSnap(wantSnap)) {
		fail("Snapshot = %v, want %v", gotSnap, wantSnap)
	}

	for i := max(first, 3) - 3; i <= last+3; i++ {
		got, err := h.log.Term(i)
		want, wantErr := h.ms.Term(i)
		if got != want || !sameErr(err, wantErr) {
			fail("Term(%d) = %d, %v, want %d, %v", i, got, err, want, wantErr)
		}
	}

	checkEntries := func(lo, hi, maxSize uint64) {
		h.t.Helper()
		got, err := h.log.Entries(lo, hi, maxSize)
		want, wantErr := h.ms.Entries(lo, hi, maxSize)
		if !sameErr(err, wantErr) || len(got) != len(want) {
			fail("Entries(%d, %d, %d) = %d entries, %v, want %d, %v", lo, hi, maxSize, len(got), err, len(want), wantErr)
		}
		for i := range got {
			if !proto.Equal(got[i], want[i]) {
				fail("Entries(%d, %d, %d)[%d] = %v, want %v", lo, hi, maxSize, i, got[i], want[i])
			}
		}
		// The caller owns the slice and may append to it.
		if len(got) > 0 {
			_ = append(got[:1], &raftpb.Entry{Index: new(uint64(math.MaxUint64))})
		}
	}
	checkEntries(first, last+1, math.MaxUint64)
	for range 6 {
		lo := h.between(max(first, 2)-2, last+1)
		hi := h.between(lo, last+1)
		var maxSize uint64
		switch h.rng.IntN(4) {
		case 0:
			maxSize = 0
		case 1:
			maxSize = math.MaxUint64
		default:
			maxSize = h.rng.Uint64N(600)
		}
		checkEntries(lo, hi, maxSize)
	}
	// Ranges MemoryStorage panics on must be errors here.
	if last >= first {
		if _, err := h.log.Entries(first, last+2, math.MaxUint64); err == nil {
			fail("Entries beyond last index succeeded")
		}
		if _, err := h.log.Entries(last, first, math.MaxUint64); last > first && err == nil {
			fail("Entries with lo > hi succeeded")
		}
	}
}

func TestRaftLogDifferential(t *testing.T) {
	limitSets := []raftLogLimits{
		defaultRaftLogLimits,
		{terms: 4, cacheEntries: 3, cacheBytes: 200},
		{terms: 1, cacheEntries: 8, cacheBytes: 1 << 20},
		{terms: 0, cacheEntries: 0, cacheBytes: 0},
	}
	const steps = 300
	for seed := range uint64(8) {
		limits := limitSets[seed%uint64(len(limitSets))]
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			h := &diffHarness{
				t:      t,
				rng:    rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)),
				dir:    t.TempDir(),
				limits: limits,
				ms:     raft.NewMemoryStorage(),
			}
			h.open()
			defer func() { h.db.Close() }()
			h.check("open")
			for step := range steps {
				var what string
				switch r := h.rng.IntN(100); {
				case r < 50:
					what = h.stepSave()
				case r < 53:
					what = h.stepBadSave()
				case r < 68:
					what = h.stepCompact()
				case r < 83:
					what = h.stepCreateSnapshot()
				case r < 90:
					what = h.stepApplySnapshot()
				case r < 96:
					what = "Term/Entries only"
				default:
					h.reopen()
					what = "reopen"
				}
				h.check(fmt.Sprintf("step %d: %s", step, what))
			}
			h.reopen()
			h.check("final reopen")
		})
	}
}

// TestRaftLogSyncSurvivesCrash simulates a machine crash with Pebble's
// crashable in-memory filesystem, which keeps exactly the synced data: what
// Save(mustSync=true), ApplySnapshot and CreateSnapshot wrote must survive,
// and a NoSync Save after them is expected to be lost (which shows the
// crash simulation actually drops unsynced writes).
func TestRaftLogSyncSurvivesCrash(t *testing.T) {
	fs := vfs.NewCrashableMem()
	db := openTestPebble(t, "/db", fs)
	l, err := OpenRaftLog(db)
	if err != nil {
		t.Fatal(err)
	}

	if err := l.ApplySnapshot(&raftpb.Snapshot{Data: []byte("x"), Metadata: &raftpb.SnapshotMetadata{
		Index: new(uint64(10)), Term: new(uint64(2)), ConfState: &raftpb.ConfState{Voters: []uint64{1, 2, 3}},
	}}); err != nil {
		t.Fatal(err)
	}
	synced := mkEntries(11, 2, 3, 3)
	if err := l.Save(hardState(3, 1, 11), synced[:2], true); err != nil {
		t.Fatal(err)
	}
	snap, err := l.CreateSnapshot(12, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The last synced write before the crash: nothing later syncs Pebble's
	// WAL, so only mustSync makes it durable.
	if err := l.Save(hardState(3, 1, 12), synced[2:], true); err != nil {
		t.Fatal(err)
	}
	if err := l.Save(hardState(4, 2, 13), mkEntries(14, 4, 4), false); err != nil {
		t.Fatal(err)
	}
	if last, _ := l.LastIndex(); last != 15 {
		t.Fatalf("LastIndex before crash = %d, want 15", last)
	}

	crashed := fs.CrashClone(vfs.CrashCloneCfg{})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openTestPebble(t, "/db", crashed)
	defer func() { db.Close() }()
	l, err = OpenRaftLog(db)
	if err != nil {
		t.Fatal(err)
	}

	hs, cs, _ := l.InitialState()
	if hs.GetTerm() != 3 || hs.GetVote() != 1 || hs.GetCommit() != 12 {
		t.Errorf("HardState after crash = %v, want term 3 vote 1 commit 12 (the unsynced one lost)", hs)
	}
	if len(cs.GetVoters()) != 3 {
		t.Errorf("ConfState after crash = %v", cs)
	}
	gotSnap, _ := l.Snapshot()
	if !proto.Equal(normSnap(gotSnap), normSnap(snap)) {
		t.Errorf("Snapshot after crash = %v, want %v", gotSnap, snap)
	}
	first, _ := l.FirstIndex()
	last, _ := l.LastIndex()
	if first != 11 || last != 13 {
		t.Fatalf("FirstIndex, LastIndex after crash = %d, %d, want 11, 13", first, last)
	}
	if term, err := l.Term(10); term != 2 || err != nil {
		t.Errorf("Term(10) = %d, %v, want snapshot term 2", term, err)
	}
	ents, err := l.Entries(11, 14, math.MaxUint64)
	if err != nil || len(ents) != 3 {
		t.Fatalf("Entries(11, 14) = %d entries, %v", len(ents), err)
	}
	for i := range ents {
		if !proto.Equal(ents[i], synced[i]) {
			t.Errorf("entry %d after crash = %v, want %v", i, ents[i], synced[i])
		}
	}

	// ApplySnapshot and CreateSnapshot must be durable on their own too.
	fs = crashed
	crash := func() {
		t.Helper()
		crashed := fs.CrashClone(vfs.CrashCloneCfg{})
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		fs = crashed
		db = openTestPebble(t, "/db", fs)
		if l, err = OpenRaftLog(db); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.ApplySnapshot(&raftpb.Snapshot{Metadata: &raftpb.SnapshotMetadata{Index: new(uint64(20)), Term: new(uint64(5))}}); err != nil {
		t.Fatal(err)
	}
	crash()
	hs, _, _ = l.InitialState()
	first, _ = l.FirstIndex()
	if first != 21 || hs.GetCommit() != 20 {
		t.Fatalf("after ApplySnapshot and crash: FirstIndex %d, commit %d, want 21, 20", first, hs.GetCommit())
	}
	if err := l.Save(nil, mkEntries(21, 5), true); err != nil {
		t.Fatal(err)
	}
	if _, err := l.CreateSnapshot(21, nil); err != nil {
		t.Fatal(err)
	}
	crash()
	if s, _ := l.Snapshot(); s.GetMetadata().GetIndex() != 21 || s.GetMetadata().GetTerm() != 5 {
		t.Fatalf("after CreateSnapshot and crash: snapshot %v, want index 21 term 5", s)
	}
}

// TestRaftLogDummyEntryPersisted checks the compaction marker's term (which
// is not the snapshot's) survives a restart, and that an empty log's
// first Save records the dummy entry so the restarted log does not mistake
// entry 1 for it.
func TestRaftLogDummyEntryPersisted(t *testing.T) {
	dir := t.TempDir()
	db := openTestPebble(t, dir, nil)
	l, err := OpenRaftLog(db)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Save(nil, mkEntries(1, 1, 1, 2, 2, 3), true); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db = openTestPebble(t, dir, nil)
	l, err = OpenRaftLog(db)
	if err != nil {
		t.Fatal(err)
	}
	if first, _ := l.FirstIndex(); first != 1 {
		t.Fatalf("FirstIndex after reopen = %d, want 1", first)
	}
	if err := l.Compact(3); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db = openTestPebble(t, dir, nil)
	defer db.Close()
	l, err = OpenRaftLog(db)
	if err != nil {
		t.Fatal(err)
	}
	first, _ := l.FirstIndex()
	last, _ := l.LastIndex()
	if first != 4 || last != 5 {
		t.Fatalf("FirstIndex, LastIndex = %d, %d, want 4, 5", first, last)
	}
	if term, err := l.Term(3); term != 2 || err != nil {
		t.Fatalf("Term(3) = %d, %v, want 2", term, err)
	}
	if _, err := l.Term(2); !errors.Is(err, raft.ErrCompacted) {
		t.Fatalf("Term(2) error = %v, want ErrCompacted", err)
	}
	if _, err := l.Entries(3, 5, math.MaxUint64); !errors.Is(err, raft.ErrCompacted) {
		t.Fatalf("Entries(3, 5) error = %v, want ErrCompacted", err)
	}
}

// TestRaftLogConcurrentReaders runs Term/LastIndex/FirstIndex readers (as
// request handlers do) against a writer; run with -race.
func TestRaftLogConcurrentReaders(t *testing.T) {
	db := openTestPebble(t, t.TempDir(), nil)
	defer db.Close()
	l, err := openRaftLog(db, raftLogLimits{terms: 16, cacheEntries: 8, cacheBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				first, _ := l.FirstIndex()
				last, _ := l.LastIndex()
				for _, i := range []uint64{first - 1, last, (first + last) / 2} {
					if _, err := l.Term(i); err != nil && !errors.Is(err, raft.ErrCompacted) && !errors.Is(err, raft.ErrUnavailable) {
						t.Errorf("Term(%d): %v", i, err)
						return
					}
				}
				l.InitialState()
				l.Snapshot()
			}
		})
	}

	rng := rand.New(rand.NewPCG(1, 2))
	term := uint64(1)
	for range 300 {
		first, _ := l.FirstIndex()
		last, _ := l.LastIndex()
		switch rng.IntN(10) {
		case 0:
			if last >= first {
				if err := l.Compact(first + rng.Uint64N(last-first+1)); err != nil {
					t.Fatal(err)
				}
			}
		case 1:
			if last >= first {
				if _, err := l.CreateSnapshot(last, nil); err != nil && !errors.Is(err, raft.ErrSnapOutOfDate) {
					t.Fatal(err)
				}
			}
		case 2:
			term++
			start := max(first, last-min(last, 3))
			if err := l.Save(hardState(term, 1, 0), mkEntries(start, term, term), rng.IntN(2) == 0); err != nil {
				t.Fatal(err)
			}
		default:
			if err := l.Save(nil, mkEntries(last+1, term, term, term), false); err != nil {
				t.Fatal(err)
			}
			if _, err := l.Entries(max(first, last-min(last, 5)), last+1, math.MaxUint64); err != nil && !errors.Is(err, raft.ErrUnavailable) {
				t.Fatal(err)
			}
		}
	}
	close(stop)
	wg.Wait()
}
