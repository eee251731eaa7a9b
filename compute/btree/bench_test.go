package btree_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/polarsql/polar/compute/mtr"
)

const benchKeys = 100_000

func benchKey(i int) []byte { return fmt.Appendf(nil, "key%013d", i) } // 16 bytes

func benchVal(i int) []byte {
	v := make([]byte, 100)
	for j := range v {
		v[j] = byte(i + j)
	}
	return v
}

// benchTree builds a tree of benchKeys 16-byte keys with 100-byte values,
// inserted in random order, in a pool that holds all of it.
func benchTree(b *testing.B) *env {
	b.Helper()
	e := newEnv(b, 8192) // 128 MiB
	perm := rand.New(rand.NewPCG(1, 2)).Perm(benchKeys)
	for i := 0; i < benchKeys; i += 1000 {
		e.mustCommit(func(m *mtr.MTR) error {
			for _, k := range perm[i : i+1000] {
				if err := e.tree.Put(e.ctx, m, benchKey(k), benchVal(k)); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return e
}

func BenchmarkGet(b *testing.B) {
	e := benchTree(b)
	rng := rand.New(rand.NewPCG(3, 4))
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, err := e.tree.Get(e.ctx, benchKey(rng.IntN(benchKeys))); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkGetParallel(b *testing.B) {
	e := benchTree(b)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(rand.Uint64(), 4))
		for pb.Next() {
			if _, ok, err := e.tree.Get(e.ctx, benchKey(rng.IntN(benchKeys))); err != nil || !ok {
				b.Error(ok, err)
				return
			}
		}
	})
}

// BenchmarkSeekScan100 seeks to a random key and reads the next 100
// entries.
func BenchmarkSeekScan100(b *testing.B) {
	e := benchTree(b)
	rng := rand.New(rand.NewPCG(5, 6))
	b.ReportAllocs()
	for b.Loop() {
		it := e.tree.Seek(e.ctx, benchKey(rng.IntN(benchKeys-100)))
		n := 0
		for n < 100 && it.Next(e.ctx) {
			n++
		}
		if n != 100 || it.Err() != nil {
			b.Fatal(n, it.Err())
		}
	}
}

// benchPut measures Put of the given keys, each in its own MTR (Finish
// and Release included), with the redo appended to storage in groups of
// 256 MTRs, as the engine's group commit does. redo-B/op is the redo
// volume per Put (record payload plus ~16 bytes of header each).
func benchPut(b *testing.B, e *env, key func(i int) []byte) {
	b.ReportAllocs()
	n := 0
	redo0 := e.redoBytes
	i := 0
	for b.Loop() {
		m := mtr.New()
		if err := e.tree.Put(e.ctx, m, key(i), benchVal(i)); err != nil {
			b.Fatal(err)
		}
		e.finishGrouped(m, 256, &n)
		i++
	}
	e.flush()
	b.ReportMetric(float64(e.redoBytes-redo0)/float64(i), "redo-B/op")
}

func BenchmarkPutSequential(b *testing.B) {
	e := newEnv(b, 8192)
	benchPut(b, e, benchKey)
}

// BenchmarkPutRandom inserts random new keys into the 100k-key tree.
func BenchmarkPutRandom(b *testing.B) {
	e := benchTree(b)
	rng := rand.New(rand.NewPCG(7, 8))
	benchPut(b, e, func(int) []byte { return fmt.Appendf(nil, "key%013dx", rng.IntN(benchKeys)) })
}

// BenchmarkSeekNext1 is a point read through an iterator (Seek and one
// Next), as the engine's version lookup does.
func BenchmarkSeekNext1(b *testing.B) {
	e := benchTree(b)
	rng := rand.New(rand.NewPCG(9, 10))
	b.ReportAllocs()
	for b.Loop() {
		it := e.tree.Seek(e.ctx, benchKey(rng.IntN(benchKeys)))
		if !it.Next(e.ctx) {
			b.Fatal(it.Err())
		}
	}
}
