//go:build race

package btree_test

// raceEnabled: the race detector slows the storage node and the tree
// about tenfold, so the randomized tests run smaller (the concurrency
// test keeps its full length).
const raceEnabled = true
