package storage

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/polarsql/polar/proto/storagepb"
	"github.com/polarsql/polar/wal"
)

// Client is the storage tier's client library: it implements Service over
// gRPC against a cluster, follows leader hints, and retries what is safe
// to retry. Appends are idempotent by LSN, so a batch whose outcome was
// unknown (timeout, lost connection, leader change) is simply sent again;
// storage applies it once and reports the retry as a duplicate.
type Client struct {
	// CallTimeout bounds each single attempt (default 5s); the caller's
	// context bounds the whole call (default 30s when it has no deadline).
	CallTimeout time.Duration

	mu     sync.Mutex
	addrs  []string
	conns  map[string]*grpc.ClientConn
	leader string
	next   int

	// smu guards the pipelined-append stream (append_stream.go).
	smu    sync.Mutex
	as     *appendStream
	closed bool
}

var _ Service = (*Client)(nil)

// Dial returns a client for the storage nodes at addrs. Connections are
// made lazily, so Dial does not fail when nodes are down.
func Dial(addrs []string) (*Client, error) {
	if len(addrs) == 0 {
		return nil, fmt.Errorf("storage: no storage addresses")
	}
	return &Client{CallTimeout: 5 * time.Second, addrs: append([]string(nil), addrs...), conns: map[string]*grpc.ClientConn{}}, nil
}

// Close closes every connection.
func (c *Client) Close() error {
	c.smu.Lock()
	c.closed = true
	if as := c.as; as != nil {
		as.fail(ErrShuttingDown)
		<-as.done
		c.as = nil
	}
	c.smu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	var first error
	for a, conn := range c.conns {
		if err := conn.Close(); err != nil && first == nil {
			first = err
		}
		delete(c.conns, a)
	}
	return first
}

func (c *Client) stub(addr string) (storagepb.StorageClient, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	conn, ok := c.conns[addr]
	if !ok {
		var err error
		conn, err = grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithConnectParams(fastReconnect),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(wal.MaxBatchSize+1<<20), grpc.MaxCallSendMsgSize(wal.MaxBatchSize+1<<20)))
		if err != nil {
			return nil, fmt.Errorf("storage: dial %s: %w", addr, err)
		}
		c.conns[addr] = conn
	}
	return storagepb.NewStorageClient(conn), nil
}

// target picks the node to try: the known leader, else the next address
// round-robin.
func (c *Client) target(wantLeader bool) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if wantLeader && c.leader != "" {
		return c.leader
	}
	a := c.addrs[c.next%len(c.addrs)]
	c.next++
	return a
}

// learn records a leader hint (adding unknown addresses) or forgets a
// leader that failed.
func (c *Client) learn(leader string, failed string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if failed != "" && c.leader == failed {
		c.leader = ""
	}
	if leader == "" {
		return
	}
	c.leader = leader
	for _, a := range c.addrs {
		if a == leader {
			return
		}
	}
	c.addrs = append(c.addrs, leader)
}

// retryable reports whether an attempt's error may be retried elsewhere
// or later, and whether the outcome of a non-idempotent call is unknown.
func retryable(err error) bool {
	return errors.Is(err, ErrNotLeader) || errors.Is(err, ErrTimeout) || errors.Is(err, ErrShuttingDown) || errors.Is(err, errTransport)
}

var errTransport = errors.New("storage: transport error")

// fastReconnect replaces gRPC's default reconnect backoff (1 s growing to
// 2 min): a restarted storage node must be heard from within a second, or
// a cluster that loses another node meanwhile loses its quorum.
var fastReconnect = grpc.ConnectParams{
	Backoff:           backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
	MinConnectTimeout: time.Second,
}

// call runs one attempt against addr with the per-attempt timeout.
func (c *Client) call(ctx context.Context, addr string, f func(ctx context.Context, s storagepb.StorageClient) (*storagepb.Error, error)) error {
	s, err := c.stub(addr)
	if err != nil {
		return err
	}
	actx, cancel := context.WithTimeout(ctx, c.CallTimeout)
	defer cancel()
	perr, err := f(actx, s)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", errTransport, addr, err)
	}
	return errorFromProto(perr)
}

