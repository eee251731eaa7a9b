package storage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// The Raft loop drives a RawNode with etcd raft's asynchronous storage
// writes: Ready hands log appends to the append goroutine and committed
// entries to the apply goroutine as messages, each carrying the responses
// to deliver once that work is done. So the loop keeps stepping
// acknowledgements and committing while an fsync is under way, an entry
// is applied as soon as it commits instead of after the next batch's
// fsync, and appends that queue up during one fsync share the next.
//
// The loop owns the RawNode itself (raft.Node would add a goroutine of its
// own, and two more handoffs per proposal and per acknowledgement), and
// everything reaches it through one inbox it drains whole.

// applyWork is a unit for the apply goroutine: committed entries, or a
// barrier that is closed once everything queued before it is applied.
type applyWork struct {
	msg     *raftpb.Message
	barrier chan struct{}
}

// raftOpKind says what a raftOp asks of the Raft loop.
type raftOpKind uint8

const (
	opPropose           raftOpKind = iota // data, settled through waiter id
	opStep                                // msg
	opProposeConfChange                   // cc, answered on reply
	opApplyConfChange                     // cc, answered on reply
	opUnreachable                         // peer
	opSnapshotStatus                      // peer, status
)

// raftOp is a request to the Raft loop, which alone touches the RawNode.
type raftOp struct {
	kind   raftOpKind
	id     uint64
	data   []byte
	msg    *raftpb.Message
	cc     *raftpb.ConfChange
	peer   uint64
	status raft.SnapshotStatus
	reply  chan raftReply
}

type raftReply struct {
	cs  *raftpb.ConfState
	err error
}

// run is the Raft loop: it owns the RawNode, feeds it ticks and what
// other goroutines queued in the inbox, and handles each Ready.
func (n *Node) run() {
	ticker := time.NewTicker(n.cfg.TickInterval)
	defer ticker.Stop()
	var ops []raftOp
	for {
		select {
		case <-ticker.C:
			n.rn.Tick()
		case <-n.inbox.wait():
			ops = n.inbox.take(ops)
			for i := range ops {
				n.handleOp(&ops[i])
			}
			clear(ops)
		case <-n.ctx.Done():
			return
		}
		for n.rn.HasReady() {
			if err := n.handleReady(n.rn.Ready()); err != nil {
				n.fail(err)
				return
			}
		}
	}
}

// handleOp applies one inbox request to the RawNode.
func (n *Node) handleOp(op *raftOp) {
	switch op.kind {
	case opPropose:
		if err := n.rn.Propose(op.data); err != nil {
			if errors.Is(err, raft.ErrProposalDropped) {
				err = n.leaderErrorOrUnknown()
			}
			n.settle(op.id, applyResult{}, err)
		}
	case opStep:
		n.stepLocal(op.msg)
	case opProposeConfChange:
		err := n.rn.ProposeConfChange(op.cc)
		if errors.Is(err, raft.ErrProposalDropped) {
			err = n.leaderErrorOrUnknown()
		}
		op.reply <- raftReply{err: err}
	case opApplyConfChange:
		op.reply <- raftReply{cs: n.rn.ApplyConfChange(op.cc)}
	case opUnreachable:
		n.rn.ReportUnreachable(op.peer)
	case opSnapshotStatus:
		n.rn.ReportSnapshot(op.peer, op.status)
	}
}

// stepLocal steps a message into the RawNode on the Raft loop.
func (n *Node) stepLocal(m *raftpb.Message) {
	err := n.rn.Step(m)
	switch {
	case err == nil:
	case errors.Is(err, raft.ErrStepPeerNotFound), errors.Is(err, raft.ErrStepLocalMsg):
		// A response from a removed peer, or a local message sent from
		// afar: ignored, as raft.Node does.
	default:
		n.log.Warn("step raft message", "type", m.GetType().String(), "from", m.GetFrom(), "err", err)
	}
}

