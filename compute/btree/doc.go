// Package btree is Polar's B+tree: ordered byte-string keys and values in
// slotted pages (package page) held by the buffer pool (package bufpool),
// changed only through mini-transactions (package mtr), so every change
// is redo that storage replays into the same bytes.
//
// # Shape
//
// Leaves hold key/value cells and are doubly linked (prev/next) in key
// order; internal pages hold separators: the leftmost child holds keys
// below the first separator, child i the keys from separator i up to the
// next one. Separators are the shortest prefix of the right page's first
// key that is above the left page's last key. The root page never moves:
// when it splits its contents move to a new child first, and when it is
// left with a single child it takes over the child's contents, so a
// catalog stores the root page ID once. Every page carries the tree's
// owner tag (for example the index ID).
//
// Keys are at most MaxKeySize bytes. Values up to MaxValueSize are stored
// inline when key and value fit a page cell (page.MaxCellSize), otherwise
// in a chain of overflow pages; the leaf then keeps a marker (flag byte,
// length, first page). Leaf value encoding: byte 0 = 0 then the value, or
// byte 0 = 1, total length u64, first overflow page u64.
//
// Splits cut a full page at page.SplitPoint into a new right sibling and
// insert the separator into the parent, recursively. Deletes free a leaf
// left empty (unlinking it), merge a page left under a quarter full into
// a sibling under the same parent when both fit in three quarters of a
// page, propagate up, and lower the root when it has a single child.
//
// # Concurrency
//
// One writer (the engine's committer goroutine) calls Put and Delete;
// any number of readers call Get, Seek and SeekReverse concurrently.
//
//   - The writer finds its way without latches (it is the only goroutine
//     that changes pages). A change that stays on one leaf latches just
//     that leaf (m.Page). A structural change (split, merge, root change)
//     is first computed on private copies of the pages involved, then the
//     changed pages are taken into the MTR exclusively latched top-down
//     and left to right, and the new contents copied in. Pages stay
//     latched until the MTR is released, so readers never see half a
//     split.
//   - Readers descend with latch coupling, but only try-latch while
//     holding a latch: if the child is busy they let go, wait for it and
//     start again from the root. So they never deadlock with the writer,
//     even when one MTR holds pages of several operations.
//   - Iterators hold nothing between calls: each batch of entries is
//     copied out of one leaf under its shared latch, and the next batch is
//     found by descending from the root again.
//   - The writer must not use Get or Seek on a tree while its MTR holds
//     pages (it would wait for itself): it uses GetIn, SeekIn and
//     SeekReverseIn, which read without latches and see its own changes.
//
// # Usage
//
// The caller plays the committer: it runs tree operations inside an MTR,
// finishes it into redo records, makes them durable, then releases the
// MTR. An Allocator hands out and takes back page IDs inside the MTR.
//
//	m := mtr.New()
//	if err := btree.Create(ctx, m, pool, rootID, indexID); err != nil { ... }
//	tree := btree.Open(pool, rootID, alloc)
//	if err := tree.Put(ctx, m, []byte("k1"), []byte("v1")); err != nil {
//		m.Abort() // undoes every page change of m
//		return err
//	}
//	recs, next = m.Finish(recs, next)
//	recs = append(recs, wal.Commit(next, csn)); next++
//	// ... encode a wal.Batch, append it to storage, then:
//	pool.SetDurable(next - 1)
//	m.Release()
//
//	// Any goroutine:
//	v, ok, err := tree.Get(ctx, []byte("k1"))
//	it := tree.Seek(ctx, []byte("k"))
//	for it.Next(ctx) {
//		fmt.Printf("%s=%s\n", it.Key(), it.Value())
//	}
//	if err := it.Err(); err != nil { ... }
package btree