// leaderCall runs f at the leader, following hints and retrying while
// ctx allows. idempotent=false stops at the first attempt whose outcome is
// unknown (a timeout after the request was sent).
func (c *Client) leaderCall(ctx context.Context, idempotent bool, f func(ctx context.Context, s storagepb.StorageClient) (*storagepb.Error, error)) error {
	ctx, cancel := withDefaultTimeout(ctx, 30*time.Second)
	defer cancel()
	backoff := 20 * time.Millisecond
	for {
		addr := c.target(true)
		err := c.call(ctx, addr, f)
		if err == nil {
			c.learn(addr, "")
			return nil
		}
		var nl *NotLeaderError
		switch {
		case errors.As(err, &nl) && nl.LeaderAddr != "" && nl.LeaderAddr != addr:
			c.learn(nl.LeaderAddr, addr)
			continue
		case !retryable(err):
			return err
		case !idempotent && (errors.Is(err, ErrTimeout) || errors.Is(err, errTransport)):
			return err
		}
		c.learn("", addr)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return fmt.Errorf("%w: %v (last error: %v)", ErrTimeout, ctx.Err(), err)
		}
		backoff = min(backoff*2, 500*time.Millisecond)
	}
}

// Append implements Service.
func (c *Client) Append(ctx context.Context, batch []byte) (AppendResult, error) {
	var res AppendResult
	err := c.leaderCall(ctx, true, func(ctx context.Context, s storagepb.StorageClient) (*storagepb.Error, error) {
		r, err := s.Append(ctx, &storagepb.AppendRequest{Batch: batch})
		if err != nil {
			return nil, err
		}
		res = AppendResult{LastLSN: wal.LSN(r.LastLsn), Duplicate: r.Duplicate}
		return r.Error, nil
	})
	return res, err
}

// GetPage implements Service. Any node that has applied lsn can answer;
// on failure the next node is tried.
func (c *Client) GetPage(ctx context.Context, page wal.PageID, lsn wal.LSN) (Page, error) {
	ctx, cancel := withDefaultTimeout(ctx, 30*time.Second)
	defer cancel()
	var p Page
	for attempt := 0; ; attempt++ {
		addr := c.target(attempt == 0)
		err := c.call(ctx, addr, func(ctx context.Context, s storagepb.StorageClient) (*storagepb.Error, error) {
			r, err := s.GetPage(ctx, &storagepb.GetPageRequest{Page: uint64(page), Lsn: uint64(lsn)})
			if err != nil {
				return nil, err
			}
			p = Page{Image: r.Image, PageLSN: wal.LSN(r.PageLsn), AppliedLSN: wal.LSN(r.AppliedLsn)}
			return r.Error, nil
		})
		if err == nil {
			if len(p.Image) != wal.PageSize {
				return Page{}, fmt.Errorf("storage: %s returned a page of %d bytes", addr, len(p.Image))
			}
			return p, nil
		}
		if !retryable(err) {
			return Page{}, err
		}
		select {
		case <-time.After(time.Duration(min(attempt, 10)) * 10 * time.Millisecond):
		case <-ctx.Done():
			return Page{}, fmt.Errorf("%w: get page %v@%d: %v (last error: %v)", ErrTimeout, page, lsn, ctx.Err(), err)
		}
	}
}

