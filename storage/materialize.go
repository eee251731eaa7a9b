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
	Pages           int // pages from which versions were dropped
	ImagesWritten   int // images written so a page's newest version <= horizon is an image
	VersionsDropped int // page versions deleted
}

// MaterializeDue writes images for pages whose delta count since their newest image reached
// MaterializeAfter: image at the page's newest LSN <= upTo (upTo = the applied LSN the caller guarantees
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
		if c, ok := s.counts[p]; ok && c.deltas >= s.opts.MaterializeAfter {
			s.due[p] = struct{}{}
		}
	}
}

// materializePage writes an image of page at its newest version <= upTo,
// unless that version is already an image. It reports whether it wrote one.
func (s *PageStore) materializePage(page wal.PageID, upTo wal.LSN) (bool, error) {
	s.pageMu.Lock()
	defer s.pageMu.Unlock()
	img, applied, _, err := s.readAt(page, upTo)
	if errors.Is(err, ErrBelowHorizon) {
		// Versions below the horizon belong to GC, which leaves each page a
		// single image there; an image written here could only add clutter.
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("storage: materialise page %v: %w", page, err)
	}
	lsn := wal.PageLSN(img)
	if applied > 0 {
		if err := s.db.Set(pageKey(page, lsn, versionImage), img, pebble.NoSync); err != nil {
			return false, fmt.Errorf("storage: materialise page %v at LSN %d: %w", page, lsn, err)
		}
		s.st.imagesMaterialized.Add(1)
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
	c.deltas = max(0, c.deltas-applied)
	s.counts[page] = c
	if c.deltas < s.opts.MaterializeAfter {
		delete(s.due, page)
	} else if requeue {
		s.due[page] = struct{}{}
	}
}

// GC drops page versions older than horizon, keeping for every page the newest version that a read at
// horizon needs: if a page has versions <= horizon and more than one of them, first materialise an image at
// its newest LSN <= horizon (if that version isn't already an image), then DeleteRange the keys below it.
// Afterwards ReadPage(p, L) for every L >= horizon returns exactly what it returned before. Records the
// horizon so reads below it return ErrBelowHorizon. Horizon never moves backwards: a lower horizon than
// the recorded one is raised to it. horizon must not exceed the applied LSN.
//
// The horizon is persisted (and published to readers) before anything is deleted, and each page's image
// and deletion are one atomic Pebble batch, so NoSync is safe: Pebble's WAL replays a prefix after a
// crash, and any surviving deletion comes with its image and the horizon that allowed it.
func (s *PageStore) GC(ctx context.Context, horizon wal.LSN) (GCStats, error) {
	s.gcMu.Lock()
	defer s.gcMu.Unlock()
	var stats GCStats
	if cur := wal.LSN(s.horizon.Load()); horizon <= cur {
		horizon = cur
		if horizon <= s.gcDone {
			return stats, nil
		}
	} else {
		if err := s.db.Set(gcHorizonKey, binary.BigEndian.AppendUint64(nil, uint64(horizon)), pebble.NoSync); err != nil {
			return stats, fmt.Errorf("storage: record page GC horizon %d: %w", horizon, err)
		}
		s.horizon.Store(uint64(horizon))
	}

	scanOpts := &pebble.IterOptions{
		LowerBound: pageKey(0, 0, versionDelta),
		UpperBound: []byte{prefixPage + 1},
	}
	it, err := s.db.NewIter(scanOpts)
	if err != nil {
		return stats, fmt.Errorf("storage: GC iterator: %w", err)
	}
	defer func() {
		if it != nil {
			it.Close()
		}
	}()

	scanned := 0
	valid := it.First()
	for valid {
		if scanned++; scanned%gcCtxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return stats, fmt.Errorf("storage: GC at horizon %d: %w", horizon, err)
			}
		}
		if scanned%gcRefreshEvery == 0 {
			// An iterator pins the memtables and sstables it started with;
			// a fresh one lets Pebble reclaim what GC has deleted so far.
			resume := slices.Clone(it.Key())
			if err := it.Close(); err != nil {
				it = nil
				return stats, fmt.Errorf("storage: GC scan: %w", err)
			}
			if it, err = s.db.NewIter(scanOpts); err != nil {
				return stats, fmt.Errorf("storage: GC iterator: %w", err)
			}
			if valid = it.SeekGE(resume); !valid {
				break
			}
		}
		page, _, _, ok := parsePageKey(it.Key())
		if !ok {
			return stats, fmt.Errorf("storage: GC: bad page key %x", it.Key())
		}
		// Count the versions a read at horizon could use; GC only has work
		// if there are two or more.
		n := 0
		for valid {
			p, lsn, _, ok := parsePageKey(it.Key())
			if !ok || p != page || lsn > horizon {
				break
			}
			n++
			valid = it.Next()
		}
		switch {
		case n > 1:
			imaged, dropped, err := s.gcPage(page, horizon)
			if err != nil {
				return stats, err
			}
			if dropped > 0 {
				stats.Pages++
				stats.VersionsDropped += dropped
				s.st.gcVersionsDropped.Add(int64(dropped))
			}
			if imaged {
				stats.ImagesWritten++
				s.st.gcImages.Add(1)
			}
		case n == 1:
			// One version <= horizon and (if the page's newest version is
			// that one) at most one delta to replay: stop tracking the page
			// so counts stay bounded by recently written pages.
			s.mu.Lock()
			if c, ok := s.counts[page]; ok && c.last <= horizon {
				delete(s.counts, page)
				delete(s.due, page)
			}
			s.mu.Unlock()
		}
		if !valid {
			break
		}
		if p, _, _, _ := parsePageKey(it.Key()); p != page {
			continue
		}
		if page == ^wal.PageID(0) {
			break
		}
		valid = it.SeekGE(pageKey(page+1, 0, versionDelta))
	}
	if err := it.Error(); err != nil {
		return stats, fmt.Errorf("storage: GC scan: %w", err)
	}
	s.gcDone = horizon
	if stats.Pages > 0 {
		s.log.Debug("page GC", "horizon", horizon, "pages", stats.Pages,
			"images", stats.ImagesWritten, "dropped", stats.VersionsDropped)
	}
	return stats, nil
}

