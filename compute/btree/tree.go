package btree

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/polarsql/polar/compute/bufpool"
	"github.com/polarsql/polar/compute/mtr"
	"github.com/polarsql/polar/compute/page"
	"github.com/polarsql/polar/wal"
)

// Limits on keys and values.
const (
	// MaxKeySize is the longest key the tree accepts. It keeps at least
	// 15 separators on an internal page and leaves room for the value
	// marker on a leaf.
	MaxKeySize = 1024
	// MaxValueSize is the longest value the tree accepts. Values that do
	// not fit inline on a leaf go to a chain of overflow pages; note that
	// the whole chain is written by one mini-transaction, so its redo
	// (one full page image per OverflowCapacity bytes) must also fit the
	// caller's WAL batch.
	MaxValueSize = 64 << 20

	// maxDepth bounds descents so that a corrupt tree (a cycle) yields an
	// error instead of a hang.
	maxDepth = 64
)

// Errors returned by the tree.
var (
	// ErrKeyTooLarge is returned by Put for a key longer than MaxKeySize.
	ErrKeyTooLarge = errors.New("btree: key too large")
	// ErrValueTooLarge is returned by Put for a value longer than
	// MaxValueSize.
	ErrValueTooLarge = errors.New("btree: value too large")
	// ErrCorrupt wraps every error caused by a page that does not look like
	// part of a well-formed tree.
	ErrCorrupt = errors.New("btree: corrupt tree")

	errNoAllocator = errors.New("btree: tree opened without an allocator")
)

// fmtKey formats a key for an error message, eliding the middle of long
// keys.
func fmtKey(k []byte) string {
	if len(k) <= 48 {
		return fmt.Sprintf("%x", k)
	}
	return fmt.Sprintf("%x...%x (%d bytes)", k[:16], k[len(k)-16:], len(k))
}

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
}

// Allocator hands out fresh page IDs inside the caller's MTR (the engine
// keeps a page counter in a meta page) and takes back freed pages.
//
// Allocate returns the ID of a page nobody else uses; the tree then calls
// m.NewPage for it, so if the page is cached by the pool (a reused page)
// the allocator must have taken it into m (m.Page) first. Free is called
// with a page the tree has already taken into m and no longer references.
type Allocator interface {
	Allocate(ctx context.Context, m *mtr.MTR) (wal.PageID, error)
	Free(ctx context.Context, m *mtr.MTR, id wal.PageID) error
}

// Tree is a B+tree of byte-string keys and values, stored in pages of a
// buffer pool and changed only through mini-transactions.
//
// Concurrency: there is exactly one writer at a time (Put, Delete and the
// ...In read methods are called by one goroutine, the engine's committer);
// the tree does not enforce it. Readers (Get, Seek, SeekReverse and their
// iterators, Check, Stats, Pages) may run concurrently with the writer and
// with each other.
type Tree struct {
	pool  *bufpool.Pool
	root  wal.PageID
	alloc Allocator
}

// Create makes an empty tree whose root is page root, which must be a
// fresh page ID (the caller allocated it): the root is initialised in m
// (m.NewPage) as an empty leaf tagged with owner (for example the index
// ID; every page of the tree carries it, which Check verifies). The root
// page never moves, so the root ID can be stored once, for example in a
// catalog.
func Create(ctx context.Context, m *mtr.MTR, pool *bufpool.Pool, root wal.PageID, owner uint64) error {
	if root == 0 {
		return errors.New("btree: create: root page ID 0")
	}
	b, err := m.NewPage(pool, root)
	if err != nil {
		return fmt.Errorf("btree: create root %v: %w", root, err)
	}
	page.Init(b, page.TypeLeaf, 0).SetOwner(owner)
	return nil
}

// Open returns the tree rooted at root, which Create initialised. alloc
// is used by Put and Delete for new and freed pages; it may be nil for a
// tree that is only read.
func Open(pool *bufpool.Pool, root wal.PageID, alloc Allocator) *Tree {
	return &Tree{pool: pool, root: root, alloc: alloc}
}

// Root returns the root page ID, which never changes.
func (t *Tree) Root() wal.PageID { return t.root }

// Leaf value encoding: a flag byte, then either the value itself or a
// pointer to an overflow chain.
const (
	valInline   = 0
	valOverflow = 1
	// markerSize is the size of an overflow marker: flag | total length
	// u64 | first overflow page u64.
	markerSize = 1 + 8 + 8
)

