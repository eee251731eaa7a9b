package storage_test

// Process-level tests of a 3-node storage cluster: real polard processes
// on loopback, crashed with SIGKILL and restarted while a writer appends,
// a member replaced and caught up by snapshot, and epoch fencing. They use
// only the public client API; helpers are in process_test.go.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/polarsql/polar/storage"
	"github.com/polarsql/polar/wal"
)

// crashWriter appends batches continuously and keeps the ledger of what
// storage acknowledged. After an append whose outcome is unknown it asks
// storage where the log ends: a log that covers the batch is checked to
// hold exactly this batch by sending it again (storage reports a retry of
// the applied bytes as a duplicate and anything else as a gap); otherwise
// the batch is dropped and the next one starts at the log end + 1.
type crashWriter struct {
	c     *storage.Client
	g     *batchGen
	epoch uint64

	stop chan struct{}
	done chan struct{}
	err  error

	ackMu     sync.Mutex
	ackStarts []time.Time // for each acknowledged batch, when the Append that succeeded was sent

	mu         sync.Mutex
	acked      map[wal.LSN][]byte   // first LSN -> bytes of the batch storage holds there
	sent       map[wal.LSN][][]byte // first LSN -> every batch ever sent starting there
	failures   int                  // appends with an unknown outcome
	discovered int                  // of those, found applied
	dropped    int                  // of those, found not applied and replaced
	end        wal.LSN              // the log end when the writer stopped
}

// appendTimeout bounds each Append of the crash writer. It is shorter
// than a re-election takes, so appends in flight when the leader dies end
// with an unknown outcome that the writer must resolve.
const appendTimeout = 1500 * time.Millisecond

func newCrashWriter(c *storage.Client, g *batchGen, epoch uint64) *crashWriter {
	return &crashWriter{c: c, g: g, epoch: epoch, stop: make(chan struct{}), done: make(chan struct{}),
		acked: map[wal.LSN][]byte{}, sent: map[wal.LSN][][]byte{}}
}

func (w *crashWriter) run(t *testing.T, next wal.LSN) {
	defer close(w.done)
	w.err = w.loop(t, next)
}

func (w *crashWriter) loop(t *testing.T, next wal.LSN) error {
	ackedEnd := next - 1
	for {
		// Stop only after a batch is known applied: every batch sent
		// before then starts at or below the log end, so none of them can
		// still extend the log later.
		select {
		case <-w.stop:
			w.mu.Lock()
			w.end = next - 1
			w.mu.Unlock()
			return nil
		default:
		}
		b, raw := w.g.next(w.epoch, next)
		first, last := b.FirstLSN, b.LastLSN()
		w.mu.Lock()
		w.sent[first] = append(w.sent[first], raw)
		w.mu.Unlock()
		sentAt := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), appendTimeout)
		res, err := w.c.Append(ctx, raw)
		cancel()
		if err == nil {
			if res.LastLSN < last || (!res.Duplicate && res.LastLSN != last) {
				return fmt.Errorf("append [%d,%d]: result %+v", first, last, res)
			}
			w.ack(first, raw, sentAt)
			next, ackedEnd = last+1, last
			continue
		}
		if errors.Is(err, storage.ErrStaleEpoch) || errors.Is(err, storage.ErrCorrupt) ||
			errors.Is(err, storage.ErrInvalid) || errors.Is(err, storage.ErrTooLarge) {
			return fmt.Errorf("append [%d,%d]: %w", first, last, err)
		}
		w.mu.Lock()
		w.failures++
		w.mu.Unlock()
		t.Logf("append [%d,%d]: outcome unknown: %v", first, last, err)
		for resolved := false; !resolved; {
			info, err := leaderInfo(w.c, 30*time.Second)
			if err != nil {
				return fmt.Errorf("resolving append [%d,%d]: %w", first, last, err)
			}
			end := info.LastLSN
			switch {
			case end < ackedEnd:
				// A new leader that has not applied all it committed yet.
				time.Sleep(50 * time.Millisecond)
			case end < last:
				w.mu.Lock()
				w.dropped++
				w.mu.Unlock()
				next, resolved = end+1, true
			default:
				sentAt := time.Now()
				ctx, cancel := context.WithTimeout(context.Background(), appendTimeout)
				res, err := w.c.Append(ctx, raw)
				cancel()
				switch {
				case err == nil && !res.Duplicate:
					return fmt.Errorf("append [%d,%d]: applied anew although the log already ended at %d", first, last, end)
				case err == nil:
					w.mu.Lock()
					w.discovered++
					w.mu.Unlock()
					w.ack(first, raw, sentAt)
					next, ackedEnd, resolved = last+1, last, true
				case errors.Is(err, storage.ErrLSNGap):
					// Another batch (one dropped earlier, applied late)
					// holds these LSNs.
					w.mu.Lock()
					w.dropped++
					w.mu.Unlock()
					next, resolved = end+1, true
				default:
					t.Logf("re-sending [%d,%d]: %v", first, last, err)
				}
			}
		}
	}
}