// gcPage makes page's newest version <= horizon an image and deletes every
// version below it, in one batch. It re-reads the page under pageMu rather
// than trusting the scan, so a concurrent materialisation is accounted for.
func (s *PageStore) gcPage(page wal.PageID, horizon wal.LSN) (imaged bool, dropped int, err error) {
	s.pageMu.Lock()
	defer s.pageMu.Unlock()
	it, err := s.pageIter(page, horizon)
	if err != nil {
		return false, 0, err
	}
	defer it.Close()
	img, applied, newestIsImage, err := rebuild(it, page)
	if err != nil {
		return false, 0, fmt.Errorf("storage: GC page %v: %w", page, err)
	}
	base := wal.PageLSN(img)
	if base == 0 {
		return false, 0, nil
	}
	keep := pageKey(page, base, versionImage)
	for valid := it.First(); valid && keyLess(it.Key(), keep); valid = it.Next() {
		dropped++
	}
	if err := it.Error(); err != nil {
		return false, 0, fmt.Errorf("storage: GC page %v: %w", page, err)
	}
	if dropped == 0 {
		return false, 0, nil
	}
	wb := s.db.NewBatch()
	defer wb.Close()
	if !newestIsImage {
		if err := wb.Set(keep, img, nil); err != nil {
			return false, 0, fmt.Errorf("storage: GC page %v: %w", page, err)
		}
	}
	if err := wb.DeleteRange(pageKey(page, 0, versionDelta), keep, nil); err != nil {
		return false, 0, fmt.Errorf("storage: GC page %v: %w", page, err)
	}
	if err := wb.Commit(pebble.NoSync); err != nil {
		return false, 0, fmt.Errorf("storage: GC page %v at LSN %d: %w", page, base, err)
	}
	s.imageCovers(page, base, applied, false)
	return !newestIsImage, dropped, nil
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
