package btree_test

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/polarsql/polar/compute/mtr"
)

// TestStopAt checks that a stopped iterator returns exactly the entries
// before the stop, forwards and backwards, across leaves.
func TestStopAt(t *testing.T) {
	e := newEnv(t, 1024)
	const n = 3000
	e.mustCommit(func(m *mtr.MTR) error {
		for i := range n {
			if err := e.tree.Put(e.ctx, m, benchKey(i), benchVal(i)); err != nil {
				return err
			}
		}
		return nil
	})
	rng := rand.New(rand.NewPCG(7, 8))
	for range 200 {
		from, to := rng.IntN(n), rng.IntN(n+1)
		reverse := rng.IntN(2) == 0
		var want []int
		if reverse {
			for i := from - 1; i >= 0 && i >= to; i-- {
				want = append(want, i)
			}
		} else {
			for i := from; i < n && i < to; i++ {
				want = append(want, i)
			}
		}
		stopKey := benchKey(to)
		var got []int
		if reverse {
			it := e.tree.SeekReverse(e.ctx, benchKey(from))
			it.StopAt(func(k []byte) bool { return bytes.Compare(k, stopKey) < 0 })
			for it.Next(e.ctx) {
				got = append(got, keyIndex(t, it.Key()))
			}
			if it.Err() != nil {
				t.Fatal(it.Err())
			}
		} else {
			it := e.tree.Seek(e.ctx, benchKey(from))
			it.StopAt(func(k []byte) bool { return bytes.Compare(k, stopKey) >= 0 })
			for it.Next(e.ctx) {
				got = append(got, keyIndex(t, it.Key()))
			}
			if it.Err() != nil {
				t.Fatal(it.Err())
			}
		}
		if len(got) != len(want) {
			t.Fatalf("from %d to %d reverse=%v: %d entries, want %d", from, to, reverse, len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("from %d to %d reverse=%v: entry %d is %d, want %d", from, to, reverse, i, got[i], want[i])
			}
		}
	}
}

func keyIndex(t *testing.T, k []byte) int {
	t.Helper()
	var i int
	for _, c := range k[3:] {
		i = i*10 + int(c-'0')
	}
	return i
}
