// Package lock is the primary's row lock manager: shared and exclusive
// locks on opaque keys (table id + primary or unique key), owned by
// transactions, with waits bounded by a timeout and deadlocks detected on
// a wait-for graph when a transaction starts to wait.
//
// Locks are held to the end of the transaction (strict two-phase locking)
// and released all at once with ReleaseAll.
package lock

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Mode is a lock mode.
type Mode uint8

const (
	// Shared locks (SELECT ... FOR SHARE) are compatible with each other.
	Shared Mode = 1
	// Exclusive locks (writes, SELECT ... FOR UPDATE) conflict with all.
	Exclusive Mode = 2
)

func (m Mode) String() string {
	if m == Shared {
		return "S"
	}
	return "X"
}

// TxnID identifies a lock owner.
type TxnID uint64

var (
	// ErrDeadlock is returned to the transaction chosen as the victim of a
	// deadlock (MySQL error 1213); its caller must roll it back.
	ErrDeadlock = errors.New("lock: deadlock found when trying to get lock")
	// ErrTimeout is returned when a wait exceeds the transaction's lock
	// wait timeout (MySQL error 1205).
	ErrTimeout = errors.New("lock: lock wait timeout exceeded")
)

// Manager holds every lock of a compute node.
type Manager struct {
	mu    sync.Mutex
	locks map[string]*entry
	held  map[TxnID]map[string]Mode // what each transaction holds
	waits map[TxnID]*waiter         // what each waiting transaction waits for
}

type entry struct {
	holders map[TxnID]Mode
	queue   []*waiter // FIFO of waiting requests
}

type waiter struct {
	txn  TxnID
	key  string
	mode Mode
	done chan error // buffered; receives nil when granted or an error
}

// New returns an empty manager.
func New() *Manager {
	return &Manager{locks: map[string]*entry{}, held: map[TxnID]map[string]Mode{}, waits: map[TxnID]*waiter{}}
}

// Acquire takes key in mode for txn, waiting up to timeout (0: no wait)
// or until ctx ends. A transaction that holds the key in Shared mode and
// asks for Exclusive is upgraded. Re-acquiring a held lock is free.
func (m *Manager) Acquire(ctx context.Context, txn TxnID, key string, mode Mode, timeout time.Duration) error {
	m.mu.Lock()
	e := m.locks[key]
	if e == nil {
		e = &entry{holders: map[TxnID]Mode{}}
		m.locks[key] = e
	}
	if cur, ok := e.holders[txn]; ok && cur >= mode {
		m.mu.Unlock()
		return nil
	}
	if m.grantableLocked(e, txn, mode) {
		m.grantLocked(e, txn, key, mode)
		m.mu.Unlock()
		return nil
	}
	if timeout <= 0 {
		m.mu.Unlock()
		return fmt.Errorf("%w on %s lock", ErrTimeout, mode)
	}
	w := &waiter{txn: txn, key: key, mode: mode, done: make(chan error, 1)}
	// Upgrades go first so two upgraders deadlock visibly rather than
	// starving behind newcomers.
	if _, upgrading := e.holders[txn]; upgrading {
		e.queue = append([]*waiter{w}, e.queue...)
	} else {
		e.queue = append(e.queue, w)
	}
	m.waits[txn] = w
	if m.cycleLocked(txn) {
		m.removeWaiterLocked(w)
		m.mu.Unlock()
		return ErrDeadlock
	}
	m.mu.Unlock()

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case err := <-w.done:
		return err
	case <-timer.C:
		return m.cancelWait(w, fmt.Errorf("%w on %s lock", ErrTimeout, mode))
	case <-ctx.Done():
		return m.cancelWait(w, fmt.Errorf("lock: wait canceled: %w", ctx.Err()))
	}
}

// cancelWait withdraws a waiter, unless it was granted meanwhile.
func (m *Manager) cancelWait(w *waiter, err error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	select {
	case granted := <-w.done:
		return granted
	default:
	}
	m.removeWaiterLocked(w)
	return err
}

