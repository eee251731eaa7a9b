package storage

import (
	"context"
	"fmt"
	"time"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/polarsql/polar/proto/storagepb"
	"github.com/polarsql/polar/wal"
)

var _ Service = (*Node)(nil)

// Append implements Service. Only the leader accepts batches; others
// return a NotLeaderError naming the leader.
func (n *Node) Append(ctx context.Context, batch []byte) (AppendResult, error) {
	if len(batch) > wal.MaxBatchSize {
		return AppendResult{}, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(batch), wal.MaxBatchSize)
	}
	h, err := wal.DecodeHeader(batch)
	if err != nil {
		return AppendResult{}, err
	}
	if _, err := wal.DecodeBatch(batch); err != nil {
		return AppendResult{}, err
	}
	// A cheap early refusal; the authoritative check is at apply time.
	if epoch := n.sm.metadata().Epoch; h.Epoch < epoch {
		return AppendResult{}, fmt.Errorf("%w: batch epoch %d, current epoch %d", ErrStaleEpoch, h.Epoch, epoch)
	}
	ctx, cancel := withDefaultTimeout(ctx, n.cfg.AppendTimeout)
	defer cancel()
	res, err := n.propose(ctx, cmdAppend, batch)
	return appendOutcome(res, err)
}

func appendOutcome(res applyResult, err error) (AppendResult, error) {
	if err != nil {
		return AppendResult{}, err
	}
	if res.err != nil {
		return AppendResult{}, res.err
	}
	return AppendResult{LastLSN: res.lastLSN, Duplicate: res.duplicate}, nil
}

// StartAppend implements Pipeliner: the batch is checked as Append checks
// it and proposed; the outcome arrives on the returned channel.
func (n *Node) StartAppend(ctx context.Context, batch []byte) (<-chan AppendOutcome, error) {
	if len(batch) > wal.MaxBatchSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(batch), wal.MaxBatchSize)
	}
	h, err := wal.DecodeHeader(batch)
	if err != nil {
		return nil, err
	}
	if _, err := wal.DecodeBatch(batch); err != nil {
		return nil, err
	}
	if epoch := n.sm.metadata().Epoch; h.Epoch < epoch {
		return nil, fmt.Errorf("%w: batch epoch %d, current epoch %d", ErrStaleEpoch, h.Epoch, epoch)
	}
	ctx, cancel := withDefaultTimeout(ctx, n.cfg.AppendTimeout)
	out := make(chan AppendOutcome, 1)
	err = n.proposeAsync(ctx, cmdAppend, batch, func(res applyResult, err error) {
		cancel()
		r, err := appendOutcome(res, err)
		out <- AppendOutcome{Result: r, Err: err}
	})
	if err != nil {
		cancel()
		return nil, err
	}
	return out, nil
}

// GetPage implements Service. Any node that has applied lsn answers.
func (n *Node) GetPage(ctx context.Context, page wal.PageID, lsn wal.LSN) (Page, error) {
	ctx, cancel := withDefaultTimeout(ctx, n.cfg.ReadTimeout)
	defer cancel()
	img, plsn, err := n.sm.readPage(ctx, page, lsn)
	if err != nil {
		return Page{}, err
	}
	_, applied := n.sm.state()
	return Page{Image: img, PageLSN: plsn, AppliedLSN: applied}, nil
}

// StreamWAL implements Service.
func (n *Node) StreamWAL(ctx context.Context, from wal.LSN, fn func(raw []byte) error) error {
	next := from
	for {
		changed := n.sm.changed()
		batches, err := n.sm.streamFrom(next, 4<<20)
		if err != nil {
			return err
		}
		for _, b := range batches {
			h, err := wal.DecodeHeader(b)
			if err != nil {
				return fmt.Errorf("storage: stored batch: %w", err)
			}
			if h.LastLSN() < next {
				continue
			}
			if err := fn(b); err != nil {
				return err
			}
			next = h.LastLSN() + 1
		}
		if len(batches) > 0 {
			continue
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		case <-n.ctx.Done():
			return ErrShuttingDown
		}
	}
}

