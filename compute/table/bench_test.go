package table

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/polarsql/polar/compute/engine"
	"github.com/polarsql/polar/compute/keycodec"
)

const benchRows = 10000

// benchStrings are pregenerated c and pad values, so that benchmarks
// measure the table, not fmt.
var benchStrings = func() [][2]keycodec.Value {
	rng := rand.New(rand.NewPCG(9, 9))
	out := make([][2]keycodec.Value, 1024)
	for i := range out {
		r := sbRow(rng, 0, 0)
		out[i] = [2]keycodec.Value{r[2], r[3]}
	}
	return out
}()

// benchRow is a sysbench row with pregenerated strings.
func benchRow(rng *rand.Rand, id int64) Row {
	s := benchStrings[rng.IntN(len(benchStrings))]
	return Row{keycodec.IntValue(id), keycodec.IntValue(int64(rng.IntN(benchRows))), s[0], s[1]}
}

// benchTable loads sysbench's sbtest1 (with the k index) with benchRows
// rows on a single storage node, in a 64 MiB pool.
func benchTable(b *testing.B) (*env, *Table) {
	b.Helper()
	ctx := context.Background()
	v := newEnv(b, 64<<20)
	tb := v.create(b, sbtestDef("sbtest1", true))
	rng := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < benchRows; {
		tx := v.e.Begin(engine.TxnOptions{})
		for j := 0; j < 1000 && i < benchRows; i, j = i+1, j+1 {
			id, err := v.cat.NextAutoIncrement(ctx, tb.Def(), 1)
			if err != nil {
				b.Fatal(err)
			}
			if err := tb.Insert(ctx, tx, benchRow(rng, int64(id))); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	return v, tb
}

// BenchmarkInsert: one sysbench row per transaction, with commit.
func BenchmarkInsert(b *testing.B) {
	ctx := context.Background()
	v, tb := benchTable(b)
	rng := rand.New(rand.NewPCG(2, 2))
	for b.Loop() {
		tx := v.e.Begin(engine.TxnOptions{})
		id, err := v.cat.NextAutoIncrement(ctx, tb.Def(), 1)
		if err != nil {
			b.Fatal(err)
		}
		if err := tb.Insert(ctx, tx, benchRow(rng, int64(id))); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInsertBatch: the table API's cost per row, committing every
// 1000 rows (a bulk load).
func BenchmarkInsertBatch(b *testing.B) {
	ctx := context.Background()
	v, tb := benchTable(b)
	rng := rand.New(rand.NewPCG(2, 2))
	tx := v.e.Begin(engine.TxnOptions{})
	n := 0
	for b.Loop() {
		id, err := v.cat.NextAutoIncrement(ctx, tb.Def(), 1)
		if err != nil {
			b.Fatal(err)
		}
		if err := tb.Insert(ctx, tx, benchRow(rng, int64(id))); err != nil {
			b.Fatal(err)
		}
		if n++; n%1000 == 0 {
			if err := tx.Commit(ctx); err != nil {
				b.Fatal(err)
			}
			tx = v.e.Begin(engine.TxnOptions{})
		}
	}
	if err := tx.Commit(ctx); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkGet: SELECT c FROM sbtest1 WHERE id = ?, one read-only
// transaction each.
func BenchmarkGet(b *testing.B) {
	ctx := context.Background()
	v, tb := benchTable(b)
	rng := rand.New(rand.NewPCG(3, 3))
	for b.Loop() {
		tx := v.e.Begin(engine.TxnOptions{ReadOnly: true})
		r, ok, err := tb.Get(ctx, tx, ints(1+rng.Int64N(benchRows)), engine.NoLock)
		if err != nil || !ok || len(r[2].Str) != 119 {
			b.Fatal(ok, err)
		}
		tx.Rollback()
	}
}

// BenchmarkScan100: SELECT c FROM sbtest1 WHERE id BETWEEN ? AND ?+99.
func BenchmarkScan100(b *testing.B) {
	ctx := context.Background()
	v, tb := benchTable(b)
	rng := rand.New(rand.NewPCG(4, 4))
	for b.Loop() {
		tx := v.e.Begin(engine.TxnOptions{ReadOnly: true})
		lo := 1 + rng.Int64N(benchRows-99)
		rs := tb.Scan(ctx, tx, ScanOptions{Lo: &Bound{Values: ints(lo), Inclusive: true},
			Hi: &Bound{Values: ints(lo + 99), Inclusive: true}})
		n := 0
		for rs.Next(ctx) {
			n++
		}
		if rs.Err() != nil || n != 100 {
			b.Fatal(n, rs.Err())
		}
		tx.Rollback()
	}
}

// BenchmarkUpdateNonIndex: UPDATE sbtest1 SET c = ? WHERE id = ? (a
// locking read, then Update), one transaction with commit each.
func BenchmarkUpdateNonIndex(b *testing.B) {
	ctx := context.Background()
	v, tb := benchTable(b)
	rng := rand.New(rand.NewPCG(5, 5))
	for b.Loop() {
		tx := v.e.Begin(engine.TxnOptions{})
		updateC(b, ctx, tb, tx, rng)
		if err := tx.Commit(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUpdateNonIndexNoCommit is BenchmarkUpdateNonIndex committing
// every 1000 updates: the table API's cost.
func BenchmarkUpdateNonIndexNoCommit(b *testing.B) {
	ctx := context.Background()
	v, tb := benchTable(b)
	rng := rand.New(rand.NewPCG(5, 5))
	tx := v.e.Begin(engine.TxnOptions{})
	n := 0
	for b.Loop() {
		updateC(b, ctx, tb, tx, rng)
		if n++; n%1000 == 0 {
			if err := tx.Commit(ctx); err != nil {
				b.Fatal(err)
			}
			tx = v.e.Begin(engine.TxnOptions{})
		}
	}
	if err := tx.Commit(ctx); err != nil {
		b.Fatal(err)
	}
}

func updateC(b *testing.B, ctx context.Context, tb *Table, tx *engine.Txn, rng *rand.Rand) {
	old, ok, err := tb.Get(ctx, tx, ints(1+rng.Int64N(benchRows)), engine.LockExclusive)
	if err != nil || !ok {
		b.Fatal(ok, err)
	}
	nw := slices.Clone(old)
	nw[2] = benchStrings[rng.IntN(len(benchStrings))][0]
	if err := tb.Update(ctx, tx, old, nw); err != nil {
		b.Fatal(err)
	}
}
