package lock

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// long is a timeout no test expects to reach: a wait that ends must end
// for another reason (grant, deadlock, cancellation) well before it.
const long = 10 * time.Second

// prompt bounds how long a test waits for something that should happen
// at once (a grant after a release, a deadlock verdict).
const prompt = 2 * time.Second

var bg = context.Background()

// acquireAsync starts Acquire in a goroutine and returns its result channel.
func acquireAsync(m *Manager, txn TxnID, key string, mode Mode, timeout time.Duration) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- m.Acquire(bg, txn, key, mode, timeout) }()
	return ch
}

// waitWaiting polls until Stats reports n waiting transactions.
func waitWaiting(t *testing.T, m *Manager, n int) {
	t.Helper()
	deadline := time.Now().Add(prompt)
	for {
		_, w := m.Stats()
		if w == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting = %d, want %d", w, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// pending asserts that ch has no result yet.
func pending(t *testing.T, ch <-chan error, what string) {
	t.Helper()
	select {
	case err := <-ch:
		t.Fatalf("%s: finished early with %v, want still waiting", what, err)
	case <-time.After(20 * time.Millisecond):
	}
}

// result waits (at most prompt) for ch's result.
func result(t *testing.T, ch <-chan error, what string) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(prompt):
		t.Fatalf("%s: no result within %v", what, prompt)
		return nil
	}
}

// granted asserts that ch delivers nil promptly.
func granted(t *testing.T, ch <-chan error, what string) {
	t.Helper()
	if err := result(t, ch, what); err != nil {
		t.Fatalf("%s: %v, want granted", what, err)
	}
}

func mustAcquire(t *testing.T, m *Manager, txn TxnID, key string, mode Mode) {
	t.Helper()
	if err := m.Acquire(bg, txn, key, mode, 0); err != nil {
		t.Fatalf("txn %d %s %q: %v", txn, mode, key, err)
	}
	if got := m.Holds(txn, key); got < mode {
		t.Fatalf("txn %d holds %q in %v after acquiring %s", txn, key, got, mode)
	}
}

func wantStats(t *testing.T, m *Manager, keys, waiting int) {
	t.Helper()
	k, w := m.Stats()
	if k != keys || w != waiting {
		t.Fatalf("Stats = (%d keys, %d waiting), want (%d, %d)", k, w, keys, waiting)
	}
}

func TestModeString(t *testing.T) {
	if Shared.String() != "S" || Exclusive.String() != "X" {
		t.Fatalf("got %s %s", Shared, Exclusive)
	}
}

func TestSharedCompatible(t *testing.T) {
	m := New()
	for txn := TxnID(1); txn <= 3; txn++ {
		mustAcquire(t, m, txn, "k", Shared)
	}
	wantStats(t, m, 1, 0)
	for txn := TxnID(1); txn <= 3; txn++ {
		m.ReleaseAll(txn)
	}
	wantStats(t, m, 0, 0)
}

func TestSharedBlocksExclusive(t *testing.T) {
	m := New()
	mustAcquire(t, m, 1, "k", Shared)
	mustAcquire(t, m, 2, "k", Shared)
	if err := m.Acquire(bg, 3, "k", Exclusive, 0); !errors.Is(err, ErrTimeout) {
		t.Fatalf("X over S with no wait: %v, want ErrTimeout", err)
	}
	ch := acquireAsync(m, 3, "k", Exclusive, long)
	waitWaiting(t, m, 1)
	pending(t, ch, "X behind two S")
	m.ReleaseAll(1)
	pending(t, ch, "X behind one S")
	m.ReleaseAll(2)
	granted(t, ch, "X after S released")
	if got := m.Holds(3, "k"); got != Exclusive {
		t.Fatalf("Holds = %v, want X", got)
	}
	wantStats(t, m, 1, 0)
	m.ReleaseAll(3)
	wantStats(t, m, 0, 0)
}

