package storage

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/polarsql/polar/proto/storagepb"
	"github.com/polarsql/polar/wal"
)

// transport carries Raft messages to peers over gRPC: one stream and one
// sending goroutine per peer, snapshots on a stream of their own.
type transport struct {
	n      *Node
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu    sync.Mutex
	peers map[uint64]*peer
}

type peer struct {
	id   uint64
	addr string
	msgc chan *raftpb.Message
	conn *grpc.ClientConn
}

func newTransport(n *Node) *transport {
	ctx, cancel := context.WithCancel(n.ctx)
	return &transport{n: n, ctx: ctx, cancel: cancel, peers: map[uint64]*peer{}}
}

func (t *transport) stop() {
	t.cancel()
	t.wg.Wait()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range t.peers {
		p.conn.Close()
	}
}

// send queues messages; it never blocks the Raft loop. A full queue or an
// unknown peer drops the message and tells Raft the peer is unreachable.
func (t *transport) send(msgs []*raftpb.Message) {
	for _, m := range msgs {
		to := m.GetTo()
		if to == t.n.cfg.ID {
			continue
		}
		p := t.peer(to)
		if p == nil {
			t.n.inbox.put(raftOp{kind: opUnreachable, peer: to})
			if m.GetType() == raftpb.MsgSnap {
				t.n.inbox.put(raftOp{kind: opSnapshotStatus, peer: to, status: raft.SnapshotFailure})
			}
			continue
		}
		if m.GetType() == raftpb.MsgSnap {
			t.wg.Add(1)
			go func() { defer t.wg.Done(); t.sendSnapshot(p, m) }()
			continue
		}
		select {
		case p.msgc <- m:
		default:
			t.n.inbox.put(raftOp{kind: opUnreachable, peer: to})
		}
	}
}

// peer returns the connection state for a node, creating it when its
// address is known. A changed address replaces it.
func (t *transport) peer(id uint64) *peer {
	addr := t.n.memberAddr(id)
	if addr == "" {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ctx.Err() != nil {
		return nil
	}
	if p, ok := t.peers[id]; ok && p.addr == addr {
		return p
	} else if ok {
		close(p.msgc)
		p.conn.Close()
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithConnectParams(fastReconnect),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(wal.MaxBatchSize+1<<20)))
	if err != nil {
		t.n.log.Error("dial peer", "peer", id, "addr", addr, "err", err)
		return nil
	}
	p := &peer{id: id, addr: addr, msgc: make(chan *raftpb.Message, 4096), conn: conn}
	t.peers[id] = p
	t.wg.Add(1)
	go func() { defer t.wg.Done(); t.runPeer(p) }()
	return p
}

