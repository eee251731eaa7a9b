package page

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"
)

// fullLeaf returns a leaf filled with 100-byte keys (8-byte values) and
// the keys in order.
func fullLeaf(b *testing.B) (Page, [][]byte) {
	p := newLeaf(b)
	r := rand.New(rand.NewPCG(1, 1))
	var keys [][]byte
	for {
		k := make([]byte, 100)
		for i := range k {
			k[i] = byte(r.Uint32())
		}
		copy(k, "common-prefix/") // realistic shared prefix
		i, found := p.Search(k)
		if found {
			continue
		}
		if err := p.InsertLeaf(i, k, []byte("12345678")); err != nil {
			break
		}
		keys = slices.Insert(keys, i, k)
	}
	return p, keys
}

func BenchmarkSearch(b *testing.B) {
	p, keys := fullLeaf(b)
	for i := 0; b.Loop(); i++ {
		if _, found := p.Search(keys[i%len(keys)]); !found {
			b.Fatal("not found")
		}
	}
	b.ReportMetric(float64(len(keys)), "keys/page")
}

func BenchmarkInsertLeaf(b *testing.B) {
	empty := newLeaf(b)
	p := Page(slices.Clone(empty))
	key := make([]byte, 16)
	val := make([]byte, 64)
	r := rand.New(rand.NewPCG(2, 2))
	for b.Loop() {
		binary.BigEndian.PutUint64(key, r.Uint64())
		i, _ := p.Search(key)
		if err := p.InsertLeaf(i, key, val); err != nil {
			copy(p, empty) // full: start over
		}
	}
}
