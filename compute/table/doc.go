// Package table is the row API of a Polar table: rows in a clustered
// primary index plus secondary indexes, kept consistent with each other,
// so that the SQL layer never touches keys, pages or the engine's
// index-level API.
//
// # Layout
//
// Every index is an engine index (a B+tree of MVCC versions, see package
// engine) with keycodec keys:
//
//	clustered  key = enc(pk columns, in primary index order)
//	           value = row.Encode(table version, column kinds, all columns)
//	secondary  key = enc(index columns) ‖ enc(pk columns)
//	           value = the original values of the key's string columns of
//	                   a non-binary collation (row-encoded), else empty
//
// A table without a primary key (catalog HiddenPK) is clustered on a
// hidden row id, enc = keycodec.AppendUint(id), handed out by
// catalog.NextRowID on insert (and checked to be free); it is not
// a column, and
// secondary keys end with it instead of pk columns. Key columns are
// encoded with catalog ColumnType.KeyType(): utf8mb4_general_ci strings are
// keyed by weight, so 'a' and 'A' (and 'a ') are the same key, as in MySQL.
// Because such a key cannot give the original string back, a secondary
// entry keeps the originals in its value, so that index-only scans
// (ScanOptions.KeyOnly) return what was stored. (The design sketch had an
// empty value; this costs a few bytes per string-keyed entry only.)
// Deletes are engine tombstones; nothing here deals with versions.
//
// # Uniqueness
//
// The primary key is checked by a locking read of the clustered key. A
// UNIQUE secondary index is checked by locking the index value (lock key
// = index ‖ enc(index columns), taken by every transaction that puts a
// new entry under that value) and then scanning the value's entries with
// a locking read of their newest committed versions: two transactions
// inserting the same value serialize on the value lock, and the second
// sees the first's committed entry. NULL in any index column never
// conflicts. A conflict returns a *DuplicateKeyError (MySQL 1062).
//
// # Usage
//
//	def, _ := cat.Table(ctx, "sbtest", "sbtest1")
//	t, _ := table.Open(e, cat, def)
//
//	tx := e.Begin(engine.TxnOptions{})
//	id, _ := cat.NextAutoIncrement(ctx, def, 1)
//	err := t.Insert(ctx, tx, table.Row{keycodec.IntValue(int64(id)), keycodec.IntValue(7),
//		keycodec.StringValue("c…"), keycodec.StringValue("pad…")})
//	if errors.Is(err, table.ErrDuplicateKey) { … }
//
//	// UPDATE sbtest1 SET k = k + 1 WHERE id = 10: a locking read, then Update.
//	old, ok, err := t.Get(ctx, tx, []keycodec.Value{keycodec.IntValue(10)}, engine.LockExclusive)
//	upd := slices.Clone(old)
//	upd[1] = keycodec.IntValue(old[1].Int + 1)
//	err = t.Update(ctx, tx, old, upd)
//
//	// SELECT c FROM sbtest1 WHERE id BETWEEN 10 AND 109
//	rows := t.Scan(ctx, tx, table.ScanOptions{
//		Lo: &table.Bound{Values: []keycodec.Value{keycodec.IntValue(10)}, Inclusive: true},
//		Hi: &table.Bound{Values: []keycodec.Value{keycodec.IntValue(109)}, Inclusive: true}})
//	for rows.Next(ctx) {
//		use(rows.Row()[2])
//	}
//	err = rows.Err()
//	err = tx.Commit(ctx)
//
// Update and Delete take the row as read in the transaction (with a
// locking read, as MySQL's UPDATE and DELETE read); they lock it and read
// it again, so indexes are maintained from what is stored. Rows of a
// HiddenPK table are updated and deleted by row id (Rows.RowID,
// UpdateByRowID, DeleteByRowID).
//
// A write that fails a check (duplicate key, NULL in a NOT NULL column,
// missing row, bad arguments) has written nothing; after other errors
// (lock wait timeout, deadlock) roll back the statement or transaction.
//
// After CREATE INDEX (catalog.AlterTable with a new index), open the table
// again with the new definition and call BuildIndex to fill the index from
// the existing rows.
package table
