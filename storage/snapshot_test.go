package storage

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

// TestSnapshotDataRoundTrip: a snapshot stream written from one store
// verifies and installs into another node's WAL-less state db durably,
// replacing its state machine keys and leaving the Raft log's db alone; a
// corrupted stream is refused.
func TestSnapshotDataRoundTrip(t *testing.T) {
	dir := t.TempDir()
	src, err := pebble.Open(filepath.Join(dir, "src"), &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	want := map[string]string{}
	for i := 0; i < 3000; i++ {
		for _, p := range snapshotPrefixes {
			k := append([]byte{p}, []byte(string(rune('a'+i%26))+string(rune(i)))...)
			v := bytes.Repeat([]byte{byte(i)}, i%700)
			src.Set(k, v, pebble.NoSync)
			want[string(k)] = string(v)
		}
	}
	src.Set([]byte("rh"), []byte("raft state stays out"), pebble.NoSync)
	path := filepath.Join(dir, "snap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	logDB, err := pebble.Open(filepath.Join(dir, "srclog"), &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer logDB.Close()
	rlog, err := OpenRaftLog(logDB)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeSnapshotData(src, rlog, f); err != nil {
		t.Fatal(err)
	}
	f.Close()

	// The receiver's Raft log db has a WAL; its state db has none, so the
	// install must be flushed to survive a restart.
	raftDB, err := pebble.Open(filepath.Join(dir, "raft"), &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer raftDB.Close()
	stateOpts := &pebble.Options{DisableWAL: true, MemTableSize: 64 << 20} // as the node opens it
	dst, err := pebble.Open(filepath.Join(dir, "dst"), stateOpts)
	if err != nil {
		t.Fatal(err)
	}
	dst.Set([]byte("mstale"), []byte("old"), pebble.NoSync)
	raftDB.Set([]byte("rh"), []byte("mine"), pebble.NoSync)
	if err := installSnapshotData(raftDB, dst, path); err != nil {
		t.Fatal(err)
	}
	dst.Close() // without a flush, a WAL-less db forgets its memtable
	if dst, err = pebble.Open(filepath.Join(dir, "dst"), stateOpts); err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	got := map[string]string{}
	it, _ := dst.NewIter(nil)
	for ok := it.First(); ok; ok = it.Next() {
		got[string(it.Key())] = string(it.Value())
	}
	it.Close()
	if v, closer, err := raftDB.Get([]byte("rh")); err != nil || string(v) != "mine" {
		t.Fatal("install touched the raft log")
	} else {
		closer.Close()
	}
	if len(got) != len(want) {
		t.Fatalf("%d keys after install and restart, want %d", len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("key %q differs", k)
		}
	}
	if _, closer, err := raftDB.Get(keyInstalling); !errors.Is(err, pebble.ErrNotFound) {
		if closer != nil {
			closer.Close()
		}
		t.Fatal("install marker left behind")
	}

	b, _ := os.ReadFile(path)
	for _, off := range []int{0, len(b) / 2, len(b) - 5, len(b) - 1} {
		c := append([]byte(nil), b...)
		c[off] ^= 0x40
		bad := filepath.Join(dir, "bad")
		os.WriteFile(bad, c, 0o644)
		if err := verifySnapshotFile(bad); err == nil {
			t.Fatalf("corruption at %d not detected", off)
		}
	}
	if err := verifySnapshotFile(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("missing file verified")
	}
	os.WriteFile(filepath.Join(dir, "short"), b[:len(b)-2], 0o644)
	if err := verifySnapshotFile(filepath.Join(dir, "short")); err == nil {
		t.Fatal("truncated file verified")
	}
}
