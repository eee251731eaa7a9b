package storage

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/polarsql/polar/wal"
)

const (
	// maxMaterializePerCall bounds one MaterializeDue call so the
	// materialiser never holds the store busy for long.
	maxMaterializePerCall = 256
	// materializeInterval is Run's fallback tick: it retries pages whose
	// deltas were beyond the applied LSN when they were last tried.
	materializeInterval = time.Second
	// gcCtxCheckEvery is how many pages GC scans between context checks.
	gcCtxCheckEvery = 64
	// gcRefreshEvery is how many pages GC scans with one iterator.
	gcRefreshEvery = 4096
)

// GCStats reports one GC pass.
type GCStats struct {
	Pages int // pages whose versions below an image were deleted
}

// MaterializeDue writes images for pages whose deltas since their newest image reached
// MaterializeAfter or MaterializeBytes: image at the page's newest LSN <= upTo (upTo = the applied LSN the caller guarantees
// is fully committed), written with NoSync (images are derived data; after a crash they are recomputed
// from deltas). Returns how many images it wrote. Bounded work per call (at most 256 pages).
func (s *PageStore) MaterializeDue(upTo wal.LSN) (int, error) {
	s.mu.Lock()
	pages := make([]wal.PageID, 0, min(len(s.due), maxMaterializePerCall))
	for p := range s.due {
		if len(pages) == maxMaterializePerCall {
			break
		}
		pages = append(pages, p)
		delete(s.due, p)
	}
	s.mu.Unlock()
	slices.Sort(pages) // page order keeps the writes local in Pebble

	written := 0
	for i, p := range pages {
		ok, err := s.materializePage(p, upTo)
		if err != nil {
			s.requeue(pages[i:])
			return written, err
		}
		if ok {
			written++
		}
	}
	return written, nil
}

// requeue puts pages that are still due back into the due set.
func (s *PageStore) requeue(pages []wal.PageID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range pages {
		if c, ok := s.counts[p]; ok && s.isDue(c) {
			s.due[p] = struct{}{}
		}
	}
}

// materializePage writes an image of page at its newest version <= upTo,
// unless that version is already an image. It reports whether it wrote one.
func (s *PageStore) materializePage(page wal.PageID, upTo wal.LSN) (bool, error) {
	s.pageMu.Lock()
	defer s.pageMu.Unlock()
	img, applied, _, partial, err := s.readAt(page, upTo)
	if errors.Is(err, ErrBelowHorizon) {
		// No read needs an image below the horizon; one written here could
		// only add clutter for GC.
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("storage: materialise page %v: %w", page, err)
	}
	lsn := wal.PageLSN(img)
	if partial {
		// upTo falls inside a run of deltas (callers pass batch ends, so
		// this is defensive): an image there would let GC drop the run's
		// later records with it. The page stays due for a later upTo.
		s.requeue([]wal.PageID{page})
		return false, nil
	}
	if applied > 0 {
		if err := s.db.Set(pageKey(page, lsn, versionImage), img, pebble.NoSync); err != nil {
			return false, fmt.Errorf("storage: materialise page %v at LSN %d: %w", page, lsn, err)
		}
		s.st.imagesMaterialized.Add(1)
		s.mu.Lock()
		s.addImage(page, lsn)
		s.mu.Unlock()
	}
	s.imageCovers(page, lsn, applied, true)
	return applied > 0, nil
}

// imageCovers updates page's delta count after an image at lsn that
// replaced `applied` deltas: the entry goes if the image is the page's
// newest version, and otherwise keeps the deltas above it. If requeue is
// set and the page is still due (its deltas lie beyond the caller's upTo),
// it goes back to the due set for a later try.
func (s *PageStore) imageCovers(page wal.PageID, lsn wal.LSN, applied int, requeue bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.counts[page]
	if !ok {
		return
	}
	if c.last <= lsn {
		delete(s.counts, page)
		delete(s.due, page)
		return
	}
	if applied >= c.deltas {
		c.deltas, c.bytes = 0, 0
	} else {
		c.bytes = c.bytes * (c.deltas - applied) / c.deltas
		c.deltas -= applied
	}
	s.counts[page] = c
	if !s.isDue(c) {
		delete(s.due, page)
	} else if requeue {
		s.due[page] = struct{}{}
	}
}

