package sql

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/polarsql/polar/compute/catalog"
	"github.com/polarsql/polar/compute/engine"
	"github.com/polarsql/polar/compute/mysqlserver"
	"github.com/polarsql/polar/storage"
	"github.com/polarsql/polar/storage/storagetest"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// newTestDB starts a storage node, an engine and a SQL front end.
func newTestDB(t testing.TB) *DB {
	t.Helper()
	db, _ := newTestDBNode(t)
	return db
}

// newTestDBNode is newTestDB also returning the storage node.
func newTestDBNode(t testing.TB) (*DB, *storage.Node) {
	t.Helper()
	n := storagetest.Start(t)
	e, err := engine.Open(context.Background(), engine.Config{Storage: n, BufferPoolBytes: 16 << 20, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return New(e, catalog.Open(e), Config{Logger: discard}), n
}

// render turns results or an error into the text the scripts expect:
// rows as tab-separated values (NULL for NULL), "ok affected=N" for OK
// packets (with last_insert_id and warnings when set), "error CODE: msg".
func render(rs []*mysqlserver.Result, err error) string {
	var b strings.Builder
	for _, r := range rs {
		if len(r.Columns) == 0 {
			fmt.Fprintf(&b, "ok affected=%d", r.AffectedRows)
			if r.LastInsertID != 0 {
				fmt.Fprintf(&b, " id=%d", r.LastInsertID)
			}
			if r.Warnings != 0 {
				fmt.Fprintf(&b, " warnings=%d", r.Warnings)
			}
			b.WriteByte('\n')
			continue
		}
		for _, row := range r.Rows {
			for i, v := range row {
				if i > 0 {
					b.WriteByte('\t')
				}
				b.WriteString(textOf(v))
			}
			b.WriteByte('\n')
		}
	}
	if err != nil {
		var me *mysqlserver.Error
		if errors.As(err, &me) {
			fmt.Fprintf(&b, "error %d: %s\n", me.Code, me.Message)
		} else {
			fmt.Fprintf(&b, "error: %v\n", err)
		}
	}
	return b.String()
}

func textOf(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case []byte:
		return string(x)
	case time.Time:
		if x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 && x.Nanosecond() == 0 {
			return x.Format("2006-01-02")
		}
		return x.Format("2006-01-02 15:04:05.999999")
	}
	return fmt.Sprint(v)
}

// TestScripts runs testdata/*.sql: blocks of "statement" lines followed by
// "----" and the expected rendering, separated by blank lines. Run with
// -rewrite to regenerate the expectations after checking them.
func TestScripts(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.sql")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			db := newTestDB(t)
			s := db.NewSession(mysqlserver.ConnInfo{Caps: 1 << 16})
			defer s.Close()
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			changed := false
			for _, block := range strings.Split(strings.TrimSpace(string(data)), "\n\n") {
				q, want, _ := strings.Cut(block, "\n----\n")
				q = strings.TrimSuffix(q, "\n----")
				got := render(s.Query(context.Background(), q))
				if strings.TrimSpace(got) != strings.TrimSpace(want) {
					if *rewrite {
						changed = true
					} else {
						t.Errorf("%s\n got:\n%s\nwant:\n%s", q, got, want)
					}
				}
				fmt.Fprintf(&out, "%s\n----\n%s\n\n", q, strings.TrimRight(got, "\n"))
			}
			if *rewrite && changed {
				if err := os.WriteFile(f, []byte(out.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
