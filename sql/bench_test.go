package sql

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/polarsql/polar/compute/mysqlserver"
)

// loadSbtest creates sbtest.sbtest1 with n rows as sysbench's prepare does.
func loadSbtest(b testing.TB, s *Session, n int) {
	ctx := context.Background()
	for _, q := range []string{
		"CREATE DATABASE sbtest", "USE sbtest",
		"CREATE TABLE sbtest1(id INTEGER NOT NULL AUTO_INCREMENT, k INTEGER DEFAULT '0' NOT NULL, c CHAR(120) DEFAULT '' NOT NULL, pad CHAR(60) DEFAULT '' NOT NULL, PRIMARY KEY (id))",
	} {
		if _, err := s.Query(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < n; i += 1000 {
		var sb strings.Builder
		sb.WriteString("INSERT INTO sbtest1(k, c, pad) VALUES")
		for j := i; j < i+1000 && j < n; j++ {
			if j > i {
				sb.WriteByte(',')
			}
			// c values differ early, like sysbench's random digits.
			fmt.Fprintf(&sb, "(%d, '%011d-%s', '%s')", j%97, (j*7919)%100000000000, strings.Repeat("83868641912-", 8)+"67847967377", strings.Repeat("6784796737-", 4)+"12345678")
		}
		if _, err := s.Query(ctx, sb.String()); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := s.Query(ctx, "CREATE INDEX k_1 ON sbtest1(k)"); err != nil {
		b.Fatal(err)
	}
}

func prepareStmt(b testing.TB, s *Session, q string) *mysqlserver.Stmt {
	p, err := s.Prepare(context.Background(), q)
	if err != nil {
		b.Fatal(err)
	}
	return &mysqlserver.Stmt{SQL: q, NumParams: p.NumParams, Columns: p.Columns, Context: p.Context}
}

// BenchmarkPointSelectPrepared is sysbench's oltp_point_select statement
// through a session's prepared-statement path (no protocol).
func BenchmarkPointSelectPrepared(b *testing.B) {
	db := newTestDB(b)
	s := db.NewSession(mysqlserver.ConnInfo{})
	loadSbtest(b, s, 10000)
	st := prepareStmt(b, s, "SELECT c FROM sbtest1 WHERE id=?")
	ctx := context.Background()
	args := []any{int64(0)}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		args[0] = int64(i%10000 + 1)
		r, err := s.Execute(ctx, st, args)
		if err != nil || len(r.Rows) != 1 {
			b.Fatal(err, r)
		}
	}
}

// BenchmarkPointSelectText is the same statement as COM_QUERY text.
func BenchmarkPointSelectText(b *testing.B) {
	db := newTestDB(b)
	s := db.NewSession(mysqlserver.ConnInfo{})
	loadSbtest(b, s, 10000)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		r, err := s.Query(ctx, fmt.Sprintf("SELECT c FROM sbtest1 WHERE id=%d", i%10000+1))
		if err != nil || len(r[0].Rows) != 1 {
			b.Fatal(err, r)
		}
	}
}

// BenchmarkRange runs sysbench's four oltp_read_only range statements
// over 100 rows each.
func BenchmarkRange(b *testing.B) {
	db := newTestDB(b)
	s := db.NewSession(mysqlserver.ConnInfo{})
	loadSbtest(b, s, 10000)
	for _, bc := range []struct{ name, q string }{
		{"simple", "SELECT c FROM sbtest1 WHERE id BETWEEN ? AND ?"},
		{"sum", "SELECT SUM(k) FROM sbtest1 WHERE id BETWEEN ? AND ?"},
		{"order", "SELECT c FROM sbtest1 WHERE id BETWEEN ? AND ? ORDER BY c"},
		{"distinct", "SELECT DISTINCT c FROM sbtest1 WHERE id BETWEEN ? AND ? ORDER BY c"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			st := prepareStmt(b, s, bc.q)
			ctx := context.Background()
			args := []any{int64(0), int64(0)}
			want := 100
			if bc.name == "sum" {
				want = 1
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				lo := int64(i%9900 + 1)
				args[0], args[1] = lo, lo+99
				r, err := s.Execute(ctx, st, args)
				if err != nil || len(r.Rows) != want {
					b.Fatal(err, len(r.Rows))
				}
			}
		})
	}
}

// BenchmarkUpdateIndexParallel is sysbench's oltp_update_index statement
// from 8 concurrent sessions, autocommit: the write path end to end
// (group commit, storage append) without the protocol.
func BenchmarkUpdateIndexParallel(b *testing.B) {
	db, node := newTestDBNode(b)
	s := db.NewSession(mysqlserver.ConnInfo{})
	loadSbtest(b, s, 10000)
	c0, s0 := db.eng.Stats().Commits, node.Syncs()
	defer func() {
		if n := node.Syncs() - s0; n > 0 {
			b.ReportMetric(float64(db.eng.Stats().Commits-c0)/float64(n), "commits/fsync")
		}
	}()
	b.ReportAllocs()
	b.SetParallelism(4)
	b.ResetTimer()
	var seq atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		s := db.NewSession(mysqlserver.ConnInfo{})
		defer s.Close()
		if err := s.UseDB(context.Background(), "sbtest"); err != nil {
			b.Error(err)
			return
		}
		st := prepareStmt(b, s, "UPDATE sbtest1 SET k=k+1 WHERE id=?")
		args := []any{int64(0)}
		for pb.Next() {
			args[0] = seq.Add(7919)%10000 + 1
			if _, err := s.Execute(context.Background(), st, args); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