func TestExclusiveBlocksShared(t *testing.T) {
	m := New()
	mustAcquire(t, m, 1, "k", Exclusive)
	if err := m.Acquire(bg, 2, "k", Shared, 0); !errors.Is(err, ErrTimeout) {
		t.Fatalf("S over X with no wait: %v, want ErrTimeout", err)
	}
	if err := m.Acquire(bg, 3, "k", Exclusive, 0); !errors.Is(err, ErrTimeout) {
		t.Fatalf("X over X with no wait: %v, want ErrTimeout", err)
	}
	s1 := acquireAsync(m, 2, "k", Shared, long)
	waitWaiting(t, m, 1)
	s2 := acquireAsync(m, 3, "k", Shared, long)
	waitWaiting(t, m, 2)
	pending(t, s1, "S behind X")
	pending(t, s2, "S behind X")
	m.ReleaseAll(1)
	// Both compatible waiters are granted together.
	granted(t, s1, "first S after X released")
	granted(t, s2, "second S after X released")
	wantStats(t, m, 1, 0)
	m.ReleaseAll(2)
	m.ReleaseAll(3)
	wantStats(t, m, 0, 0)
}

func TestReacquireIsFree(t *testing.T) {
	m := New()
	mustAcquire(t, m, 1, "k", Exclusive)
	// Re-acquiring in the same or a weaker mode never waits, even with
	// others queued behind.
	ch := acquireAsync(m, 2, "k", Shared, long)
	waitWaiting(t, m, 1)
	mustAcquire(t, m, 1, "k", Exclusive)
	mustAcquire(t, m, 1, "k", Shared)
	if got := m.Holds(1, "k"); got != Exclusive {
		t.Fatalf("X holder downgraded to %v by an S request", got)
	}
	mustAcquire(t, m, 3, "other", Shared)
	mustAcquire(t, m, 3, "other", Shared)
	pending(t, ch, "S behind X")
	m.ReleaseAll(1)
	granted(t, ch, "S after release")
	m.ReleaseAll(2)
	m.ReleaseAll(3)
	wantStats(t, m, 0, 0)
}

func TestUpgradeSoleHolder(t *testing.T) {
	m := New()
	mustAcquire(t, m, 1, "k", Shared)
	start := time.Now()
	if err := m.Acquire(bg, 1, "k", Exclusive, 0); err != nil {
		t.Fatalf("upgrade as sole holder: %v", err)
	}
	if d := time.Since(start); d > prompt {
		t.Fatalf("upgrade took %v", d)
	}
	if got := m.Holds(1, "k"); got != Exclusive {
		t.Fatalf("Holds = %v, want X", got)
	}
	if err := m.Acquire(bg, 2, "k", Shared, 0); !errors.Is(err, ErrTimeout) {
		t.Fatalf("S over upgraded X: %v, want ErrTimeout", err)
	}
	m.ReleaseAll(1)
	wantStats(t, m, 0, 0)
}

// An upgrade of the sole holder is immediate even with waiters queued:
// the waiters are waiting for it anyway.
func TestUpgradeSoleHolderWithQueue(t *testing.T) {
	m := New()
	mustAcquire(t, m, 1, "k", Shared)
	ch := acquireAsync(m, 2, "k", Exclusive, long)
	waitWaiting(t, m, 1)
	if err := m.Acquire(bg, 1, "k", Exclusive, 0); err != nil {
		t.Fatalf("upgrade as sole holder with a queue: %v", err)
	}
	pending(t, ch, "X behind upgraded holder")
	m.ReleaseAll(1)
	granted(t, ch, "X after upgrader released")
	m.ReleaseAll(2)
	wantStats(t, m, 0, 0)
}

func TestUpgradeWaitsForOtherShared(t *testing.T) {
	m := New()
	mustAcquire(t, m, 1, "k", Shared)
	mustAcquire(t, m, 2, "k", Shared)
	if err := m.Acquire(bg, 1, "k", Exclusive, 0); !errors.Is(err, ErrTimeout) {
		t.Fatalf("upgrade with another S holder, no wait: %v, want ErrTimeout", err)
	}
	if got := m.Holds(1, "k"); got != Shared {
		t.Fatalf("failed upgrade left Holds = %v, want S", got)
	}
	up := acquireAsync(m, 1, "k", Exclusive, long)
	waitWaiting(t, m, 1)
	pending(t, up, "upgrade behind another S")
	// A newcomer queues behind the upgrade.
	s := acquireAsync(m, 3, "k", Shared, long)
	waitWaiting(t, m, 2)
	m.ReleaseAll(2)
	granted(t, up, "upgrade after other S released")
	if got := m.Holds(1, "k"); got != Exclusive {
		t.Fatalf("Holds = %v, want X", got)
	}
	pending(t, s, "S behind upgraded X")
	m.ReleaseAll(1)
	granted(t, s, "S after upgrader released")
	m.ReleaseAll(3)
	wantStats(t, m, 0, 0)
}

