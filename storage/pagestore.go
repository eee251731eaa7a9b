package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"

	"github.com/polarsql/polar/wal"
)

// ErrBelowHorizon is wrapped by reads at an LSN below the page GC horizon:
// the versions such a read needs may already have been dropped.
var ErrBelowHorizon = errors.New("storage: page version below the GC horizon")

// defaultMaterializeAfter and defaultMaterializeBytes bound the delta
// chain a read replays: a page is due for a new image after this many
// deltas or this many delta bytes since its newest image, whichever comes
// first. Images read about 5× faster than long reconstructions (DESIGN.md,
// "Delta pile-up"), but each one costs a full page of writes, so the byte
// bound keeps image writes at most about half the size of the deltas they
// replace rather than a page per few small deltas. Two pages of deltas
// rather than one: against 256 deltas or one page, write_only at a fixed
// 1000 tps took 8-10% less CPU per transaction (images, their flushes and
// compactions), while only buffer-pool misses pay the longer replay.
const (
	defaultMaterializeAfter = 512
	defaultMaterializeBytes = 2 * wal.PageSize
)

// gcHorizonKey persists the page GC horizon (u64, big-endian). It is the bare
// page prefix: it sorts before every page-version key and, being shorter,
// can never fall inside one page's key range [pageKey(p,0,0), pageKey(p+1,0,0)),
// so the page store stays within its own prefix.
var gcHorizonKey = []byte{prefixPage}

// PageStoreOptions tunes a PageStore.
type PageStoreOptions struct {
	// MaterializeAfter is the number of deltas since a page's newest image
	// that make the page due for a new image. Default 512.
	MaterializeAfter int
	// MaterializeBytes is the delta payload since a page's newest image
	// that makes the page due for a new image. Default 2 * wal.PageSize.
	MaterializeBytes int
}

// PageStore is the storage node's page state: committed redo kept per
// (page, LSN) in Pebble, from which any page can be rebuilt as of any LSN
// at or above the GC horizon.
//
// Versions of page P live under pageKey(P, lsn, kind): kind versionDelta
// holds a run of PageWrite records at consecutive LSNs from lsn on (often
// just one), kind versionImage a full page whose page LSN is lsn. Images come from PageImage records (log data) and from the
// materialiser (derived data, rebuildable from the versions below). GC only
// deletes: it drops the versions below a page's newest image at or below
// the horizon, so it never rebuilds a page or writes one.
// The GC horizon is persisted under the bare prefix key "p".
//
// PageStore is safe for one writer (the state machine's apply loop calling
// AddBatch and Committed), any number of concurrent readers, the
// materialiser and GC.
type PageStore struct {
	db   *pebble.DB
	opts PageStoreOptions
	log  *slog.Logger

	// horizon is the page GC horizon: reads below it fail. It only grows and
	// is published before GC deletes anything, which is what lets ReadPage
	// check it after opening its iterator instead of holding a lock.
	horizon atomic.Uint64

	// gcMu serialises GC passes and guards gcScanAll.
	gcMu sync.Mutex
	// gcScanAll makes the next GC pass scan every page instead of only the
	// collectable ones: set at open and after a snapshot install, when the
	// in-memory set does not know what the store holds.
	gcScanAll bool
	// pageMu serialises the materialiser's image writes with GC's
	// deletions; without it the materialiser could write an image below
	// the versions GC has just made a page's base.
	pageMu sync.Mutex

	// mu guards counts, due and collectable.
	mu sync.Mutex
	// counts tracks, per page with deltas not yet covered by an image, how
	// many committed deltas (and delta bytes) follow its newest image. It
	// lives only in memory: after a restart counts start at zero, so a page
	// may carry up to one threshold of extra deltas until new deltas make
	// it due. Entries are removed whenever an image covers the page's
	// newest version.
	counts map[wal.PageID]pageCount
	// due is the set of pages whose count reached a materialise threshold.
	due map[wal.PageID]struct{}
	// collectable maps pages that gained images since GC last collected
	// them to those images' LSNs, ascending: only an image makes older
	// versions garbage, and knowing where the images are lets GC delete
	// below them without reading the page.
	collectable map[wal.PageID][]wal.LSN
	// wake signals Run that pages became due (capacity 1: one pending
	// signal is enough).
	wake chan struct{}

	st struct {
		deltasCommitted    atomic.Int64
		imagesCommitted    atomic.Int64
		imagesMaterialized atomic.Int64
		gcPages            atomic.Int64
		reads              atomic.Int64
		readDeltasApplied  atomic.Int64
	}
}