// GC drops the page versions that no read at or above horizon needs: for every page, the versions
// below its newest image with LSN <= horizon. It only deletes (one DeleteRange per page); the
// materialiser writes the images that make versions collectable, so a page whose deltas never reached
// a materialise threshold keeps them. Afterwards ReadPage(p, L) for every L >= horizon returns exactly
// what it returned before. Records the horizon so reads below it return ErrBelowHorizon. Horizon never
// moves backwards: a lower horizon than the recorded one is raised to it. horizon must not exceed the
// applied LSN.
//
// A pass deletes below the images recorded since GC last collected each page, reading nothing,
// except the first pass after open or Reload, which scans every page for its images.
//
// The horizon is persisted (and published to readers) before anything is deleted, so NoSync is safe:
// Pebble's WAL replays a prefix after a crash, and any surviving deletion comes with the horizon that
// allowed it.
func (s *PageStore) GC(ctx context.Context, horizon wal.LSN) (GCStats, error) {
	s.gcMu.Lock()
	defer s.gcMu.Unlock()
	var stats GCStats
	if cur := wal.LSN(s.horizon.Load()); horizon <= cur {
		horizon = cur
	} else {
		if err := s.db.Set(gcHorizonKey, binary.BigEndian.AppendUint64(nil, uint64(horizon)), pebble.NoSync); err != nil {
			return stats, fmt.Errorf("storage: record page GC horizon %d: %w", horizon, err)
		}
		s.horizon.Store(uint64(horizon))
	}

	var pages []wal.PageID
	collect := s.collectPage
	if s.gcScanAll {
		all, err := s.allPages(ctx)
		if err != nil {
			return stats, fmt.Errorf("storage: GC at horizon %d: %w", horizon, err)
		}
		pages, collect = all, s.scanPage
	} else {
		s.mu.Lock()
		for p, imgs := range s.collectable {
			if imgs[0] <= horizon {
				pages = append(pages, p)
			}
		}
		s.mu.Unlock()
		slices.Sort(pages) // page order keeps the deletions local in Pebble
	}
	for i, page := range pages {
		if i%gcCtxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return stats, fmt.Errorf("storage: GC at horizon %d: %w", horizon, err)
			}
		}
		deleted, err := collect(page, horizon)
		if err != nil {
			return stats, err
		}
		if deleted {
			stats.Pages++
			s.st.gcPages.Add(1)
		}
	}
	s.gcScanAll = false
	if stats.Pages > 0 {
		s.log.Debug("page GC", "horizon", horizon, "pages", stats.Pages)
	}
	return stats, nil
}

// allPages lists every page that has a stored version.
func (s *PageStore) allPages(ctx context.Context) ([]wal.PageID, error) {
	scanOpts := &pebble.IterOptions{
		LowerBound: pageKey(0, 0, versionDelta),
		UpperBound: []byte{prefixPage + 1},
	}
	it, err := s.db.NewIter(scanOpts)
	if err != nil {
		return nil, fmt.Errorf("page iterator: %w", err)
	}
	defer func() {
		if it != nil {
			it.Close()
		}
	}()
	var pages []wal.PageID
	for valid := it.First(); valid; {
		if len(pages)%gcCtxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if len(pages)%gcRefreshEvery == gcRefreshEvery-1 {
			// An iterator pins the memtables and sstables it started with;
			// a fresh one lets Pebble reclaim what has changed since.
			resume := slices.Clone(it.Key())
			err := it.Close()
			it = nil
			if err != nil {
				return nil, fmt.Errorf("page scan: %w", err)
			}
			if it, err = s.db.NewIter(scanOpts); err != nil {
				return nil, fmt.Errorf("page iterator: %w", err)
			}
			if valid = it.SeekGE(resume); !valid {
				break
			}
		}
		page, _, _, ok := parsePageKey(it.Key())
		if !ok {
			return nil, fmt.Errorf("bad page key %x", it.Key())
		}
		pages = append(pages, page)
		if page == ^wal.PageID(0) {
			break
		}
		valid = it.SeekGE(pageKey(page+1, 0, versionDelta))
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("page scan: %w", err)
	}
	return pages, nil
}

