package storage

import (
	"context"

	"github.com/polarsql/polar/wal"
)

// Service is the storage tier as compute nodes and polarctl use it. Client
// implements it over gRPC against a cluster; Node implements it in-process
// (the embedded default), with the same semantics.
type Service interface {
	// Append makes one encoded wal.Batch durable on a majority and applied
	// on the leader. A batch that was already applied (a retry after a
	// timeout) succeeds again with Duplicate set.
	Append(ctx context.Context, batch []byte) (AppendResult, error)
	// GetPage returns a page as of lsn, waiting until lsn is applied or ctx
	// ends.
	GetPage(ctx context.Context, page wal.PageID, lsn wal.LSN) (Page, error)
	// StreamWAL calls fn with every committed batch holding records at or
	// after from, in order, then follows the log until ctx ends or fn
	// returns an error.
	StreamWAL(ctx context.Context, from wal.LSN, fn func(raw []byte) error) error
	// ClusterInfo returns the cluster metadata.
	ClusterInfo(ctx context.Context) (ClusterInfo, error)
	// BumpEpoch starts a new primary generation; batches of older epochs
	// are refused from then on. expect, if not 0, must equal the current
	// epoch.
	BumpEpoch(ctx context.Context, primary string, expect uint64) (epoch uint64, lastLSN wal.LSN, err error)
	// ReportReadLSN records a compute node's oldest read LSN (leave: drop
	// it) and returns the GC horizon.
	ReportReadLSN(ctx context.Context, node string, lsn wal.LSN, leave bool) (horizon wal.LSN, err error)
}

// Pipeliner is implemented by services that take several appends in
// flight (the in-process Node). StartAppend returns once the batch's place
// in the log order is fixed — a later StartAppend lands after it — and
// the channel then yields the outcome Append would have returned. The
// compute engine uses it to form and send the next commit group while the
// previous one is being made durable.
type Pipeliner interface {
	StartAppend(ctx context.Context, batch []byte) (<-chan AppendOutcome, error)
}

// AppendOutcome is the result of a pipelined append.
type AppendOutcome struct {
	Result AppendResult
	Err    error
}

// AppendResult describes a successful append.
type AppendResult struct {
	LastLSN   wal.LSN // durable end of the log after the append
	Duplicate bool    // the batch had been applied before
}

// Page is a page image as of an LSN.
type Page struct {
	Image      []byte  // wal.PageSize bytes; zeros for a page never written
	PageLSN    wal.LSN // LSN of the last record applied to it
	AppliedLSN wal.LSN // the answering node's applied LSN
}

// ClusterInfo is the cluster metadata as one node has applied it.
type ClusterInfo struct {
	NodeID       uint64
	LeaderID     uint64
	LeaderAddr   string
	Term         uint64
	CommitIndex  uint64
	AppliedIndex uint64
	Epoch        uint64
	Primary      string
	LastLSN      wal.LSN
	GCHorizon    wal.LSN
	Members      []Member
	Readers      map[string]wal.LSN
}

// Member is one storage node of the Raft group.
type Member struct {
	ID      uint64
	Addr    string
	Learner bool
}
