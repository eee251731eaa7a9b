package storage

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/polarsql/polar/wal"
)

var pageStoreSeed = flag.Uint64("pagestore.seed", 0, "seed for the randomized page store tests (0 = time-based)")

func psSeed(t testing.TB) uint64 {
	seed := *pageStoreSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -pagestore.seed=%d)", seed, seed)
	return seed
}

func psOpenDB(t testing.TB, dir string) *pebble.DB {
	t.Helper()
	db, err := pebble.Open(dir, &pebble.Options{Logger: psQuietLogger{}})
	if err != nil {
		t.Fatalf("open pebble: %v", err)
	}
	return db
}

type psQuietLogger struct{}

func (psQuietLogger) Infof(string, ...any)         {}
func (psQuietLogger) Errorf(string, ...any)        {}
func (psQuietLogger) Fatalf(f string, args ...any) { panic(f) }

// psCommit stores b the way the state machine does: AddBatch into a Pebble
// batch, commit, then Committed.
func psCommit(t testing.TB, db *pebble.DB, s *PageStore, b *wal.Batch) {
	t.Helper()
	wb := db.NewBatch()
	defer wb.Close()
	if err := s.AddBatch(wb, b); err != nil {
		t.Fatalf("AddBatch: %v", err)
	}
	if err := wb.Commit(pebble.NoSync); err != nil {
		t.Fatalf("commit: %v", err)
	}
	s.Committed(b)
}

// psOracle is the model: for every page, its full bytes after each record
// that touched it, built with wal.Apply on plain byte slices.
type psOracle struct {
	pages map[wal.PageID][]psVersion
}

type psVersion struct {
	lsn wal.LSN
	img []byte
}

func newPSOracle() *psOracle { return &psOracle{pages: make(map[wal.PageID][]psVersion)} }

func (o *psOracle) apply(t testing.TB, b *wal.Batch) {
	for i := range b.Records {
		r := &b.Records[i]
		if !r.HasPage() {
			continue
		}
		vs := o.pages[r.Page]
		img := make([]byte, wal.PageSize)
		if len(vs) > 0 {
			copy(img, vs[len(vs)-1].img)
		}
		if err := wal.Apply(img, r); err != nil {
			t.Fatalf("oracle apply: %v", err)
		}
		o.pages[r.Page] = append(vs, psVersion{r.LSN, img})
	}
}

// at returns the page as of lsn.
func (o *psOracle) at(p wal.PageID, lsn wal.LSN) ([]byte, wal.LSN) {
	vs := o.pages[p]
	i := sort.Search(len(vs), func(i int) bool { return vs[i].lsn > lsn })
	if i == 0 {
		return make([]byte, wal.PageSize), 0
	}
	return vs[i-1].img, vs[i-1].lsn
}

// psGenBatch makes a random batch of n records from first over pages.
func psGenBatch(rng *rand.Rand, first wal.LSN, n int, pages []wal.PageID) *wal.Batch {
	b := &wal.Batch{Epoch: 1, FirstLSN: first}
	var p wal.PageID
	for i := 0; i < n; i++ {
		lsn := first + wal.LSN(i)
		// Half the time the same page again: a mini-transaction's writes
		// to one page come in runs, which are stored as one version.
		if i == 0 || rng.IntN(2) == 0 {
			p = pages[rng.IntN(len(pages))]
		}
		switch x := rng.IntN(100); {
		case x < 10:
			b.Records = append(b.Records, wal.Commit(lsn, uint64(lsn)))
		case x < 20:
			img := psRandBytes(rng, wal.PageSize)
			b.Records = append(b.Records, wal.PageImage(p, lsn, img))
		default:
			off := wal.PageLSNSize + rng.IntN(wal.PageSize-wal.PageLSNSize+1)
			var l int
			switch y := rng.IntN(10); {
			case y == 0:
				l = 0
			case y < 7:
				l = 1 + rng.IntN(64)
			default:
				l = 1 + rng.IntN(4096)
			}
			l = min(l, wal.PageSize-off)
			data := psRandBytes(rng, l)
			b.Records = append(b.Records, wal.PageWrite(p, lsn, uint32(off), data))
		}
	}
	return b
}

func psRandBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n+7)
	for i := 0; i < n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], rng.Uint64())
	}
	return b[:n:n]
}

func psCheckRead(t testing.TB, s *PageStore, o *psOracle, p wal.PageID, lsn wal.LSN) {
	t.Helper()
	got, gotLSN, err := s.ReadPage(p, lsn)
	if err != nil {
		t.Fatalf("ReadPage(%v, %d): %v", p, lsn, err)
	}
	want, wantLSN := o.at(p, lsn)
	if gotLSN != wantLSN {
		t.Fatalf("ReadPage(%v, %d): pageLSN %d, want %d", p, lsn, gotLSN, wantLSN)
	}
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && got[i] == want[i] {
			i++
		}
		t.Fatalf("ReadPage(%v, %d): bytes differ from the model at offset %d", p, lsn, i)
	}
}

// psVersionsAtOrBelow counts page p's stored versions with LSN <= lsn.
func psVersionsAtOrBelow(t testing.TB, db *pebble.DB, p wal.PageID, lsn wal.LSN) (n int, kinds []byte) {
	t.Helper()
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: pageKey(p, 0, 0), UpperBound: pageKey(p, lsn, 2)})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	for valid := it.First(); valid; valid = it.Next() {
		_, _, kind, _ := parsePageKey(it.Key())
		kinds = append(kinds, kind)
		n++
	}
	return n, kinds
}

func TestPageStoreModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(psSeed(t), 7))
	dir := t.TempDir()
	db := psOpenDB(t, dir)
	defer func() { db.Close() }()
	opts := PageStoreOptions{MaterializeAfter: 3}
	s := NewPageStore(db, opts)

	pages := make([]wal.PageID, 20)
	for i := range pages {
		pages[i] = wal.MakePageID(uint32(i%3), uint64(i*7+1))
	}
	// Pages never written, read as zero pages.
	readPages := append(append([]wal.PageID(nil), pages...), wal.MakePageID(9, 9), 0)

	total := 3000
	if testing.Short() {
		total = 800
	}
	o := newPSOracle()
	next := wal.LSN(1)
	var horizon wal.LSN
	reopened := false
	var gcStats GCStats
	materialized := 0
	ctx := context.Background()

	check := func() {
		last := next - 1
		for k := 0; k < 20; k++ {
			p := readPages[rng.IntN(len(readPages))]
			l := horizon + wal.LSN(rng.Uint64N(uint64(last-horizon)+1))
			psCheckRead(t, s, o, p, l)
		}
		if horizon > 0 {
			l := wal.LSN(rng.Uint64N(uint64(horizon)))
			if _, _, err := s.ReadPage(pages[rng.IntN(len(pages))], l); !errors.Is(err, ErrBelowHorizon) {
				t.Fatalf("ReadPage at %d below horizon %d: err %v, want ErrBelowHorizon", l, horizon, err)
			}
		}
	}

	for int(next) <= total {
		b := psGenBatch(rng, next, 1+rng.IntN(20), pages)
		psCommit(t, db, s, b)
		o.apply(t, b)
		next = b.LastLSN() + 1

		switch x := rng.IntN(10); {
		case x < 3:
			n, err := s.MaterializeDue(next - 1)
			if err != nil {
				t.Fatalf("MaterializeDue: %v", err)
			}
			materialized += n
		case x == 3:
			horizon += wal.LSN(rng.Uint64N(uint64(next - horizon)))
			st, err := s.GC(ctx, horizon)
			if err != nil {
				t.Fatalf("GC(%d): %v", horizon, err)
			}
			gcStats.Pages += st.Pages
			for _, p := range pages {
				psCheckCollected(t, db, p, horizon)
			}
		}
		check()

		if !reopened && int(next) > total/2 {
			reopened = true
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			db = psOpenDB(t, dir)
			s = NewPageStore(db, opts)
			if got := s.Stats().Horizon; got != horizon {
				t.Fatalf("horizon after reopen %d, want %d", got, horizon)
			}
			check()
		}
	}
	// Every version at or above the final horizon, for every page.
	for _, p := range readPages {
		for l := horizon; l < next; l++ {
			psCheckRead(t, s, o, p, l)
		}
	}
	st := s.Stats()
	t.Logf("LSNs %d, horizon %d, materialised %d, GC %+v, stats %+v", next-1, horizon, materialized, gcStats, st)
	if materialized == 0 || gcStats.Pages == 0 {
		t.Errorf("the run did not exercise materialisation and GC: materialised %d, GC %+v", materialized, gcStats)
	}
	if st.PagesTracked > len(pages) {
		t.Errorf("tracking %d pages, only %d exist", st.PagesTracked, len(pages))
	}
}