// inlineFits reports whether a key/value pair is stored inline on a leaf.
func inlineFits(keyLen, valLen int) bool { return keyLen+1+valLen <= page.MaxCellSize }

func encodeInline(val []byte) []byte {
	enc := make([]byte, 1+len(val))
	enc[0] = valInline
	copy(enc[1:], val)
	return enc
}

func encodeMarker(total int, first wal.PageID) []byte {
	enc := make([]byte, markerSize)
	enc[0] = valOverflow
	binary.LittleEndian.PutUint64(enc[1:], uint64(total))
	binary.LittleEndian.PutUint64(enc[9:], uint64(first))
	return enc
}

// decoded is a leaf value as stored: inline bytes (aliasing the page) or
// an overflow chain reference.
type decoded struct {
	inline   []byte
	overflow bool
	total    int
	first    wal.PageID
}

func decodeValue(enc []byte) (decoded, error) {
	if len(enc) == 0 {
		return decoded{}, corrupt("empty leaf value")
	}
	switch enc[0] {
	case valInline:
		return decoded{inline: enc[1:]}, nil
	case valOverflow:
		if len(enc) != markerSize {
			return decoded{}, corrupt("overflow marker of %d bytes", len(enc))
		}
		total := binary.LittleEndian.Uint64(enc[1:])
		first := wal.PageID(binary.LittleEndian.Uint64(enc[9:]))
		if total > MaxValueSize || first == 0 {
			return decoded{}, corrupt("overflow marker: length %d, first page %v", total, first)
		}
		return decoded{overflow: true, total: int(total), first: first}, nil
	}
	return decoded{}, corrupt("unknown value flag %d", enc[0])
}

// step is one page on a writer's descent path.
type step struct {
	id wal.PageID
	// lb is the lowest key the page may hold (nil = no bound), from the
	// separators above it; used to order latches left to right.
	lb []byte
	// ci is the child taken on an internal page (-1 = leftmost child).
	ci int
}

// writePath descends from the root to the leaf for key without latches:
// the caller is the only writer, so pages cannot change under it (readers
// only read). It returns the path (root first, leaf last) and the owner
// recorded in the root.
func (t *Tree) writePath(ctx context.Context, key []byte) ([]step, uint64, error) {
	path := make([]step, 0, 4)
	id := t.root
	var lb []byte
	var owner uint64
	for depth := 0; ; depth++ {
		if depth > maxDepth {
			return nil, 0, corrupt("descent deeper than %d levels", maxDepth)
		}
		f, err := t.pool.Fetch(ctx, id)
		if err != nil {
			return nil, 0, err
		}
		p := page.Page(f.Data())
		if depth == 0 {
			owner = p.Owner()
		}
		switch p.Type() {
		case page.TypeLeaf:
			f.Release()
			path = append(path, step{id: id, lb: lb})
			return path, owner, nil
		case page.TypeInternal:
			ci := p.ChildIndexFor(key)
			child, clb := p.LeftmostChild(), lb
			if ci >= 0 {
				child, clb = p.Child(ci), append([]byte(nil), p.Key(ci)...)
			}
			f.Release()
			path = append(path, step{id: id, lb: lb, ci: ci})
			id, lb = child, clb
		default:
			t := p.Type()
			f.Release()
			return nil, 0, corrupt("page %v on the path is a %v page", id, t)
		}
	}
}

// shortestSep returns the shortest key s with left < s <= right (left <
// right): a prefix of right one byte longer than their common prefix.
func shortestSep(left, right []byte) []byte {
	n := 0
	for n < len(left) && n < len(right) && left[n] == right[n] {
		n++
	}
	return append([]byte(nil), right[:n+1]...)
}

// used returns the bytes of a leaf or internal page taken by cells and
// slots.
func used(p page.Page) int { return page.UsableSize - p.FreeSpace() }

// underfull reports whether a non-root page should be merged with a
// sibling if possible.
func underfull(p page.Page) bool { return used(p) < page.UsableSize/4 }

// mergeLimit is the most bytes a page may hold after a merge; below a full
// page so that a merge is not undone by the next insert.
const mergeLimit = page.UsableSize * 3 / 4
