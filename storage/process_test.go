package storage_test

// Helpers for process-level tests: build polard, run storage nodes as real
// processes on loopback, crash and restart them, and a few shared pieces
// (batch generator, page oracle, stream collection) used by the cluster
// tests.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/polarsql/polar/storage"
	"github.com/polarsql/polar/wal"
)

var (
	polardOnce sync.Once
	polardPath string
	polardErr  error
	polardDir  string // temp dir of a binary built here, removed by TestMain
)

func TestMain(m *testing.M) {
	code := m.Run()
	if polardDir != "" {
		os.RemoveAll(polardDir)
	}
	os.Exit(code)
}

// raceEnabled reports whether this test binary was built with -race; the
// polard binary built for it then is too, so races in the storage nodes
// show up in their logs.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// polardBinary returns the polard to run: $POLARD if set, else one built
// once per test binary.
func polardBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("POLARD"); p != "" {
		return p
	}
	polardOnce.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			polardErr = fmt.Errorf("go tool not found (set POLARD): %w", err)
			return
		}
		dir, err := os.MkdirTemp("", "polard-test-")
		if err != nil {
			polardErr = err
			return
		}
		polardDir = dir
		path := filepath.Join(dir, "polard")
		args := []string{"build", "-o", path}
		if raceEnabled() {
			args = append(args, "-race")
		}
		args = append(args, "github.com/polarsql/polar/cmd/polard")
		cmd := exec.Command(goTool, args...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			polardErr = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
			return
		}
		polardPath = path
	})
	if polardErr != nil {
		t.Fatal(polardErr)
	}
	return polardPath
}

// handedOut holds every address freePort returned in this test process.
var handedOut sync.Map

// freePort returns a loopback address whose port was free a moment ago
// and was never returned before: the kernel may hand a just-closed port
// out again, and two nodes of one cluster then collide.
func freePort(t *testing.T) string {
	t.Helper()
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		if _, dup := handedOut.LoadOrStore(addr, true); !dup {
			return addr
		}
	}
}

// proc is one storage node process (and its restarts).
type proc struct {
	id      uint64
	addr    string
	dir     string
	logPath string
	join    bool
	peers   string

	cmd     *exec.Cmd
	done    chan struct{} // closed when the current process has exited
	waitErr error         // its exit status, valid after done
	stopped bool          // the test stopped it on purpose
}

func (p *proc) running() bool {
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// cluster runs storage node processes for one test.
type cluster struct {
	t           *testing.T
	bin         string
	root        string
	snapEntries int

	mu    sync.Mutex
	procs map[uint64]*proc
}

// newCluster starts n voters (ids 1..n) and waits until each prints that it
// is listening. Every process is killed when the test ends; on failure
// the tail of every node's log is printed.
func newCluster(t *testing.T, n int, snapEntries int) *cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("process-level cluster test skipped in -short mode")
	}
	c := &cluster{t: t, bin: polardBinary(t), root: t.TempDir(), snapEntries: snapEntries, procs: map[uint64]*proc{}}
	t.Cleanup(c.cleanup)
	var peers []string
	for id := uint64(1); id <= uint64(n); id++ {
		p := c.newProc(id, false)
		peers = append(peers, fmt.Sprintf("%d=%s", id, p.addr))
	}
	for _, p := range c.procs {
		p.peers = strings.Join(peers, ",")
	}
	for id := uint64(1); id <= uint64(n); id++ {
		c.start(id)
	}
	return c
}

func (c *cluster) newProc(id uint64, join bool) *proc {
	p := &proc{
		id:      id,
		addr:    freePort(c.t),
		dir:     filepath.Join(c.root, fmt.Sprintf("node%d", id)),
		logPath: filepath.Join(c.root, fmt.Sprintf("node%d.log", id)),
		join:    join,
	}
	c.mu.Lock()
	c.procs[id] = p
	c.mu.Unlock()
	return p
}

func (c *cluster) proc(id uint64) *proc {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.procs[id]
	if p == nil {
		c.t.Fatalf("no node %d", id)
	}
	return p
}