// handleReady dispatches a Ready: log appends to the append goroutine (or,
// on a sole voter, persisted here), committed entries to the apply
// goroutine, and messages to peers.
func (n *Node) handleReady(rd raft.Ready) error {
	if rd.SoftState != nil {
		prev := n.leader.Swap(rd.SoftState.Lead)
		if prev != rd.SoftState.Lead {
			n.log.Info("raft leader changed", "leader", rd.SoftState.Lead, "state", rd.SoftState.RaftState.String())
		}
	}
	if rd.HardState != nil && !raft.IsEmptyHardState(rd.HardState) {
		n.term.Store(rd.HardState.GetTerm())
		n.commit.Store(rd.HardState.GetCommit())
	}
	var remote, inline []*raftpb.Message
	for _, m := range rd.Messages {
		switch m.GetTo() {
		case raft.LocalAppendThread:
			if len(inline) > 0 || n.canPersistInline(m) {
				inline = append(inline, m)
				continue
			}
			n.appendBusy.Add(1)
			n.appendq.put(m)
		case raft.LocalApplyThread:
			if n.canApplyInline(m) {
				if err := n.applyInline(m); err != nil {
					return err
				}
				continue
			}
			n.applyBusy.Add(1)
			n.applyq.put(applyWork{msg: m})
		default:
			remote = append(remote, m)
		}
	}
	// These messages need no local durability first (appends a leader
	// sends, heartbeats): followers persist in parallel with the leader
	// (Raft thesis 10.2.1). Responses that report durable state travel as
	// responses of the append messages.
	n.tr.send(remote)
	if len(inline) == 0 {
		return nil
	}
	if err := n.persist(inline); err != nil {
		return err
	}
	for _, m := range inline {
		n.deliverLocal(m.GetResponses())
	}
	return nil
}

// deliverLocal is deliver on the Raft loop: this node's responses are
// stepped at once instead of queued.
func (n *Node) deliverLocal(msgs []*raftpb.Message) {
	var remote []*raftpb.Message
	for _, r := range msgs {
		if r.GetTo() == n.cfg.ID {
			n.stepLocal(r)
		} else {
			remote = append(remote, r)
		}
	}
	n.tr.send(remote)
}

// canPersistInline reports whether the Raft loop may persist an append
// itself instead of handing it to the append goroutine. On a sole voter
// nothing else waits on the loop during the fsync (no follower to
// feed), and the two hops to the append goroutine and back are a large
// share of a commit's CPU on a small machine. It must not overtake an
// append still queued there, nor wait for the apply goroutine (which a
// snapshot install does, and which may be waiting for the loop).
func (n *Node) canPersistInline(m *raftpb.Message) bool {
	return n.soleVoter.Load() && n.appendBusy.Load() == 0 && raft.IsEmptySnap(m.GetSnapshot())
}

// canApplyInline reports whether the Raft loop may apply committed entries
// itself instead of handing them to the apply goroutine: on a sole voter
// with nothing queued for the append or apply goroutines (so entries stay
// in order and no snapshot install is under way), and without conf
// changes, whose application goes through the loop. It saves the hop to
// the apply goroutine on every commit, as persisting inline does.
func (n *Node) canApplyInline(m *raftpb.Message) bool {
	if !n.soleVoter.Load() || n.appendBusy.Load() != 0 || n.applyBusy.Load() != 0 {
		return false
	}
	for _, e := range m.GetEntries() {
		if e.GetType() != raftpb.EntryNormal {
			return false
		}
	}
	return true
}

// applyInline applies m's entries on the Raft loop and steps the
// responses. Snapshots stay the apply goroutine's business: it is woken
// to consider one every inlineSnapshotCheck entries.
func (n *Node) applyInline(m *raftpb.Message) error {
	ents := m.GetEntries()
	if len(ents) > 0 {
		if err := n.applyEntries(ents); err != nil {
			return err
		}
	}
	n.deliverLocal(m.GetResponses())
	n.inlineApplied += uint64(len(ents))
	if n.inlineApplied >= inlineSnapshotCheck {
		n.inlineApplied = 0
		n.applyBusy.Add(1)
		n.applyq.put(applyWork{})
	}
	return nil
}

// inlineSnapshotCheck is how many entries the Raft loop applies itself
// between wake-ups of the apply goroutine to consider a snapshot.
const inlineSnapshotCheck = 64

// appendLoop persists log appends: every append queued when it wakes is
// written and then made durable with one fsync, and only then are their
// responses delivered.
func (n *Node) appendLoop() {
	var group []*raftpb.Message
	for {
		select {
		case <-n.appendq.wait():
		case <-n.ctx.Done():
			return
		}
		group = n.appendq.take(group)
		if len(group) == 0 {
			continue
		}
		if err := n.persist(group); err != nil {
			n.fail(err)
			return
		}
		for _, m := range group {
			n.deliver(m.GetResponses())
		}
		n.appendBusy.Add(-int64(len(group)))
		clear(group)
	}
}

