package mysqlserver

import (
	"testing"
)

// benchPointSelect measures a sysbench-point-select-like round trip: a
// prepared "SELECT c FROM sbtest1 WHERE id=?" executed through
// go-sql-driver against the ConstantHandler (so only the protocol stack and
// the client are measured).
func benchPointSelect(b *testing.B, writeBuffer int) {
	ts := startServerWith(b, Config{WriteBufferSize: writeBuffer, Logger: discardLogger()}, ConstantFactory(""), nil)
	db := openDB(b, ts.dsn("root", "sbtest", ""))
	db.SetMaxOpenConns(1)
	st, err := db.Prepare("SELECT c FROM sbtest1 WHERE id=?")
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	var c string
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := st.QueryRow(i%1000 + 1).Scan(&c); err != nil {
			b.Fatal(err)
		}
	}
	if c != DefaultConstantValue {
		b.Fatalf("got %q", c)
	}
}

func BenchmarkPointSelectPrepared(b *testing.B) { benchPointSelect(b, 0) }

// BenchmarkPointSelectPreparedUnbuffered writes every packet with its own
// syscall (go-mysql's server behaviour), for comparison.
func BenchmarkPointSelectPreparedUnbuffered(b *testing.B) { benchPointSelect(b, -1) }

// BenchmarkPointSelectParallel runs the round trip from 8 connections.
func BenchmarkPointSelectParallel(b *testing.B) {
	ts := startServerWith(b, Config{Logger: discardLogger()}, ConstantFactory(""), nil)
	db := openDB(b, ts.dsn("root", "sbtest", ""))
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	st, err := db.Prepare("SELECT c FROM sbtest1 WHERE id=?")
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	b.SetParallelism(4) // 2 cores × 4 = 8 client goroutines
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var c string
		i := 0
		for pb.Next() {
			i++
			if err := st.QueryRow(i%1000 + 1).Scan(&c); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