// byAddr returns the node serving addr, or nil.
func (c *cluster) byAddr(addr string) *proc {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.procs {
		if p.addr == addr {
			return p
		}
	}
	return nil
}

// addrs returns the addresses of the given nodes (all when none given).
func (c *cluster) addrs(ids ...uint64) []string {
	if len(ids) == 0 {
		c.mu.Lock()
		for id := range c.procs {
			ids = append(ids, id)
		}
		c.mu.Unlock()
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	}
	var out []string
	for _, id := range ids {
		out = append(out, c.proc(id).addr)
	}
	return out
}

// addJoiner prepares and starts a node that joins an existing cluster
// (--join) on a new port with a fresh directory.
func (c *cluster) addJoiner(id uint64) *proc {
	c.t.Helper()
	p := c.newProc(id, true)
	var peers []string
	for _, a := range c.sortedProcs() {
		peers = append(peers, fmt.Sprintf("%d=%s", a.id, a.addr))
	}
	p.peers = strings.Join(peers, ",")
	c.start(id)
	return p
}

func (c *cluster) sortedProcs() []*proc {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ps []*proc
	for _, p := range c.procs {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].id < ps[j].id })
	return ps
}

// start launches node id (again) and waits until it listens.
func (c *cluster) start(id uint64) {
	t := c.t
	t.Helper()
	p := c.proc(id)
	if p.running() {
		t.Fatalf("node %d is already running", id)
	}
	args := []string{
		"--role=storage",
		fmt.Sprintf("--id=%d", id),
		"--listen=" + p.addr,
		"--data=" + p.dir,
		"--peers=" + p.peers,
		fmt.Sprintf("--snapshot-entries=%d", c.snapEntries),
	}
	if p.join {
		args = append(args, "--join")
	}
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(logf, "=== harness %s: starting polard %s\n", time.Now().Format("15:04:05.000"), strings.Join(args, " "))
	cmd := exec.Command(c.bin, args...)
	cmd.Stderr = logf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start node %d: %v", id, err)
	}
	logf.Close() // the child has its own descriptor
	ready := make(chan string, 1)
	done := make(chan struct{})
	p.cmd, p.done, p.waitErr, p.stopped = cmd, done, nil, false
	go func() {
		want := fmt.Sprintf("polard storage node %d listening on ", id)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, want) {
				select {
				case ready <- strings.TrimPrefix(line, want):
				default:
				}
			}
		}
		err := cmd.Wait()
		c.mu.Lock()
		p.waitErr = err
		c.mu.Unlock()
		close(done)
	}()
	select {
	case addr := <-ready:
		if addr != p.addr {
			t.Fatalf("node %d listens on %s, want %s", id, addr, p.addr)
		}
	case <-done:
		t.Fatalf("node %d exited before it was ready: %v\n%s", id, p.waitErr, tailFile(p.logPath, 40))
	case <-time.After(30 * time.Second):
		t.Fatalf("node %d not ready after 30s\n%s", id, tailFile(p.logPath, 40))
	}
}

// signal sends sig to node id and waits until it has exited.
func (c *cluster) signal(id uint64, sig syscall.Signal) {
	t := c.t
	t.Helper()
	p := c.proc(id)
	if !p.running() {
		t.Fatalf("node %d is not running", id)
	}
	p.stopped = true
	harnessNote(p, "sending %v", sig)
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal node %d: %v", id, err)
	}
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("node %d did not exit within 20s of %v", id, sig)
	}
	if sig == syscall.SIGTERM && p.waitErr != nil {
		t.Errorf("node %d exited with %v after SIGTERM\n%s", id, p.waitErr, tailFile(p.logPath, 30))
	}
}

// kill SIGKILLs node id; term SIGTERMs it (a clean shutdown).
func (c *cluster) kill(id uint64) { c.t.Helper(); c.signal(id, syscall.SIGKILL) }
func (c *cluster) term(id uint64) { c.t.Helper(); c.signal(id, syscall.SIGTERM) }

// restart starts a stopped node again with the same id, port and data.
func (c *cluster) restart(id uint64) { c.t.Helper(); c.start(id) }

