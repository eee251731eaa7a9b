package storage

import "sync"

// queue is an unbounded FIFO between goroutines that never blocks the
// sender. The Raft loop and the goroutines it feeds send to each other in
// both directions (appends and applies out, responses and conf changes
// back); bounded channels there can fill in a cycle and deadlock, and a
// receiver that takes everything queued at once handles it as one batch.
type queue[T any] struct {
	mu    sync.Mutex
	items []T
	ready chan struct{} // has a token while items is non-empty
}

func newQueue[T any]() *queue[T] {
	return &queue[T]{ready: make(chan struct{}, 1)}
}

// put appends v and wakes the receiver.
func (q *queue[T]) put(v T) {
	q.mu.Lock()
	q.items = append(q.items, v)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// wait returns a channel that has a token when items may be queued.
func (q *queue[T]) wait() <-chan struct{} { return q.ready }

// take returns everything queued and gives buf, emptied, to the queue for
// what comes next: the receiver's two buffers alternate. The caller clears
// what it took before passing it back, so it pins nothing.
func (q *queue[T]) take(buf []T) []T {
	q.mu.Lock()
	items := q.items
	q.items = buf[:0]
	q.mu.Unlock()
	return items
}