func TestTimeoutZeroFailsImmediately(t *testing.T) {
	m := New()
	mustAcquire(t, m, 1, "k", Exclusive)
	start := time.Now()
	err := m.Acquire(bg, 2, "k", Exclusive, 0)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if errors.Is(err, ErrDeadlock) {
		t.Fatalf("err = %v is also ErrDeadlock", err)
	}
	if d := time.Since(start); d > prompt {
		t.Fatalf("no-wait acquire took %v", d)
	}
	if got := m.Holds(2, "k"); got != 0 {
		t.Fatalf("failed acquire left Holds = %v", got)
	}
	wantStats(t, m, 1, 0)
	m.ReleaseAll(2) // releasing nothing is harmless
	m.ReleaseAll(1)
	wantStats(t, m, 0, 0)

	// Where waiting would close a cycle, no wait means no deadlock
	// either: the request just fails, and the other waiter is untouched.
	mustAcquire(t, m, 1, "k1", Exclusive)
	mustAcquire(t, m, 2, "k2", Exclusive)
	ch := acquireAsync(m, 1, "k2", Exclusive, long)
	waitWaiting(t, m, 1)
	if err := m.Acquire(bg, 2, "k1", Shared, 0); !errors.Is(err, ErrTimeout) {
		t.Fatalf("no-wait request into a cycle: %v, want ErrTimeout", err)
	}
	wantStats(t, m, 2, 1)
	pending(t, ch, "txn 1 on k2")
	m.ReleaseAll(2)
	granted(t, ch, "txn 1 on k2")
	m.ReleaseAll(1)
	wantStats(t, m, 0, 0)
}

func TestWaitTimesOut(t *testing.T) {
	m := New()
	mustAcquire(t, m, 1, "k", Exclusive)
	mustAcquire(t, m, 2, "k2", Shared)
	const timeout = 50 * time.Millisecond
	start := time.Now()
	err := m.Acquire(bg, 2, "k", Shared, timeout)
	d := time.Since(start)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if d < timeout {
		t.Fatalf("timed out after %v, before the %v timeout", d, timeout)
	}
	if d > timeout+prompt {
		t.Fatalf("timed out after %v, long after the %v timeout", d, timeout)
	}
	if got := m.Holds(2, "k"); got != 0 {
		t.Fatalf("timed-out acquire left Holds = %v", got)
	}
	if got := m.Holds(2, "k2"); got != Shared {
		t.Fatalf("timed-out acquire dropped an earlier lock: Holds = %v", got)
	}
	wantStats(t, m, 2, 0)
	// The timed-out request no longer queues: a fresh S request from
	// another transaction is granted as soon as the X holder leaves.
	ch := acquireAsync(m, 3, "k", Shared, long)
	waitWaiting(t, m, 1)
	m.ReleaseAll(1)
	granted(t, ch, "S after X released")
	m.ReleaseAll(2)
	m.ReleaseAll(3)
	wantStats(t, m, 0, 0)
}

// When a queued request times out, the requests it was holding back by
// FIFO order must be woken.
func TestTimeoutWakesRequestsBehind(t *testing.T) {
	m := New()
	mustAcquire(t, m, 1, "k", Shared)
	x := acquireAsync(m, 2, "k", Exclusive, 50*time.Millisecond)
	waitWaiting(t, m, 1)
	s := acquireAsync(m, 3, "k", Shared, long)
	waitWaiting(t, m, 2)
	if err := result(t, x, "queued X"); !errors.Is(err, ErrTimeout) {
		t.Fatalf("queued X: %v, want ErrTimeout", err)
	}
	granted(t, s, "S once the X ahead of it timed out")
	wantStats(t, m, 1, 0)
	m.ReleaseAll(1)
	m.ReleaseAll(2)
	m.ReleaseAll(3)
	wantStats(t, m, 0, 0)
}

