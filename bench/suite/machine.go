package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/polarsql/polar/bench/mariadb"
	"github.com/polarsql/polar/bench/sysbench"
)

// machine describes where the suite ran. Fields that cannot be determined
// say so instead of failing the run.
type machine struct {
	CPU, RAM, Disk, OS, Kernel string
	Cores                      int
	Go, MariaDB, Sysbench      string
	Polar                      string // the repository's commit
}

func describeMachine(dataDir string) machine {
	return machine{
		CPU:      cpuModel(),
		Cores:    runtime.NumCPU(),
		RAM:      memTotal(),
		Disk:     diskOf(dataDir),
		OS:       osRelease(),
		Kernel:   firstLine(readOr("/proc/sys/kernel/osrelease", "unknown")),
		Go:       runtime.Version(),
		MariaDB:  mariadbVersion(),
		Sysbench: strings.TrimPrefix(commandVersion(sysbench.DefaultBinary, "--version"), "sysbench "),
		Polar:    gitCommit(),
	}
}

func (m machine) rows() [][2]string {
	return [][2]string{
		{"CPU", m.CPU},
		{"Cores", fmt.Sprintf("%d (as seen by the suite; shared with other work)", m.Cores)},
		{"RAM", m.RAM},
		{"Disk (data directories)", m.Disk},
		{"OS", m.OS},
		{"Kernel", m.Kernel},
		{"Go", m.Go},
		{"MariaDB", m.MariaDB},
		{"sysbench", m.Sysbench},
		{"Polar", m.Polar},
	}
}

func readOr(path, def string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return def
	}
	return string(b)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.TrimSpace(s)
}

// procField returns the value of the first "key: value" line of a /proc
// file.
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func cpuModel() string {
	if m := procField("/proc/cpuinfo", "model name"); m != "" {
		return m
	}
	return "unknown (no model name in /proc/cpuinfo)"
}

func memTotal() string {
	v := strings.Fields(procField("/proc/meminfo", "MemTotal"))
	if len(v) != 2 || v[1] != "kB" {
		return "unknown"
	}
	kb, err := strconv.ParseInt(v[0], 10, 64)
	if err != nil {
		return "unknown"
	}
	return fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
}

func osRelease() string {
	for _, l := range strings.Split(readOr("/etc/os-release", ""), "\n") {
		if v, ok := strings.CutPrefix(l, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return "unknown"
}

// diskOf describes the file system holding dir: device, type, size and
// whether the block device is rotational.
func diskOf(dir string) string {
	dev, mnt, fstype := "", "", ""
	for _, l := range strings.Split(readOr("/proc/mounts", ""), "\n") {
		f := strings.Fields(l)
		if len(f) < 3 {
			continue
		}
		if (dir == f[1] || strings.HasPrefix(dir, strings.TrimSuffix(f[1], "/")+"/")) && len(f[1]) >= len(mnt) {
			dev, mnt, fstype = f[0], f[1], f[2]
		}
	}
	if dev == "" {
		return "unknown"
	}
	s := fmt.Sprintf("%s on %s (%s", dev, mnt, fstype)
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err == nil {
		s += fmt.Sprintf(", %.0f GiB", float64(st.Blocks)*float64(st.Bsize)/(1<<30))
	}
	if name, ok := strings.CutPrefix(dev, "/dev/"); ok {
		sys, err := filepath.EvalSymlinks("/sys/class/block/" + name)
		if err == nil {
			if _, err := os.Stat(filepath.Join(sys, "partition")); err == nil {
				sys = filepath.Dir(sys)
			}
			switch firstLine(readOr(filepath.Join(sys, "queue", "rotational"), "")) {
			case "0":
				s += ", kernel reports non-rotational"
			case "1":
				s += ", kernel reports rotational"
			}
			if model := firstLine(readOr(filepath.Join(sys, "device", "model"), "")); model != "" {
				s += ", " + model
			}
		}
	}
	return s + ")"
}

// commandVersion is the first line of `bin arg`.
func commandVersion(bin, arg string) string {
	out, err := exec.Command(bin, arg).Output()
	if err != nil {
		return fmt.Sprintf("unknown (%s %s: %v)", bin, arg, err)
	}
	return strings.Join(strings.Fields(firstLine(string(out))), " ")
}

// gitCommit is the working tree's commit, noting uncommitted changes.
func gitCommit() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown commit"
	}
	s := "commit " + strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(strings.TrimSpace(string(st))) > 0 {
		s += " with uncommitted changes"
	}
	return s
}

// mariadbVersion is the version from `mariadbd --version` ("mariadbd  Ver
// 10.11.19-MariaDB-0+deb12u1 for debian-linux-gnu on x86_64 (Debian 12)").
func mariadbVersion() string {
	v := commandVersion(mariadb.DefaultServerBinary, "--version")
	f := strings.Fields(v)
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "Ver" {
			return f[i+1]
		}
	}
	return v
}