// psCheckCollected fails unless GC at horizon left page no version below
// its newest image <= horizon: of the versions <= horizon, an image can
// only be the oldest.
func psCheckCollected(t *testing.T, db *pebble.DB, page wal.PageID, horizon wal.LSN) {
	t.Helper()
	_, kinds := psVersionsAtOrBelow(t, db, page, horizon)
	if i := bytes.LastIndexByte(kinds, versionImage); i > 0 {
		t.Fatalf("after GC(%d) page %v keeps versions %v: %d below its newest image", horizon, page, kinds, i)
	}
}

func TestPageStoreZeroPage(t *testing.T) {
	db := psOpenDB(t, t.TempDir())
	defer db.Close()
	s := NewPageStore(db, PageStoreOptions{})
	zero := make([]byte, wal.PageSize)
	for _, lsn := range []wal.LSN{0, 1, 100} {
		img, pl, err := s.ReadPage(42, lsn)
		if err != nil || pl != 0 || !bytes.Equal(img, zero) {
			t.Fatalf("never-written page at %d: pageLSN %d err %v, zero=%v", lsn, pl, err, bytes.Equal(img, zero))
		}
	}
	// Written at LSN 10: before that it is still a zero page.
	psCommit(t, db, s, &wal.Batch{Epoch: 1, FirstLSN: 10, Records: []wal.Record{
		wal.PageWrite(42, 10, 100, []byte("hello")),
		wal.Commit(11, 1),
	}})
	img, pl, err := s.ReadPage(42, 9)
	if err != nil || pl != 0 || !bytes.Equal(img, zero) {
		t.Fatalf("page at 9 before its first write: pageLSN %d err %v", pl, err)
	}
	img, pl, err = s.ReadPage(42, 11)
	if err != nil || pl != 10 || string(img[100:105]) != "hello" {
		t.Fatalf("page at 11: pageLSN %d err %v data %q", pl, err, img[100:105])
	}
	// ReadPage returns a copy.
	img[100] = 'X'
	if img2, _, _ := s.ReadPage(42, 11); img2[100] != 'h' {
		t.Fatal("ReadPage result aliases store state")
	}
}

