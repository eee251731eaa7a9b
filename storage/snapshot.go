package storage

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"

	"github.com/cockroachdb/pebble/v2"

	"github.com/polarsql/polar/wal"
)

// Raft snapshots carry only metadata inside Raft; the state machine's
// contents (metadata, the WAL stream index and page versions) travel beside them
// as a stream of key/value pairs read from a consistent Pebble snapshot:
//
//	repeated: keyLen uvarint | key | valueLen uvarint | value
//	end:      0 uvarint | crc32c u32 of everything before it
//
// Its data may be newer than the snapshot's Raft index; the receiver's
// state machine then skips the entries its data already contains (the
// applied index travels in the stream).

// snapshotPrefixes are the key prefixes that belong to the state machine.
var snapshotPrefixes = []byte{prefixMeta, prefixWAL, prefixPage}

// keyInstalling marks an unfinished snapshot install; it lives in the
// Raft log's db, whose writes are durable, outside the log's own keys.
var keyInstalling = []byte("xinstalling")

// writeSnapshotData streams the state machine's contents to w. Batches the
// stream index refers to in rlog travel whole: the receiver's log starts
// after the snapshot. Those already truncated from rlog (the GC horizon
// passed them after the Pebble snapshot was taken) are left out, with
// every older one, so the receiver's stream has no gap.
func writeSnapshotData(db *pebble.DB, rlog *RaftLog, w io.Writer) error {
	snap := db.NewSnapshot()
	defer snap.Close()
	crc := crc32.New(crcTable)
	bw := bufio.NewWriterSize(io.MultiWriter(w, crc), 1<<20)
	var hdr [binary.MaxVarintLen64]byte
	for _, p := range snapshotPrefixes {
		lower := []byte{p}
		if p == prefixWAL {
			gone, err := truncatedWAL(snap, rlog)
			if err != nil {
				return err
			}
			if gone != nil {
				lower = append(gone, 0)
			}
		}
		it, err := snap.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: []byte{p + 1}})
		if err != nil {
			return fmt.Errorf("storage: snapshot iterator: %w", err)
		}
		for ok := it.First(); ok; ok = it.Next() {
			k, v := it.Key(), it.Value()
			if _, isRef := decodeWALRef(v); isRef && p == prefixWAL && len(k) == 9 {
				if v, err = resolveWAL(rlog, wal.LSN(binary.BigEndian.Uint64(k[1:])), v); err != nil {
					it.Close()
					return fmt.Errorf("storage: snapshot: %w", err)
				}
			}
			bw.Write(hdr[:binary.PutUvarint(hdr[:], uint64(len(k)))])
			bw.Write(k)
			bw.Write(hdr[:binary.PutUvarint(hdr[:], uint64(len(v)))])
			if _, err := bw.Write(v); err != nil {
				it.Close()
				return fmt.Errorf("storage: write snapshot: %w", err)
			}
		}
		if err := it.Close(); err != nil {
			return fmt.Errorf("storage: snapshot iterator: %w", err)
		}
	}
	bw.WriteByte(0)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("storage: write snapshot: %w", err)
	}
	var sum [4]byte
	binary.LittleEndian.PutUint32(sum[:], crc.Sum32())
	if _, err := w.Write(sum[:]); err != nil {
		return fmt.Errorf("storage: write snapshot: %w", err)
	}
	return nil
}

// truncatedWAL returns the stream index key of the newest batch whose Raft
// entry rlog no longer holds, or nil.
func truncatedWAL(snap *pebble.Snapshot, rlog *RaftLog) ([]byte, error) {
	first, err := rlog.FirstIndex()
	if err != nil {
		return nil, fmt.Errorf("storage: snapshot: %w", err)
	}
	it, err := snap.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixWAL}, UpperBound: []byte{prefixWAL + 1}})
	if err != nil {
		return nil, fmt.Errorf("storage: snapshot iterator: %w", err)
	}
	defer it.Close()
	var gone []byte
	for ok := it.First(); ok; ok = it.Next() {
		if ref, isRef := decodeWALRef(it.Value()); isRef {
			if ref.index >= first {
				break
			}
			gone = append(gone[:0], it.Key()...)
		}
	}
	return gone, it.Error()
}

// verifySnapshotFile checks a received snapshot stream's framing and CRC
// before it may replace anything.
func verifySnapshotFile(path string) error {
	return readSnapshotFile(path, func(k, v []byte) error { return nil })
}

