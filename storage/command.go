package storage

import (
	"encoding/binary"
	"fmt"
)

// Commands are the payloads of normal Raft entries proposed by this node:
//
//	type u8 | request id u64 | proposer's wall clock, unix ms i64 | body
//
// The request id lets the proposer match the applied result to its waiting
// caller; the clock makes time-dependent decisions (reader liveness)
// deterministic on every replica.
type cmdType uint8

const (
	cmdAppend     cmdType = 1 // body: encoded wal.Batch
	cmdBumpEpoch  cmdType = 2 // body: storagepb.BumpEpochRequest
	cmdReportRead cmdType = 3 // body: storagepb.ReportReadLSNRequest
)

const cmdHeaderSize = 1 + 8 + 8

type command struct {
	typ    cmdType
	reqID  uint64
	unixMS int64
	body   []byte
}

func encodeCommand(typ cmdType, reqID uint64, unixMS int64, body []byte) []byte {
	b := make([]byte, cmdHeaderSize, cmdHeaderSize+len(body))
	b[0] = byte(typ)
	binary.LittleEndian.PutUint64(b[1:], reqID)
	binary.LittleEndian.PutUint64(b[9:], uint64(unixMS))
	return append(b, body...)
}

func decodeCommand(b []byte) (command, error) {
	if len(b) < cmdHeaderSize {
		return command{}, fmt.Errorf("storage: command of %d bytes", len(b))
	}
	c := command{
		typ:    cmdType(b[0]),
		reqID:  binary.LittleEndian.Uint64(b[1:]),
		unixMS: int64(binary.LittleEndian.Uint64(b[9:])),
		body:   b[cmdHeaderSize:],
	}
	switch c.typ {
	case cmdAppend, cmdBumpEpoch, cmdReportRead:
		return c, nil
	}
	return command{}, fmt.Errorf("storage: unknown command type %d", c.typ)
}
