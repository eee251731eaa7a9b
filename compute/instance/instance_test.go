package instance_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/polarsql/polar/compute/catalog"
	"github.com/polarsql/polar/compute/instance"
	"github.com/polarsql/polar/storage"
	"github.com/polarsql/polar/storage/storagetest"
)

func open(t *testing.T, cfg instance.Config) *instance.Instance {
	t.Helper()
	cfg.Logger = storagetest.Discard
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	in, err := instance.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return in
}

// The catalog stands in for SQL here: what CREATE DATABASE writes must
// survive a restart of an embedded instance.
func TestEmbeddedPersists(t *testing.T) {
	dir := t.TempDir()
	in := open(t, instance.Config{Dir: dir})
	if in.DB() == nil || in.Engine() == nil || in.StorageAddr() == "" {
		t.Fatalf("instance not assembled: db=%v engine=%v storage=%q", in.DB(), in.Engine(), in.StorageAddr())
	}
	ctx := context.Background()
	if err := in.Catalog().CreateDatabase(ctx, catalog.Database{Name: "kept"}, false); err != nil {
		t.Fatal(err)
	}
	if err := in.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := in.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := os.Stat(dir + "/storage"); err != nil {
		t.Fatalf("storage directory: %v", err)
	}

	in = open(t, instance.Config{Dir: dir})
	defer in.Close()
	if _, err := in.Catalog().Database(ctx, "kept"); err != nil {
		t.Fatalf("database lost across restart: %v", err)
	}
}

func TestInMemoryRemovesItsDirectory(t *testing.T) {
	before := memDirs(t)
	a := open(t, instance.Config{InMemory: true})
	b := open(t, instance.Config{InMemory: true})
	if got := memDirs(t); got != before+2 {
		t.Fatalf("%d polar-mem-* directories with two instances open, want %d", got, before+2)
	}
	ctx := context.Background()
	if err := a.Catalog().CreateDatabase(ctx, catalog.Database{Name: "only_in_a"}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Catalog().Database(ctx, "only_in_a"); !errors.Is(err, catalog.ErrNoDatabase) {
		t.Fatalf("in-memory instances share data: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if got := memDirs(t); got != before {
		t.Fatalf("%d polar-mem-* directories after Close, want %d", got, before)
	}
}

// memDirs counts the in-memory instances' directories (tests in this
// package do not run in parallel).
func memDirs(t *testing.T) int {
	t.Helper()
	n := 0
	for _, dir := range []string{"/dev/shm", os.TempDir()} {
		m, _ := filepath.Glob(filepath.Join(dir, "polar-mem-*"))
		n += len(m)
	}
	return n
}

func TestStorageCluster(t *testing.T) {
	node := storagetest.Start(t)
	in := open(t, instance.Config{StorageAddrs: []string{node.Addr()}, NodeName: "compute-test"})
	if in.StorageAddr() != "" || in.Done() != nil {
		t.Fatalf("cluster mode reports an in-process node")
	}
	ctx := context.Background()
	if err := in.Catalog().CreateDatabase(ctx, catalog.Database{Name: "remote"}, false); err != nil {
		t.Fatal(err)
	}
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	// A second compute node over the same storage sees it.
	in = open(t, instance.Config{StorageAddrs: []string{node.Addr()}, NodeName: "compute-test"})
	defer in.Close()
	if _, err := in.Catalog().Database(ctx, "remote"); err != nil {
		t.Fatalf("database not in shared storage: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []instance.Config{
		{},
		{Dir: t.TempDir(), InMemory: true},
		{InMemory: true, StorageAddrs: []string{"127.0.0.1:1"}},
	} {
		if _, err := instance.Open(context.Background(), cfg); err == nil {
			t.Errorf("Open(%+v) succeeded", cfg)
		}
	}
}

// An unreachable cluster fails Open when its context ends instead of
// hanging.
func TestUnreachableClusterTimesOut(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err := instance.Open(ctx, instance.Config{StorageAddrs: []string{"127.0.0.1:1"}, Logger: storagetest.Discard})
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Open = %v, want a deadline error", err)
	}
}

// StorageConfig reaches the in-process node.
func TestStorageConfigHook(t *testing.T) {
	called := false
	in := open(t, instance.Config{InMemory: true, StorageConfig: func(c *storage.Config) {
		called = true
		c.TickInterval = 5 * time.Millisecond
	}})
	defer in.Close()
	if !called {
		t.Fatal("StorageConfig not called")
	}
}