func (w *crashWriter) ack(first wal.LSN, raw []byte, sentAt time.Time) {
	w.mu.Lock()
	w.acked[first] = raw
	w.mu.Unlock()
	w.ackMu.Lock()
	w.ackStarts = append(w.ackStarts, sentAt)
	w.ackMu.Unlock()
}

// acksSince counts the acknowledged batches whose successful Append was
// sent at or after since.
func (w *crashWriter) acksSince(since time.Time) int {
	w.ackMu.Lock()
	defer w.ackMu.Unlock()
	n := 0
	for i := len(w.ackStarts) - 1; i >= 0 && !w.ackStarts[i].Before(since); i-- {
		n++
	}
	return n
}

// waitAcks waits until minWait has passed since since and n batches sent
// after since are acknowledged, failing when maxWait has passed. It
// returns how long the first of them took to arrive.
func (w *crashWriter) waitAcks(t *testing.T, what string, since time.Time, n int, minWait, maxWait time.Duration) time.Duration {
	t.Helper()
	var first time.Duration
	for {
		got := w.acksSince(since)
		if got > 0 && first == 0 {
			first = time.Since(since)
		}
		if got >= n && time.Since(since) >= minWait {
			t.Logf("%s: %d batches acknowledged in %v, the first after %v", what, got,
				time.Since(since).Round(time.Millisecond), first.Round(time.Millisecond))
			return first
		}
		select {
		case <-w.done:
			t.Fatalf("%s: writer stopped: %v", what, w.err)
		default:
		}
		if time.Since(since) > maxWait {
			t.Fatalf("%s: only %d batches acknowledged in %v, want %d", what, got, maxWait, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Snapshot cadence of TestClusterCrashes, and the entries a node keeps
// after a snapshot (storage.Config.KeepEntries' default; polard has no
// flag for it).
const (
	crashSnapEntries = 100
	crashKeepEntries = 1024
)

func TestClusterCrashes(t *testing.T) {
	started := time.Now()
	cl := newCluster(t, 3, crashSnapEntries)
	c := dial(t, cl.addrs()...)
	info := mustLeader(t, c)
	t.Logf("leader %d elected %v after start", info.LeaderID, time.Since(started).Round(time.Millisecond))
	epoch, last, err := c.BumpEpoch(context.Background(), "test", 0)
	if err != nil || epoch != 1 || last != 0 {
		t.Fatalf("BumpEpoch = %d, %d, %v; want 1, 0, nil", epoch, last, err)
	}

	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	w := newCrashWriter(c, newBatchGen(seed, 50), epoch)
	writing := time.Now()
	go w.run(t, 1)
	stopped := false
	stopWriter := func() {
		if !stopped {
			stopped = true
			close(w.stop)
			<-w.done
		}
	}
	defer stopWriter()

	w.waitAcks(t, "before any crash", writing, 20, 2*time.Second, 20*time.Second)

	// Crash the leader; writes must resume once another node leads.
	info = mustLeader(t, c)
	leader := cl.byAddr(info.LeaderAddr)
	if leader == nil || leader.id != info.LeaderID {
		t.Fatalf("leader %d at %q is none of the processes", info.LeaderID, info.LeaderAddr)
	}
	cl.kill(leader.id)
	t.Logf("SIGKILLed leader %d", leader.id)
	w.waitAcks(t, "leader down", time.Now(), 30, 2*time.Second, 20*time.Second)
	cl.restart(leader.id)
	waitCaughtUp(t, c, cl.proc(leader.id), 30*time.Second)
	w.waitAcks(t, "old leader restarted", time.Now(), 10, time.Second, 20*time.Second)

	// Crash a follower (not the node just restarted); writes go on.
	info = mustLeader(t, c)
	var follower uint64
	for _, id := range []uint64{1, 2, 3} {
		if id != info.LeaderID && id != leader.id {
			follower = id
		}
	}
	if follower == 0 { // the restarted node leads again
		follower = 1 + info.LeaderID%3
	}
	fi, err := nodeInfo(cl.proc(follower).addr)
	if err != nil {
		t.Fatal(err)
	}
	cl.kill(follower)
	killed := time.Now()
	t.Logf("SIGKILLed follower %d at applied index %d (leader %d)", follower, fi.AppliedIndex, info.LeaderID)
	w.waitAcks(t, "follower down", killed, 30, 2*time.Second, 20*time.Second)
	// Keep it down until the others have truncated their logs past what
	// it holds (they keep crashKeepEntries after each snapshot), so that
	// it must catch up from a snapshot; on a machine too loaded to get
	// there in 10s, give up on that (TestClusterSnapshotCatchUp covers
	// snapshots too) to keep the test's wall time bounded.
	needSnapshot := false
	for ; time.Since(killed) < 12*time.Second; time.Sleep(50 * time.Millisecond) {
		if li := mustLeader(t, c); li.AppliedIndex > fi.AppliedIndex+crashKeepEntries+3*crashSnapEntries {
			needSnapshot = true
			break
		}
	}
	t.Logf("follower down for %v; must catch up from a snapshot: %v", time.Since(killed).Round(time.Millisecond), needSnapshot)
	cl.restart(follower)
	waitCaughtUp(t, c, cl.proc(follower), 30*time.Second)
	if needSnapshot && !cl.waitLog(follower, "installed snapshot", 5*time.Second) {
		t.Fatalf("restarted follower %d caught up without installing a snapshot", follower)
	}
	w.waitAcks(t, "follower restarted", time.Now(), 10, time.Second, 20*time.Second)
	stopWriter()
	if w.err != nil {
		t.Fatalf("writer: %v", w.err)
	}
	w.mu.Lock()
	final := w.end
	t.Logf("writer: %d batches acknowledged (%d by discovery), %d unknown outcomes, %d dropped; log end %d",
		len(w.acked), w.discovered, w.failures, w.dropped, final)
	w.mu.Unlock()

	// Every node must hold the same log: contiguous from 1, made only of
	// batches the writer sent, with every acknowledged one at its LSN.
	streams := map[uint64][][]byte{}
	clients := map[uint64]*storage.Client{}
	for _, id := range []uint64{1, 2, 3} {
		nc := pinned(t, cl.proc(id).addr)
		clients[id] = nc
		waitNodeLSN(t, cl.proc(id).addr, id, final, 30*time.Second)
		streams[id] = collectStream(t, nc, id, final)
	}
	found := 0
	for _, raw := range streams[1] {
		h, _ := wal.DecodeHeader(raw)
		ok := false
		for _, s := range w.sent[h.FirstLSN] {
			ok = ok || bytes.Equal(s, raw)
		}
		if !ok {
			t.Fatalf("the log holds a batch at [%d,%d] that the writer never sent", h.FirstLSN, h.LastLSN())
		}
		if a, isAcked := w.acked[h.FirstLSN]; isAcked {
			if !bytes.Equal(a, raw) {
				t.Fatalf("acknowledged batch at LSN %d differs from the log's", h.FirstLSN)
			}
			found++
		}
	}
	if found != len(w.acked) {
		for first := range w.acked {
			if !containsFirst(streams[1], first) {
				t.Errorf("acknowledged batch at LSN %d is not in the log", first)
			}
		}
		t.Fatalf("%d of %d acknowledged batches are in the log", found, len(w.acked))
	}
	sameStreams(t, "node 1", streams[1], "node 2", streams[2])
	sameStreams(t, "node 1", streams[1], "node 3", streams[3])

	// Page reads on every node match a replay of the log, at the end and
	// at a few earlier LSNs.
	zero := []wal.PageID{wal.MakePageID(1, 1000), wal.MakePageID(2, 0)}
	lsns := []wal.LSN{final}
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := 0; i < 3; i++ {
		lsns = append(lsns, 1+wal.LSN(rng.Uint64N(uint64(final))))
	}
	for _, lsn := range lsns {
		want := replay(t, streams[1], lsn)
		for _, id := range []uint64{1, 2, 3} {
			checkPages(t, clients[id], id, lsn, want, zero...)
		}
	}
	t.Logf("checked %d batches, %d acknowledged, pages at LSNs %v on 3 nodes; %v in all",
		len(streams[1]), found, lsns, time.Since(started).Round(time.Millisecond))
}

// waitCaughtUp waits until a restarted node has applied what the leader
// had applied when it came back, so that crashing another node next does
// not take the majority away.
func waitCaughtUp(t *testing.T, c *storage.Client, p *proc, timeout time.Duration) {
	t.Helper()
	start := time.Now()
	target := mustLeader(t, c).LastLSN
	for {
		info, err := nodeInfo(p.addr)
		if err == nil && info.LastLSN >= target && info.LeaderID != 0 {
			t.Logf("restarted node %d caught up to LSN %d and follows leader %d after %v",
				p.id, target, info.LeaderID, time.Since(start).Round(time.Millisecond))
			return
		}
		if time.Since(start) > timeout {
			t.Fatalf("restarted node %d has not caught up to LSN %d within %v: %+v, %v", p.id, target, timeout, info, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func containsFirst(raws [][]byte, first wal.LSN) bool {
	for _, raw := range raws {
		if h, _ := wal.DecodeHeader(raw); h.FirstLSN == first {
			return true
		}
	}
	return false
}

func TestClusterSnapshotCatchUp(t *testing.T) {
	const snapEntries = 50
	// Nodes keep 1024 entries (storage.Config.KeepEntries default, not a
	// polard flag) after a snapshot, so the log is truncated past its first
	// entry only once more than that many are applied.
	const keepEntries = 1024
	started := time.Now()
	cl := newCluster(t, 3, snapEntries)
	c := dial(t, cl.addrs()...)
	mustLeader(t, c)
	epoch, _, err := c.BumpEpoch(context.Background(), "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	g := newBatchGen(seed, 50)
	all, end := appendBatches(t, c, g, epoch, 1, 400)
	phase1End := end

	cl.kill(3)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	members, err := c.ChangeMember(ctx, false, 3, "", false)
	cancel()
	if err != nil {
		t.Fatalf("remove node 3: %v", err)
	}
	if len(members) != 2 {
		t.Fatalf("members after removing 3: %+v", members)
	}
	cl.wipe(3)

	raws, end := appendBatches(t, c, g, epoch, end+1, 400)
	all = append(all, raws...)
	for {
		info := mustLeader(t, c)
		if info.AppliedIndex >= keepEntries+3*snapEntries {
			t.Logf("leader applied index %d, log end %d after %d batches", info.AppliedIndex, end, len(all))
			break
		}
		if len(all) > 3000 {
			t.Fatalf("leader applied index only %d after %d batches", info.AppliedIndex, len(all))
		}
		raws, end = appendBatches(t, c, g, epoch, end+1, 50)
		all = append(all, raws...)
	}
	t.Logf("%d batches appended in %v", len(all), time.Since(started).Round(time.Millisecond))

	p4 := cl.addJoiner(4)
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Second)
	members, err = c.ChangeMember(ctx, true, 4, p4.addr, false)
	cancel()
	if err != nil {
		t.Fatalf("add node 4: %v", err)
	}
	if len(members) != 3 || members[2].ID != 4 || members[2].Addr != p4.addr || members[2].Learner {
		t.Fatalf("members after adding 4: %+v", members)
	}
	joined := time.Now()
	c4 := pinned(t, p4.addr)
	waitNodeLSN(t, p4.addr, 4, end, 30*time.Second)
	t.Logf("node 4 caught up to LSN %d in %v", end, time.Since(joined).Round(time.Millisecond))
	if !cl.waitLog(4, "installed snapshot", 5*time.Second) {
		t.Fatalf("node 4 caught up without installing a snapshot")
	}

	c1 := pinned(t, cl.proc(1).addr)
	waitNodeLSN(t, cl.proc(1).addr, 1, end, 30*time.Second)
	s1 := collectStream(t, c1, 1, end)
	s4 := collectStream(t, c4, 4, end)
	sameStreams(t, "the appended batches", all, "node 1", s1)
	sameStreams(t, "node 1", s1, "node 4", s4)
	zero := []wal.PageID{wal.MakePageID(1, 1000)}
	for _, lsn := range []wal.LSN{end, phase1End, end / 3} {
		want := replay(t, all, lsn)
		checkPages(t, c1, 1, lsn, want, zero...)
		checkPages(t, c4, 4, lsn, want, zero...)
	}

	// Node 4 follows new appends as a full member.
	raws, end = appendBatches(t, c, g, epoch, end+1, 20)
	all = append(all, raws...)
	waitNodeLSN(t, p4.addr, 4, end, 20*time.Second)
	sameStreams(t, "the appended batches", all, "node 4", collectStream(t, c4, 4, end))
	checkPages(t, c4, 4, end, replay(t, all, end), zero...)

	// With node 2 down, nodes 1 and 4 are a majority: node 4 votes and
	// acknowledges appends.
	cl.kill(2)
	raws, end = appendBatches(t, c, g, epoch, end+1, 20)
	all = append(all, raws...)
	waitNodeLSN(t, p4.addr, 4, end, 20*time.Second)
	sameStreams(t, "the appended batches", all, "node 4", collectStream(t, c4, 4, end))
	t.Logf("%v in all", time.Since(started).Round(time.Millisecond))
}

func TestClusterEpochFencing(t *testing.T) {
	cl := newCluster(t, 3, 0)
	c := dial(t, cl.addrs()...)
	mustLeader(t, c)
	ctx := context.Background()
	e1, _, err := c.BumpEpoch(ctx, "primary-a", 0)
	if err != nil || e1 != 1 {
		t.Fatalf("first BumpEpoch = %d, %v", e1, err)
	}
	g := newBatchGen(rand.Uint64(), 20)
	all, end := appendBatches(t, c, g, e1, 1, 10)

	e2, last, err := c.BumpEpoch(ctx, "primary-b", e1)
	if err != nil || e2 != e1+1 || last != end {
		t.Fatalf("second BumpEpoch = %d, %d, %v; want %d, %d, nil", e2, last, err, e1+1, end)
	}
	expectRefused := func(epoch uint64, what string) {
		t.Helper()
		_, raw := g.next(epoch, end+1)
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := c.Append(actx, raw)
		cancel()
		if !errors.Is(err, storage.ErrStaleEpoch) {
			t.Fatalf("append with %s epoch %d: %v, want ErrStaleEpoch", what, epoch, err)
		}
		info := mustLeader(t, c)
		if info.LastLSN != end {
			t.Fatalf("after a refused append with %s epoch the log ends at %d, want %d", what, info.LastLSN, end)
		}
	}
	expectRefused(e1, "the old")
	expectRefused(e2+1, "a future")

	// A bump that expects the wrong epoch fails and changes nothing.
	if ep, _, err := c.BumpEpoch(ctx, "primary-c", e1); !errors.Is(err, storage.ErrStaleEpoch) {
		t.Fatalf("BumpEpoch expecting %d = %d, %v; want ErrStaleEpoch", e1, ep, err)
	}
	info := mustLeader(t, c)
	if info.Epoch != e2 || info.Primary != "primary-b" || info.LastLSN != end {
		t.Fatalf("after a failed bump: epoch %d primary %q log end %d; want %d %q %d",
			info.Epoch, info.Primary, info.LastLSN, e2, "primary-b", end)
	}

	// The current epoch's primary goes on.
	raws, end := appendBatches(t, c, g, e2, end+1, 5)
	all = append(all, raws...)
	expectRefused(e1, "the old")

	// Every node has the same epoch and exactly the accepted batches.
	checkNodes := func() {
		t.Helper()
		for _, id := range []uint64{1, 2, 3} {
			addr := cl.proc(id).addr
			waitNodeLSN(t, addr, id, end, 20*time.Second)
			sameStreams(t, "the appended batches", all, fmt.Sprintf("node %d", id), collectStream(t, pinned(t, addr), id, end))
			ni, err := nodeInfo(addr)
			if err != nil || ni.Epoch != e2 || ni.Primary != "primary-b" {
				t.Fatalf("node %d: epoch %d primary %q, %v; want %d %q", id, ni.Epoch, ni.Primary, err, e2, "primary-b")
			}
		}
	}
	checkNodes()

	// The fence is durable: after a clean shutdown (SIGTERM) and restart
	// of the whole cluster the old epoch is still refused.
	for _, id := range []uint64{1, 2, 3} {
		cl.term(id)
	}
	for _, id := range []uint64{1, 2, 3} {
		cl.restart(id)
	}
	mustLeader(t, c)
	checkNodes()
	expectRefused(e1, "the old")
	raws, end = appendBatches(t, c, g, e2, end+1, 5)
	all = append(all, raws...)
	checkNodes()
}
