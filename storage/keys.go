package storage

import (
	"encoding/binary"

	"github.com/polarsql/polar/wal"
)

// Key layout of a storage node's single Pebble instance. Each part of the
// node owns one prefix:
//
//	r...              Raft log (raftlog.go)
//	  rh              raft hard state
//	  rs              last snapshot metadata (raftpb.Snapshot without data)
//	  re<index u64>   raft entry
//	m...              cluster metadata and apply progress (statemachine.go)
//	w<lastLSN u64>    where the committed batch ending at lastLSN is, for
//	                  StreamWAL: its Raft entry's index u64 | its first
//	                  LSN u64 | its CRC u32 (the batch is in the Raft log)
//	p<page u64><lsn u64><kind u8>
//	                  page versions (pagestore.go): kind 0 = delta (a
//	                  run of redo records on the page from lsn on),
//	                  kind 1 = full image
//	p                 the page GC horizon (pagestore.go); sorts before
//	                  every page key
//
// Integers in keys are big-endian so that keys sort numerically.
const (
	prefixRaft   = 'r'
	prefixMeta   = 'm'
	prefixWAL    = 'w'
	prefixPage   = 'p'
	versionDelta = 0
	versionImage = 1
)

// pageKey returns the key of one version of a page.
func pageKey(page wal.PageID, lsn wal.LSN, kind byte) []byte {
	return appendPageKey(make([]byte, 0, 18), page, lsn, kind)
}

// appendPageKey appends the key of one version of a page to dst.
func appendPageKey(dst []byte, page wal.PageID, lsn wal.LSN, kind byte) []byte {
	dst = append(dst, prefixPage)
	dst = binary.BigEndian.AppendUint64(dst, uint64(page))
	dst = binary.BigEndian.AppendUint64(dst, uint64(lsn))
	return append(dst, kind)
}

// parsePageKey splits a page-version key.
func parsePageKey(k []byte) (page wal.PageID, lsn wal.LSN, kind byte, ok bool) {
	if len(k) != 18 || k[0] != prefixPage {
		return 0, 0, 0, false
	}
	return wal.PageID(binary.BigEndian.Uint64(k[1:])), wal.LSN(binary.BigEndian.Uint64(k[9:])), k[17], true
}

// walKey returns the stream index key of the committed batch ending at
// lastLSN.
func walKey(lastLSN wal.LSN) []byte {
	k := make([]byte, 9)
	k[0] = prefixWAL
	binary.BigEndian.PutUint64(k[1:], uint64(lastLSN))
	return k
}

// metaKey returns a metadata key.
func metaKey(name string) []byte { return append([]byte{prefixMeta}, name...) }
