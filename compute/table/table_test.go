package table

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/polarsql/polar/compute/catalog"
	"github.com/polarsql/polar/compute/engine"
	"github.com/polarsql/polar/compute/keycodec"
)

// retryable reports errors after which a concurrent test rolls back and
// tries again.
func retryable(err error) bool {
	return errors.Is(err, engine.ErrDeadlock) || errors.Is(err, engine.ErrLockTimeout)
}

// TestUniqueRace: 8 transactions insert rows with the same unique value
// (in different cases) at once; exactly one commits, the others get a
// duplicate key error.
func TestUniqueRace(t *testing.T) {
	ctx := context.Background()
	v := newEnv(t, 1<<20)
	tb := v.create(t, modelDef())
	const g = 8
	for round := range 10 {
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, g)
		for i := range g {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				b := fmt.Sprintf("v%d", round)
				if i%2 == 1 {
					b = strings.ToUpper(b) + " "
				}
				m := mrow{a: int64(round*g + i), b: &b, d: "x"}
				for {
					tx := v.e.Begin(engine.TxnOptions{})
					err := tb.Insert(ctx, tx, m.row())
					if err == nil {
						err = tx.Commit(ctx)
					} else {
						tx.Rollback()
					}
					if retryable(err) {
						continue
					}
					errs[i] = err
					return
				}
			}()
		}
		close(start)
		wg.Wait()
		ok := 0
		for i, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, ErrDuplicateKey):
				t.Fatalf("round %d, inserter %d: %v", round, i, err)
			}
		}
		if ok != 1 {
			t.Fatalf("round %d: %d inserts of the same unique value committed: %v", round, ok, errs)
		}
	}
	tx := v.e.Begin(engine.TxnOptions{ReadOnly: true})
	defer tx.Rollback()
	rows, _, err := collect(ctx, tb, tx, ScanOptions{Index: 2})
	if err != nil || len(rows) != 10 {
		t.Fatalf("%d rows in the unique index, %v:\n%s", len(rows), err, rowsString(rows))
	}
}

