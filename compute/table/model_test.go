package table

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/polarsql/polar/compute/catalog"
	"github.com/polarsql/polar/compute/engine"
	"github.com/polarsql/polar/compute/keycodec"
)

// The model table: t (a INT PRIMARY KEY, b VARCHAR general_ci NULL,
// c BIGINT NULL, d TEXT NOT NULL), INDEX idx_c (c), UNIQUE ub (b).
// Indexes: 0 PRIMARY, 1 idx_c, 2 ub.

func modelDef() *catalog.Table {
	return &catalog.Table{Name: "t",
		Columns: []catalog.Column{
			intCol("a", true),
			{Name: "b", Type: catalog.ColumnType{Name: "varchar", Length: 10, Collation: "utf8mb4_general_ci"}},
			{Name: "c", Type: catalog.ColumnType{Name: "bigint"}},
			{Name: "d", Type: catalog.ColumnType{Name: "text"}, NotNull: true},
		},
		Indexes: []catalog.Index{
			{Name: "PRIMARY", Columns: []string{"a"}, Unique: true, Primary: true},
			{Name: "idx_c", Columns: []string{"c"}},
			{Name: "ub", Columns: []string{"b"}, Unique: true},
		},
	}
}

// mrow is the oracle's row.
type mrow struct {
	a int64
	b *string
	c *int64
	d string
}

func (m mrow) row() Row {
	r := Row{keycodec.IntValue(m.a), {}, {}, keycodec.StringValue(m.d)}
	if m.b != nil {
		r[1] = keycodec.StringValue(*m.b)
	}
	if m.c != nil {
		r[2] = keycodec.IntValue(*m.c)
	}
	return r
}

// keyOnly is the row an index-only scan of index ix returns.
func (m mrow) keyOnly(ix int) Row {
	r := m.row()
	switch ix {
	case 1:
		r[1], r[3] = keycodec.Value{}, keycodec.Value{}
	case 2:
		r[2], r[3] = keycodec.Value{}, keycodec.Value{}
	}
	return r
}

// fold is general_ci equality for the strings the test makes (ASCII
// letters, trailing spaces): case-insensitive, PAD SPACE.
func fold(s string) string { return strings.ToUpper(strings.TrimRight(s, " ")) }

// kv is one oracle key component: NULL sorts first.
type kv struct {
	null bool
	i    int64
	s    string
	str  bool
}

func cmpKV(x, y kv) int {
	if x.null || y.null {
		if x.null && y.null {
			return 0
		}
		if x.null {
			return -1
		}
		return 1
	}
	if x.str {
		return strings.Compare(x.s, y.s)
	}
	return cmp.Compare(x.i, y.i)
}

// tuple is the row's key in index ix: index columns, then a.
func (m mrow) tuple(ix int) []kv {
	pk := kv{i: m.a}
	switch ix {
	case 1:
		if m.c == nil {
			return []kv{{null: true}, pk}
		}
		return []kv{{i: *m.c}, pk}
	case 2:
		if m.b == nil {
			return []kv{{null: true, str: true}, pk}
		}
		return []kv{{s: fold(*m.b), str: true}, pk}
	}
	return []kv{pk}
}

func cmpPrefix(t, b []kv) int {
	for i := range b {
		if c := cmpKV(t[i], b[i]); c != 0 {
			return c
		}
	}
	return 0
}

// mbound is a scan bound with its oracle form.
type mbound struct {
	b    Bound
	keys []kv
}

type oracle map[int64]mrow

// sorted returns the rows in index ix order.
func (o oracle) sorted(ix int) []mrow {
	rows := slices.Collect(maps.Values(o))
	slices.SortFunc(rows, func(x, y mrow) int {
		tx, ty := x.tuple(ix), y.tuple(ix)
		for i := range tx {
			if c := cmpKV(tx[i], ty[i]); c != 0 {
				return c
			}
		}
		return 0
	})
	return rows
}

// scan is the oracle's answer to a scan.
func (o oracle) scan(ix int, lo, hi *mbound, reverse, keyOnly bool) []Row {
	var out []Row
	for _, m := range o.sorted(ix) {
		tp := m.tuple(ix)
		if lo != nil {
			c := cmpPrefix(tp, lo.keys)
			if c < 0 || c == 0 && !lo.b.Inclusive {
				continue
			}
		}
		if hi != nil {
			c := cmpPrefix(tp, hi.keys)
			if c > 0 || c == 0 && !hi.b.Inclusive {
				continue
			}
		}
		if keyOnly && ix > 0 {
			out = append(out, m.keyOnly(ix))
		} else {
			out = append(out, m.row())
		}
	}
	if reverse {
		slices.Reverse(out)
	}
	return out
}