func TestPageStoreImageRecordAndPrecedence(t *testing.T) {
	db := psOpenDB(t, t.TempDir())
	defer db.Close()
	s := NewPageStore(db, PageStoreOptions{MaterializeAfter: 1 << 30})
	img := bytes.Repeat([]byte{0xAB}, wal.PageSize) // header bytes are junk on purpose
	psCommit(t, db, s, &wal.Batch{Epoch: 1, FirstLSN: 1, Records: []wal.Record{
		wal.PageWrite(7, 1, 8, []byte{1, 2, 3}),
		wal.PageImage(7, 2, img),
		wal.PageWrite(7, 3, 20, []byte{9}),
	}})
	// A PageImage record is stored as an image version with its LSN in the header.
	if _, kinds := psVersionsAtOrBelow(t, db, 7, 3); !bytes.Equal(kinds, []byte{versionDelta, versionImage, versionDelta}) {
		t.Fatalf("stored kinds %v", kinds)
	}
	got, pl, err := s.ReadPage(7, 2)
	if err != nil || pl != 2 || !bytes.Equal(got[8:], img[8:]) {
		t.Fatalf("read at image record: pageLSN %d err %v", pl, err)
	}
	// Same LSN: an image at 3 (as the materialiser would write) beats the
	// delta at 3. Give it distinct bytes to see which one the read used.
	fake := make([]byte, wal.PageSize)
	fake[500] = 0x55
	wal.SetPageLSN(fake, 3)
	if err := db.Set(pageKey(7, 3, versionImage), fake, pebble.NoSync); err != nil {
		t.Fatal(err)
	}
	before := s.Stats().ReadDeltasApplied
	got, pl, err = s.ReadPage(7, 3)
	if err != nil || pl != 3 || !bytes.Equal(got, fake) {
		t.Fatalf("same-LSN image must win: pageLSN %d err %v", pl, err)
	}
	if d := s.Stats().ReadDeltasApplied - before; d != 0 {
		t.Fatalf("read at a same-LSN image replayed %d deltas, want 0", d)
	}
}

func TestPageStoreMaterialize(t *testing.T) {
	db := psOpenDB(t, t.TempDir())
	defer db.Close()
	s := NewPageStore(db, PageStoreOptions{MaterializeAfter: 4})
	o := newPSOracle()
	// One batch per delta: images are written at batch ends, and one
	// batch's run of deltas on a page is stored as one version.
	for i := 1; i <= 6; i++ {
		b := &wal.Batch{Epoch: 1, FirstLSN: wal.LSN(i), Records: []wal.Record{wal.PageWrite(3, wal.LSN(i), uint32(8+i), []byte{byte(i)})}}
		psCommit(t, db, s, b)
		o.apply(t, b)
	}
	if st := s.Stats(); st.PagesDue != 1 || st.DeltasCommitted != 6 {
		t.Fatalf("stats after 6 deltas: %+v", st)
	}
	// upTo 4: image at 4; deltas 5 and 6 still count, so the page stays
	// tracked but is no longer due.
	n, err := s.MaterializeDue(4)
	if err != nil || n != 1 {
		t.Fatalf("MaterializeDue(4) = %d, %v", n, err)
	}
	if st := s.Stats(); st.PagesDue != 0 || st.PagesTracked != 1 {
		t.Fatalf("stats after MaterializeDue(4): %+v", st)
	}
	for l := wal.LSN(0); l <= 6; l++ {
		psCheckRead(t, s, o, 3, l)
	}
	if _, kinds := psVersionsAtOrBelow(t, db, 3, 6); !bytes.Equal(kinds, []byte{0, 0, 0, 0, 1, 0, 0}) {
		t.Fatalf("kinds %v", kinds)
	}
	before := s.Stats()
	psCheckRead(t, s, o, 3, 6)
	if d := s.Stats().ReadDeltasApplied - before.ReadDeltasApplied; d != 2 {
		t.Fatalf("read at 6 replayed %d deltas, want 2 on top of the image", d)
	}
	// Nothing due: no work.
	if n, err := s.MaterializeDue(6); err != nil || n != 0 {
		t.Fatalf("MaterializeDue with nothing due = %d, %v", n, err)
	}
}