// checkConsistent checks, in a new transaction, that every secondary index
// holds exactly the entries of the clustered rows, in index order, and that
// unique indexes hold no duplicate.
func checkConsistent(t *testing.T, tb *Table, e *engine.Engine) []Row {
	t.Helper()
	tx := e.Begin(engine.TxnOptions{ReadOnly: true})
	defer tx.Rollback()
	rows, err := consistent(tb, tx)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// consistent is checkConsistent's check at tx's snapshot.
func consistent(tb *Table, tx *engine.Txn) ([]Row, error) {
	ctx := context.Background()
	rows, ids, err := collect(ctx, tb, tx, ScanOptions{})
	if err != nil {
		return nil, err
	}
	for i, ix := range tb.indexes[1:] {
		type ent struct {
			key string
			row Row
		}
		var want []ent
		for j, r := range rows {
			e, err := tb.secondaryEntry(ix, r, ids[j])
			if err != nil {
				return nil, err
			}
			want = append(want, ent{string(e.key), r})
		}
		slices.SortFunc(want, func(x, y ent) int { return strings.Compare(x.key, y.key) })
		got, _, err := collect(ctx, tb, tx, ScanOptions{Index: i + 1})
		if err != nil {
			return nil, fmt.Errorf("index %s: %w", ix.name, err)
		}
		if len(got) != len(want) {
			return nil, fmt.Errorf("index %s has %d entries for %d rows", ix.name, len(got), len(want))
		}
		for j := range got {
			if !sameRow(got[j], want[j].row) {
				return nil, fmt.Errorf("index %s entry %d: %s, want %s", ix.name, j, rowString(got[j]), rowString(want[j].row))
			}
		}
		if ix.unique {
			seen := map[string]bool{}
			for _, w := range want {
				e, _ := tb.secondaryEntry(ix, w.row, 0)
				if !e.hasNull && seen[string(e.prefix())] {
					return nil, fmt.Errorf("unique index %s has a duplicate: %s", ix.name, rowString(w.row))
				}
				seen[string(e.prefix())] = true
			}
		}
	}
	return rows, nil
}

// TestConcurrentWriters: goroutines insert, update (changing the primary
// key and the unique column, or the key only) and delete rows with few
// distinct unique values at once, while a reader checks at snapshot after
// snapshot that the indexes match the rows and the unique index holds no
// duplicate.
func TestConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	v := newEnv(t, 1<<20)
	tb := v.create(t, modelDef())
	const workers = 4
	n := 200
	if testing.Short() {
		n = 50
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	counts := map[string]int{}
	stop := make(chan struct{})
	checkerDone := make(chan error, 1)
	checks := 0
	go func() {
		for {
			select {
			case <-stop:
				checkerDone <- nil
				return
			default:
			}
			tx := v.e.Begin(engine.TxnOptions{ReadOnly: true})
			_, err := consistent(tb, tx)
			tx.Rollback()
			if err != nil {
				checkerDone <- err
				return
			}
			checks++
		}
	}()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 9))
			g := modelGen{rng}
			smallB := func() *string {
				i := rng.IntN(12)
				s := string(rune('a'+i)) + strings.Repeat(" ", rng.IntN(2))
				if rng.IntN(2) == 0 {
					s = strings.ToUpper(s)
				}
				return &s
			}
			pk := func() int64 { return int64(rng.IntN(40)) }
			for range n {
				tx := v.e.Begin(engine.TxnOptions{})
				var err error
				op := ""
				for range 1 + rng.IntN(3) {
					switch k := rng.IntN(10); {
					case k < 4:
						op = "insert"
						err = tb.Insert(ctx, tx, mrow{a: pk(), b: smallB(), c: g.c(), d: "d"}.row())
					case k < 8:
						op = "update"
						var old Row
						var ok bool
						if old, ok, err = tb.Get(ctx, tx, ints(pk()), engine.LockExclusive); err == nil && ok {
							nw := slices.Clone(old)
							switch rng.IntN(3) {
							case 0:
								nw[1] = keycodec.StringValue(*smallB())
							case 1:
								nw[0] = keycodec.IntValue(pk()) // keep b, change the key
							case 2:
								nw[0] = keycodec.IntValue(pk())
								nw[1] = keycodec.StringValue(*smallB())
							}
							err = tb.Update(ctx, tx, old, nw)
						}
					default:
						op = "delete"
						var old Row
						var ok bool
						if old, ok, err = tb.Get(ctx, tx, ints(pk()), engine.LockExclusive); err == nil && ok {
							err = tb.Delete(ctx, tx, old)
						}
					}
					if err != nil {
						break
					}
				}
				if err == nil {
					err = tx.Commit(ctx)
				} else {
					tx.Rollback()
				}
				mu.Lock()
				switch {
				case err == nil:
					counts[op+" ok"]++
				case errors.Is(err, ErrDuplicateKey):
					counts[op+" dup"]++
				case retryable(err):
					counts["retry"]++
				default:
					mu.Unlock()
					t.Errorf("%s: %v", op, err)
					return
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(stop)
	if err := <-checkerDone; err != nil {
		t.Fatal(err)
	}
	counts["checks"] = checks
	if t.Failed() {
		return
	}
	rows := checkConsistent(t, tb, v.e)
	t.Logf("%d rows; %v", len(rows), counts)
}

// TestHiddenPK: a table without a primary key gets row ids 1..N in
// insertion order; rows are read, updated and deleted by row id, and the
// secondary index ends with the row id.
func TestHiddenPK(t *testing.T) {
	ctx := context.Background()
	v := newEnv(t, smallPool)
	tb := v.create(t, &catalog.Table{Name: "h", HiddenPK: true,
		Columns: []catalog.Column{intCol("x", false), strCol("y", "varchar", true)},
		Indexes: []catalog.Index{{Name: "ix", Columns: []string{"x"}}, {Name: "uy", Columns: []string{"y"}, Unique: true}},
	})
	if !tb.Def().HiddenPK {
		t.Fatal("not a HiddenPK table")
	}
	const n = 300
	var want []Row
	tx := v.e.Begin(engine.TxnOptions{})
	for i := range n {
		r := Row{keycodec.IntValue(int64((i * 7) % 10)), keycodec.StringValue(fmt.Sprintf("Row %d", i))}
		id, err := tb.InsertRowID(ctx, tx, r)
		if err != nil || id != uint64(i+1) {
			t.Fatalf("insert %d: id %d, %v", i, id, err)
		}
		want = append(want, r)
		if i%100 == 99 {
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			tx = v.e.Begin(engine.TxnOptions{})
		}
	}
	if err := tb.Insert(ctx, tx, Row{keycodec.IntValue(1), keycodec.StringValue("ROW 5")}); !errors.Is(err, ErrDuplicateKey) ||
		err.Error() != "Duplicate entry 'ROW 5' for key 'h.uy'" {
		t.Fatalf("duplicate y: %v", err)
	}
	tx.Rollback()
	tx = v.e.Begin(engine.TxnOptions{})
	got, ids, err := collect(ctx, tb, tx, ScanOptions{})
	if err != nil || !sameRows(got, want) {
		t.Fatalf("scan: %v\n%s", err, rowsString(got))
	}
	for i, id := range ids {
		if id != uint64(i+1) {
			t.Fatalf("row %d has id %d", i, id)
		}
	}
	rev, rids, err := collect(ctx, tb, tx, ScanOptions{Reverse: true, Lo: &Bound{Values: []keycodec.Value{keycodec.UintValue(291)}, Inclusive: true}})
	if err != nil || len(rev) != 10 || rids[0] != 300 || rids[9] != 291 || !sameRow(rev[0], want[299]) {
		t.Fatalf("reverse scan of ids >= 291: %v %v", rids, err)
	}
	// Secondary index: x, then row id.
	sec, sids, err := collect(ctx, tb, tx, ScanOptions{Index: 1, Lo: &Bound{Values: ints(3), Inclusive: true},
		Hi: &Bound{Values: ints(3), Inclusive: true}})
	if err != nil || len(sec) != n/10 {
		t.Fatalf("x = 3: %d rows, %v", len(sec), err)
	}
	for j := range sec {
		if id := sids[j]; !sameRow(sec[j], want[id-1]) || j > 0 && sids[j-1] >= id {
			t.Fatalf("x = 3 entry %d: id %d %s", j, id, rowString(sec[j]))
		}
	}
	if _, _, err := tb.Get(ctx, tx, ints(1), engine.NoLock); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Get on a HiddenPK table: %v", err)
	}
	r, ok, err := tb.GetByRowID(ctx, tx, 42, engine.LockExclusive)
	if err != nil || !ok || !sameRow(r, want[41]) {
		t.Fatalf("row 42: %s %v %v", rowString(r), ok, err)
	}
	nr := Row{keycodec.IntValue(100), keycodec.StringValue("changed")}
	if err := tb.UpdateByRowID(ctx, tx, 42, r, nr); err != nil {
		t.Fatal(err)
	}
	if err := tb.DeleteByRowID(ctx, tx, 43, want[42]); err != nil {
		t.Fatal(err)
	}
	if err := tb.DeleteByRowID(ctx, tx, 1000, want[0]); !errors.Is(err, ErrNoRow) {
		t.Fatalf("delete of a missing row id: %v", err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	want[41] = nr
	want = slices.Delete(want, 42, 43)
	rows := checkConsistent(t, tb, v.e)
	if !sameRows(rows, want) {
		t.Fatalf("rows after update and delete:\n%s", rowsString(rows))
	}
	// Row ids continue after a restart.
	v.restart(t, smallPool)
	tb = v.open(t, "h")
	tx = v.e.Begin(engine.TxnOptions{})
	if id, err := tb.InsertRowID(ctx, tx, Row{keycodec.Value{}, keycodec.StringValue("after")}); err != nil || id != n+1 {
		t.Fatalf("row id after restart: %d %v", id, err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	checkConsistent(t, tb, v.e)
}

// TestHiddenPKWithAutoIncrement: a table without a primary key but with
// an AUTO_INCREMENT column keeps two counters, one per kind of id, each
// derived from its own index after a restart: the column gets 1, 2 with no
// gap, and a row inserted after the restart gets a fresh row id instead of
// overwriting a row.
func TestHiddenPKWithAutoIncrement(t *testing.T) {
	ctx := context.Background()
	v := newEnv(t, smallPool)
	def := &catalog.Table{Name: "ha", HiddenPK: true,
		Columns: []catalog.Column{
			{Name: "id", Type: catalog.ColumnType{Name: "int"}, AutoIncrement: true},
			strCol("v", "varchar", true),
		},
		Indexes: []catalog.Index{{Name: "id", Columns: []string{"id"}, Unique: true}},
	}
	tb := v.create(t, def)
	tx := v.e.Begin(engine.TxnOptions{})
	id, err := v.cat.NextAutoIncrement(ctx, tb.Def(), 1) // the SQL layer fills the column
	if err != nil {
		t.Fatal(err)
	}
	rid, err := tb.InsertRowID(ctx, tx, Row{keycodec.IntValue(int64(id)), keycodec.StringValue("first")})
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("column value %d, row id %d", id, rid)
	v.restart(t, smallPool)
	tb = v.open(t, "ha")
	tx = v.e.Begin(engine.TxnOptions{})
	rid2, err := tb.InsertRowID(ctx, tx, Row{keycodec.IntValue(-1), keycodec.StringValue("second")})
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	rows := checkConsistent(t, tb, v.e)
	if len(rows) != 2 || rid2 == rid {
		t.Fatalf("row ids %d and %d; rows:\n%s", rid, rid2, rowsString(rows))
	}
	if id2, err := v.cat.NextAutoIncrement(ctx, tb.Def(), 1); err != nil || id2 != id+1 {
		t.Fatalf("column values %d then %d (%v): row ids leaked into the column's counter", id, id2, err)
	}
}

// TestBuildIndex: an index built on a populated table equals one
// maintained during the inserts; a unique index over duplicates fails.
func TestBuildIndex(t *testing.T) {
	ctx := context.Background()
	v := newEnv(t, smallPool)
	withK := v.create(t, sbtestDef("with", true))
	without := v.create(t, sbtestDef("without", false))
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 2500 // several build batches
	for i := 0; i < n; {
		tx := v.e.Begin(engine.TxnOptions{})
		for j := 0; j < 500 && i < n; i, j = i+1, j+1 {
			r := sbRow(rng, int64(i+1), int64(rng.IntN(100)))
			for _, tb := range []*Table{withK, without} {
				if err := tb.Insert(ctx, tx, r); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	def := *without.Def()
	def.Indexes = append(slices.Clone(def.Indexes), catalog.Index{Name: "k_1", Columns: []string{"k"}})
	if err := v.cat.AlterTable(ctx, &def); err != nil {
		t.Fatal(err)
	}
	built := v.open(t, "without")
	if err := built.BuildIndex(ctx, 1); err != nil {
		t.Fatal(err)
	}
	checkConsistent(t, built, v.e)
	tx := v.e.Begin(engine.TxnOptions{ReadOnly: true})
	for _, keyOnly := range []bool{false, true} {
		a, _, err1 := collect(ctx, withK, tx, ScanOptions{Index: 1, KeyOnly: keyOnly})
		b, _, err2 := collect(ctx, built, tx, ScanOptions{Index: 1, KeyOnly: keyOnly})
		if err1 != nil || err2 != nil || len(a) != n || !sameRows(a, b) {
			t.Fatalf("built index differs (keyOnly %v): %d vs %d rows, %v %v", keyOnly, len(a), len(b), err1, err2)
		}
	}
	tx.Rollback()
	// UNIQUE (k) over duplicate ks fails; UNIQUE (c) over distinct cs
	// builds.
	def2 := *built.Def()
	def2.Indexes = append(slices.Clone(def2.Indexes),
		catalog.Index{Name: "uk", Columns: []string{"k"}, Unique: true},
		catalog.Index{Name: "uc", Columns: []string{"c"}, Unique: true})
	if err := v.cat.AlterTable(ctx, &def2); err != nil {
		t.Fatal(err)
	}
	built = v.open(t, "without")
	var de *DuplicateKeyError
	if err := built.BuildIndex(ctx, 2); !errors.As(err, &de) || de.Index != "uk" {
		t.Fatalf("unique build over duplicates: %v", err)
	}
	if err := built.BuildIndex(ctx, 3); err != nil {
		t.Fatalf("unique build over distinct values: %v", err)
	}
	tx = v.e.Begin(engine.TxnOptions{ReadOnly: true})
	defer tx.Rollback()
	uc, _, err := collect(ctx, built, tx, ScanOptions{Index: 3, KeyOnly: true})
	if err != nil || len(uc) != n {
		t.Fatalf("unique index on c: %d entries, %v", len(uc), err)
	}
	if err := built.BuildIndex(ctx, 0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("building the clustered index: %v", err)
	}
}

// sbRow is a sysbench row: c is 10 groups of 11 digits, pad 5 groups.
func sbRow(rng *rand.Rand, id, k int64) Row {
	groups := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = fmt.Sprintf("%011d", rng.Int64N(1e11))
		}
		return strings.Join(parts, "-")
	}
	return Row{keycodec.IntValue(id), keycodec.IntValue(k), keycodec.StringValue(groups(10)), keycodec.StringValue(groups(5))}
}

// TestSysbench: the sbtest table with its k index, loaded with ids from
// the catalog's auto-increment, and sysbench's point select, range select
// and index update.
func TestSysbench(t *testing.T) {
	ctx := context.Background()
	v := newEnv(t, 4<<20)
	tb := v.create(t, sbtestDef("sbtest1", true))
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 2000
	rows := map[int64]Row{}
	for i := 0; i < n; {
		tx := v.e.Begin(engine.TxnOptions{})
		for j := 0; j < 100 && i < n; i, j = i+1, j+1 {
			id, err := v.cat.NextAutoIncrement(ctx, tb.Def(), 1)
			if err != nil || id != uint64(i+1) {
				t.Fatalf("auto-increment %d: %d %v", i, id, err)
			}
			r := sbRow(rng, int64(id), int64(rng.IntN(n)))
			if err := tb.Insert(ctx, tx, r); err != nil {
				t.Fatal(err)
			}
			rows[int64(id)] = r
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	tx := v.e.Begin(engine.TxnOptions{})
	defer tx.Rollback()
	// SELECT c FROM sbtest1 WHERE id = ?
	for range 200 {
		id := 1 + rng.Int64N(n)
		r, ok, err := tb.Get(ctx, tx, ints(id), engine.NoLock)
		if err != nil || !ok || !sameValue(r[2], rows[id][2]) {
			t.Fatalf("point select %d: %v %v", id, ok, err)
		}
	}
	if _, ok, err := tb.Get(ctx, tx, ints(n+1), engine.NoLock); ok || err != nil {
		t.Fatalf("point select past the end: %v %v", ok, err)
	}
	// SELECT c FROM sbtest1 WHERE id BETWEEN ? AND ? (100 rows), both ways.
	lo := 1 + rng.Int64N(n-99)
	for _, reverse := range []bool{false, true} {
		got, _, err := collect(ctx, tb, tx, ScanOptions{Reverse: reverse,
			Lo: &Bound{Values: ints(lo), Inclusive: true}, Hi: &Bound{Values: ints(lo + 99), Inclusive: true}})
		if err != nil || len(got) != 100 {
			t.Fatalf("range of 100: %d rows, %v", len(got), err)
		}
		for i, r := range got {
			id := lo + int64(i)
			if reverse {
				id = lo + 99 - int64(i)
			}
			if !sameRow(r, rows[id]) {
				t.Fatalf("range row %d: %s", i, rowString(r))
			}
		}
	}
	// The same range as a transient scan (what SELECT uses): each row is
	// good until the next call, and the strings it points to for longer.
	rs := tb.Scan(ctx, tx, ScanOptions{Transient: true,
		Lo: &Bound{Values: ints(lo), Inclusive: true}, Hi: &Bound{Values: ints(lo + 99), Inclusive: true}})
	var kept []Row
	var first *keycodec.Value
	for id := lo; rs.Next(ctx); id++ {
		r := rs.Row()
		if first == nil {
			first = &r[0]
		} else if &r[0] != first {
			t.Fatalf("transient scan: row %d is a new slice", id)
		}
		if !sameRow(r, rows[id]) {
			t.Fatalf("transient row %d: %s", id, rowString(r))
		}
		kept = append(kept, append(Row(nil), r...))
	}
	if err := rs.Err(); err != nil || len(kept) != 100 {
		t.Fatalf("transient range of 100: %d rows, %v", len(kept), err)
	}
	for i, r := range kept {
		if !sameRow(r, rows[lo+int64(i)]) {
			t.Fatalf("transient row %d changed after the scan: %s", i, rowString(r))
		}
	}
	// UPDATE sbtest1 SET k = k + 1 WHERE id = ?
	kRows := func(k int64) []int64 {
		got, _, err := collect(ctx, tb, tx, ScanOptions{Index: 1, KeyOnly: true,
			Lo: &Bound{Values: ints(k), Inclusive: true}, Hi: &Bound{Values: ints(k), Inclusive: true}})
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, r := range got {
			ids = append(ids, r[0].Int)
		}
		return ids
	}
	for range 50 {
		id := 1 + rng.Int64N(n)
		old, ok, err := tb.Get(ctx, tx, ints(id), engine.LockExclusive)
		if err != nil || !ok {
			t.Fatalf("locking read %d: %v %v", id, ok, err)
		}
		k := old[1].Int
		nw := slices.Clone(old)
		nw[1] = keycodec.IntValue(k + 1)
		if err := tb.Update(ctx, tx, old, nw); err != nil {
			t.Fatal(err)
		}
		rows[id] = nw
		if slices.Contains(kRows(k), id) || !slices.Contains(kRows(k+1), id) {
			t.Fatalf("k index after k=k+1 on id %d: k=%d has %v, k=%d has %v", id, k, kRows(k), k+1, kRows(k+1))
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	got := checkConsistent(t, tb, v.e)
	for _, r := range got {
		if !sameRow(r, rows[r[0].Int]) {
			t.Fatalf("row %s", rowString(r))
		}
	}
	if len(got) != n {
		t.Fatalf("%d rows", len(got))
	}
}

// TestErrors: calls that do not fit the table fail with ErrInvalid and
// change nothing.
func TestErrors(t *testing.T) {
	ctx := context.Background()
	v := newEnv(t, smallPool)
	tb := v.create(t, modelDef())
	tx := v.e.Begin(engine.TxnOptions{})
	defer tx.Rollback()
	good := mrow{a: 1, d: "x"}.row()
	for name, err := range map[string]error{
		"short row":     tb.Insert(ctx, tx, good[:3]),
		"short pk":      func() error { _, _, err := tb.Get(ctx, tx, nil, engine.NoLock); return err }(),
		"bad index":     tb.Scan(ctx, tx, ScanOptions{Index: 3}).Err(),
		"long bound":    tb.Scan(ctx, tx, ScanOptions{Lo: &Bound{Values: ints(1, 2)}}).Err(),
		"row id call":   tb.DeleteByRowID(ctx, tx, 1, good),
		"update by row": tb.UpdateByRowID(ctx, tx, 1, good, good),
	} {
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	bad := slices.Clone(good)
	bad[2] = keycodec.StringValue("not an int")
	if err := tb.Insert(ctx, tx, bad); !errors.Is(err, keycodec.ErrKindMismatch) {
		t.Errorf("wrong kind: %v", err)
	}
	if rows, _, err := collect(ctx, tb, tx, ScanOptions{}); err != nil || len(rows) != 0 {
		t.Fatalf("failed writes left %d rows, %v", len(rows), err)
	}
	// Empty bounds: Lo exclusive of everything and Hi before everything
	// are empty; the inclusive ones are unbounded.
	if err := tb.Insert(ctx, tx, good); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		lo, hi *Bound
		n      int
	}{
		{&Bound{}, nil, 0},
		{nil, &Bound{}, 0},
		{&Bound{Inclusive: true}, &Bound{Inclusive: true}, 1},
	} {
		if rows, _, err := collect(ctx, tb, tx, ScanOptions{Lo: c.lo, Hi: c.hi}); err != nil || len(rows) != c.n {
			t.Errorf("bounds %+v %+v: %d rows, %v", c.lo, c.hi, len(rows), err)
		}
	}
}

// TestCorruptionReported: a secondary entry without its row is an error,
// not a skipped row.
func TestCorruptionReported(t *testing.T) {
	ctx := context.Background()
	v := newEnv(t, smallPool)
	tb := v.create(t, modelDef())
	tx := v.e.Begin(engine.TxnOptions{})
	defer tx.Rollback()
	c := int64(5)
	if err := tb.Insert(ctx, tx, mrow{a: 1, c: &c, d: "x"}.row()); err != nil {
		t.Fatal(err)
	}
	// Remove the row behind the table's back.
	if err := tx.Delete(ctx, tb.clustered().id, keycodec.AppendInt(nil, 1)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := collect(ctx, tb, tx, ScanOptions{Index: 1}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("scan over a dangling entry: %v", err)
	}
}