// bTaken reports whether a row other than except has b's folded value.
func (o oracle) bTaken(b *string, except int64, exceptValid bool) bool {
	if b == nil {
		return false
	}
	for a, m := range o {
		if exceptValid && a == except {
			continue
		}
		if m.b != nil && fold(*m.b) == fold(*b) {
			return true
		}
	}
	return false
}

type modelGen struct {
	rng *rand.Rand
}

func (g modelGen) b() *string {
	if g.rng.IntN(5) == 0 {
		return nil
	}
	var sb strings.Builder
	for range 1 + g.rng.IntN(4) {
		sb.WriteByte("aAbBc"[g.rng.IntN(5)])
	}
	if g.rng.IntN(4) == 0 {
		sb.WriteString(strings.Repeat(" ", 1+g.rng.IntN(2)))
	}
	s := sb.String()
	return &s
}

func (g modelGen) c() *int64 {
	if g.rng.IntN(5) == 0 {
		return nil
	}
	c := int64(g.rng.IntN(10)) - 2
	return &c
}

func (g modelGen) d() string {
	n := g.rng.IntN(1000)
	if g.rng.IntN(10) == 0 {
		n = 4000 + g.rng.IntN(16000) // overflow chains
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = "xyzXYZ "[g.rng.IntN(7)]
	}
	return string(b)
}

func (g modelGen) a() int64 { return int64(g.rng.IntN(100)) }

func (g modelGen) row() mrow { return mrow{a: g.a(), b: g.b(), c: g.c(), d: g.d()} }

// bound makes a random bound on index ix, from existing rows' values or
// fresh ones.
func (g modelGen) bound(o oracle, ix int) *mbound {
	if g.rng.IntN(4) == 0 {
		return nil
	}
	nkeys := 1
	if ix > 0 {
		nkeys = 2
	}
	n := g.rng.IntN(nkeys + 1)
	var src *mrow
	if len(o) > 0 && g.rng.IntN(3) > 0 {
		rows := o.sorted(0)
		src = &rows[g.rng.IntN(len(rows))]
	}
	fresh := g.row()
	if src == nil || g.rng.IntN(4) == 0 {
		src = &fresh
	}
	mb := &mbound{b: Bound{Inclusive: g.rng.IntN(2) == 0}}
	full := src.row()
	// Spell b differently from the row: same key under general_ci.
	if src.b != nil && g.rng.IntN(2) == 0 {
		full[1] = keycodec.StringValue(strings.ToLower(*src.b) + " ")
	}
	var cols []int
	switch ix {
	case 0:
		cols = []int{0}
	case 1:
		cols = []int{2, 0}
	case 2:
		cols = []int{1, 0}
	}
	tp := src.tuple(ix)
	for i := range n {
		mb.b.Values = append(mb.b.Values, full[cols[i]])
		mb.keys = append(mb.keys, tp[i])
	}
	return mb
}

// modelRun is the state of the model test.
type modelRun struct {
	t      *testing.T
	ctx    context.Context
	v      *env
	tb     *Table
	g      modelGen
	commit oracle
}

func (r *modelRun) fail(format string, args ...any) {
	r.t.Helper()
	r.t.Fatalf(format, args...)
}

// checkScan compares one scan with the oracle.
func (r *modelRun) checkScan(tx *engine.Txn, o oracle, ix int, lo, hi *mbound, reverse, keyOnly bool, lock engine.LockMode) {
	r.t.Helper()
	opts := ScanOptions{Index: ix, Reverse: reverse, KeyOnly: keyOnly, Lock: lock}
	if lo != nil {
		opts.Lo = &lo.b
	}
	if hi != nil {
		opts.Hi = &hi.b
	}
	got, _, err := collect(r.ctx, r.tb, tx, opts)
	if err != nil {
		r.fail("scan %+v: %v", opts, err)
	}
	want := o.scan(ix, lo, hi, reverse, keyOnly)
	if !sameRows(got, want) {
		r.fail("scan index %d lo %+v hi %+v reverse %v keyOnly %v:\ngot\n%swant\n%s", ix, lo, hi, reverse, keyOnly,
			rowsString(got), rowsString(want))
	}
}