func TestPageStoreGCDropsBelowNewestImage(t *testing.T) {
	dir := t.TempDir()
	db := psOpenDB(t, dir)
	defer func() { db.Close() }()
	s := NewPageStore(db, PageStoreOptions{MaterializeAfter: 1 << 30, MaterializeBytes: 1 << 30})
	o := newPSOracle()
	img := bytes.Repeat([]byte{0x11}, wal.PageSize)
	var recs []wal.Record
	// Page 1: image at 1, deltas 2..9, image at 10, deltas 11..15.
	// Page 2: one delta at 16. Page 3: deltas 17..19, no image.
	// Page 4: image at 20, deltas 21..22. Page 5: image at 23, delta 24,
	// image at 25 (above the first horizon).
	recs = append(recs, wal.PageImage(1, 1, img))
	for l := wal.LSN(2); l <= 15; l++ {
		if l == 10 {
			recs = append(recs, wal.PageImage(1, l, img))
			continue
		}
		recs = append(recs, wal.PageWrite(1, l, uint32(l)*10, []byte{byte(l)}))
	}
	recs = append(recs, wal.PageWrite(2, 16, 8, []byte("x")))
	for l := wal.LSN(17); l <= 19; l++ {
		recs = append(recs, wal.PageWrite(3, l, 8, []byte{byte(l)}))
	}
	recs = append(recs, wal.PageImage(4, 20, img), wal.PageWrite(4, 21, 8, []byte{1}), wal.PageWrite(4, 22, 9, []byte{2}))
	recs = append(recs, wal.PageImage(5, 23, img), wal.PageWrite(5, 24, 8, []byte{1}), wal.PageImage(5, 25, img))
	b := &wal.Batch{Epoch: 1, FirstLSN: 1, Records: recs}
	psCommit(t, db, s, b)
	o.apply(t, b)

	ctx := context.Background()
	st, err := s.GC(ctx, 20)
	if err != nil {
		t.Fatal(err)
	}
	// Page 1 drops the image at 1 and deltas 2..9. Pages 2 and 3 have no
	// image: GC writes nothing for them. Page 4's image at 20 is known
	// (the store was new, so GC goes by the images it saw applied), so
	// GC deletes below it, where nothing is.
	if want := (GCStats{Pages: 2}); st != want {
		t.Fatalf("GC stats %+v, want %+v", st, want)
	}
	for _, c := range []struct {
		page  wal.PageID
		kinds []byte
	}{
		// Runs of deltas on one page in the batch are one version each:
		// page 1's 2..9 and 11..15, page 3's 17..19, page 4's 21..22.
		{1, []byte{1, 0}}, {2, []byte{0}}, {3, []byte{0}}, {4, []byte{1}},
	} {
		if _, kinds := psVersionsAtOrBelow(t, db, c.page, 20); !bytes.Equal(kinds, c.kinds) {
			t.Errorf("page %v versions <= 20: kinds %v, want %v", c.page, kinds, c.kinds)
		}
	}
	if n, _ := psVersionsAtOrBelow(t, db, 4, 22); n != 2 {
		t.Errorf("page 4 kept %d versions, want 2 (versions above the horizon stay)", n)
	}
	for _, p := range []wal.PageID{1, 2, 3, 4, 5, 6} {
		for l := wal.LSN(20); l <= 26; l++ {
			psCheckRead(t, s, o, p, l)
		}
		if _, _, err := s.ReadPage(p, 19); !errors.Is(err, ErrBelowHorizon) {
			t.Errorf("ReadPage(%v, 19) below horizon: %v", p, err)
		}
	}
	// Idempotent; a lower horizon does not move it back.
	if st, err := s.GC(ctx, 5); err != nil || st != (GCStats{}) {
		t.Fatalf("second GC = %+v, %v", st, err)
	}
	if h := s.Stats().Horizon; h != 20 {
		t.Fatalf("horizon %d after a lower GC, want 20", h)
	}
	// Page 5's newest image was above the last horizon, so it is still
	// collectable: a pass that scans only collectable pages finds it.
	if st, err := s.GC(ctx, 25); err != nil || st != (GCStats{Pages: 1}) {
		t.Fatalf("GC(25) = %+v, %v; want page 5's two versions below its image at 25", st, err)
	}
	psCheckRead(t, s, o, 5, 25)
	// The horizon survives a restart.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = psOpenDB(t, dir)
	s = NewPageStore(db, PageStoreOptions{})
	if _, _, err := s.ReadPage(1, 19); !errors.Is(err, ErrBelowHorizon) {
		t.Fatalf("after restart ReadPage below horizon: %v", err)
	}
	psCheckRead(t, s, o, 1, 25)
	// GC never touches keys outside its prefix.
	if err := db.Set([]byte("m-other"), []byte("v"), pebble.NoSync); err != nil {
		t.Fatal(err)
	}
	if err := db.Set([]byte("q"), []byte("v"), pebble.NoSync); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GC(ctx, 26); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"m-other", "q"} {
		if _, c, err := db.Get([]byte(k)); err != nil {
			t.Fatalf("key %q outside the page prefix: %v", k, err)
		} else {
			c.Close()
		}
	}
	psCheckRead(t, s, o, 4, 26)
}