// pageCount is a page's in-memory delta bookkeeping.
type pageCount struct {
	deltas int     // committed deltas since the page's newest image (approximate)
	bytes  int     // their payload bytes (approximate)
	last   wal.LSN // LSN of the page's newest committed version
}

// PageStoreStats is a snapshot of a PageStore's counters.
type PageStoreStats struct {
	DeltasCommitted    int64   // PageWrite records committed
	ImagesCommitted    int64   // PageImage records committed
	ImagesMaterialized int64   // images written by MaterializeDue
	GCPages            int64   // pages GC deleted old versions of
	Reads              int64   // ReadPage calls that rebuilt a page
	ReadDeltasApplied  int64   // deltas replayed by those reads (divide by Reads for the mean chain)
	PagesDue           int     // pages waiting for the materialiser
	PagesTracked       int     // pages with in-memory delta counts
	Horizon            wal.LSN // page GC horizon
}

// NewPageStore returns a page store over db, which it shares with the Raft
// log and metadata; it only touches keys with prefix 'p'. It loads the
// persisted GC horizon.
func NewPageStore(db *pebble.DB, opts PageStoreOptions) *PageStore {
	if opts.MaterializeAfter <= 0 {
		opts.MaterializeAfter = defaultMaterializeAfter
	}
	if opts.MaterializeBytes <= 0 {
		opts.MaterializeBytes = defaultMaterializeBytes
	}
	s := &PageStore{
		db:          db,
		opts:        opts,
		log:         slog.Default().With("component", "pagestore"),
		counts:      make(map[wal.PageID]pageCount),
		due:         make(map[wal.PageID]struct{}),
		collectable: make(map[wal.PageID][]wal.LSN),
		wake:        make(chan struct{}, 1),
	}
	s.horizon.Store(uint64(s.loadHorizon()))
	// Versions already stored have images GC does not know of; a new
	// store has none, and the first pass need not read every page.
	s.gcScanAll = s.hasVersions()
	return s
}

// hasVersions reports whether any page version is stored (true if that
// cannot be read: the scan is only work).
func (s *PageStore) hasVersions() bool {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: pageKey(0, 0, versionDelta), UpperBound: []byte{prefixPage + 1}})
	if err != nil {
		return true
	}
	defer it.Close()
	return it.First() || it.Error() != nil
}

// Reload re-reads the persisted GC horizon and forgets the in-memory delta
// counts. Call it after the page keys were replaced wholesale (a snapshot
// install): the horizon travels with the snapshot's 'p' keys, and counts
// of the old contents no longer describe the pages.
func (s *PageStore) Reload() {
	s.gcMu.Lock()
	defer s.gcMu.Unlock()
	s.pageMu.Lock()
	defer s.pageMu.Unlock()
	s.horizon.Store(uint64(s.loadHorizon()))
	s.gcScanAll = true
	s.mu.Lock()
	clear(s.counts)
	clear(s.due)
	clear(s.collectable)
	s.mu.Unlock()
}

// loadHorizon reads the persisted GC horizon; 0 if there is none.
func (s *PageStore) loadHorizon() wal.LSN {
	v, closer, err := s.db.Get(gcHorizonKey)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0
	}
	if err != nil {
		// There is no error return; the next GC pass re-establishes the
		// horizon, and until then reads below it may see fewer versions.
		s.log.Error("cannot load page GC horizon", "err", err)
		return 0
	}
	defer closer.Close()
	if len(v) != 8 {
		s.log.Error("corrupt page GC horizon", "len", len(v))
		return 0
	}
	return wal.LSN(binary.BigEndian.Uint64(v))
}

