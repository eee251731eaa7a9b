package sql

import (
	"context"
	"testing"

	"github.com/polarsql/polar/compute/mysqlserver"
)

// TestPreparedParams checks that parameters bind in text order, as the
// binary protocol sends them, for every sysbench statement shape.
func TestPreparedParams(t *testing.T) {
	db := newTestDB(t)
	s := db.NewSession(mysqlserver.ConnInfo{})
	loadSbtest(t, s, 300)
	ctx := context.Background()
	exec := func(q string, args ...any) string {
		t.Helper()
		st := prepareStmt(t, s, q)
		if st.NumParams != len(args) {
			t.Fatalf("%s: %d params, want %d", q, st.NumParams, len(args))
		}
		r, err := s.Execute(ctx, st, args)
		if err != nil {
			return render(nil, err)
		}
		return render([]*mysqlserver.Result{r}, nil)
	}
	steps := []struct {
		q    string
		args []any
		want string
	}{
		{"SELECT COUNT(*) FROM sbtest1 WHERE id BETWEEN ? AND ?", []any{int64(10), int64(109)}, "100\n"},
		{"SELECT SUM(k) FROM sbtest1 WHERE id BETWEEN ? AND ?", []any{int64(1), int64(3)}, "3\n"},
		{"DELETE FROM sbtest1 WHERE id=?", []any{int64(7)}, "ok affected=1\n"},
		{"INSERT INTO sbtest1 (id, k, c, pad) VALUES (?, ?, ?, ?)", []any{int64(7), int64(42), "cc", "pp"}, "ok affected=1 id=7\n"},
		{"SELECT id, k, c, pad FROM sbtest1 WHERE id=?", []any{int64(7)}, "7\t42\tcc\tpp\n"},
		{"UPDATE sbtest1 SET c=? WHERE id=?", []any{"new", int64(7)}, "ok affected=1\n"},
		{"UPDATE sbtest1 SET k=k+1 WHERE id=?", []any{int64(7)}, "ok affected=1\n"},
		{"SELECT k, c FROM sbtest1 WHERE id=?", []any{int64(7)}, "43\tnew\n"},
		{"SELECT id FROM sbtest1 WHERE id > ? AND k = ? LIMIT ?", []any{int64(0), int64(43), int64(3)}, "7\n44\n141\n"},
	}
	for _, st := range steps {
		if got := exec(st.q, st.args...); got != st.want {
			t.Errorf("%s %v:\n got %q\nwant %q", st.q, st.args, got, st.want)
		}
	}
}