// TestPageStoreConcurrent runs the writer, readers, the Run materialiser
// and GC together (meant for -race) and checks every read against the model.
func TestPageStoreConcurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(psSeed(t), 11))
	db := psOpenDB(t, t.TempDir())
	defer db.Close()
	s := NewPageStore(db, PageStoreOptions{MaterializeAfter: 3})
	pages := []wal.PageID{1, 2, 3, 4, 5, 6}
	total := 1500
	if testing.Short() {
		total = 400
	}
	// Everything is generated up front so the model is read-only while the
	// goroutines run.
	o := newPSOracle()
	var batches []*wal.Batch
	for next := wal.LSN(1); int(next) <= total; {
		b := psGenBatch(rng, next, 1+rng.IntN(10), pages)
		o.apply(t, b)
		batches = append(batches, b)
		next = b.LastLSN() + 1
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var applied atomic.Uint64
	var wg sync.WaitGroup
	runDone := make(chan struct{})
	go func() {
		defer close(runDone)
		s.Run(ctx, func() wal.LSN { return wal.LSN(applied.Load()) })
	}()

	errc := make(chan error, 8)
	writerDone := make(chan struct{})
	wg.Add(1)
	go func() { // GC at trailing horizons
		defer wg.Done()
		for {
			select {
			case <-writerDone:
				return
			case <-time.After(time.Millisecond):
			}
			a := applied.Load()
			if _, err := s.GC(ctx, wal.LSN(a-min(a, 30))); err != nil {
				errc <- err
				return
			}
		}
	}()
	for r := 0; r < 3; r++ {
		seed := rng.Uint64()
		wg.Add(1)
		go func() {
			defer wg.Done()
			rr := rand.New(rand.NewPCG(seed, 1))
			for {
				select {
				case <-writerDone:
					return
				default:
				}
				a := wal.LSN(applied.Load())
				h := wal.LSN(s.horizon.Load())
				if a < h {
					continue
				}
				l := h + wal.LSN(rr.Uint64N(uint64(a-h)+1))
				p := pages[rr.IntN(len(pages))]
				got, gl, err := s.ReadPage(p, l)
				if errors.Is(err, ErrBelowHorizon) && l < wal.LSN(s.horizon.Load()) {
					continue // GC overtook the read: allowed
				}
				if err != nil {
					errc <- err
					return
				}
				want, wl := o.at(p, l)
				if gl != wl || !bytes.Equal(got, want) {
					errc <- errors.New("concurrent read differs from the model")
					return
				}
			}
		}()
	}
	for _, b := range batches {
		psCommit(t, db, s, b)
		applied.Store(uint64(b.LastLSN()))
		time.Sleep(200 * time.Microsecond) // let GC and the materialiser interleave
	}
	close(writerDone)
	wg.Wait()
	cancel()
	<-runDone // Run returns once ctx is done
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	st := s.Stats()
	t.Logf("stats %+v", st)
	last := batches[len(batches)-1].LastLSN()
	for _, p := range pages {
		for l := st.Horizon; l <= last; l++ {
			psCheckRead(t, s, o, p, l)
		}
	}
}