// wipe removes a stopped node's data directory.
func (c *cluster) wipe(id uint64) {
	p := c.proc(id)
	if p.running() {
		c.t.Fatalf("wipe: node %d is running", id)
	}
	if err := os.RemoveAll(p.dir); err != nil {
		c.t.Fatal(err)
	}
}

// logText returns everything node id has logged so far.
func (c *cluster) logText(id uint64) string {
	b, err := os.ReadFile(c.proc(id).logPath)
	if err != nil {
		c.t.Fatal(err)
	}
	return string(b)
}

// waitLog waits until node id has logged substr since it was last
// started (a node logs a moment after it has done what it logs).
func (c *cluster) waitLog(id uint64, substr string, timeout time.Duration) bool {
	for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
		log := c.logText(id)
		if strings.Contains(log[max(0, strings.LastIndex(log, ": starting polard ")):], substr) {
			return true
		}
		if time.Since(start) > timeout {
			return false
		}
	}
}

// harnessNote adds a line of the harness's own to a node's log.
func harnessNote(p *proc, format string, args ...any) {
	f, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "=== harness %s: %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

// cleanup kills every process, reports processes that died on their own
// and race or panic reports in the logs, and prints log tails on failure.
func (c *cluster) cleanup() {
	t := c.t
	for _, p := range c.sortedProcs() {
		if p.cmd == nil {
			continue
		}
		if p.running() {
			p.cmd.Process.Kill()
			<-p.done
		} else if !p.stopped {
			t.Errorf("node %d exited on its own: %v", p.id, p.waitErr)
		}
	}
	for _, p := range c.sortedProcs() {
		b, err := os.ReadFile(p.logPath)
		if err != nil {
			continue
		}
		if i := bytes.Index(b, []byte("WARNING: DATA RACE")); i >= 0 {
			t.Errorf("node %d reported a data race:\n%s", p.id, b[i:min(len(b), i+8000)])
		}
		for _, marker := range []string{"\npanic: ", "\nfatal error: "} {
			if i := bytes.Index(b, []byte(marker)); i >= 0 {
				t.Errorf("node %d: %s\n%s", p.id, strings.TrimSpace(marker), b[i:min(len(b), i+8000)])
			}
		}
	}
	if t.Failed() {
		for _, p := range c.sortedProcs() {
			t.Logf("---- node %d log (%s), last lines ----\n%s", p.id, p.logPath, tailFile(p.logPath, 60))
		}
	}
}

// tailFile returns the last n lines of a file.
func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// dial returns a client for addrs, closed when the test ends.
func dial(t *testing.T, addrs ...string) *storage.Client {
	t.Helper()
	c, err := storage.Dial(addrs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// leaderInfo waits until a node that leads answers ClusterInfo itself (so
// its LastLSN is the leader's) and returns its answer.
func leaderInfo(c *storage.Client, timeout time.Duration) (storage.ClusterInfo, error) {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		info, err := c.ClusterInfo(ctx)
		cancel()
		if err == nil && info.LeaderID != 0 && info.NodeID == info.LeaderID {
			return info, nil
		}
		if err != nil {
			last = err
		} else {
			last = fmt.Errorf("node %d reports leader %d", info.NodeID, info.LeaderID)
		}
		if time.Now().After(deadline) {
			return storage.ClusterInfo{}, fmt.Errorf("no leader answered within %v: %v", timeout, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func mustLeader(t *testing.T, c *storage.Client) storage.ClusterInfo {
	t.Helper()
	info, err := leaderInfo(c, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// nodeInfo asks exactly the node at addr for ClusterInfo. It uses a fresh
// client each time: a Client learns the leader's address from every
// answer and asks the leader from then on.
func nodeInfo(addr string) (storage.ClusterInfo, error) {
	c, err := storage.Dial([]string{addr})
	if err != nil {
		return storage.ClusterInfo{}, err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return c.ClusterInfo(ctx)
}

// waitNodeLSN waits until node id (at addr) has applied exactly lsn; a
// node beyond it fails the test.
func waitNodeLSN(t *testing.T, addr string, id uint64, lsn wal.LSN, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var info storage.ClusterInfo
	var err error
	for time.Now().Before(deadline) {
		info, err = nodeInfo(addr)
		if err == nil {
			if info.NodeID != id {
				t.Fatalf("asked node %d, node %d answered", id, info.NodeID)
			}
			if info.LastLSN == lsn {
				return
			}
			if info.LastLSN > lsn {
				t.Fatalf("node %d: log ends at %d, beyond the expected end %d", id, info.LastLSN, lsn)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("node %d did not reach LSN %d within %v: last info %+v, err %v", id, lsn, timeout, info, err)
}

// pinned returns a client that only ever talks to addr, for GetPage and
// StreamWAL. Do not call ClusterInfo, Append or other leader calls on it:
// they teach it the leader's address.
func pinned(t *testing.T, addr string) *storage.Client {
	t.Helper()
	return dial(t, addr)
}

// batchGen makes random batches: page writes (and now and then a page
// image) on a fixed set of pages, ending with a commit record.
type batchGen struct {
	rng   *rand.Rand
	pages []wal.PageID
	csn   uint64
}

func newBatchGen(seed uint64, npages int) *batchGen {
	g := &batchGen{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	for i := 0; i < npages; i++ {
		g.pages = append(g.pages, wal.MakePageID(1, uint64(i)))
	}
	return g
}

// next returns a batch of 1..10 records at first, and its encoding.
func (g *batchGen) next(epoch uint64, first wal.LSN) (*wal.Batch, []byte) {
	n := 1 + g.rng.IntN(10)
	b := &wal.Batch{Epoch: epoch, FirstLSN: first}
	for i := 0; i < n-1; i++ {
		lsn := first + wal.LSN(i)
		page := g.pages[g.rng.IntN(len(g.pages))]
		if g.rng.IntN(40) == 0 {
			img := make([]byte, wal.PageSize)
			for j := range img {
				img[j] = byte(g.rng.Uint32())
			}
			b.Records = append(b.Records, wal.PageImage(page, lsn, img))
			continue
		}
		l := 1 + g.rng.IntN(300)
		off := wal.PageLSNSize + g.rng.IntN(wal.PageSize-wal.PageLSNSize-l+1)
		data := make([]byte, l)
		for j := range data {
			data[j] = byte(g.rng.Uint32())
		}
		b.Records = append(b.Records, wal.PageWrite(page, lsn, uint32(off), data))
	}
	g.csn++
	b.Records = append(b.Records, wal.Commit(first+wal.LSN(n-1), g.csn))
	raw, err := b.Encode(nil)
	if err != nil {
		panic(fmt.Sprintf("batchGen made an invalid batch: %v", err))
	}
	return b, raw
}

// appendBatches appends n generated batches from next on, each of which
// must succeed, and returns the raw batches and the new log end.
func appendBatches(t *testing.T, c *storage.Client, g *batchGen, epoch uint64, next wal.LSN, n int) ([][]byte, wal.LSN) {
	t.Helper()
	var raws [][]byte
	for i := 0; i < n; i++ {
		b, raw := g.next(epoch, next)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		res, err := c.Append(ctx, raw)
		cancel()
		if err != nil {
			t.Fatalf("append [%d,%d]: %v", b.FirstLSN, b.LastLSN(), err)
		}
		if res.LastLSN < b.LastLSN() || (!res.Duplicate && res.LastLSN != b.LastLSN()) {
			t.Fatalf("append [%d,%d]: result %+v", b.FirstLSN, b.LastLSN(), res)
		}
		raws = append(raws, raw)
		next = b.LastLSN() + 1
	}
	return raws, next - 1
}

var errStreamDone = errors.New("stream complete")

// collectStream reads a node's WAL from LSN 1 up to end through c (a
// client of that node only) and checks it is a contiguous run of valid
// batches starting at 1.
func collectStream(t *testing.T, c *storage.Client, id uint64, end wal.LSN) [][]byte {
	t.Helper()
	var raws [][]byte
	if end == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	next := wal.LSN(1)
	var bad error
	err := c.StreamWAL(ctx, 1, func(raw []byte) error {
		b, err := wal.DecodeBatch(raw)
		if err != nil {
			bad = fmt.Errorf("undecodable batch after LSN %d: %v", next-1, err)
			return bad
		}
		if b.FirstLSN != next {
			bad = fmt.Errorf("batch [%d,%d] does not continue the stream at %d", b.FirstLSN, b.LastLSN(), next)
			return bad
		}
		if b.LastLSN() > end {
			bad = fmt.Errorf("batch [%d,%d] goes beyond the log end %d", b.FirstLSN, b.LastLSN(), end)
			return bad
		}
		raws = append(raws, append([]byte(nil), raw...))
		next = b.LastLSN() + 1
		if b.LastLSN() == end {
			return errStreamDone
		}
		return nil
	})
	if bad != nil {
		t.Fatalf("node %d stream: %v", id, bad)
	}
	if !errors.Is(err, errStreamDone) {
		t.Fatalf("node %d stream stopped at LSN %d of %d: %v", id, next-1, end, err)
	}
	return raws
}

// sameStreams fails unless two logs (nodes' streams, or what was
// appended) are byte-identical.
func sameStreams(t *testing.T, nameA string, a [][]byte, nameB string, b [][]byte) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s has %d batches, %s %d", nameA, len(a), nameB, len(b))
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			h, _ := wal.DecodeHeader(a[i])
			t.Fatalf("batch %d (first LSN %d) differs between %s and %s", i, h.FirstLSN, nameA, nameB)
		}
	}
}

// replay builds the page contents the log implies as of upto by applying
// every record with LSN <= upto with wal.Apply.
func replay(t *testing.T, raws [][]byte, upto wal.LSN) map[wal.PageID][]byte {
	t.Helper()
	pages := map[wal.PageID][]byte{}
	for _, raw := range raws {
		b, err := wal.DecodeBatch(raw)
		if err != nil {
			t.Fatal(err)
		}
		for i := range b.Records {
			r := &b.Records[i]
			if r.LSN > upto {
				return pages
			}
			if !r.HasPage() {
				continue
			}
			p := pages[r.Page]
			if p == nil {
				p = make([]byte, wal.PageSize)
				pages[r.Page] = p
			}
			if err := wal.Apply(p, r); err != nil {
				t.Fatalf("oracle apply LSN %d: %v", r.LSN, err)
			}
		}
	}
	return pages
}

// checkPages compares GetPage(page, lsn) through c (one node's client)
// with the oracle for every page in want, plus pages that must be zero.
func checkPages(t *testing.T, c *storage.Client, id uint64, lsn wal.LSN, want map[wal.PageID][]byte, zero ...wal.PageID) {
	t.Helper()
	ids := make([]wal.PageID, 0, len(want))
	for p := range want {
		ids = append(ids, p)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	empty := make([]byte, wal.PageSize)
	check := func(page wal.PageID, img []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		got, err := c.GetPage(ctx, page, lsn)
		cancel()
		if err != nil {
			t.Fatalf("node %d: GetPage(%v, %d): %v", id, page, lsn, err)
		}
		if !bytes.Equal(got.Image, img) {
			i := 0
			for i < len(img) && got.Image[i] == img[i] {
				i++
			}
			t.Fatalf("node %d: GetPage(%v, %d) differs from the oracle at byte %d (page LSN %d, oracle page LSN %d)",
				id, page, lsn, i, got.PageLSN, wal.PageLSN(img))
		}
		if got.PageLSN != wal.PageLSN(img) {
			t.Fatalf("node %d: GetPage(%v, %d): PageLSN %d, want %d", id, page, lsn, got.PageLSN, wal.PageLSN(img))
		}
		if got.AppliedLSN < lsn {
			t.Fatalf("node %d: GetPage(%v, %d) answered with applied LSN %d", id, page, lsn, got.AppliedLSN)
		}
	}
	for _, p := range ids {
		check(p, want[p])
	}
	for _, p := range zero {
		if _, ok := want[p]; !ok {
			check(p, empty)
		}
	}
}