// StreamWAL implements Service, reconnecting to another node after a
// failure and resuming after the last batch delivered.
func (c *Client) StreamWAL(ctx context.Context, from wal.LSN, fn func(raw []byte) error) error {
	next := from
	for {
		addr := c.target(false)
		s, err := c.stub(addr)
		if err != nil {
			return err
		}
		stream, err := s.StreamWAL(ctx, &storagepb.StreamWALRequest{FromLsn: uint64(next)})
		if err == nil {
			for {
				var b *storagepb.WALBatch
				b, err = stream.Recv()
				if err != nil {
					break
				}
				h, herr := wal.DecodeHeader(b.Batch)
				if herr != nil {
					return fmt.Errorf("storage: stream from %s: %w", addr, herr)
				}
				if h.LastLSN() < next {
					continue
				}
				if ferr := fn(b.Batch); ferr != nil {
					return ferr
				}
				next = h.LastLSN() + 1
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// ClusterInfo implements Service, asking the leader when it is known so
// the answer is as fresh as possible.
func (c *Client) ClusterInfo(ctx context.Context) (ClusterInfo, error) {
	var info ClusterInfo
	var lastErr error
	for attempt := 0; attempt < 2*len(c.addrs)+1; attempt++ {
		addr := c.target(attempt == 0)
		lastErr = c.call(ctx, addr, func(ctx context.Context, s storagepb.StorageClient) (*storagepb.Error, error) {
			r, err := s.ClusterInfo(ctx, &storagepb.ClusterInfoRequest{})
			if err != nil {
				return nil, err
			}
			info = ClusterInfo{NodeID: r.NodeId, LeaderID: r.LeaderId, LeaderAddr: r.LeaderAddr, Term: r.Term,
				CommitIndex: r.CommitIndex, AppliedIndex: r.AppliedIndex, Epoch: r.Epoch, Primary: r.Primary,
				LastLSN: wal.LSN(r.LastLsn), GCHorizon: wal.LSN(r.GcHorizon), Readers: map[string]wal.LSN{}}
			for _, m := range r.Members {
				info.Members = append(info.Members, Member{ID: m.Id, Addr: m.Addr, Learner: m.Learner})
			}
			for _, rp := range r.Readers {
				info.Readers[rp.Node] = wal.LSN(rp.Lsn)
			}
			return r.Error, nil
		})
		if lastErr == nil {
			c.learn(info.LeaderAddr, "")
			return info, nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	return ClusterInfo{}, lastErr
}

// BumpEpoch implements Service. With expect set it is safe to retry (a
// second bump fails the expectation), so it is retried like Append.
func (c *Client) BumpEpoch(ctx context.Context, primary string, expect uint64) (uint64, wal.LSN, error) {
	var epoch uint64
	var last wal.LSN
	err := c.leaderCall(ctx, expect != 0, func(ctx context.Context, s storagepb.StorageClient) (*storagepb.Error, error) {
		r, err := s.BumpEpoch(ctx, &storagepb.BumpEpochRequest{Primary: primary, ExpectEpoch: expect})
		if err != nil {
			return nil, err
		}
		epoch, last = r.Epoch, wal.LSN(r.LastLsn)
		return r.Error, nil
	})
	return epoch, last, err
}

// ReportReadLSN implements Service.
func (c *Client) ReportReadLSN(ctx context.Context, node string, lsn wal.LSN, leave bool) (wal.LSN, error) {
	var h wal.LSN
	err := c.leaderCall(ctx, true, func(ctx context.Context, s storagepb.StorageClient) (*storagepb.Error, error) {
		r, err := s.ReportReadLSN(ctx, &storagepb.ReportReadLSNRequest{Node: node, Lsn: uint64(lsn), Leave: leave})
		if err != nil {
			return nil, err
		}
		h = wal.LSN(r.GcHorizon)
		return r.Error, nil
	})
	return h, err
}

// ChangeMember adds (as voter or learner) or removes a storage node.
func (c *Client) ChangeMember(ctx context.Context, add bool, id uint64, addr string, learner bool) ([]Member, error) {
	var members []Member
	op := storagepb.ChangeMemberRequest_REMOVE
	if add {
		op = storagepb.ChangeMemberRequest_ADD
	}
	err := c.leaderCall(ctx, true, func(ctx context.Context, s storagepb.StorageClient) (*storagepb.Error, error) {
		r, err := s.ChangeMember(ctx, &storagepb.ChangeMemberRequest{Op: op, Id: id, Addr: addr, Learner: learner})
		if err != nil {
			return nil, err
		}
		members = members[:0]
		for _, m := range r.Members {
			members = append(members, Member{ID: m.Id, Addr: m.Addr, Learner: m.Learner})
		}
		return r.Error, nil
	})
	return members, err
}
