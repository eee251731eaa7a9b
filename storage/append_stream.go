package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/polarsql/polar/proto/storagepb"
	"github.com/polarsql/polar/wal"
)

// Pipelined appends over the AppendStream RPC. The compute node keeps
// several commit groups in flight on one stream to the leader; the leader
// proposes them in arrival order and answers in the same order. A unary
// Append per group cost a network round trip plus a quorum fsync each, one
// after the other.

var _ Pipeliner = (*Client)(nil)

// AppendStream serves the AppendStream RPC: requests are proposed in the
// order they arrive and answered in that order.
func (s *storageServer) AppendStream(stream storagepb.Storage_AppendStreamServer) error {
	ctx := stream.Context()
	type started struct {
		out <-chan AppendOutcome
		err error
	}
	queue := make(chan started, 64)
	senderDone := make(chan error, 1)
	go func() { // ends when queue is closed or a send fails
		for st := range queue {
			var res AppendResult
			err := st.err
			if err == nil {
				select {
				case o := <-st.out:
					res, err = o.Result, o.Err
				case <-ctx.Done():
					senderDone <- ctx.Err()
					return
				}
			}
			resp := &storagepb.AppendResponse{Error: errorToProto(err), LastLsn: uint64(res.LastLSN), Duplicate: res.Duplicate}
			if err := stream.Send(resp); err != nil {
				senderDone <- err
				return
			}
		}
		senderDone <- nil
	}()
	for {
		req, err := stream.Recv()
		if err != nil {
			close(queue)
			serr := <-senderDone
			if errors.Is(err, io.EOF) {
				return serr
			}
			return err
		}
		out, err := s.n.StartAppend(ctx, req.Batch)
		select {
		case queue <- started{out, err}:
		case err := <-senderDone:
			return err
		}
	}
}

// streamAppend is one append in flight on an appendStream.
type streamAppend struct {
	ctx   context.Context
	batch []byte
	out   chan AppendOutcome
	stop  func() bool // stops the ctx watch
}

// appendStream is an open AppendStream with its appends in flight, oldest
// first. When the stream breaks (transport error, the node is not the
// leader, an append's context ends), the appends still in flight are
// retried in order with Append, which is idempotent and follows the
// leader; only then may a new stream start, so log order is kept.
type appendStream struct {
	c      *Client
	addr   string
	stream storagepb.Storage_AppendStreamClient
	cancel context.CancelFunc

	sendMu  sync.Mutex // held across append-to-pending and Send: same order
	mu      sync.Mutex
	pending []*streamAppend
	err     error         // why the stream broke; set once
	done    chan struct{} // closed when the receiver (and its retries) finished
}

// StartAppend implements Pipeliner.
func (c *Client) StartAppend(ctx context.Context, batch []byte) (<-chan AppendOutcome, error) {
	if len(batch) > wal.MaxBatchSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(batch), wal.MaxBatchSize)
	}
	c.smu.Lock()
	defer c.smu.Unlock()
	if c.closed {
		return nil, ErrShuttingDown
	}
	if as := c.as; as != nil && as.broken() != nil {
		<-as.done // its retries go first
		c.as = nil
	}
	if c.as == nil {
		as, err := c.openAppendStream()
		if err != nil {
			// The node believed to lead is unreachable (it may just have
			// died): this append goes by the unary path, which finds the
			// leader, and the next one opens a stream where it is.
			as = &appendStream{c: c, err: err, cancel: func() {}, done: make(chan struct{})}
		}
		c.as = as
	}
	a := &streamAppend{ctx: ctx, batch: batch, out: make(chan AppendOutcome, 1)}
	as := c.as
	a.stop = context.AfterFunc(ctx, func() {
		as.fail(fmt.Errorf("%w: append: %v", ErrTimeout, context.Cause(ctx)))
	})
	as.send(a)
	if as.stream == nil {
		go func() { // ends when a is retried
			defer close(as.done)
			as.retry()
		}()
	}
	return a.out, nil
}

// openAppendStream opens a stream to the node believed to lead.
func (c *Client) openAppendStream() (*appendStream, error) {
	addr := c.target(true)
	s, err := c.stub(addr)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := s.AppendStream(ctx)
	if err != nil {
		cancel()
		c.learn("", addr)
		return nil, fmt.Errorf("%w: %s: %v", errTransport, addr, err)
	}
	as := &appendStream{c: c, addr: addr, stream: stream, cancel: cancel, done: make(chan struct{})}
	go as.receive()
	return as, nil
}

// send queues a and sends its batch; a failed send breaks the stream, and
// a is then retried with the others.
func (as *appendStream) send(a *streamAppend) {
	as.sendMu.Lock()
	defer as.sendMu.Unlock()
	as.mu.Lock()
	broken := as.err != nil
	as.pending = append(as.pending, a)
	as.mu.Unlock()
	if broken {
		return
	}
	if err := as.stream.Send(&storagepb.AppendRequest{Batch: a.batch}); err != nil {
		as.fail(fmt.Errorf("%w: %s: %v", errTransport, as.addr, err))
	}
}

// broken returns why the stream broke, or nil.
func (as *appendStream) broken() error {
	as.mu.Lock()
	defer as.mu.Unlock()
	return as.err
}

// fail breaks the stream (the first reason wins); the receiver then
// retries what is in flight.
func (as *appendStream) fail(err error) {
	as.mu.Lock()
	if as.err == nil {
		as.err = err
	}
	as.mu.Unlock()
	as.cancel()
}

// receive delivers responses to the oldest appends in flight until the
// stream breaks, then retries the rest in order.
func (as *appendStream) receive() {
	defer close(as.done)
	for {
		resp, err := as.stream.Recv()
		if err != nil {
			as.fail(fmt.Errorf("%w: %s: %v", errTransport, as.addr, err))
			break
		}
		err = errorFromProto(resp.Error)
		var nl *NotLeaderError
		if errors.As(err, &nl) {
			// Refused before it was proposed: retry it, and everything
			// after it, where the leader is.
			as.c.learn(nl.LeaderAddr, as.addr)
			as.fail(err)
			break
		}
		as.mu.Lock()
		if len(as.pending) == 0 {
			as.mu.Unlock()
			as.fail(fmt.Errorf("%w: %s: response without a request", errTransport, as.addr))
			break
		}
		a := as.pending[0]
		as.pending = as.pending[1:]
		as.mu.Unlock()
		a.stop()
		a.out <- AppendOutcome{Result: AppendResult{LastLSN: wal.LSN(resp.LastLsn), Duplicate: resp.Duplicate}, Err: err}
	}
	as.retry()
}

// retry appends, one at a time and in order, every batch whose outcome the
// stream did not deliver. Sends racing with the failure join the queue;
// sendMu makes sure none is added after the queue is taken.
func (as *appendStream) retry() {
	as.sendMu.Lock()
	as.mu.Lock()
	pending := as.pending
	as.pending = nil
	as.mu.Unlock()
	as.sendMu.Unlock()
	shutdown := errors.Is(as.broken(), ErrShuttingDown)
	for _, a := range pending {
		a.stop()
		if shutdown {
			a.out <- AppendOutcome{Err: ErrShuttingDown}
			continue
		}
		res, err := as.c.Append(a.ctx, a.batch)
		a.out <- AppendOutcome{Result: res, Err: err}
	}
}
