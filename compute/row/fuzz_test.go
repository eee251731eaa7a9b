package row

import (
	"math/rand/v2"
	"testing"

	"github.com/polarsql/polar/compute/keycodec"
)

// fuzzKinds maps fuzzer bytes to a schema of at most 40 columns.
func fuzzKinds(schema []byte) []keycodec.Kind {
	if len(schema) > 40 {
		schema = schema[:40]
	}
	kinds := make([]keycodec.Kind, len(schema))
	for i, b := range schema {
		kinds[i] = allKinds[int(b)%len(allKinds)]
	}
	return kinds
}

func kindBytes(kinds []keycodec.Kind) []byte {
	b := make([]byte, len(kinds))
	for i, k := range kinds {
		b[i] = byte(k - keycodec.KindInt) // inverse of fuzzKinds
	}
	return b
}

// FuzzDecode feeds arbitrary bytes and schemas to the decoders: they must
// not panic, must fail only with ErrCorrupt (or ErrMissingColumn from
// DecodeColumn), must agree with each other, and what Decode accepts must
// re-encode to the same bytes.
func FuzzDecode(f *testing.F) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 40 {
		kinds, vals := randRow(r)
		if len(kinds) > 40 {
			continue
		}
		buf, err := Encode(nil, r.Uint32()>>r.IntN(32), kinds, vals)
		if err != nil || len(buf) > 2000 {
			continue
		}
		f.Add(kindBytes(kinds), buf)
		f.Add(kindBytes(kinds), buf[:len(buf)/2])
		f.Add(append(kindBytes(kinds), 3, 4), buf) // newer schema
	}
	kinds, vals := sysbenchRow()
	buf, _ := Encode(nil, 1, kinds, vals)
	f.Add(kindBytes(kinds), buf)
	f.Add([]byte{}, []byte{})
	f.Add([]byte{3}, []byte{0x01, 0x01, 0x00, 0x84, 0x01, 0x00, 0x11})
	f.Fuzz(func(t *testing.T, schema, buf []byte) {
		checkArbitrary(t, fuzzKinds(schema), buf)
	})
}
