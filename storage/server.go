package storage

import (
	"context"

	"github.com/polarsql/polar/proto/storagepb"
	"github.com/polarsql/polar/wal"
)

// storageServer adapts Node's Service methods to the Storage gRPC service.
// Failures a client must tell apart travel in the responses' Error field;
// gRPC status errors mean the call itself failed.
type storageServer struct {
	storagepb.UnimplementedStorageServer
	n *Node
}

func (s *storageServer) Append(ctx context.Context, req *storagepb.AppendRequest) (*storagepb.AppendResponse, error) {
	res, err := s.n.Append(ctx, req.Batch)
	return &storagepb.AppendResponse{Error: errorToProto(err), LastLsn: uint64(res.LastLSN), Duplicate: res.Duplicate}, nil
}

func (s *storageServer) GetPage(ctx context.Context, req *storagepb.GetPageRequest) (*storagepb.GetPageResponse, error) {
	p, err := s.n.GetPage(ctx, wal.PageID(req.Page), wal.LSN(req.Lsn))
	return &storagepb.GetPageResponse{Error: errorToProto(err), Image: p.Image, PageLsn: uint64(p.PageLSN), AppliedLsn: uint64(p.AppliedLSN)}, nil
}

func (s *storageServer) StreamWAL(req *storagepb.StreamWALRequest, stream storagepb.Storage_StreamWALServer) error {
	return s.n.StreamWAL(stream.Context(), wal.LSN(req.FromLsn), func(raw []byte) error {
		h, err := wal.DecodeHeader(raw)
		if err != nil {
			return err
		}
		return stream.Send(&storagepb.WALBatch{Batch: raw, LastLsn: uint64(h.LastLSN())})
	})
}

func (s *storageServer) ClusterInfo(ctx context.Context, _ *storagepb.ClusterInfoRequest) (*storagepb.ClusterInfoResponse, error) {
	info, err := s.n.ClusterInfo(ctx)
	resp := &storagepb.ClusterInfoResponse{
		Error:        errorToProto(err),
		Epoch:        info.Epoch,
		Primary:      info.Primary,
		LastLsn:      uint64(info.LastLSN),
		AppliedIndex: info.AppliedIndex,
		NodeId:       info.NodeID,
		LeaderId:     info.LeaderID,
		LeaderAddr:   info.LeaderAddr,
		GcHorizon:    uint64(info.GCHorizon),
		Term:         info.Term,
		CommitIndex:  info.CommitIndex,
	}
	for _, m := range info.Members {
		resp.Members = append(resp.Members, &storagepb.Member{Id: m.ID, Addr: m.Addr, Learner: m.Learner})
	}
	for node, lsn := range info.Readers {
		resp.Readers = append(resp.Readers, &storagepb.ReadPoint{Node: node, Lsn: uint64(lsn)})
	}
	return resp, nil
}

func (s *storageServer) BumpEpoch(ctx context.Context, req *storagepb.BumpEpochRequest) (*storagepb.BumpEpochResponse, error) {
	epoch, last, err := s.n.BumpEpoch(ctx, req.Primary, req.ExpectEpoch)
	return &storagepb.BumpEpochResponse{Error: errorToProto(err), Epoch: epoch, LastLsn: uint64(last)}, nil
}

func (s *storageServer) ReportReadLSN(ctx context.Context, req *storagepb.ReportReadLSNRequest) (*storagepb.ReportReadLSNResponse, error) {
	h, err := s.n.ReportReadLSN(ctx, req.Node, wal.LSN(req.Lsn), req.Leave)
	return &storagepb.ReportReadLSNResponse{Error: errorToProto(err), GcHorizon: uint64(h)}, nil
}

func (s *storageServer) ChangeMember(ctx context.Context, req *storagepb.ChangeMemberRequest) (*storagepb.ChangeMemberResponse, error) {
	members, err := s.n.ChangeMember(ctx, req.Op == storagepb.ChangeMemberRequest_ADD, req.Id, req.Addr, req.Learner)
	resp := &storagepb.ChangeMemberResponse{Error: errorToProto(err)}
	for _, m := range members {
		resp.Members = append(resp.Members, &storagepb.Member{Id: m.ID, Addr: m.Addr, Learner: m.Learner})
	}
	return resp, nil
}
