package engine

import (
	"bytes"
	"context"
	"sort"

	"github.com/polarsql/polar/compute/btree"
)

// ScanOptions bounds and orders a scan.
type ScanOptions struct {
	// Lo is the first user key (inclusive; nil: from the start), Hi the
	// end (exclusive; nil: to the end).
	Lo, Hi []byte
	// Reverse scans from Hi down to Lo.
	Reverse bool
	// Lock locks every row returned and reads its newest committed
	// version (a locking read); rows between them are not locked (no gap
	// locks).
	Lock LockMode
}

// rowCursor turns a tree iterator over versions into rows: per user key,
// in scan order, the newest version with CSN ≤ at (tombstones included).
type rowCursor struct {
	it      *btree.Iterator
	at      uint64
	reverse bool
	la      struct { // lookahead: the next raw version
		ok  bool
		key []byte
		csn uint64
		val []byte
	}
	err error
}

// fill makes la hold the next version; false at the end or on error.
func (c *rowCursor) fill(ctx context.Context) bool {
	if c.la.ok {
		return true
	}
	for c.it.Next(ctx) {
		uk, csn, ok := splitVersionKey(c.it.Key())
		if !ok {
			continue
		}
		// The iterator's key and value are its own copies, never
		// overwritten (btree.Iterator.Key): no need to copy them again.
		c.la.ok = true
		c.la.key = uk
		c.la.csn = csn
		c.la.val = c.it.Value()
		return true
	}
	c.err = c.it.Err()
	return false
}

// next returns the next row visible at the snapshot (raw version value).
func (c *rowCursor) next(ctx context.Context) ([]byte, []byte, bool) {
	for c.fill(ctx) {
		cur := c.la.key
		var best []byte
		have := false
		for c.fill(ctx) && bytes.Equal(c.la.key, cur) {
			if c.la.csn <= c.at {
				// Forward scans see a key's versions newest first,
				// reverse scans oldest first.
				if c.reverse || !have {
					best, have = c.la.val, true
				}
			}
			c.la.ok = false
		}
		if c.err != nil {
			return nil, nil, false
		}
		if have {
			return cur, best, true
		}
	}
	return nil, nil, false
}

// Iterator walks an index at the transaction's snapshot, merged with the
// transaction's own writes, in key order.
type Iterator struct {
	t    *Txn
	idx  IndexID
	opts ScanOptions
	cur  rowCursor

	started  bool
	treeKey  []byte // current visible tree row; nil when exhausted
	treeVal  []byte
	treeDone bool

	ws    *writeSet
	wkeys []string
	wpos  int

	key, val []byte
	err      error
}

// Scan returns an iterator over idx.
func (t *Txn) Scan(ctx context.Context, idx IndexID, opts ScanOptions) *Iterator {
	it := &Iterator{t: t, idx: idx, opts: opts}
	if t.done {
		it.err = ErrTxnDone
		return it
	}
	it.cur.at = t.snapshot
	if opts.Lock != NoLock {
		it.cur.at = t.e.visibleCSN.Load()
	}
	it.cur.reverse = opts.Reverse
	tr := t.e.tree(idx)
	if opts.Reverse {
		it.cur.it = tr.SeekReverse(ctx, opts.Hi)
	} else {
		it.cur.it = tr.Seek(ctx, opts.Lo)
	}
	if (opts.Reverse && opts.Lo != nil) || (!opts.Reverse && opts.Hi != nil) {
		// The tree copies leaf entries in batches: stop it at the bound
		// rather than copying the rest of the leaf.
		it.cur.it.StopAt(func(k []byte) bool {
			uk, _, ok := splitVersionKey(k)
			return ok && it.pastEnd(uk)
		})
	}
	if ws := t.writes[idx]; ws != nil {
		it.ws = ws
		keys := ws.keys()
		lo := 0
		if opts.Lo != nil {
			lo = sort.SearchStrings(keys, string(opts.Lo))
		}
		hi := len(keys)
		if opts.Hi != nil {
			hi = sort.SearchStrings(keys, string(opts.Hi))
		}
		if lo < hi {
			it.wkeys = append([]string(nil), keys[lo:hi]...)
			if opts.Reverse {
				for i, j := 0, len(it.wkeys)-1; i < j; i, j = i+1, j-1 {
					it.wkeys[i], it.wkeys[j] = it.wkeys[j], it.wkeys[i]
				}
			}
		}
	}
	return it
}

// pastEnd reports whether user key k is beyond the bound the scan moves
// towards.
func (it *Iterator) pastEnd(k []byte) bool {
	if it.opts.Reverse {
		return it.opts.Lo != nil && bytes.Compare(k, it.opts.Lo) < 0
	}
	return it.opts.Hi != nil && bytes.Compare(k, it.opts.Hi) >= 0
}

// advanceTree moves the tree side to its next live row.
func (it *Iterator) advanceTree(ctx context.Context) {
	it.treeKey, it.treeVal = nil, nil
	for !it.treeDone {
		k, raw, ok := it.cur.next(ctx)
		if !ok {
			if it.cur.err != nil {
				it.err = it.cur.err
			}
			it.treeDone = true
			return
		}
		if it.pastEnd(k) {
			it.treeDone = true
			return
		}
		val, live, err := decodeVersionValue(raw)
		if err != nil {
			it.err = err
			it.treeDone = true
			return
		}
		if live {
			it.treeKey, it.treeVal = k, val
			return
		}
	}
}

// Next moves to the next row; false at the end or on error (see Err).
func (it *Iterator) Next(ctx context.Context) bool {
	if !it.started {
		it.started = true
		it.advanceTree(ctx)
	}
	for it.err == nil {
		haveW := it.wpos < len(it.wkeys)
		if !haveW && it.treeKey == nil {
			break
		}
		takeW := haveW && it.treeKey == nil
		if haveW && it.treeKey != nil {
			c := bytes.Compare([]byte(it.wkeys[it.wpos]), it.treeKey)
			if it.opts.Reverse {
				c = -c
			}
			if c <= 0 {
				takeW = true
				if c == 0 {
					// The transaction's own write shadows the tree row.
					it.advanceTree(ctx)
				}
			}
		}
		if takeW {
			wk := it.wkeys[it.wpos]
			it.wpos++
			w := it.ws.m[wk]
			if w.del {
				continue
			}
			if it.opts.Lock != NoLock {
				if err := it.t.Lock(ctx, it.idx, []byte(wk), it.opts.Lock); err != nil {
					it.err = err
					break
				}
			}
			it.key, it.val = []byte(wk), w.val
			return true
		}
		k, v := it.treeKey, it.treeVal
		it.advanceTree(ctx)
		if it.opts.Lock != NoLock {
			// Lock, then read the newest committed version: the row may
			// have changed or gone while we waited.
			if err := it.t.Lock(ctx, it.idx, k, it.opts.Lock); err != nil {
				it.err = err
				break
			}
			val, ok, err := it.t.e.readVersion(ctx, it.idx, k, it.t.e.visibleCSN.Load())
			if err != nil {
				it.err = err
				break
			}
			if !ok {
				continue
			}
			v = val
		}
		it.key, it.val = k, v
		return true
	}
	it.key, it.val = nil, nil
	return false
}

// Key returns the current row's key.
func (it *Iterator) Key() []byte { return it.key }

// Value returns the current row's value.
func (it *Iterator) Value() []byte { return it.val }

// Err returns the error that ended the scan, if any.
func (it *Iterator) Err() error { return it.err }