// checkAll compares every index, both directions, with and without
// lookups, and every point get, with o in transaction tx.
func (r *modelRun) checkAll(tx *engine.Txn, o oracle) {
	r.t.Helper()
	for ix := range 3 {
		for _, reverse := range []bool{false, true} {
			r.checkScan(tx, o, ix, nil, nil, reverse, false, engine.NoLock)
			if ix > 0 {
				r.checkScan(tx, o, ix, nil, nil, reverse, true, engine.NoLock)
			}
		}
	}
	for a := range int64(100) {
		got, ok, err := r.tb.Get(r.ctx, tx, ints(a), engine.NoLock)
		m, want := o[a]
		if err != nil || ok != want || ok && !sameRow(got, m.row()) {
			r.fail("get %d = %s %v %v, want %v %s", a, rowString(got), ok, err, want, rowString(m.row()))
		}
	}
}

func (r *modelRun) checkCommitted() {
	r.t.Helper()
	tx := r.v.e.Begin(engine.TxnOptions{ReadOnly: true})
	defer tx.Rollback()
	r.checkAll(tx, r.commit)
}

// expectDup checks err is a duplicate on index name with key text key.
func (r *modelRun) expectDup(err error, index, key string) {
	r.t.Helper()
	var de *DuplicateKeyError
	if !errors.As(err, &de) || !errors.Is(err, ErrDuplicateKey) || de.Index != index || de.Key != key || de.Table != "t" {
		r.fail("got %v, want a duplicate of %q on %s", err, key, index)
	}
	if want := "Duplicate entry '" + key + "' for key 't." + index + "'"; err.Error() != want {
		r.fail("message %q, want %q", err.Error(), want)
	}
}

// lockedGet reads row a with an exclusive lock and checks it.
func (r *modelRun) lockedGet(tx *engine.Txn, work oracle, a int64) Row {
	r.t.Helper()
	got, ok, err := r.tb.Get(r.ctx, tx, ints(a), engine.LockExclusive)
	if err != nil || !ok || !sameRow(got, work[a].row()) {
		r.fail("locked get %d = %s %v %v, want %s", a, rowString(got), ok, err, rowString(work[a].row()))
	}
	return got
}

// op runs one random statement on tx, updating work.
func (r *modelRun) op(tx *engine.Txn, work oracle) {
	r.t.Helper()
	g, ctx := r.g, r.ctx
	var keys []int64
	for a := range work {
		keys = append(keys, a)
	}
	slices.Sort(keys)
	switch k := g.rng.IntN(100); {
	case k < 35: // insert
		m := g.row()
		err := r.tb.Insert(ctx, tx, m.row())
		switch {
		case func() bool { _, ok := work[m.a]; return ok }():
			r.expectDup(err, "PRIMARY", strconv.FormatInt(m.a, 10))
		case work.bTaken(m.b, 0, false):
			r.expectDup(err, "ub", *m.b)
		case err != nil:
			r.fail("insert %s: %v", rowString(m.row()), err)
		default:
			work[m.a] = m
		}
	case k < 37: // NULL in a NOT NULL column
		m := g.row()
		rw := m.row()
		col, name := 3, "d"
		if g.rng.IntN(2) == 0 {
			col, name = 0, "a"
		}
		rw[col] = keycodec.Value{}
		var ne *NotNullError
		if err := r.tb.Insert(ctx, tx, rw); !errors.As(err, &ne) || !errors.Is(err, ErrNotNull) || ne.Column != name {
			r.fail("insert with NULL %s: %v", name, err)
		}
	case k < 57 && len(keys) > 0: // update
		oldM := work[keys[g.rng.IntN(len(keys))]]
		old := r.lockedGet(tx, work, oldM.a)
		newM := oldM
		for newM == oldM {
			if g.rng.IntN(4) == 0 {
				newM.a = g.a()
			}
			if g.rng.IntN(2) == 0 {
				newM.b = g.b()
			}
			if g.rng.IntN(2) == 0 {
				newM.c = g.c()
			}
			if g.rng.IntN(3) == 0 {
				newM.d = g.d()
			}
			if g.rng.IntN(10) == 0 {
				break // an update that changes nothing
			}
		}
		if g.rng.IntN(8) == 0 {
			// A stale old row: the table maintains the indexes from what
			// is stored.
			stale := g.row()
			stale.a = oldM.a
			old = stale.row()
		}
		err := r.tb.Update(ctx, tx, old, newM.row())
		_, pkTaken := work[newM.a]
		switch {
		case newM.a != oldM.a && pkTaken:
			r.expectDup(err, "PRIMARY", strconv.FormatInt(newM.a, 10))
		case work.bTaken(newM.b, oldM.a, true):
			r.expectDup(err, "ub", *newM.b)
		case err != nil:
			r.fail("update %s to %s: %v", rowString(oldM.row()), rowString(newM.row()), err)
		default:
			delete(work, oldM.a)
			work[newM.a] = newM
		}
	case k < 64 && len(keys) > 0: // delete
		m := work[keys[g.rng.IntN(len(keys))]]
		old := r.lockedGet(tx, work, m.a)
		if g.rng.IntN(8) == 0 {
			stale := g.row()
			stale.a = m.a
			old = stale.row()
		}
		if err := r.tb.Delete(ctx, tx, old); err != nil {
			r.fail("delete %s: %v", rowString(old), err)
		}
		delete(work, m.a)
	case k < 67: // delete or update of a missing row
		a := g.a()
		if _, ok := work[a]; ok {
			return
		}
		m := g.row()
		m.a = a
		var err error
		if g.rng.IntN(2) == 0 {
			err = r.tb.Delete(ctx, tx, m.row())
		} else {
			err = r.tb.Update(ctx, tx, m.row(), g.row().row())
		}
		if !errors.Is(err, ErrNoRow) {
			r.fail("change of missing row %d: %v", a, err)
		}
	case k < 75: // point get
		a := g.a()
		mode := engine.LockMode(g.rng.IntN(3))
		got, ok, err := r.tb.Get(ctx, tx, ints(a), mode)
		m, want := work[a]
		if err != nil || ok != want || ok && !sameRow(got, m.row()) {
			r.fail("get %d = %s %v %v, want %v %s", a, rowString(got), ok, err, want, rowString(m.row()))
		}
	default: // range scan
		ix := g.rng.IntN(3)
		lo, hi := g.bound(work, ix), g.bound(work, ix)
		keyOnly := ix > 0 && g.rng.IntN(3) == 0
		lock := engine.NoLock
		if g.rng.IntN(4) == 0 {
			lock = engine.LockMode(1 + g.rng.IntN(2))
		}
		r.checkScan(tx, work, ix, lo, hi, g.rng.IntN(2) == 0, keyOnly, lock)
	}
}

