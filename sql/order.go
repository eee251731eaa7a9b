package sql

import (
	"slices"
	"unsafe"

	"github.com/polarsql/polar/compute/keycodec"
	"github.com/polarsql/polar/sql/expr"
)

// compareNullFirst orders two values with NULL before everything, as
// ORDER BY does.
func compareNullFirst(a, b *expr.Value, coll keycodec.Collation) int {
	switch {
	case a.Kind == keycodec.KindString && b.Kind == keycodec.KindString:
		// The common ORDER BY on a string column, without copying the
		// values into expr.Compare.
		return coll.Compare(unsafe.String(unsafe.SliceData(a.Str), len(a.Str)), unsafe.String(unsafe.SliceData(b.Str), len(b.Str)))
	case a.Kind == keycodec.KindNull && b.Kind == keycodec.KindNull:
		return 0
	case a.Kind == keycodec.KindNull:
		return -1
	case b.Kind == keycodec.KindNull:
		return 1
	}
	return expr.Compare(*a, *b, coll)
}

// compareKeys orders two sort-key tuples under order (ascending or
// descending per key).
func compareKeys(a, b []expr.Value, order []orderKey) int {
	for i := range order {
		if c := compareNullFirst(&a[i], &b[i], order[i].coll); c != 0 {
			if order[i].desc {
				return -c
			}
			return c
		}
	}
	return 0
}

// sortByKeys sorts rows stably by their sort keys (keys[i] is rows[i]'s),
// in place. Ties fall back to the input position, which makes pdqsort
// stable: it needs about half the comparisons of slices.SortStableFunc's
// insertion sort and symmerge, and a comparison of two collated strings
// is most of a sort's cost.
func sortByKeys(rows, keys [][]expr.Value, order []orderKey) {
	type keyed struct {
		key, row []expr.Value
		pos      int
	}
	ks := make([]keyed, len(rows))
	for i := range rows {
		ks[i] = keyed{keys[i], rows[i], i}
	}
	slices.SortFunc(ks, func(a, b keyed) int {
		if c := compareKeys(a.key, b.key, order); c != 0 {
			return c
		}
		return a.pos - b.pos
	})
	for i := range ks {
		rows[i] = ks[i].row
	}
}
