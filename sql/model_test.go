package sql

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/polarsql/polar/compute/mysqlserver"
)

// TestModel runs random single-row and range statements against a table
// with a primary key and a secondary index, and checks every SELECT
// against a Go map of the rows (the oracle). It exercises the access
// paths (point get, PK and index ranges, IN lists, index-only scans,
// full scans) and index maintenance through updates that move rows.
func TestModel(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	db := newTestDB(t)
	s := db.NewSession(mysqlserver.ConnInfo{})
	defer s.Close()
	ctx := context.Background()
	exec := func(q string) []*mysqlserver.Result {
		t.Helper()
		rs, err := s.Query(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return rs
	}
	exec("CREATE DATABASE m")
	exec("USE m")
	exec("CREATE TABLE t (id INT PRIMARY KEY, k INT NOT NULL, v VARCHAR(20), KEY k_idx (k))")
	type row struct {
		k int
		v string
	}
	model := map[int]row{}
	const ids = 200
	lines := func(ids []int, cols func(int) string) string {
		sort.Ints(ids)
		var b strings.Builder
		for _, id := range ids {
			b.WriteString(cols(id))
			b.WriteByte('\n')
		}
		return b.String()
	}
	sorted := func(rs []*mysqlserver.Result) string {
		lines := strings.Split(strings.TrimSuffix(render(rs, nil), "\n"), "\n")
		if len(lines) == 1 && lines[0] == "" {
			return ""
		}
		sort.Slice(lines, func(i, j int) bool {
			var a, b int
			fmt.Sscan(lines[i], &a)
			fmt.Sscan(lines[j], &b)
			return a < b
		})
		return strings.Join(lines, "\n") + "\n"
	}
	for step := 0; step < 1500; step++ {
		id := rng.IntN(ids)
		k := rng.IntN(20)
		switch op := rng.IntN(10); {
		case op < 3: // insert (or duplicate)
			v := fmt.Sprintf("v%d", rng.IntN(1000))
			_, err := s.Query(ctx, fmt.Sprintf("INSERT INTO t VALUES (%d, %d, '%s')", id, k, v))
			if _, exists := model[id]; exists {
				if err == nil {
					t.Fatalf("step %d: duplicate id %d inserted", step, id)
				}
				continue
			}
			if err != nil {
				t.Fatalf("step %d: insert %d: %v", step, id, err)
			}
			model[id] = row{k, v}
		case op < 5: // update k (moves the index entries) of a range
			lo, delta := rng.IntN(ids), 1+rng.IntN(3)
			hi := lo + rng.IntN(20)
			exec(fmt.Sprintf("UPDATE t SET k = k + %d WHERE id BETWEEN %d AND %d", delta, lo, hi))
			for i, r := range model {
				if i >= lo && i <= hi {
					r.k += delta
					model[i] = r
				}
			}
		case op < 6: // delete by secondary index
			exec(fmt.Sprintf("DELETE FROM t WHERE k = %d", k))
			for i, r := range model {
				if r.k == k {
					delete(model, i)
				}
			}
		default: // reads through each access path
			var q string
			var want []int
			pick := func(f func(int, row) bool) {
				for i, r := range model {
					if f(i, r) {
						want = append(want, i)
					}
				}
			}
			switch rng.IntN(6) {
			case 0:
				q = fmt.Sprintf("SELECT id, k, v FROM t WHERE id = %d", id)
				pick(func(i int, _ row) bool { return i == id })
			case 1:
				q = fmt.Sprintf("SELECT id, k, v FROM t WHERE id >= %d AND id < %d", id, id+15)
				pick(func(i int, _ row) bool { return i >= id && i < id+15 })
			case 2:
				q = fmt.Sprintf("SELECT id, k, v FROM t WHERE k = %d", k)
				pick(func(_ int, r row) bool { return r.k == k })
			case 3:
				q = fmt.Sprintf("SELECT id, k, v FROM t WHERE k BETWEEN %d AND %d", k, k+2)
				pick(func(_ int, r row) bool { return r.k >= k && r.k <= k+2 })
			case 4:
				q = fmt.Sprintf("SELECT id, k, v FROM t WHERE id IN (%d, %d, %d)", id, (id+7)%ids, (id+50)%ids)
				pick(func(i int, _ row) bool { return i == id || i == (id+7)%ids || i == (id+50)%ids })
			case 5:
				q = fmt.Sprintf("SELECT id, k, v FROM t WHERE v LIKE 'v%d%%'", rng.IntN(10))
				d := q[strings.Index(q, "'v")+2 : strings.Index(q, "%")]
				pick(func(_ int, r row) bool { return strings.HasPrefix(r.v, "v"+d) })
			}
			wantText := lines(want, func(i int) string { return fmt.Sprintf("%d\t%d\t%s", i, model[i].k, model[i].v) })
			if got := sorted(exec(q)); got != wantText {
				t.Fatalf("step %d: %s\n got:\n%s\nwant:\n%s", step, q, got, wantText)
			}
		}
	}
	rs := exec("SELECT COUNT(*) FROM t")
	if n := rs[0].Rows[0][0].(int64); int(n) != len(model) {
		t.Fatalf("count %d, model %d", n, len(model))
	}
}