func TestContextCancelEndsWait(t *testing.T) {
	m := New()
	mustAcquire(t, m, 1, "k", Exclusive)
	ctx, cancel := context.WithCancel(bg)
	ch := make(chan error, 1)
	go func() { ch <- m.Acquire(ctx, 2, "k", Exclusive, long) }()
	waitWaiting(t, m, 1)
	pending(t, ch, "X behind X")
	cancel()
	err := result(t, ch, "canceled wait")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if errors.Is(err, ErrTimeout) || errors.Is(err, ErrDeadlock) {
		t.Fatalf("err = %v: cancellation reported as timeout or deadlock", err)
	}
	if got := m.Holds(2, "k"); got != 0 {
		t.Fatalf("canceled acquire left Holds = %v", got)
	}
	wantStats(t, m, 1, 0)
	m.ReleaseAll(1)
	wantStats(t, m, 0, 0)
}

func TestContextDeadlineEndsWait(t *testing.T) {
	m := New()
	mustAcquire(t, m, 1, "k", Exclusive)
	ctx, cancel := context.WithTimeout(bg, 30*time.Millisecond)
	defer cancel()
	err := m.Acquire(ctx, 2, "k", Shared, long)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	m.ReleaseAll(1)
	wantStats(t, m, 0, 0)
}

// A queued X request is not overtaken by a later S request, even though
// the S request is compatible with the current S holder.
func TestFIFONoOvertaking(t *testing.T) {
	m := New()
	mustAcquire(t, m, 1, "k", Shared)
	x := acquireAsync(m, 2, "k", Exclusive, long)
	waitWaiting(t, m, 1)
	if err := m.Acquire(bg, 3, "k", Shared, 0); !errors.Is(err, ErrTimeout) {
		t.Fatalf("S overtook a queued X: %v", err)
	}
	s := acquireAsync(m, 3, "k", Shared, long)
	waitWaiting(t, m, 2)
	pending(t, s, "S behind queued X")
	pending(t, x, "X behind S holder")
	m.ReleaseAll(1)
	granted(t, x, "queued X after S released")
	pending(t, s, "S behind granted X")
	m.ReleaseAll(2)
	granted(t, s, "S after X released")
	m.ReleaseAll(3)
	wantStats(t, m, 0, 0)
}

// Waiters are granted in arrival order.
func TestFIFOOrder(t *testing.T) {
	m := New()
	mustAcquire(t, m, 100, "k", Exclusive)
	const n = 5
	var chans []<-chan error
	for i := range n {
		chans = append(chans, acquireAsync(m, TxnID(i+1), "k", Exclusive, long))
		waitWaiting(t, m, i+1)
	}
	m.ReleaseAll(100)
	for i := range n {
		granted(t, chans[i], fmt.Sprintf("waiter %d", i+1))
		for j := i + 1; j < n; j++ {
			select {
			case err := <-chans[j]:
				t.Fatalf("waiter %d finished (%v) before waiter %d released", j+1, err, i+1)
			default:
			}
		}
		m.ReleaseAll(TxnID(i + 1))
	}
	wantStats(t, m, 0, 0)
}

// Waits that form no cycle are not reported as deadlocks.
func TestNoFalseDeadlock(t *testing.T) {
	m := New()
	// Chain: 3 waits for 2 (k2), 2 waits for 1 (k1).
	mustAcquire(t, m, 1, "k1", Exclusive)
	mustAcquire(t, m, 2, "k2", Exclusive)
	a := acquireAsync(m, 2, "k1", Exclusive, long)
	waitWaiting(t, m, 1)
	b := acquireAsync(m, 3, "k2", Exclusive, long)
	waitWaiting(t, m, 2)
	// Several S waiters behind one X holder, and one more S holder.
	mustAcquire(t, m, 4, "k3", Exclusive)
	c := acquireAsync(m, 5, "k3", Shared, long)
	waitWaiting(t, m, 3)
	d := acquireAsync(m, 6, "k3", Shared, long)
	waitWaiting(t, m, 4)
	pending(t, a, "2 on k1")
	pending(t, b, "3 on k2")
	pending(t, c, "5 on k3")
	pending(t, d, "6 on k3")
	m.ReleaseAll(1)
	granted(t, a, "2 on k1")
	m.ReleaseAll(2)
	granted(t, b, "3 on k2")
	m.ReleaseAll(4)
	granted(t, c, "5 on k3")
	granted(t, d, "6 on k3")
	for txn := TxnID(1); txn <= 6; txn++ {
		m.ReleaseAll(txn)
	}
	wantStats(t, m, 0, 0)
}