// ClusterInfo implements Service.
func (n *Node) ClusterInfo(ctx context.Context) (ClusterInfo, error) {
	applied, last := n.sm.state()
	m := n.sm.metadata()
	info := ClusterInfo{
		NodeID:       n.cfg.ID,
		LeaderID:     n.leader.Load(),
		Term:         n.term.Load(),
		CommitIndex:  n.commit.Load(),
		AppliedIndex: applied,
		Epoch:        m.Epoch,
		Primary:      m.Primary,
		LastLSN:      last,
		GCHorizon:    m.Horizon,
		Readers:      map[string]wal.LSN{},
	}
	if info.LeaderID != 0 {
		info.LeaderAddr = n.memberAddr(info.LeaderID)
	}
	for _, mb := range m.sortedMembers() {
		info.Members = append(info.Members, Member{ID: mb.Id, Addr: mb.Addr, Learner: mb.Learner})
	}
	for node, rp := range m.Readers {
		info.Readers[node] = rp.LSN
	}
	return info, nil
}

// BumpEpoch implements Service.
func (n *Node) BumpEpoch(ctx context.Context, primary string, expect uint64) (uint64, wal.LSN, error) {
	body, err := proto.Marshal(&storagepb.BumpEpochRequest{Primary: primary, ExpectEpoch: expect})
	if err != nil {
		return 0, 0, fmt.Errorf("storage: encode bump epoch: %w", err)
	}
	ctx, cancel := withDefaultTimeout(ctx, n.cfg.AppendTimeout)
	defer cancel()
	res, err := n.propose(ctx, cmdBumpEpoch, body)
	if err != nil {
		return 0, 0, err
	}
	return res.epoch, res.lastLSN, res.err
}

// ReportReadLSN implements Service.
func (n *Node) ReportReadLSN(ctx context.Context, node string, lsn wal.LSN, leave bool) (wal.LSN, error) {
	if node == "" {
		return 0, fmt.Errorf("%w: empty node name", ErrInvalid)
	}
	body, err := proto.Marshal(&storagepb.ReportReadLSNRequest{Node: node, Lsn: uint64(lsn), Leave: leave})
	if err != nil {
		return 0, fmt.Errorf("storage: encode read report: %w", err)
	}
	ctx, cancel := withDefaultTimeout(ctx, n.cfg.AppendTimeout)
	defer cancel()
	res, err := n.propose(ctx, cmdReportRead, body)
	if err != nil {
		return 0, err
	}
	return res.horizon, res.err
}

// ChangeMember adds (voter or learner) or removes a storage node and waits
// until the change is applied here.
func (n *Node) ChangeMember(ctx context.Context, add bool, id uint64, addr string, learner bool) ([]Member, error) {
	if err := n.leaderError(); err != nil {
		return nil, err
	}
	if id == 0 || (add && addr == "") {
		return nil, fmt.Errorf("%w: member needs an id and, to add, an address", ErrInvalid)
	}
	typ := raftpb.ConfChangeAddNode
	switch {
	case !add:
		typ = raftpb.ConfChangeRemoveNode
	case learner:
		typ = raftpb.ConfChangeAddLearnerNode
	}
	cc := &raftpb.ConfChange{Type: &typ, NodeId: &id, Context: []byte(addr)}
	ctx, cancel := withDefaultTimeout(ctx, n.cfg.AppendTimeout)
	defer cancel()
	r, err := n.raftCall(ctx, raftOp{kind: opProposeConfChange, cc: cc})
	if err == nil {
		err = r.err
	}
	if err != nil {
		return nil, err
	}
	for {
		changed := n.sm.changed()
		m := n.sm.metadata()
		mb, ok := m.Members[id]
		if (add && ok && mb.Addr == addr && mb.Learner == learner) || (!add && !ok) {
			info, _ := n.ClusterInfo(ctx)
			return info.Members, nil
		}
		select {
		case <-changed:
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return nil, n.ctxError(ctx, ctx.Err())
		}
	}
}

// Syncs returns how many raft log writes were fsynced since the node
// started: commits per fsync is the engine's commit count over it.
func (n *Node) Syncs() uint64 { return n.rlog.syncs.Load() }