// runPeer sends queued messages on a stream, reopening it after failures.
func (t *transport) runPeer(p *peer) {
	client := storagepb.NewRaftClient(p.conn)
	backoff := 50 * time.Millisecond
	for {
		stream, err := client.Send(t.ctx)
		if err != nil {
			if !t.pause(backoff) {
				return
			}
			backoff = min(backoff*2, time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		err = t.pump(p, stream)
		stream.CloseSend()
		if err == nil {
			return // channel closed or transport stopped
		}
		t.n.inbox.put(raftOp{kind: opUnreachable, peer: p.id})
		if !t.pause(backoff) {
			return
		}
	}
}

func (t *transport) pump(p *peer, stream storagepb.Raft_SendClient) error {
	for {
		select {
		case <-t.ctx.Done():
			return nil
		case m, ok := <-p.msgc:
			if !ok {
				return nil
			}
			b, err := proto.Marshal(m)
			if err != nil {
				return fmt.Errorf("marshal raft message: %w", err)
			}
			if err := stream.Send(&storagepb.RaftEnvelope{Message: b}); err != nil {
				return err
			}
		}
	}
}

func (t *transport) pause(d time.Duration) bool {
	select {
	case <-time.After(d):
		return true
	case <-t.ctx.Done():
		return false
	}
}

// sendSnapshot streams a snapshot message followed by the state machine's
// contents, then tells Raft how it went.
func (t *transport) sendSnapshot(p *peer, m *raftpb.Message) {
	err := func() error {
		ctx, cancel := context.WithCancel(t.ctx)
		defer cancel()
		stream, err := storagepb.NewRaftClient(p.conn).Snapshot(ctx)
		if err != nil {
			return err
		}
		b, err := proto.Marshal(m)
		if err != nil {
			return err
		}
		if err := stream.Send(&storagepb.SnapshotChunk{Message: b}); err != nil {
			return err
		}
		w := &chunkWriter{stream: stream}
		if err := writeSnapshotData(t.n.sdb, t.n.rlog, w); err != nil {
			return err
		}
		if err := w.flush(true); err != nil {
			return err
		}
		_, err = stream.CloseAndRecv()
		return err
	}()
	if err != nil {
		t.n.log.Warn("send snapshot", "peer", p.id, "index", m.GetSnapshot().GetMetadata().GetIndex(), "err", err)
		t.n.inbox.put(raftOp{kind: opSnapshotStatus, peer: p.id, status: raft.SnapshotFailure})
		return
	}
	t.n.log.Info("sent snapshot", "peer", p.id, "index", m.GetSnapshot().GetMetadata().GetIndex())
	t.n.inbox.put(raftOp{kind: opSnapshotStatus, peer: p.id, status: raft.SnapshotFinish})
}

// chunkWriter cuts a byte stream into SnapshotChunks of about 1 MiB.
type chunkWriter struct {
	stream storagepb.Raft_SnapshotClient
	buf    []byte
}

func (w *chunkWriter) Write(b []byte) (int, error) {
	w.buf = append(w.buf, b...)
	if len(w.buf) >= 1<<20 {
		if err := w.flush(false); err != nil {
			return 0, err
		}
	}
	return len(b), nil
}

func (w *chunkWriter) flush(last bool) error {
	err := w.stream.Send(&storagepb.SnapshotChunk{Data: w.buf, Last: last})
	w.buf = w.buf[:0]
	return err
}

// stagedSnapshot is where a received snapshot's data waits for Raft to
// hand the snapshot to the node.
func (t *transport) stagedSnapshot(term, index uint64) string {
	return filepath.Join(t.n.cfg.Dir, "snap", fmt.Sprintf("%016x-%016x.snap", term, index))
}

// raftServer receives Raft traffic from peers.
type raftServer struct {
	storagepb.UnimplementedRaftServer
	n *Node
}

// Send implements storagepb.RaftServer.
func (s *raftServer) Send(stream storagepb.Raft_SendServer) error {
	for {
		env, err := stream.Recv()
		if err == io.EOF {
			return stream.SendAndClose(&storagepb.RaftAck{})
		}
		if err != nil {
			return err
		}
		m := &raftpb.Message{}
		if err := proto.Unmarshal(env.Message, m); err != nil {
			return fmt.Errorf("storage: bad raft message: %w", err)
		}
		if s.n.ctx.Err() != nil {
			return ErrShuttingDown
		}
		s.n.inbox.put(raftOp{kind: opStep, msg: m})
	}
}

// Snapshot implements storagepb.RaftServer: stage the data, verify it,
// then step the snapshot message into Raft.
func (s *raftServer) Snapshot(stream storagepb.Raft_SnapshotServer) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	m := &raftpb.Message{}
	if err := proto.Unmarshal(first.Message, m); err != nil || m.GetType() != raftpb.MsgSnap {
		return fmt.Errorf("storage: snapshot stream must start with a snapshot message")
	}
	tr := s.n.tr
	md := m.GetSnapshot().GetMetadata()
	final := tr.stagedSnapshot(md.GetTerm(), md.GetIndex())
	f, err := os.CreateTemp(filepath.Dir(final), "recv-*")
	if err != nil {
		return fmt.Errorf("storage: stage snapshot: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	for {
		c, err := stream.Recv()
		if err != nil {
			return fmt.Errorf("storage: receive snapshot: %w", err)
		}
		if _, err := f.Write(c.Data); err != nil {
			return fmt.Errorf("storage: stage snapshot: %w", err)
		}
		if c.Last {
			break
		}
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("storage: stage snapshot: %w", err)
	}
	if err := verifySnapshotFile(f.Name()); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), final); err != nil {
		return fmt.Errorf("storage: stage snapshot: %w", err)
	}
	s.n.log.Info("received snapshot", "index", md.GetIndex(), "from", m.GetFrom())
	if s.n.ctx.Err() != nil {
		return ErrShuttingDown
	}
	s.n.inbox.put(raftOp{kind: opStep, msg: m})
	return stream.SendAndClose(&storagepb.RaftAck{})
}
