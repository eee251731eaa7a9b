package storage

import (
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// The Raft loop runs with etcd raft's asynchronous storage writes: Ready
// hands log appends to the append goroutine and committed entries to the
// apply goroutine as messages, each carrying the responses to deliver
// once that work is done. So the loop keeps stepping acknowledgements and
// committing while an fsync is under way, an entry is applied as soon as
// it commits instead of after the next batch's fsync, and appends that
// queue up during one fsync share the next.

// applyWork is a unit for the apply goroutine: committed entries, or a
// barrier that is closed once everything queued before it is applied.
type applyWork struct {
	msg     *raftpb.Message
	barrier chan struct{}
}

// maxAppendGroup bounds how many queued appends share one fsync.
const maxAppendGroup = 256

// run drives Raft: ticks, and dispatches each Ready's messages to the
// append and apply goroutines or the network.
func (n *Node) run(appendc chan<- *raftpb.Message, applyc chan<- applyWork) {
	ticker := time.NewTicker(n.cfg.TickInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ticker.C:
			n.raft.Tick()
		case rd := <-n.raft.Ready():
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
			var remote []*raftpb.Message
			for _, m := range rd.Messages {
				switch m.GetTo() {
				case raft.LocalAppendThread:
					select {
					case appendc <- m:
					case <-n.ctx.Done():
						return
					}
				case raft.LocalApplyThread:
					select {
					case applyc <- applyWork{msg: m}:
					case <-n.ctx.Done():
						return
					}
				default:
					remote = append(remote, m)
				}
			}
			// These messages need no local durability first (appends a
			// leader sends, heartbeats): followers persist in parallel
			// with the leader (Raft thesis 10.2.1). Responses that report
			// durable state travel as responses of the append messages.
			n.deliver(remote)
		case <-n.ctx.Done():
			return
		}
	}
}

// appendLoop persists log appends: every append queued when it wakes is
// written and then made durable with one fsync, and only then are their
// responses delivered.
func (n *Node) appendLoop(appendc <-chan *raftpb.Message, applyc chan<- applyWork) {
	group := make([]*raftpb.Message, 0, maxAppendGroup)
	for {
		group = group[:0]
		select {
		case m := <-appendc:
			group = append(group, m)
		case <-n.ctx.Done():
			return
		}
	more:
		for len(group) < maxAppendGroup {
			select {
			case m := <-appendc:
				group = append(group, m)
			default:
				break more
			}
		}
		if err := n.persist(group, applyc); err != nil {
			n.fail(err)
			return
		}
		for _, m := range group {
			n.deliver(m.GetResponses())
		}
	}
}

// persist writes a group of append messages (snapshot, entries, hard
// state) and fsyncs once if any of them needs it.
func (n *Node) persist(group []*raftpb.Message, applyc chan<- applyWork) error {
	sync := false
	for _, m := range group {
		if snap := m.GetSnapshot(); snap != nil && !raft.IsEmptySnap(snap) {
			// The state machine is replaced: let the apply goroutine finish
			// what was queued before.
			barrier := make(chan struct{})
			select {
			case applyc <- applyWork{barrier: barrier}:
			case <-n.ctx.Done():
				return ErrShuttingDown
			}
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
func (n *Node) applyLoop(applyc <-chan applyWork) {
	for {
		var w applyWork
		select {
		case w = <-applyc:
		case <-n.flushing: // nil (blocks) unless a pre-snapshot flush runs
			if err := n.maybeSnapshot(); err != nil {
				n.fail(err)
				return
			}
			continue
		case <-n.ctx.Done():
			return
		}
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
		if err := n.maybeSnapshot(); err != nil {
			n.fail(err)
			return
		}
	}
}

// deliver sends response messages: to this node's Raft, or to peers.
func (n *Node) deliver(msgs []*raftpb.Message) {
	var remote []*raftpb.Message
	for _, m := range msgs {
		if m.GetTo() == n.cfg.ID {
			if err := n.raft.Step(n.ctx, m); err != nil && !errors.Is(err, raft.ErrStopped) && n.ctx.Err() == nil {
				n.log.Warn("step local raft message", "type", m.GetType().String(), "err", err)
			}
			continue
		}
		remote = append(remote, m)
	}
	n.tr.send(remote)
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
		n.setConfState(n.raft.ApplyConfChange(&cc))
		if cc.GetType() == raftpb.ConfChangeRemoveNode && cc.GetNodeId() == n.cfg.ID {
			n.log.Warn("this node was removed from the cluster")
		}
	}
	if len(results) > 0 {
		n.wmu.Lock()
		for id, res := range results {
			if ch, ok := n.waiters[id]; ok {
				ch <- res
				delete(n.waiters, id)
			}
		}
		n.wmu.Unlock()
	}
	return nil
}

func (n *Node) setConfState(cs *raftpb.ConfState) {
	n.csMu.Lock()
	n.confState = cs
	n.csMu.Unlock()
}

func (n *Node) getConfState() *raftpb.ConfState {
	n.csMu.Lock()
	defer n.csMu.Unlock()
	return n.confState
}
