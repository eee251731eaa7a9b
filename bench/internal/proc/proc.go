// Package proc holds the small process and file helpers the benchmark
// packages share: peak RSS from /proc, free loopback ports, log tails.
package proc

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// PeakRSS is the peak resident set size of process pid in bytes (VmHWM in
// /proc/pid/status). The process must still exist (not yet reaped).
func PeakRSS(pid int) (int64, error) {
	path := fmt.Sprintf("/proc/%d/status", pid)
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("peak RSS: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("peak RSS: unexpected VmHWM line %q in %s", sc.Text(), path)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("peak RSS: %s: %w", path, err)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("peak RSS: no VmHWM in %s", path)
}

// handedOut holds every port FreePort returned in this process.
var handedOut sync.Map

// FreePort asks the kernel for a free loopback TCP port, never one it
// returned before (the kernel may hand a just-closed port out again, and
// two servers of one deployment would collide). Another process may take
// it before the caller binds it; the window is small.
func FreePort() (int, error) {
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("pick a free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if _, dup := handedOut.LoadOrStore(port, true); !dup {
			return port, nil
		}
	}
}

// Tail returns the last n lines of b.
func Tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// FileTail returns the last n lines of a file, or a note saying why it
// cannot be read.
func FileTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	return Tail(b, n)
}