func (m *Manager) removeWaiterLocked(w *waiter) {
	delete(m.waits, w.txn)
	e := m.locks[w.key]
	if e == nil {
		return
	}
	for i, q := range e.queue {
		if q == w {
			e.queue = append(e.queue[:i], e.queue[i+1:]...)
			break
		}
	}
	// The head of the queue may have been blocked only by w's position.
	m.wakeLocked(w.key, e)
	if len(e.holders) == 0 && len(e.queue) == 0 {
		delete(m.locks, w.key)
	}
}

// grantableLocked: compatible with every other holder, and no earlier
// waiter (FIFO fairness) unless txn already holds the key (upgrade).
func (m *Manager) grantableLocked(e *entry, txn TxnID, mode Mode) bool {
	for h, hm := range e.holders {
		if h == txn {
			continue
		}
		if mode == Exclusive || hm == Exclusive {
			return false
		}
	}
	if _, holds := e.holders[txn]; holds {
		return true
	}
	for _, q := range e.queue {
		if q.txn != txn {
			return false
		}
	}
	return true
}

func (m *Manager) grantLocked(e *entry, txn TxnID, key string, mode Mode) {
	if e.holders[txn] < mode {
		e.holders[txn] = mode
	}
	h := m.held[txn]
	if h == nil {
		h = map[string]Mode{}
		m.held[txn] = h
	}
	if h[key] < mode {
		h[key] = mode
	}
}

// wakeLocked grants queued requests in order while they are compatible.
func (m *Manager) wakeLocked(key string, e *entry) {
	for len(e.queue) > 0 {
		w := e.queue[0]
		compatible := true
		for h, hm := range e.holders {
			if h != w.txn && (w.mode == Exclusive || hm == Exclusive) {
				compatible = false
				break
			}
		}
		if !compatible {
			return
		}
		e.queue = e.queue[1:]
		delete(m.waits, w.txn)
		m.grantLocked(e, w.txn, key, w.mode)
		w.done <- nil
	}
}

// cycleLocked reports whether txn's wait closes a cycle in the wait-for
// graph: txn waits for the holders (and earlier incompatible waiters) of
// its key, who may wait in turn.
func (m *Manager) cycleLocked(start TxnID) bool {
	seen := map[TxnID]bool{}
	var visit func(t TxnID) bool
	visit = func(t TxnID) bool {
		w := m.waits[t]
		if w == nil {
			return false
		}
		e := m.locks[w.key]
		if e == nil {
			return false
		}
		for _, b := range m.blockersLocked(e, w) {
			if b == start {
				return true
			}
			if !seen[b] {
				seen[b] = true
				if visit(b) {
					return true
				}
			}
		}
		return false
	}
	return visit(start)
}

// blockersLocked lists the transactions w waits for.
func (m *Manager) blockersLocked(e *entry, w *waiter) []TxnID {
	var out []TxnID
	for h, hm := range e.holders {
		if h != w.txn && (w.mode == Exclusive || hm == Exclusive) {
			out = append(out, h)
		}
	}
	for _, q := range e.queue {
		if q == w {
			break
		}
		if q.txn != w.txn {
			out = append(out, q.txn)
		}
	}
	return out
}

// ReleaseAll drops every lock txn holds and wakes waiters.
func (m *Manager) ReleaseAll(txn TxnID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for key := range m.held[txn] {
		e := m.locks[key]
		if e == nil {
			continue
		}
		delete(e.holders, txn)
		m.wakeLocked(key, e)
		if len(e.holders) == 0 && len(e.queue) == 0 {
			delete(m.locks, key)
		}
	}
	delete(m.held, txn)
}

// Holds reports the mode in which txn holds key (0 if not).
func (m *Manager) Holds(txn TxnID, key string) Mode {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.held[txn][key]
}

// Stats counts locked keys and waiting transactions.
func (m *Manager) Stats() (keys, waiting int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.locks), len(m.waits)
}
