package engine

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/polarsql/polar/compute/btree"
	"github.com/polarsql/polar/compute/lock"
	"github.com/polarsql/polar/compute/mtr"
)

// Isolation is a transaction isolation level.
type Isolation uint8

const (
	// RepeatableRead reads one snapshot for the whole transaction
	// (MySQL's default, as a consistent snapshot).
	RepeatableRead Isolation = iota
	// ReadCommitted takes a new snapshot for every statement.
	ReadCommitted
)

// LockMode says whether a read locks what it reads. Locking reads read the
// newest committed version (MySQL's "current read"), not the snapshot.
type LockMode uint8

const (
	NoLock LockMode = iota
	LockShared
	LockExclusive
)

// TxnOptions configures a transaction.
type TxnOptions struct {
	Isolation Isolation
	ReadOnly  bool
	// LockWaitTimeout overrides the engine's default when not 0.
	LockWaitTimeout time.Duration
}

var (
	// ErrReadOnly is returned for writes in a read-only transaction.
	ErrReadOnly = errors.New("engine: transaction is read only")
	// ErrTxnDone is returned for calls on a committed or rolled back
	// transaction.
	ErrTxnDone = errors.New("engine: transaction already ended")
	// ErrDeadlock and ErrLockTimeout come from the lock manager; the
	// transaction must be rolled back after ErrDeadlock.
	ErrDeadlock    = lock.ErrDeadlock
	ErrLockTimeout = lock.ErrTimeout
)

// Txn is a transaction. It is not safe for concurrent use.
type Txn struct {
	e        *Engine
	id       lock.TxnID
	opts     TxnOptions
	snapshot uint64
	writes   map[IndexID]*writeSet
	undo     []undoEntry // write-set changes since the statement began
	inStmt   bool
	done     bool
}

type writeSet struct {
	m      map[string]writeEntry
	sorted []string // keys in order; nil when stale
}

type writeEntry struct {
	val []byte
	del bool
}

type undoEntry struct {
	idx     IndexID
	key     string
	prev    writeEntry
	hadPrev bool
}

// Begin starts a transaction.
func (e *Engine) Begin(opts TxnOptions) *Txn {
	t := &Txn{e: e, id: lock.TxnID(e.txnSeq.Add(1)), opts: opts, writes: map[IndexID]*writeSet{}}
	if t.opts.LockWaitTimeout == 0 {
		t.opts.LockWaitTimeout = e.cfg.LockWaitTimeout
	}
	t.takeSnapshot()
	return t
}

// ID returns the transaction's id.
func (t *Txn) ID() uint64 { return uint64(t.id) }

// Snapshot returns the CSN the transaction reads at.
func (t *Txn) Snapshot() uint64 { return t.snapshot }

func (t *Txn) takeSnapshot() {
	t.e.smu.Lock()
	t.snapshot = t.e.visibleCSN.Load()
	t.e.snapshots[t.id] = t.snapshot
	t.e.smu.Unlock()
}

// StatementBegin marks the start of a statement: a failed statement can be
// undone with StatementRollback, and under READ COMMITTED it reads a new
// snapshot.
func (t *Txn) StatementBegin() {
	t.undo = t.undo[:0]
	t.inStmt = true
	if t.opts.Isolation == ReadCommitted {
		t.takeSnapshot()
	}
}

// StatementRollback undoes the current statement's writes; locks it took
// are kept, as in MySQL.
func (t *Txn) StatementRollback() {
	for i := len(t.undo) - 1; i >= 0; i-- {
		u := t.undo[i]
		ws := t.writes[u.idx]
		if u.hadPrev {
			ws.m[u.key] = u.prev
		} else {
			delete(ws.m, u.key)
			ws.sorted = nil
		}
	}
	t.undo = t.undo[:0]
}

// SetLockWaitTimeout changes the lock wait timeout for later statements.
func (t *Txn) SetLockWaitTimeout(d time.Duration) { t.opts.LockWaitTimeout = d }

