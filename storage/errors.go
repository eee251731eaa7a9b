package storage

import (
	"errors"
	"fmt"

	"github.com/polarsql/polar/proto/storagepb"
	"github.com/polarsql/polar/wal"
)

// Errors a storage client must tell apart. They travel as storagepb.Error
// codes and are restored on the client side, so errors.Is works across the
// wire.
var (
	ErrNotLeader    = errors.New("storage: not the raft leader")
	ErrStaleEpoch   = errors.New("storage: stale epoch")
	ErrCorrupt      = wal.ErrCorrupt
	ErrLSNGap       = errors.New("storage: batch does not continue the log")
	ErrTooLarge     = errors.New("storage: batch too large")
	ErrTimeout      = errors.New("storage: timed out; outcome unknown")
	ErrNotFound     = errors.New("storage: not found")
	ErrInvalid      = errors.New("storage: invalid request")
	ErrShuttingDown = errors.New("storage: node shutting down")
)

// NotLeaderError says which node leads, when known.
type NotLeaderError struct {
	LeaderID   uint64
	LeaderAddr string
}

func (e *NotLeaderError) Error() string {
	if e.LeaderAddr == "" {
		return "storage: not the raft leader (leader unknown)"
	}
	return fmt.Sprintf("storage: not the raft leader (leader is %d at %s)", e.LeaderID, e.LeaderAddr)
}

// Is makes errors.Is(err, ErrNotLeader) true.
func (e *NotLeaderError) Is(target error) bool { return target == ErrNotLeader }

var codeErrors = []struct {
	code storagepb.Error_Code
	err  error
}{
	{storagepb.Error_STALE_EPOCH, ErrStaleEpoch},
	{storagepb.Error_CORRUPT, ErrCorrupt},
	{storagepb.Error_LSN_GAP, ErrLSNGap},
	{storagepb.Error_TOO_LARGE, ErrTooLarge},
	{storagepb.Error_TIMEOUT, ErrTimeout},
	{storagepb.Error_NOT_FOUND, ErrNotFound},
	{storagepb.Error_INVALID, ErrInvalid},
	{storagepb.Error_SHUTTING_DOWN, ErrShuttingDown},
	{storagepb.Error_NOT_FOUND, ErrBelowHorizon},
}

// errorToProto turns an error into its wire form; nil stays nil.
func errorToProto(err error) *storagepb.Error {
	if err == nil {
		return nil
	}
	var nl *NotLeaderError
	if errors.As(err, &nl) {
		return &storagepb.Error{Code: storagepb.Error_NOT_LEADER, Message: err.Error(), LeaderId: nl.LeaderID, LeaderAddr: nl.LeaderAddr}
	}
	for _, ce := range codeErrors {
		if errors.Is(err, ce.err) {
			return &storagepb.Error{Code: ce.code, Message: err.Error()}
		}
	}
	return &storagepb.Error{Code: storagepb.Error_INVALID, Message: err.Error()}
}

// errorFromProto restores an error from its wire form.
func errorFromProto(e *storagepb.Error) error {
	if e == nil || e.Code == storagepb.Error_OK {
		return nil
	}
	if e.Code == storagepb.Error_NOT_LEADER {
		return &NotLeaderError{LeaderID: e.LeaderId, LeaderAddr: e.LeaderAddr}
	}
	for _, ce := range codeErrors {
		if ce.code == e.Code {
			return &remoteError{msg: e.Message, kind: ce.err}
		}
	}
	return fmt.Errorf("storage: %s", e.Message)
}

// remoteError keeps the server's message and the kind for errors.Is.
type remoteError struct {
	msg  string
	kind error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.kind }