// persist writes a group of append messages (snapshot, entries, hard
// state) and fsyncs once if any of them needs it.
func (n *Node) persist(group []*raftpb.Message) error {
	sync := false
	for _, m := range group {
		if snap := m.GetSnapshot(); snap != nil && !raft.IsEmptySnap(snap) {
			// The state machine is replaced: let the apply goroutine finish
			// what was queued before.
			barrier := make(chan struct{})
			n.applyq.put(applyWork{barrier: barrier})
			select {
			case <-barrier:
			case <-n.ctx.Done():
				return ErrShuttingDown
			}
			if err := n.installSnapshot(snap); err != nil {
				return err
			}
		}
		var hs *raftpb.HardState
		if m.Term != nil {
			hs = &raftpb.HardState{Term: m.Term, Vote: m.Vote, Commit: m.Commit}
			// Term and vote must be durable before anything reports them;
			// a commit index alone can be re-learned after a crash.
			term, vote := n.rlog.termVote()
			sync = sync || hs.GetTerm() != term || hs.GetVote() != vote
		}
		sync = sync || len(m.GetEntries()) > 0
		if err := n.rlog.Save(hs, m.GetEntries(), false); err != nil {
			return fmt.Errorf("storage: persist raft state: %w", err)
		}
	}
	if sync {
		n.rlog.syncs.Add(1)
		if err := n.db.LogData(nil, pebble.Sync); err != nil {
			return fmt.Errorf("storage: sync raft log: %w", err)
		}
	}
	return nil
}

// applyLoop applies committed entries in order and delivers the responses.
func (n *Node) applyLoop() {
	var work []applyWork
	for {
		select {
		case <-n.applyq.wait():
		case <-n.flushing: // nil (blocks) unless a pre-snapshot flush runs
			if err := n.maybeSnapshot(); err != nil {
				n.fail(err)
				return
			}
			continue
		case <-n.ctx.Done():
			return
		}
		work = n.applyq.take(work)
		for _, w := range work {
			if w.barrier != nil {
				close(w.barrier)
				continue
			}
			if ents := w.msg.GetEntries(); len(ents) > 0 {
				if err := n.applyEntries(ents); err != nil {
					n.fail(err)
					return
				}
			}
			n.deliver(w.msg.GetResponses())
		}
		if err := n.maybeSnapshot(); err != nil {
			n.fail(err)
			return
		}
		// Only now may the Raft loop apply again: maybeSnapshot reads the
		// state machine's progress and may copy batches out of the log.
		n.applyBusy.Add(-int64(countApply(work)))
		clear(work)
	}
}

// countApply is how many of work count in applyBusy (barriers do not).
func countApply(work []applyWork) int {
	c := 0
	for _, w := range work {
		if w.barrier == nil {
			c++
		}
	}
	return c
}

// deliver sends response messages: to this node's Raft, or to peers.
func (n *Node) deliver(msgs []*raftpb.Message) {
	var remote []*raftpb.Message
	for _, m := range msgs {
		if m.GetTo() == n.cfg.ID {
			n.inbox.put(raftOp{kind: opStep, msg: m})
			continue
		}
		remote = append(remote, m)
	}
	n.tr.send(remote)
}

// raftCall queues op and waits for the Raft loop's reply.
func (n *Node) raftCall(ctx context.Context, op raftOp) (raftReply, error) {
	op.reply = make(chan raftReply, 1)
	n.inbox.put(op)
	select {
	case r := <-op.reply:
		return r, nil
	case <-ctx.Done():
		return raftReply{}, n.ctxError(ctx, ctx.Err())
	case <-n.ctx.Done():
		return raftReply{}, ErrShuttingDown
	}
}

// applyEntries applies committed entries to the state machine, hands
// conf changes to Raft and wakes the proposers waiting for results.
func (n *Node) applyEntries(ents []*raftpb.Entry) error {
	results, err := n.sm.apply(ents)
	if err != nil {
		return err
	}
	for i := range ents {
		if ents[i].GetType() != raftpb.EntryConfChange {
			continue
		}
		var cc raftpb.ConfChange
		if err := proto.Unmarshal(ents[i].Data, &cc); err != nil {
			return fmt.Errorf("storage: decode conf change: %w", err)
		}
		r, err := n.raftCall(n.ctx, raftOp{kind: opApplyConfChange, cc: &cc})
		if err != nil {
			return err
		}
		n.setConfState(r.cs)
		if cc.GetType() == raftpb.ConfChangeRemoveNode && cc.GetNodeId() == n.cfg.ID {
			n.log.Warn("this node was removed from the cluster")
		}
	}
	for id, res := range results {
		n.settle(id, res, nil)
	}
	return nil
}

func (n *Node) setConfState(cs *raftpb.ConfState) {
	n.csMu.Lock()
	n.confState = cs
	n.csMu.Unlock()
	n.soleVoter.Store(len(cs.GetVoters()) == 1 && cs.GetVoters()[0] == n.cfg.ID && len(cs.GetVotersOutgoing()) == 0)
}

func (n *Node) getConfState() *raftpb.ConfState {
	n.csMu.Lock()
	defer n.csMu.Unlock()
	return n.confState
}