// resolveCycle checks that exactly one of the waits in chans (indexed by
// owner) ends promptly with ErrDeadlock while the others keep waiting,
// then releases the victim and, one by one, every waiter that is granted
// in turn, until all are granted. It returns the victim.
func resolveCycle(t *testing.T, m *Manager, chans map[TxnID]<-chan error) TxnID {
	t.Helper()
	start := time.Now()
	victim, err := first(t, chans)
	if !errors.Is(err, ErrDeadlock) {
		t.Fatalf("txn %d: %v, want ErrDeadlock", victim, err)
	}
	if errors.Is(err, ErrTimeout) {
		t.Fatalf("deadlock error %v also matches ErrTimeout", err)
	}
	if d := time.Since(start); d > prompt {
		t.Fatalf("deadlock reported after %v", d)
	}
	delete(chans, victim)
	for txn, ch := range chans {
		pending(t, ch, fmt.Sprintf("txn %d in the cycle", txn))
	}
	_, w := m.Stats()
	if w != len(chans) {
		t.Fatalf("after the verdict %d transactions wait, want %d", w, len(chans))
	}
	m.ReleaseAll(victim)
	for len(chans) > 0 {
		txn, err := first(t, chans)
		if err != nil {
			t.Fatalf("txn %d: %v after the victim released, want granted", txn, err)
		}
		delete(chans, txn)
		m.ReleaseAll(txn)
	}
	wantStats(t, m, 0, 0)
	return victim
}

// first waits for the first result among chans.
func first(t *testing.T, chans map[TxnID]<-chan error) (TxnID, error) {
	t.Helper()
	deadline := time.After(prompt)
	for {
		for txn, ch := range chans {
			select {
			case err := <-ch:
				return txn, err
			default:
			}
		}
		select {
		case <-deadline:
			t.Fatalf("none of %d waits ended within %v", len(chans), prompt)
		case <-time.After(time.Millisecond):
		}
	}
}

func TestDeadlockTwo(t *testing.T) {
	m := New()
	mustAcquire(t, m, 1, "k1", Exclusive)
	mustAcquire(t, m, 2, "k2", Exclusive)
	chans := map[TxnID]<-chan error{}
	chans[1] = acquireAsync(m, 1, "k2", Exclusive, long)
	waitWaiting(t, m, 1)
	chans[2] = acquireAsync(m, 2, "k1", Exclusive, long)
	resolveCycle(t, m, chans)
}

// The deadlock is found however the two requests race.
func TestDeadlockTwoConcurrent(t *testing.T) {
	for range 50 {
		m := New()
		mustAcquire(t, m, 1, "k1", Exclusive)
		mustAcquire(t, m, 2, "k2", Shared)
		chans := map[TxnID]<-chan error{}
		chans[1] = acquireAsync(m, 1, "k2", Exclusive, long)
		chans[2] = acquireAsync(m, 2, "k1", Shared, long)
		resolveCycle(t, m, chans)
	}
}

func TestDeadlockThree(t *testing.T) {
	m := New()
	mustAcquire(t, m, 1, "k1", Exclusive)
	mustAcquire(t, m, 2, "k2", Exclusive)
	mustAcquire(t, m, 3, "k3", Shared)
	chans := map[TxnID]<-chan error{}
	chans[1] = acquireAsync(m, 1, "k2", Shared, long)
	waitWaiting(t, m, 1)
	chans[2] = acquireAsync(m, 2, "k3", Exclusive, long)
	waitWaiting(t, m, 2)
	chans[3] = acquireAsync(m, 3, "k1", Exclusive, long)
	resolveCycle(t, m, chans)
}