func lockKey(idx IndexID, key []byte) string {
	b := make([]byte, 8, 8+len(key))
	binary.BigEndian.PutUint64(b, uint64(idx))
	return string(append(b, key...))
}

// Lock takes a row lock on key of idx without reading it.
func (t *Txn) Lock(ctx context.Context, idx IndexID, key []byte, mode LockMode) error {
	if t.done {
		return ErrTxnDone
	}
	m := lock.Shared
	if mode == LockExclusive {
		m = lock.Exclusive
	}
	if err := t.e.locks.Acquire(ctx, t.id, lockKey(idx, key), m, t.opts.LockWaitTimeout); err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	return nil
}

// Get reads key from idx: the transaction's own write if any, else the
// version visible at its snapshot, or with a lock mode, after locking, the
// newest committed version.
func (t *Txn) Get(ctx context.Context, idx IndexID, key []byte, mode LockMode) ([]byte, bool, error) {
	if t.done {
		return nil, false, ErrTxnDone
	}
	if ws := t.writes[idx]; ws != nil {
		if w, ok := ws.m[string(key)]; ok {
			if mode != NoLock {
				if err := t.Lock(ctx, idx, key, mode); err != nil {
					return nil, false, err
				}
			}
			if w.del {
				return nil, false, nil
			}
			return w.val, true, nil
		}
	}
	at := t.snapshot
	if mode != NoLock {
		if err := t.Lock(ctx, idx, key, mode); err != nil {
			return nil, false, err
		}
		at = t.e.visibleCSN.Load()
	}
	return t.e.readVersion(ctx, idx, key, at)
}

// readVersion returns the newest version of key with CSN ≤ at.
func (e *Engine) readVersion(ctx context.Context, idx IndexID, key []byte, at uint64) ([]byte, bool, error) {
	it := e.tree(idx).Seek(ctx, versionKey(key, at))
	// Copy only this key's versions out of the leaf, not its neighbours.
	it.StopAt(func(k []byte) bool { return len(k) != len(key)+8 || !bytes.HasPrefix(k, key) })
	if !it.Next(ctx) {
		return nil, false, it.Err()
	}
	k := it.Key()
	if len(k) != len(key)+8 || !bytes.HasPrefix(k, key) {
		return nil, false, nil
	}
	return decodeVersionValue(it.Value())
}

// versionKey is key ‖ ^csn.
func versionKey(key []byte, csn uint64) []byte {
	b := make([]byte, len(key)+8)
	copy(b, key)
	binary.BigEndian.PutUint64(b[len(key):], ^csn)
	return b
}

// splitVersionKey returns the user key and CSN of a tree key.
func splitVersionKey(k []byte) ([]byte, uint64, bool) {
	if len(k) < 8 {
		return nil, 0, false
	}
	return k[:len(k)-8], ^binary.BigEndian.Uint64(k[len(k)-8:]), true
}

const (
	flagPut       = 0
	flagTombstone = 1
)

func decodeVersionValue(v []byte) ([]byte, bool, error) {
	if len(v) == 0 {
		return nil, false, fmt.Errorf("engine: empty version value")
	}
	switch v[0] {
	case flagPut:
		return v[1:], true, nil
	case flagTombstone:
		return nil, false, nil
	}
	return nil, false, fmt.Errorf("engine: bad version flag %d", v[0])
}

// Put writes key = val in idx, taking an exclusive row lock first. Whether
// the key may exist (INSERT vs UPDATE) is for the caller to check with a
// locking Get.
func (t *Txn) Put(ctx context.Context, idx IndexID, key, val []byte) error {
	return t.write(ctx, idx, key, writeEntry{val: append([]byte(nil), val...)})
}

// Delete removes key from idx, taking an exclusive row lock first.
func (t *Txn) Delete(ctx context.Context, idx IndexID, key []byte) error {
	return t.write(ctx, idx, key, writeEntry{del: true})
}