// AddBatch writes every page record of b into wb (a batch of the same db that the caller commits,
// together with its own apply-progress keys, in one atomic commit). Commit records are skipped.
// A PageImage record is stored as an image version (kind 1). PageWrite records are stored as
// deltas, one key per run of consecutive records on the same page (a mini-transaction's changes
// to one page, about three): keyed by the run's first LSN, they cost one Pebble key instead of
// one each, which was most of the state machine's memtable inserts.
func (s *PageStore) AddBatch(wb *pebble.Batch, b *wal.Batch) error {
	if err := b.Validate(); err != nil {
		return fmt.Errorf("storage: add batch at LSN %d: %w", b.FirstLSN, err)
	}
	var key, val []byte // Set copies, so one buffer of each serves every record
	for i := 0; i < len(b.Records); {
		r := &b.Records[i]
		var err error
		switch r.Kind {
		case wal.KindPageWrite:
			j := i + 1
			for j < len(b.Records) && b.Records[j].Kind == wal.KindPageWrite && b.Records[j].Page == r.Page && b.Records[j].LSN == b.Records[j-1].LSN+1 {
				j++
			}
			val = appendDeltas(val[:0], b.Records[i:j])
			key = appendPageKey(key[:0], r.Page, r.LSN, versionDelta)
			err = wb.Set(key, val, nil)
			i = j
		case wal.KindPageImage:
			// The stored image is the page after applying r, so its header
			// carries r's LSN exactly as wal.Apply would set it.
			val = append(val[:0], r.Data...)
			wal.SetPageLSN(val, r.LSN)
			key = appendPageKey(key[:0], r.Page, r.LSN, versionImage)
			err = wb.Set(key, val, nil)
			i++
		default:
			i++
		}
		if err != nil {
			return fmt.Errorf("storage: add page %v at LSN %d: %w", r.Page, r.LSN, err)
		}
	}
	return nil
}

