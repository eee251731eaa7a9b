package engine

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/polarsql/polar/storage"
)

// The crash test runs the engine in a child process (this test binary
// re-executed with POLAR_CRASH_CHILD set) against a storage node in the
// parent, SIGKILLs it mid-write, and checks from a fresh engine that every
// commit the child acknowledged is there, and nothing it never tried.

func init() {
	if addr := os.Getenv("POLAR_CRASH_CHILD"); addr != "" {
		os.Exit(crashChild(addr))
	}
}

// crashChild commits rows in a loop, printing "try N" before and "ack N"
// after each commit.
func crashChild(addr string) int {
	ctx := context.Background()
	c, err := storage.Dial([]string{addr})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	e, err := Open(ctx, Config{Storage: c, NodeName: "crash-child", BufferPoolBytes: 1 << 20, Logger: discard})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	idx, _ := strconv.ParseUint(os.Getenv("POLAR_CRASH_INDEX"), 10, 64)
	w := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		tx := e.Begin(TxnOptions{})
		// Two rows per commit: both or neither must survive.
		tx.Put(ctx, IndexID(idx), intKey(2*i), []byte(strconv.Itoa(i)))
		tx.Put(ctx, IndexID(idx), intKey(2*i+1), []byte(strconv.Itoa(i)))
		fmt.Fprintf(w, "try %d\n", i)
		w.Flush()
		if err := tx.Commit(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "commit:", err)
			return 1
		}
		fmt.Fprintf(w, "ack %d\n", i)
		w.Flush()
	}
}

func TestEngineCrashRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	ctx := context.Background()
	st := startStorage(t)
	e := openEngine(t, st, 1<<20)
	idx, err := e.CreateIndex(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.Close()

	for round := 0; round < 3; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "POLAR_CRASH_CHILD="+st.Addr(), fmt.Sprintf("POLAR_CRASH_INDEX=%d", idx))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		acked, tried := map[int]bool{}, map[int]bool{}
		record := func(l string) {
			var n int
			if _, err := fmt.Sscanf(l, "ack %d", &n); err == nil {
				acked[n] = true
			} else if _, err := fmt.Sscanf(l, "try %d", &n); err == nil {
				tried[n] = true
			}
		}
		lines := make(chan string)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// The kill comes a while after the first acknowledgement: starting
		// a race-built child on a loaded machine can take longer than the
		// writing it is given.
		var deadline <-chan time.Time
		startup := time.After(60 * time.Second)
	read:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("child exited early: %s", stderr.String())
				}
				record(l)
				if deadline == nil && len(acked) > 0 {
					deadline = time.After(time.Duration(300+200*round) * time.Millisecond)
				}
			case <-startup:
				cmd.Process.Kill()
				t.Fatalf("round %d: no commit acknowledged within a minute (%s)", round, stderr.String())
			case <-deadline:
				break read
			}
		}
		cmd.Process.Signal(syscall.SIGKILL)
		// Lines written before the kill still count: a "try" may sit in
		// the pipe while its commit became durable.
		for l := range lines {
			record(l)
		}
		cmd.Wait()
		if len(acked) < 5 {
			t.Fatalf("round %d: only %d commits acknowledged before the kill (%s)", round, len(acked), stderr.String())
		}

		e := openEngine(t, st, 1<<20)
		tx := e.Begin(TxnOptions{})
		it := tx.Scan(ctx, idx, ScanOptions{})
		rows := map[int]int{}
		for it.Next(ctx) {
			v, _ := strconv.Atoi(string(it.Value()))
			rows[v]++
		}
		if it.Err() != nil {
			t.Fatal(it.Err())
		}
		tx.Rollback()
		for i := range acked {
			if rows[i] != 2 {
				t.Fatalf("round %d: acknowledged commit %d has %d of 2 rows", round, i, rows[i])
			}
		}
		for i, n := range rows {
			if n != 2 {
				t.Fatalf("round %d: commit %d half visible (%d rows)", round, i, n)
			}
			if !tried[i] {
				t.Fatalf("round %d: commit %d visible but never tried", round, i)
			}
		}
		t.Logf("round %d: %d acknowledged, %d visible after the crash", round, len(acked), len(rows))
		// Start the next round with an empty index: delete everything.
		tx = e.Begin(TxnOptions{})
		for i := range rows {
			tx.Delete(ctx, idx, intKey(2*i))
			tx.Delete(ctx, idx, intKey(2*i+1))
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		e.Close()
	}
}