// A cycle that goes through a FIFO edge: 3 waits behind the queued
// request of 2 (not behind a holder it conflicts with).
func TestDeadlockThroughQueue(t *testing.T) {
	m := New()
	mustAcquire(t, m, 1, "k1", Shared)
	mustAcquire(t, m, 3, "k2", Exclusive)
	chans := map[TxnID]<-chan error{}
	chans[2] = acquireAsync(m, 2, "k1", Exclusive, long) // waits for 1
	waitWaiting(t, m, 1)
	chans[3] = acquireAsync(m, 3, "k1", Shared, long) // waits behind 2
	waitWaiting(t, m, 2)
	// 1 waits for 3: cycle 1 -> 3 -> 2 -> 1.
	chans[1] = acquireAsync(m, 1, "k2", Shared, long)
	resolveCycle(t, m, chans)
}

func TestDeadlockUpgrade(t *testing.T) {
	m := New()
	mustAcquire(t, m, 1, "k", Shared)
	mustAcquire(t, m, 2, "k", Shared)
	chans := map[TxnID]<-chan error{}
	chans[1] = acquireAsync(m, 1, "k", Exclusive, long)
	waitWaiting(t, m, 1)
	chans[2] = acquireAsync(m, 2, "k", Exclusive, long)
	resolveCycle(t, m, chans)
}

// An upgrade deadlock among three S holders with a newcomer queued: the
// survivor's upgrade still waits for the third holder, and goes before
// the newcomer.
func TestDeadlockUpgradeCrowded(t *testing.T) {
	m := New()
	for txn := TxnID(1); txn <= 3; txn++ {
		mustAcquire(t, m, txn, "k", Shared)
	}
	x4 := acquireAsync(m, 4, "k", Exclusive, long)
	waitWaiting(t, m, 1)
	up1 := acquireAsync(m, 1, "k", Exclusive, long)
	waitWaiting(t, m, 2)
	if err := m.Acquire(bg, 2, "k", Exclusive, long); !errors.Is(err, ErrDeadlock) {
		t.Fatalf("second upgrade: %v, want ErrDeadlock", err)
	}
	wantStats(t, m, 1, 2)
	m.ReleaseAll(2)
	pending(t, up1, "upgrade behind the third S holder")
	m.ReleaseAll(3)
	granted(t, up1, "upgrade after the other S holders left")
	if got := m.Holds(1, "k"); got != Exclusive {
		t.Fatalf("Holds = %v, want X", got)
	}
	pending(t, x4, "newcomer behind the upgrade")
	m.ReleaseAll(1)
	granted(t, x4, "newcomer")
	m.ReleaseAll(4)
	wantStats(t, m, 0, 0)
}

// The upgrade deadlock is found however the two upgrades race, and the
// survivor ends up with X.
func TestDeadlockUpgradeConcurrent(t *testing.T) {
	for range 50 {
		m := New()
		mustAcquire(t, m, 1, "k", Shared)
		mustAcquire(t, m, 2, "k", Shared)
		up1 := acquireAsync(m, 1, "k", Exclusive, long)
		up2 := acquireAsync(m, 2, "k", Exclusive, long)
		var victim, survivor TxnID
		var survivorCh <-chan error
		select {
		case err := <-up1:
			victim, survivor, survivorCh = 1, 2, up2
			if !errors.Is(err, ErrDeadlock) {
				t.Fatalf("txn 1: %v, want ErrDeadlock", err)
			}
		case err := <-up2:
			victim, survivor, survivorCh = 2, 1, up1
			if !errors.Is(err, ErrDeadlock) {
				t.Fatalf("txn 2: %v, want ErrDeadlock", err)
			}
		case <-time.After(prompt):
			t.Fatal("no deadlock verdict")
		}
		if got := m.Holds(victim, "k"); got != Shared {
			t.Fatalf("victim holds %v before release, want S", got)
		}
		pending(t, survivorCh, "surviving upgrade")
		m.ReleaseAll(victim)
		granted(t, survivorCh, "surviving upgrade")
		if got := m.Holds(survivor, "k"); got != Exclusive {
			t.Fatalf("survivor holds %v, want X", got)
		}
		m.ReleaseAll(survivor)
		wantStats(t, m, 0, 0)
	}
}