// collectPage deletes page's versions below its newest recorded image with LSN <= horizon and
// forgets the recorded images at or below horizon. It holds pageMu, as the materialiser does while it
// writes an image and records it, so neither can undo the other's work.
func (s *PageStore) collectPage(page wal.PageID, horizon wal.LSN) (bool, error) {
	s.pageMu.Lock()
	defer s.pageMu.Unlock()
	s.mu.Lock()
	imgs := s.collectable[page]
	n, _ := slices.BinarySearch(imgs, horizon+1)
	var base wal.LSN
	if n > 0 {
		base = imgs[n-1]
	}
	s.mu.Unlock()
	if base == 0 {
		return false, nil
	}
	if err := s.db.DeleteRange(pageKey(page, 0, versionDelta), pageKey(page, base, versionImage), pebble.NoSync); err != nil {
		return false, fmt.Errorf("storage: GC page %v below LSN %d: %w", page, base, err)
	}
	s.forgetImages(page, horizon)
	return true, nil
}

// forgetImages drops page's recorded images at or below horizon (the
// apply loop may have recorded newer ones meanwhile).
func (s *PageStore) forgetImages(page wal.PageID, horizon wal.LSN) {
	s.mu.Lock()
	defer s.mu.Unlock()
	imgs := s.collectable[page]
	n, _ := slices.BinarySearch(imgs, horizon+1)
	if n == len(imgs) {
		delete(s.collectable, page)
	} else if n > 0 {
		s.collectable[page] = slices.Clone(imgs[n:])
	}
}

// scanPage is collectPage for a page whose images are not recorded: it
// finds them by reading the page's versions, and records those above
// horizon.
func (s *PageStore) scanPage(page wal.PageID, horizon wal.LSN) (bool, error) {
	s.pageMu.Lock()
	defer s.pageMu.Unlock()
	it, err := s.pageIter(page, ^wal.LSN(0))
	if err != nil {
		return false, err
	}
	defer it.Close()
	var above []wal.LSN // images above horizon
	var base wal.LSN    // newest image <= horizon
	n, below := 0, 0    // versions seen; of them, below base
	for valid := it.First(); valid; valid = it.Next() {
		_, lsn, kind, ok := parsePageKey(it.Key())
		if !ok {
			return false, fmt.Errorf("storage: GC page %v: bad version key %x", page, it.Key())
		}
		if kind == versionImage {
			if lsn > horizon {
				above = append(above, lsn)
			} else {
				base, below = lsn, n
			}
		}
		n++
	}
	if err := it.Error(); err != nil {
		return false, fmt.Errorf("storage: GC page %v: %w", page, err)
	}
	s.mu.Lock()
	for _, lsn := range above {
		s.addImage(page, lsn)
	}
	s.mu.Unlock()
	if below == 0 {
		s.forgetImages(page, horizon)
		return false, nil
	}
	if err := s.db.DeleteRange(pageKey(page, 0, versionDelta), pageKey(page, base, versionImage), pebble.NoSync); err != nil {
		return false, fmt.Errorf("storage: GC page %v below LSN %d: %w", page, base, err)
	}
	s.forgetImages(page, horizon)
	return true, nil
}

// Run runs the background materialiser until ctx is done: it wakes when Committed signals due pages
// (and on a timer), calling MaterializeDue(appliedLSN()). appliedLSN is supplied by the owner.
func (s *PageStore) Run(ctx context.Context, appliedLSN func() wal.LSN) {
	t := time.NewTicker(materializeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-t.C:
		}
		// Drain the backlog in bounded steps, stopping once a step makes no
		// progress (what is left waits for the applied LSN to advance).
		for ctx.Err() == nil {
			n, err := s.MaterializeDue(appliedLSN())
			if err != nil {
				s.log.Error("materialise pages", "err", err)
				break
			}
			if n == 0 || s.Stats().PagesDue == 0 {
				break
			}
		}
	}
}

// keyLess reports whether key a sorts before key b.
func keyLess(a, b []byte) bool { return bytes.Compare(a, b) < 0 }
