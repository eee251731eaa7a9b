// Package storagetest starts real storage nodes for other packages'
// tests: a single voter in a temporary directory on a loopback port, with
// fast ticks, stopped when the test ends.
package storagetest

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/polarsql/polar/storage"
)

// Discard is a logger that drops everything, for quiet tests.
var Discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// Start starts a single-voter storage node and waits until it leads. opts
// may adjust the configuration before the node starts.
func Start(t testing.TB, opts ...func(*storage.Config)) *storage.Node {
	t.Helper()
	cfg := storage.Config{ID: 1, Dir: t.TempDir(), Listen: "127.0.0.1:0", TickInterval: 10 * time.Millisecond, Logger: Discard}
	for _, o := range opts {
		o(&cfg)
	}
	n, err := storage.StartNode(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Stop)
	WaitLeader(t, n)
	return n
}

// WaitLeader waits up to 10 s until s reports a Raft leader.
func WaitLeader(t testing.TB, s storage.Service) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if info, err := s.ClusterInfo(context.Background()); err == nil && info.LeaderID != 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("storagetest: no raft leader elected")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