func TestPageStoreRunStops(t *testing.T) {
	db := psOpenDB(t, t.TempDir())
	defer db.Close()
	s := NewPageStore(db, PageStoreOptions{MaterializeAfter: 2})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var applied atomic.Uint64
	go func() {
		defer close(done)
		s.Run(ctx, func() wal.LSN { return wal.LSN(applied.Load()) })
	}()
	b := &wal.Batch{Epoch: 1, FirstLSN: 1, Records: []wal.Record{
		wal.PageWrite(1, 1, 8, []byte{1}), wal.PageWrite(1, 2, 9, []byte{2}), wal.PageWrite(1, 3, 10, []byte{3}),
	}}
	psCommit(t, db, s, b)
	applied.Store(3)
	deadline := time.Now().Add(10 * time.Second)
	for s.Stats().ImagesMaterialized == 0 {
		if time.Now().After(deadline) {
			t.Fatal("Run did not materialise a due page")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after ctx was cancelled")
	}
}

func TestPageStoreRejectsBadBatch(t *testing.T) {
	db := psOpenDB(t, t.TempDir())
	defer db.Close()
	s := NewPageStore(db, PageStoreOptions{})
	wb := db.NewBatch()
	defer wb.Close()
	bad := &wal.Batch{Epoch: 1, FirstLSN: 1, Records: []wal.Record{wal.PageWrite(1, 1, 2, []byte{1})}}
	if err := s.AddBatch(wb, bad); err == nil {
		t.Fatal("AddBatch accepted a write over the page LSN")
	}
	if wb.Count() != 0 {
		t.Fatal("a rejected batch left writes behind")
	}
}

// TestPageStoreGCManyPages covers a GC pass long enough to refresh its scan
// iterator, and Reload.
func TestPageStoreGCManyPages(t *testing.T) {
	if testing.Short() {
		t.Skip("writes thousands of pages")
	}
	db := psOpenDB(t, t.TempDir())
	defer db.Close()
	s := NewPageStore(db, PageStoreOptions{MaterializeAfter: 2})
	o := newPSOracle()
	const pages = gcRefreshEvery + 500
	var recs []wal.Record
	lsn := wal.LSN(1)
	for round := 0; round < 2; round++ {
		for p := wal.PageID(1); p <= pages; p++ {
			recs = append(recs, wal.PageWrite(p, lsn, 8+uint32(round), []byte{byte(p), byte(round)}))
			lsn++
		}
	}
	b := &wal.Batch{Epoch: 1, FirstLSN: 1, Records: recs}
	psCommit(t, db, s, b)
	o.apply(t, b)
	if got := s.Stats().PagesDue; got != pages {
		t.Fatalf("%d pages due, want %d", got, pages)
	}
	for {
		n, err := s.MaterializeDue(lsn - 1)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	if got := s.Stats().PagesTracked; got != 0 {
		t.Fatalf("still tracking %d pages after every page got an image", got)
	}
	// Reload forgets which pages are collectable: the pass scans them all.
	s.Reload()
	st, err := s.GC(context.Background(), lsn-1)
	if err != nil {
		t.Fatal(err)
	}
	if want := (GCStats{Pages: pages}); st != want {
		t.Fatalf("GC stats %+v, want %+v", st, want)
	}
	for _, p := range []wal.PageID{1, gcRefreshEvery - 1, gcRefreshEvery, gcRefreshEvery + 1, pages} {
		n, kinds := psVersionsAtOrBelow(t, db, p, lsn)
		if n != 1 || kinds[0] != versionImage {
			t.Fatalf("page %v after GC: kinds %v, want one image", p, kinds)
		}
		psCheckRead(t, s, o, p, lsn-1)
	}
	psCommit(t, db, s, &wal.Batch{Epoch: 1, FirstLSN: lsn, Records: []wal.Record{wal.PageWrite(1, lsn, 8, []byte{1})}})
	s.Reload()
	if st := s.Stats(); st.Horizon != lsn-1 || st.PagesTracked != 0 {
		t.Fatalf("after Reload: %+v", st)
	}
}

// TestPageStoreRunIsOneVersion stores a batch's run of writes to one page
// as one version, reads the page right at every LSN inside the run, and
// never writes an image inside it (GC below such an image would drop the
// run's later writes with it).
func TestPageStoreRunIsOneVersion(t *testing.T) {
	db := psOpenDB(t, t.TempDir())
	defer db.Close()
	s := NewPageStore(db, PageStoreOptions{MaterializeAfter: 2})
	o := newPSOracle()
	var recs []wal.Record
	for i := 1; i <= 6; i++ {
		recs = append(recs, wal.PageWrite(3, wal.LSN(i), uint32(8+i), []byte{byte(i), byte(i)}))
	}
	recs = append(recs, wal.PageWrite(4, 7, 8, []byte{7}), wal.PageWrite(3, 8, 30, []byte{8}), wal.Commit(9, 1))
	b := &wal.Batch{Epoch: 1, FirstLSN: 1, Records: recs}
	psCommit(t, db, s, b)
	o.apply(t, b)
	if n, kinds := psVersionsAtOrBelow(t, db, 3, 9); n != 2 || !bytes.Equal(kinds, []byte{0, 0}) {
		t.Fatalf("page 3 has %d versions %v, want the run 1..6 and the write at 8", n, kinds)
	}
	for l := wal.LSN(0); l <= 9; l++ {
		psCheckRead(t, s, o, 3, l)
		psCheckRead(t, s, o, 4, l)
	}
	if n, err := s.MaterializeDue(4); err != nil || n != 0 {
		t.Fatalf("MaterializeDue(4) inside a run = %d, %v; want no image", n, err)
	}
	if n, err := s.MaterializeDue(9); err != nil || n != 1 {
		t.Fatalf("MaterializeDue(9) = %d, %v; want page 3's image", n, err)
	}
	if _, err := s.GC(context.Background(), 9); err != nil {
		t.Fatal(err)
	}
	for l := wal.LSN(9); l <= 9; l++ {
		psCheckRead(t, s, o, 3, l)
	}
}

// TestPageStoreGCAfterReopen: a store opened over stored versions does
// not know their images, so its first GC pass reads the pages to find
// them; a new store skips that pass's reading.
func TestPageStoreGCAfterReopen(t *testing.T) {
	db := psOpenDB(t, t.TempDir())
	defer db.Close()
	if s := NewPageStore(db, PageStoreOptions{}); s.gcScanAll {
		t.Fatal("a new store scans every page on its first GC pass")
	}
	s := NewPageStore(db, PageStoreOptions{MaterializeAfter: 1 << 30, MaterializeBytes: 1 << 30})
	img := bytes.Repeat([]byte{0x22}, wal.PageSize)
	recs := []wal.Record{wal.PageImage(9, 1, img)}
	for l := wal.LSN(2); l <= 5; l++ {
		recs = append(recs, wal.PageWrite(9, l, 100, []byte{byte(l)}))
	}
	recs = append(recs, wal.PageImage(9, 6, img), wal.Commit(7, 1))
	psCommit(t, db, s, &wal.Batch{Epoch: 1, FirstLSN: 1, Records: recs})

	s = NewPageStore(db, PageStoreOptions{}) // reopened: images unknown
	st, err := s.GC(context.Background(), 6)
	if err != nil {
		t.Fatal(err)
	}
	if st.Pages != 1 {
		t.Fatalf("GC after reopen collected %d pages, want 1", st.Pages)
	}
	if _, kinds := psVersionsAtOrBelow(t, db, 9, 7); !bytes.Equal(kinds, []byte{versionImage}) {
		t.Fatalf("page 9 keeps versions %v, want only the image at 6", kinds)
	}
}
