// Package wal defines Polar's log: the LSN, the physical redo records a
// compute node emits when it changes a page, the batches the primary's
// committer proposes to the storage tier, and Apply, the single function
// both compute and storage use to replay a record onto page bytes.
//
// The log is the database: compute never writes pages to storage, it ships
// batches of redo; storage makes them durable with Raft and replays them
// into pages with Apply. So Apply must be deterministic and must never
// depend on anything but the page bytes and the record.
//
// Page layout contract: every page is PageSize bytes and its first eight
// bytes hold the page LSN (little-endian), the LSN of the last record
// applied to it. Apply maintains that field; everything else on the page
// belongs to the compute node's page format, which this package does not
// know.
//
// LSNs count records, not bytes: a batch's records carry FirstLSN,
// FirstLSN+1, ... LastLSN, contiguous across batches.
package wal