// readSnapshotFile calls fn for every pair in a snapshot file after
// checking its trailer.
func readSnapshotFile(path string, fn func(k, v []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("storage: open snapshot: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	// The CRC must cover exactly the bytes consumed, not what bufio read
	// ahead (which includes the trailer).
	cr := &crcReader{r: br, crc: crc32.New(crcTable)}
	var buf []byte
	for {
		kl, err := binary.ReadUvarint(cr)
		if err != nil {
			return fmt.Errorf("storage: snapshot %s truncated: %w", path, err)
		}
		if kl == 0 {
			break
		}
		if kl > 1<<20 {
			return fmt.Errorf("storage: snapshot %s: key of %d bytes", path, kl)
		}
		k := make([]byte, kl)
		if _, err := io.ReadFull(cr, k); err != nil {
			return fmt.Errorf("storage: snapshot %s truncated: %w", path, err)
		}
		vl, err := binary.ReadUvarint(cr)
		if err != nil || vl > 64<<20 {
			return fmt.Errorf("storage: snapshot %s: bad value length", path)
		}
		if cap(buf) < int(vl) {
			buf = make([]byte, vl)
		}
		v := buf[:vl]
		if _, err := io.ReadFull(cr, v); err != nil {
			return fmt.Errorf("storage: snapshot %s truncated: %w", path, err)
		}
		if err := fn(k, v); err != nil {
			return err
		}
	}
	want := cr.crc.Sum32()
	var sum [4]byte
	if _, err := io.ReadFull(br, sum[:]); err != nil {
		return fmt.Errorf("storage: snapshot %s: missing checksum: %w", path, err)
	}
	if got := binary.LittleEndian.Uint32(sum[:]); got != want {
		return fmt.Errorf("storage: snapshot %s: checksum %08x, want %08x", path, got, want)
	}
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("storage: snapshot %s: trailing bytes", path)
	}
	return nil
}

// installSnapshotData replaces the state machine's contents (in state)
// with a verified snapshot file. A marker key in the Raft log's db (which
// has a WAL) makes a crash mid-install resume the install on restart
// instead of leaving a mix of old and new data.
func installSnapshotData(raftDB, state *pebble.DB, path string) error {
	if err := verifySnapshotFile(path); err != nil {
		return err
	}
	if err := raftDB.Set(keyInstalling, []byte(path), pebble.Sync); err != nil {
		return fmt.Errorf("storage: mark snapshot install: %w", err)
	}
	return resumeInstall(raftDB, state, path)
}

// resumeInstall does the install proper; it is idempotent. state has no
// WAL, so the install is flushed before the marker goes.
func resumeInstall(raftDB, state *pebble.DB, path string) error {
	for _, p := range snapshotPrefixes {
		if err := state.DeleteRange([]byte{p}, []byte{p + 1}, pebble.NoSync); err != nil {
			return fmt.Errorf("storage: clear state for snapshot: %w", err)
		}
	}
	wb := state.NewBatch()
	err := readSnapshotFile(path, func(k, v []byte) error {
		if len(k) == 0 || (k[0] != prefixMeta && k[0] != prefixWAL && k[0] != prefixPage) {
			return fmt.Errorf("storage: snapshot key %q outside the state machine", k)
		}
		if err := wb.Set(k, v, nil); err != nil {
			return err
		}
		if wb.Len() > 8<<20 {
			if err := wb.Commit(pebble.NoSync); err != nil {
				return err
			}
			wb.Close()
			wb = state.NewBatch()
		}
		return nil
	})
	if err != nil {
		wb.Close()
		return fmt.Errorf("storage: install snapshot: %w", err)
	}
	if err := wb.Commit(pebble.NoSync); err != nil {
		wb.Close()
		return fmt.Errorf("storage: install snapshot: %w", err)
	}
	wb.Close()
	if err := state.Flush(); err != nil {
		return fmt.Errorf("storage: flush installed snapshot: %w", err)
	}
	if err := raftDB.Delete(keyInstalling, pebble.Sync); err != nil {
		return fmt.Errorf("storage: finish snapshot install: %w", err)
	}
	return nil
}

// finishInterruptedInstall completes an install a crash interrupted.
func finishInterruptedInstall(raftDB, state *pebble.DB) error {
	v, closer, err := raftDB.Get(keyInstalling)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("storage: read install marker: %w", err)
	}
	path := string(v)
	closer.Close()
	return resumeInstall(raftDB, state, path)
}

// crcTable is CRC-32C, as in the WAL.
var crcTable = crc32.MakeTable(crc32.Castagnoli)

// crcReader hashes exactly the bytes read through it.
type crcReader struct {
	r   *bufio.Reader
	crc hash.Hash32
}

func (c *crcReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.crc.Write(p[:n])
	return n, err
}

func (c *crcReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.crc.Write([]byte{b})
	}
	return b, err
}