// Committed tells the store that a batch it added has been committed to Pebble (so counts of deltas per
// page can be updated and the materialiser woken). Called in LSN order.
func (s *PageStore) Committed(b *wal.Batch) {
	var deltas, images int64
	signal := false
	s.mu.Lock()
	for i := range b.Records {
		r := &b.Records[i]
		switch r.Kind {
		case wal.KindPageWrite:
			deltas++
			c := s.counts[r.Page]
			c.deltas++
			c.bytes += len(r.Data)
			c.last = r.LSN
			s.counts[r.Page] = c
			if s.isDue(c) {
				if _, ok := s.due[r.Page]; !ok {
					s.due[r.Page] = struct{}{}
					signal = true
				}
			}
		case wal.KindPageImage:
			// The image is the page's newest version: nothing to count.
			images++
			delete(s.counts, r.Page)
			delete(s.due, r.Page)
			s.addImage(r.Page, r.LSN)
		}
	}
	s.mu.Unlock()
	s.st.deltasCommitted.Add(deltas)
	s.st.imagesCommitted.Add(images)
	if signal {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// addImage records an image of page at lsn for GC. Callers hold mu.
func (s *PageStore) addImage(page wal.PageID, lsn wal.LSN) {
	imgs := s.collectable[page]
	if i, found := slices.BinarySearch(imgs, lsn); !found {
		s.collectable[page] = slices.Insert(imgs, i, lsn)
	}
}

// isDue reports whether a page with count c needs a new image. Callers
// hold mu.
func (s *PageStore) isDue(c pageCount) bool {
	return c.deltas >= s.opts.MaterializeAfter || c.bytes >= s.opts.MaterializeBytes
}

// ReadPage returns a copy of the page as of lsn: the newest image with LSN <= lsn plus every later delta
// <= lsn applied with wal.Apply in LSN order, starting from a zero page if there is no image.
// A page never written returns a zero page and pageLSN 0 (not an error). Reading below the GC horizon
// that has been collected returns an error wrapping ErrBelowHorizon. It does NOT wait for lsn to be
// applied — the caller (state machine) does that.
func (s *PageStore) ReadPage(page wal.PageID, lsn wal.LSN) (img []byte, pageLSN wal.LSN, err error) {
	img, applied, _, _, err := s.readAt(page, lsn)
	if err != nil {
		return nil, 0, err
	}
	s.st.reads.Add(1)
	s.st.readDeltasApplied.Add(int64(applied))
	return img, wal.PageLSN(img), nil
}

// readAt rebuilds page as of lsn. It returns how many deltas it replayed,
// whether the newest version <= lsn is an image (so nothing needed
// replaying on top of it), and whether lsn falls inside a run of deltas
// stored under one key (so the page is as of lsn, but a run continues past
// it: not a point to write an image at).
func (s *PageStore) readAt(page wal.PageID, lsn wal.LSN) (img []byte, applied int, newestIsImage, partial bool, err error) {
	it, err := s.pageIter(page, lsn)
	if err != nil {
		return nil, 0, false, false, err
	}
	defer it.Close()
	// Checked after the iterator pins its view: GC publishes the horizon
	// before deleting, so if it is still <= lsn here, the view holds every
	// version this read needs.
	if h := wal.LSN(s.horizon.Load()); lsn < h {
		return nil, 0, false, false, fmt.Errorf("storage: read page %v at LSN %d, horizon %d: %w", page, lsn, h, ErrBelowHorizon)
	}
	return rebuild(it, page, lsn)
}

// pageIter returns an iterator over page's versions with (first) LSN <= lsn.
func (s *PageStore) pageIter(page wal.PageID, lsn wal.LSN) (*pebble.Iterator, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{
		LowerBound: pageKey(page, 0, versionDelta),
		// Kind 2 does not exist, so this is the tightest bound above (lsn, image).
		UpperBound: pageKey(page, lsn, versionImage+1),
	})
	if err != nil {
		return nil, fmt.Errorf("storage: page iterator: %w", err)
	}
	return it, nil
}

// rebuild replays the versions it sees, up to lsn: backwards to the newest
// image (an image at the same LSN as a delta sorts after it, so it wins),
// then forwards applying the deltas above it. Two passes avoid copying
// delta values, which are only valid until the iterator moves. An image
// never falls inside a run of deltas (images are written at batch ends),
// so a run below the image lies wholly below it.
func rebuild(it *pebble.Iterator, page wal.PageID, lsn wal.LSN) (img []byte, applied int, newestIsImage, partial bool, err error) {
	img = make([]byte, wal.PageSize)
	found := false
	for valid := it.Last(); valid; valid = it.Prev() {
		_, vlsn, kind, ok := parsePageKey(it.Key())
		if !ok || kind > versionImage {
			return nil, 0, false, false, fmt.Errorf("storage: page %v: bad version key %x", page, it.Key())
		}
		if kind != versionImage {
			continue
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, 0, false, false, fmt.Errorf("storage: page %v image at LSN %d: %w", page, vlsn, err)
		}
		if len(v) != wal.PageSize || wal.PageLSN(v) != vlsn {
			return nil, 0, false, false, fmt.Errorf("storage: page %v: corrupt image at LSN %d", page, vlsn)
		}
		copy(img, v)
		found = true
		break
	}
	if err := it.Error(); err != nil {
		return nil, 0, false, false, fmt.Errorf("storage: read page %v: %w", page, err)
	}
	var valid bool
	if found {
		valid = it.Next()
	} else {
		valid = it.First()
	}
	for ; valid; valid = it.Next() {
		_, first, kind, _ := parsePageKey(it.Key())
		if kind != versionDelta {
			return nil, 0, false, false, fmt.Errorf("storage: page %v: unexpected version kind %d at LSN %d", page, kind, first)
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, 0, false, false, fmt.Errorf("storage: page %v delta at LSN %d: %w", page, first, err)
		}
		n, rest, err := applyDeltas(img, page, first, lsn, v)
		applied += n
		if err != nil {
			return nil, 0, false, false, err
		}
		partial = partial || rest
	}
	if err := it.Error(); err != nil {
		return nil, 0, false, false, fmt.Errorf("storage: read page %v: %w", page, err)
	}
	return img, applied, found && applied == 0, partial, nil
}

// A delta value holds one PageWrite record without its page and LSN,
// which the key holds (kind u8 | offset uvarint | data), or a run of them
// at consecutive LSNs from the key's (deltaRun u8 | count uvarint |
// (offset uvarint | len uvarint | data) * count). The run marker is not a
// wal.Kind, so the two cannot be confused.
const deltaRun = 0x80

// appendDeltas encodes a run of PageWrite records of one page with
// consecutive LSNs as one delta value.
func appendDeltas(dst []byte, run []wal.Record) []byte {
	if len(run) == 1 {
		dst = append(dst, byte(run[0].Kind))
		dst = binary.AppendUvarint(dst, uint64(run[0].Offset))
		return append(dst, run[0].Data...)
	}
	dst = append(dst, deltaRun)
	dst = binary.AppendUvarint(dst, uint64(len(run)))
	for i := range run {
		dst = binary.AppendUvarint(dst, uint64(run[i].Offset))
		dst = binary.AppendUvarint(dst, uint64(len(run[i].Data)))
		dst = append(dst, run[i].Data...)
	}
	return dst
}

// applyDeltas applies the records of delta value v, whose first LSN is
// first, that are at or below upTo. It returns how many it applied and
// whether records above upTo remain.
func applyDeltas(img []byte, page wal.PageID, first, upTo wal.LSN, v []byte) (int, bool, error) {
	corrupt := func(what string) (int, bool, error) {
		return 0, false, fmt.Errorf("storage: page %v: corrupt delta %s at LSN %d", page, what, first)
	}
	if len(v) < 2 {
		return corrupt("value")
	}
	if wal.Kind(v[0]) == wal.KindPageWrite {
		off, n := binary.Uvarint(v[1:])
		if n <= 0 || off > wal.PageSize {
			return corrupt("offset")
		}
		rec := wal.PageWrite(page, first, uint32(off), v[1+n:])
		if err := wal.Apply(img, &rec); err != nil {
			return 0, false, fmt.Errorf("storage: page %v delta at LSN %d: %w", page, first, err)
		}
		return 1, false, nil
	}
	if v[0] != deltaRun {
		return corrupt("kind")
	}
	count, n := binary.Uvarint(v[1:])
	if n <= 0 || count == 0 || count > wal.PageSize {
		return corrupt("count")
	}
	v = v[1+n:]
	for k := uint64(0); k < count; k++ {
		lsn := first + wal.LSN(k)
		if lsn > upTo {
			return int(k), true, nil
		}
		off, n1 := binary.Uvarint(v)
		if n1 <= 0 || off > wal.PageSize {
			return corrupt("offset")
		}
		size, n2 := binary.Uvarint(v[n1:])
		if n2 <= 0 || size > uint64(len(v)-n1-n2) {
			return corrupt("length")
		}
		data := v[n1+n2 : n1+n2+int(size)]
		v = v[n1+n2+int(size):]
		rec := wal.PageWrite(page, lsn, uint32(off), data)
		if err := wal.Apply(img, &rec); err != nil {
			return int(k), false, fmt.Errorf("storage: page %v delta at LSN %d: %w", page, lsn, err)
		}
	}
	if len(v) != 0 {
		return corrupt("run")
	}
	return int(count), false, nil
}

// Stats for observability.
func (s *PageStore) Stats() PageStoreStats {
	s.mu.Lock()
	due, tracked := len(s.due), len(s.counts)
	s.mu.Unlock()
	return PageStoreStats{
		DeltasCommitted:    s.st.deltasCommitted.Load(),
		ImagesCommitted:    s.st.imagesCommitted.Load(),
		ImagesMaterialized: s.st.imagesMaterialized.Load(),
		GCPages:            s.st.gcPages.Load(),
		Reads:              s.st.reads.Load(),
		ReadDeltasApplied:  s.st.readDeltasApplied.Load(),
		PagesDue:           due,
		PagesTracked:       tracked,
		Horizon:            wal.LSN(s.horizon.Load()),
	}
}
