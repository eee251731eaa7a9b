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
// verifies and installs into another, replacing its state machine keys
// and leaving other prefixes alone; a corrupted stream is refused.
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
	if err := writeSnapshotData(src, f); err != nil {
		t.Fatal(err)
	}
	f.Close()

	dst, err := pebble.Open(filepath.Join(dir, "dst"), &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	dst.Set([]byte("mstale"), []byte("old"), pebble.NoSync)
	dst.Set([]byte("rh"), []byte("mine"), pebble.NoSync)
	if err := installSnapshotData(dst, path); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	it, _ := dst.NewIter(nil)
	for ok := it.First(); ok; ok = it.Next() {
		got[string(it.Key())] = string(it.Value())
	}
	it.Close()
	if got["rh"] != "mine" {
		t.Fatal("install touched the raft log")
	}
	delete(got, "rh")
	if len(got) != len(want) {
		t.Fatalf("%d keys after install, want %d", len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("key %q differs", k)
		}
	}
	if _, closer, err := dst.Get(keyInstalling); !errors.Is(err, pebble.ErrNotFound) {
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
