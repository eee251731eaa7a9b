package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/polarsql/polar/storage"
)

// startCluster starts three in-process storage voters on loopback and
// returns them with a client.
func startCluster(t testing.TB) ([]*storage.Node, *storage.Client) {
	nodes, c, _ := startRestartableCluster(t)
	return nodes, c
}

// startRestartableCluster also returns a function that restarts node i
// (0-based) on its old address and data directory.
func startRestartableCluster(t testing.TB) ([]*storage.Node, *storage.Client, func(i int) *storage.Node) {
	t.Helper()
	peers := map[uint64]string{}
	// All three listeners stay open until each has its port: the kernel
	// may hand a just-closed port out again.
	var ls []net.Listener
	for i := uint64(1); i <= 3; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		peers[i] = l.Addr().String()
		ls = append(ls, l)
	}
	for _, l := range ls {
		l.Close()
	}
	dir := t.TempDir()
	var nodes []*storage.Node
	var addrs []string
	start := func(i uint64) *storage.Node {
		n, err := storage.StartNode(storage.Config{ID: i, Dir: filepath.Join(dir, fmt.Sprint(i)), Listen: peers[i],
			Peers: peers, TickInterval: 10 * time.Millisecond, Logger: discard})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for i := uint64(1); i <= 3; i++ {
		nodes = append(nodes, start(i))
		addrs = append(addrs, peers[i])
	}
	t.Cleanup(func() {
		for _, n := range nodes {
			n.Stop()
		}
	})
	c, err := storage.Dial(addrs)
	if err != nil {
		t.Fatal(err)
	}
	c.CallTimeout = time.Second
	t.Cleanup(func() { c.Close() })
	restart := func(i int) *storage.Node {
		nodes[i] = start(uint64(i + 1))
		return nodes[i]
	}
	return nodes, c, restart
}

// TestEngineStorageLeaderKilled: the storage leader stops while commits
// run. Commits either succeed (after Raft elects a new leader) or fail
// cleanly; afterwards exactly the acknowledged ones are visible, also to a
// new engine.
func TestEngineStorageLeaderKilled(t *testing.T) {
	ctx := context.Background()
	nodes, c := startCluster(t)
	e := openEngine(t, c, 1<<20)
	idx, err := e.CreateIndex(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	acked := map[int]bool{}
	failed := map[int]bool{}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; ; i += 4 {
				select {
				case <-stop:
					return
				default:
				}
				tx := e.Begin(TxnOptions{})
				tx.Put(ctx, idx, intKey(i), []byte(fmt.Sprint(i)))
				err := tx.Commit(ctx)
				mu.Lock()
				if err == nil {
					acked[i] = true
				} else {
					failed[i] = true
				}
				mu.Unlock()
				if errors.Is(err, ErrWritesStopped) {
					return
				}
			}
		}(w)
	}
	time.Sleep(500 * time.Millisecond)
	info, err := c.ClusterInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if n.ID() == info.LeaderID {
			n.Stop()
		}
	}
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d commits acknowledged, %d failed", len(acked), len(failed))
	if len(acked) < 20 {
		t.Fatalf("only %d commits acknowledged", len(acked))
	}
	e.Close()
	e2 := openEngine(t, c, 1<<20)
	defer e2.Close()
	tx := e2.Begin(TxnOptions{})
	defer tx.Rollback()
	it := tx.Scan(ctx, idx, ScanOptions{})
	seen := map[int]bool{}
	for it.Next(ctx) {
		var i int
		fmt.Sscan(string(it.Value()), &i)
		seen[i] = true
	}
	if it.Err() != nil {
		t.Fatal(it.Err())
	}
	for i := range acked {
		if !seen[i] {
			t.Fatalf("acknowledged commit %d lost", i)
		}
	}
	for i := range seen {
		if !acked[i] && !failed[i] {
			t.Fatalf("row %d visible but never committed", i)
		}
	}
}

// TestEngineStorageUnreachable: with every storage node gone a commit
// fails after the commit timeout, and the engine refuses writes rather
// than acknowledging anything it cannot make durable; once storage is
// back it fences, rebuilds its state and resumes writes, and every
// acknowledged commit is there.
func TestEngineStorageUnreachable(t *testing.T) {
	ctx := context.Background()
	nodes, c, restart := startRestartableCluster(t)
	e, err := Open(ctx, Config{Storage: c, BufferPoolBytes: 1 << 20, Logger: discard, CommitTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	idx, err := e.CreateIndex(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		n.Stop()
	}
	tx := e.Begin(TxnOptions{})
	tx.Put(ctx, idx, intKey(1), []byte("x"))
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := tx.Commit(cctx); err == nil {
		t.Fatal("commit succeeded with storage down")
	}
	tx = e.Begin(TxnOptions{})
	tx.Put(ctx, idx, intKey(2), []byte("y"))
	if err := tx.Commit(ctx); !errors.Is(err, ErrWritesStopped) {
		t.Fatalf("second commit: %v, want ErrWritesStopped", err)
	}
	for i := range nodes {
		restart(i)
	}
	var err2 error
	for try := 0; try < 100; try++ {
		tx = e.Begin(TxnOptions{})
		tx.Put(ctx, idx, intKey(3), []byte("z"))
		if err2 = tx.Commit(ctx); err2 == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err2 != nil {
		t.Fatalf("writes did not resume after storage came back: %v", err2)
	}
	tx = e.Begin(TxnOptions{})
	defer tx.Rollback()
	if v, ok, err := tx.Get(ctx, idx, intKey(3), NoLock); err != nil || !ok || string(v) != "z" {
		t.Fatalf("row written after recovery: %q %v %v", v, ok, err)
	}
	if _, ok, err := tx.Get(ctx, idx, intKey(2), NoLock); err != nil || ok {
		t.Fatalf("a refused commit is visible: %v %v", ok, err)
	}
}