func TestReleaseAllReleasesEverything(t *testing.T) {
	m := New()
	for i := range 10 {
		mode := Shared
		if i%2 == 0 {
			mode = Exclusive
		}
		mustAcquire(t, m, 1, fmt.Sprint("k", i), mode)
	}
	mustAcquire(t, m, 2, "k1", Shared)
	wantStats(t, m, 10, 0)
	m.ReleaseAll(1)
	wantStats(t, m, 1, 0)
	for i := range 10 {
		if got := m.Holds(1, fmt.Sprint("k", i)); got != 0 {
			t.Fatalf("k%d still held in %v", i, got)
		}
		mustAcquire(t, m, 3, fmt.Sprint("k", i), Shared)
	}
	m.ReleaseAll(2)
	m.ReleaseAll(3)
	wantStats(t, m, 0, 0)
}

// TestStress runs random transactions on few keys and checks that no key
// is ever held incompatibly, that every wait ends, and that nothing is
// left behind.
//
// With short timeouts and a few long holds, waits time out as well as
// deadlock. With long timeouts and only brief holds, no wait may time
// out: every conflict ends in a grant or a deadlock verdict, so a
// timeout there means a lost wake-up.
func TestStress(t *testing.T) {
	if !t.Run("long-timeouts", func(t *testing.T) {
		stress(t, 10*time.Second, 10*time.Second, false)
	}) {
		return
	}
	t.Run("short-timeouts", func(t *testing.T) {
		stress(t, 50*time.Millisecond, 200*time.Millisecond, true)
	})
}