func (t *Txn) write(ctx context.Context, idx IndexID, key []byte, w writeEntry) error {
	if t.done {
		return ErrTxnDone
	}
	if t.opts.ReadOnly {
		return ErrReadOnly
	}
	if err := t.Lock(ctx, idx, key, LockExclusive); err != nil {
		return err
	}
	ws := t.writes[idx]
	if ws == nil {
		ws = &writeSet{m: map[string]writeEntry{}}
		t.writes[idx] = ws
	}
	k := string(key)
	prev, had := ws.m[k]
	if t.inStmt {
		t.undo = append(t.undo, undoEntry{idx: idx, key: k, prev: prev, hadPrev: had})
	}
	if !had {
		ws.sorted = nil
	}
	ws.m[k] = w
	return nil
}

func (ws *writeSet) keys() []string {
	if ws.sorted == nil {
		ws.sorted = make([]string, 0, len(ws.m))
		for k := range ws.m {
			ws.sorted = append(ws.sorted, k)
		}
		sort.Strings(ws.sorted)
	}
	return ws.sorted
}

// Commit makes the transaction's writes durable and visible, then releases
// its locks. After an error nothing of the transaction is visible.
func (t *Txn) Commit(ctx context.Context) error {
	if t.done {
		return ErrTxnDone
	}
	defer t.end()
	if len(t.writes) == 0 {
		return nil
	}
	type idxWrites struct {
		tree *btree.Tree
		keys []string
		ws   *writeSet
	}
	var all []idxWrites
	ids := make([]IndexID, 0, len(t.writes))
	for id := range t.writes {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		ws := t.writes[id]
		all = append(all, idxWrites{tree: t.e.tree(id), keys: ws.keys(), ws: ws})
	}
	e := t.e
	_, err := e.commit(ctx, func(ctx context.Context, m *mtr.MTR, csn uint64) error {
		horizon := e.pruneHorizon()
		for _, iw := range all {
			for _, k := range iw.keys {
				w := iw.ws.m[k]
				val := make([]byte, 1+len(w.val))
				if w.del {
					val[0] = flagTombstone
				} else {
					copy(val[1:], w.val)
				}
				if err := iw.tree.Put(ctx, m, versionKey([]byte(k), csn), val); err != nil {
					return err
				}
				if err := prune(ctx, iw.tree, m, []byte(k), horizon); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return err
}

// prune deletes versions of key that no snapshot can see any more: of the
// versions at or below the horizon, only the newest is visible to anyone.
func prune(ctx context.Context, tree *btree.Tree, m *mtr.MTR, key []byte, horizon uint64) error {
	it := tree.SeekIn(ctx, m, versionKey(key, horizon))
	// Copy only this key's versions out of the leaf, not its neighbours.
	it.StopAt(func(k []byte) bool {
		uk, _, ok := splitVersionKey(k)
		return !ok || !bytes.Equal(uk, key)
	})
	kept := false
	var drop [][]byte
	for it.Next(ctx) {
		if !kept {
			kept = true
			continue
		}
		drop = append(drop, it.Key()) // the iterator's own copy
		if len(drop) >= 64 {
			break
		}
	}
	if err := it.Err(); err != nil {
		return err
	}
	for _, k := range drop {
		if _, err := tree.Delete(ctx, m, k); err != nil {
			return err
		}
	}
	return nil
}

// pruneHorizon is the oldest snapshot open on this node: versions hidden
// behind a newer one at or below it are garbage.
func (e *Engine) pruneHorizon() uint64 {
	e.smu.Lock()
	defer e.smu.Unlock()
	h := e.visibleCSN.Load()
	for _, s := range e.snapshots {
		h = min(h, s)
	}
	return h
}

// Rollback discards the transaction's writes and releases its locks.
func (t *Txn) Rollback() {
	if t.done {
		return
	}
	t.end()
}

func (t *Txn) end() {
	t.done = true
	t.writes = nil
	t.e.locks.ReleaseAll(t.id)
	t.e.smu.Lock()
	delete(t.e.snapshots, t.id)
	t.e.smu.Unlock()
}
