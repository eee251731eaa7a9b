// Package bench holds Polar's end-to-end benchmark and durability tests,
// run against the polard binary named by the POLARD environment variable
// (and, for comparison, against a private MariaDB server):
//
//   - sysbench_test.go runs sysbench 1.0.20's OLTP workloads
//     (TestSysbenchPolard, TestSysbenchMariaDB);
//   - crash_test.go SIGKILLs polard under concurrent writes and checks that
//     every acknowledged write survives (TestCrashRecovery).
//
// The helpers live in the sub-packages bench/mariadb, bench/polard and
// bench/sysbench; bench/suite is the benchmark suite `make bench` runs
// (Polar vs MariaDB, written to docs/benchmarks.md). See README.md.
package bench