func stress(t *testing.T, minTimeout, maxTimeout time.Duration, longHolds bool) {
	const (
		workers = 16
		nkeys   = 10
		stuck   = 10 * time.Second // beyond a wait's own timeout
	)
	txns := 150
	if testing.Short() {
		txns = 30
	}
	m := New()
	keys := make([]string, nkeys)
	for i := range keys {
		keys[i] = fmt.Sprintf("key%02d", i)
	}

	// The invariant table: who holds what, as the test sees it. A
	// transaction is counted from the return of its Acquire until just
	// before its ReleaseAll, which lies within the time the manager
	// grants it the lock.
	type slot struct{ s, x int }
	var tmu sync.Mutex
	table := make([]slot, nkeys)
	var violations atomic.Int64
	check := func(k int, what string) {
		sl := table[k]
		if sl.x > 1 || (sl.x == 1 && sl.s > 0) || sl.s < 0 || sl.x < 0 {
			if violations.Add(1) <= 5 {
				t.Errorf("%s on %s: %d X and %d S holders", what, keys[k], sl.x, sl.s)
			}
		}
	}

	var nextTxn atomic.Uint64
	var commits, deadlocks, timeouts, canceled atomic.Int64
	// waitingSince[w] is when worker w's current Acquire started and
	// waitingFor[w] its time limit; 0 when not in Acquire.
	var waitingSince, waitingFor [workers]atomic.Int64

	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			for range txns {
				n := 1 + rng.IntN(5)
				type req struct {
					k    int
					mode Mode
				}
				reqs := make([]req, n)
				for i := range reqs {
					reqs[i] = req{rng.IntN(nkeys), Shared}
					if rng.IntN(2) == 0 {
						reqs[i].mode = Exclusive
					}
				}
				for attempt := 0; ; attempt++ {
					if t.Failed() {
						return
					}
					txn := TxnID(nextTxn.Add(1))
					held := map[int]Mode{}
					release := func() {
						tmu.Lock()
						for k, md := range held {
							if md == Exclusive {
								table[k].x--
							} else {
								table[k].s--
							}
						}
						tmu.Unlock()
						m.ReleaseAll(txn)
					}
					ok := true
					for _, r := range reqs {
						timeout := minTimeout + time.Duration(rng.Int64N(int64(maxTimeout-minTimeout)+1))
						ctx, cancel := bg, context.CancelFunc(func() {})
						if rng.IntN(10) == 0 {
							ctx, cancel = context.WithTimeout(bg, time.Duration(1+rng.IntN(20))*time.Millisecond)
						}
						waitingFor[w].Store(int64(timeout))
						waitingSince[w].Store(time.Now().UnixNano())
						err := m.Acquire(ctx, txn, keys[r.k], r.mode, timeout)
						waitingSince[w].Store(0)
						cancel()
						switch {
						case err == nil:
						case errors.Is(err, ErrDeadlock):
							deadlocks.Add(1)
						case errors.Is(err, ErrTimeout):
							timeouts.Add(1)
							if !longHolds {
								t.Errorf("txn %d: %s on %s timed out after %v with brief holds (lost wake-up?)",
									txn, r.mode, keys[r.k], timeout)
							} else if n := timeouts.Load(); n == int64(workers*txns)/2 {
								// Normally a few dozen: long holds are rare.
								t.Errorf("%d waits timed out (lost wake-ups?)", n)
							}
						case errors.Is(err, context.DeadlineExceeded):
							canceled.Add(1)
						default:
							t.Errorf("txn %d: unexpected error %v", txn, err)
						}
						if err != nil {
							// A failed request leaves what was held as it was.
							if got := m.Holds(txn, keys[r.k]); got != held[r.k] {
								t.Errorf("txn %d failed %s on %s (%v) but Holds = %v, want %v",
									txn, r.mode, keys[r.k], err, got, held[r.k])
							}
							ok = false
							break
						}
						if got := m.Holds(txn, keys[r.k]); got < r.mode {
							t.Errorf("txn %d granted %s on %s but Holds = %v", txn, r.mode, keys[r.k], got)
						}
						tmu.Lock()
						switch cur := held[r.k]; {
						case cur == 0 && r.mode == Shared:
							table[r.k].s++
							held[r.k] = Shared
						case cur == 0 && r.mode == Exclusive:
							table[r.k].x++
							held[r.k] = Exclusive
						case cur == Shared && r.mode == Exclusive:
							table[r.k].s--
							table[r.k].x++
							held[r.k] = Exclusive
						}
						check(r.k, fmt.Sprintf("txn %d %s", txn, r.mode))
						tmu.Unlock()
						// Hold for a moment so that a wrong grant overlaps;
						// rarely long enough for waiters to time out.
						if longHolds && rng.IntN(500) == 0 {
							time.Sleep(time.Duration(40+rng.IntN(40)) * time.Millisecond)
						} else if rng.IntN(4) == 0 {
							time.Sleep(time.Duration(rng.IntN(200)) * time.Microsecond)
						} else {
							runtime.Gosched()
						}
					}
					if ok {
						tmu.Lock()
						for k := range held {
							check(k, fmt.Sprintf("txn %d commit", txn))
						}
						tmu.Unlock()
						commits.Add(1)
						release()
						break
					}
					release()
					if attempt > 1000 {
						t.Errorf("worker %d: transaction failed %d times", w, attempt)
						return
					}
				}
			}
		}()
	}

	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	overall := time.After(3 * time.Minute)
watch:
	for {
		select {
		case <-finished:
			break watch
		case <-overall:
			t.Fatalf("stress test did not finish in 3 minutes\n%s", stacks())
		case <-tick.C:
			now := time.Now().UnixNano()
			for w := range workers {
				since := waitingSince[w].Load()
				if since != 0 && time.Duration(now-since) > time.Duration(waitingFor[w].Load())+stuck {
					t.Fatalf("worker %d stuck in Acquire for %v (lost wake-up?)\n%s",
						w, time.Duration(now-since), stacks())
				}
			}
		}
	}
	t.Logf("commits %d, deadlocks %d, timeouts %d, context deadlines %d",
		commits.Load(), deadlocks.Load(), timeouts.Load(), canceled.Load())
	if got := commits.Load(); !t.Failed() && got != workers*int64(txns) {
		t.Fatalf("commits = %d, want %d", got, workers*txns)
	}
	for k, sl := range table {
		if sl != (slot{}) {
			t.Errorf("table[%s] = %+v after all released", keys[k], sl)
		}
	}
	wantStats(t, m, 0, 0)
}

func stacks() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}