// txn runs one random transaction and commits or rolls it back.
func (r *modelRun) txn() {
	r.t.Helper()
	tx := r.v.e.Begin(engine.TxnOptions{})
	work := maps.Clone(r.commit)
	for range 1 + r.g.rng.IntN(8) {
		tx.StatementBegin()
		before := maps.Clone(work)
		r.op(tx, work)
		if r.g.rng.IntN(12) == 0 {
			tx.StatementRollback()
			work = before
		}
	}
	if r.g.rng.IntN(5) == 0 {
		r.checkAll(tx, work)
	}
	if r.g.rng.IntN(7) == 0 {
		tx.Rollback()
		return
	}
	if err := tx.Commit(r.ctx); err != nil {
		r.fail("commit: %v", err)
	}
	r.commit = work
}

// TestModel runs random transactions on a table with a secondary and a
// unique index against a map, with a 16-page buffer pool, checking every
// index after each transaction, an old snapshot now and then, and
// everything again after a restart.
func TestModel(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	ctx := context.Background()
	v := newEnv(t, smallPool)
	r := &modelRun{t: t, ctx: ctx, v: v, tb: v.create(t, modelDef()), g: modelGen{rand.New(rand.NewPCG(seed, 1))},
		commit: oracle{}}
	n := 400
	if testing.Short() {
		n = 60
	}
	var snapTx *engine.Txn
	var snap oracle
	for i := range n {
		if i%40 == 10 {
			snapTx, snap = v.e.Begin(engine.TxnOptions{ReadOnly: true}), maps.Clone(r.commit)
		}
		r.txn()
		r.checkCommitted()
		if i%40 == 30 && snapTx != nil {
			// A snapshot from 20 transactions ago still reads its rows,
			// through secondary indexes too.
			r.checkAll(snapTx, snap)
			snapTx.Rollback()
			snapTx = nil
		}
	}
	if snapTx != nil {
		snapTx.Rollback()
	}
	st := v.e.Stats().Pool
	t.Logf("%d rows after %d transactions; pool: %d misses, %d evictions", len(r.commit), n, st.Misses, st.Evictions)
	v.restart(t, smallPool)
	r.tb = v.open(t, "t")
	r.checkCommitted()
	for range n / 5 {
		r.txn()
		r.checkCommitted()
	}
}
