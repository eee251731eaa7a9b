package btree

// SetBatchBytes changes the iterators' batch size; call it while no
// iterator runs and restore the old value with the returned function.
func SetBatchBytes(n int) (restore func()) {
	old := batchBytes
	batchBytes = n
	return func() { batchBytes = old }
}
