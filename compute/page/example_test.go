package page_test

import (
	"errors"
	"fmt"

	"github.com/polarsql/polar/compute/page"
	"github.com/polarsql/polar/wal"
)

// Example shows the basic leaf operations: search for the insert
// position, insert, update and read back.
func Example() {
	p := page.Init(make([]byte, wal.PageSize), page.TypeLeaf, 0)
	for _, k := range []string{"cherry", "apple", "banana"} {
		i, found := p.Search([]byte(k))
		if !found {
			if err := p.InsertLeaf(i, []byte(k), []byte("fruit")); err != nil {
				panic(err)
			}
		}
	}
	i, _ := p.Search([]byte("banana"))
	_ = p.UpdateValue(i, []byte("yellow fruit"))
	for i := range p.NumSlots() {
		fmt.Printf("%s=%s\n", p.Key(i), p.Value(i))
	}
	fmt.Println(page.Check(p))
	// Output:
	// apple=fruit
	// banana=yellow fruit
	// cherry=fruit
	// <nil>
}

// Example_split shows how a B+tree splits a full leaf and its parent.
func Example_split() {
	left := page.Init(make([]byte, wal.PageSize), page.TypeLeaf, 0)
	val := make([]byte, 1000)
	var err error
	n := 0
	for ; err == nil; n++ {
		err = left.InsertLeaf(n, []byte(fmt.Sprintf("key%03d", n)), val)
	}
	fmt.Println(errors.Is(err, page.ErrFull), left.NumSlots())

	// Split the leaf: the upper half moves to a new right sibling.
	right := page.Init(make([]byte, wal.PageSize), page.TypeLeaf, 0)
	if err := left.MoveTail(right, left.SplitPoint()); err != nil {
		panic(err)
	}
	left.Compact() // the split is logged as full images anyway
	fmt.Println(left.NumSlots(), right.NumSlots(), string(right.Key(0)))

	// The parent routes keys >= right.Key(0) to the right page.
	parent := page.Init(make([]byte, wal.PageSize), page.TypeInternal, 1)
	parent.SetLeftmostChild(wal.MakePageID(1, 10))
	_ = parent.InsertInternal(0, right.Key(0), wal.MakePageID(1, 11))
	fmt.Println(parent.ChildFor([]byte("key003")), parent.ChildFor([]byte("key012")))

	// Splitting an internal page pushes its middle key up.
	rightParent := page.Init(make([]byte, wal.PageSize), page.TypeInternal, 1)
	_ = parent.InsertInternal(1, []byte("key100"), wal.MakePageID(1, 12))
	_ = parent.InsertInternal(2, []byte("key200"), wal.MakePageID(1, 13))
	sep := parent.MoveTailInternal(rightParent, 1)
	fmt.Printf("%s %d %d\n", sep, parent.NumSlots(), rightParent.NumSlots())
	// Output:
	// true 16
	// 8 8 key008
	// 1:10 1:11
	// key100 1 1
}
