package polard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/polarsql/polar/bench/internal/proc"
)

// Config describes a deployment to start.
type Config struct {
	// Binary is the polard executable (required).
	Binary string
	// Dir is a directory owned by the deployment (required): data
	// directories and logs are created in it.
	Dir string
	// BufferPoolMB is --buffer-pool-mb of the process serving MySQL
	// (embedded or compute); 0 keeps polard's default.
	BufferPoolMB int
	// ReadyTimeout bounds the start-up; 0 means ReadyTimeout.
	ReadyTimeout time.Duration
}

func (c *Config) check() error {
	if c.Binary == "" || c.Dir == "" {
		return fmt.Errorf("polard: Config.Binary and Config.Dir are required (got %q, %q)", c.Binary, c.Dir)
	}
	if c.ReadyTimeout == 0 {
		c.ReadyTimeout = ReadyTimeout
	}
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return fmt.Errorf("polard: %w", err)
	}
	return nil
}

func (c *Config) serverArgs() []string {
	if c.BufferPoolMB > 0 {
		return []string{"--buffer-pool-mb=" + strconv.Itoa(c.BufferPoolMB)}
	}
	return nil
}

func loopback(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// Embedded is polard in the embedded default role: one process holding a
// single-voter storage node, the compute engine and the MySQL server.
type Embedded struct {
	*Process
	cfg       Config
	MySQLPort int
	// StoragePort is the in-process storage node's gRPC port, fixed so a
	// restart finds its node at the same address.
	StoragePort int
}

// StartEmbedded starts `polard --data=Dir/data --port=<free>
// --listen=127.0.0.1:<free>` (log: Dir/polard.log) and waits until it
// accepts MySQL logins. ctx bounds only the start-up.
func StartEmbedded(ctx context.Context, cfg Config) (*Embedded, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	mysqlPort, err := proc.FreePort()
	if err != nil {
		return nil, fmt.Errorf("polard: %w", err)
	}
	storagePort, err := proc.FreePort()
	if err != nil {
		return nil, fmt.Errorf("polard: %w", err)
	}
	args := append([]string{
		"--data=" + filepath.Join(cfg.Dir, "data"),
		"--port=" + strconv.Itoa(mysqlPort),
		"--listen=" + loopback(storagePort),
	}, cfg.serverArgs()...)
	p, err := Launch("polard", cfg.Binary, args, filepath.Join(cfg.Dir, "polard.log"))
	if err != nil {
		return nil, fmt.Errorf("polard: %w", err)
	}
	e := &Embedded{Process: p, cfg: cfg, MySQLPort: mysqlPort, StoragePort: storagePort}
	if err := e.waitReady(ctx); err != nil {
		e.Kill()
		return nil, err
	}
	return e, nil
}

// Addr is the MySQL protocol address.
func (e *Embedded) Addr() string { return loopback(e.MySQLPort) }

// Restart starts polard again on the same data directory and ports after
// Kill or Stop, and waits until it accepts MySQL logins.
func (e *Embedded) Restart(ctx context.Context) error {
	if err := e.Relaunch(); err != nil {
		return fmt.Errorf("polard: %w", err)
	}
	return e.waitReady(ctx)
}

func (e *Embedded) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.ReadyTimeout)
	defer cancel()
	if err := WaitMySQL(ctx, e.Addr(), e.Done()); err != nil {
		if e.exited() {
			return fmt.Errorf("polard (start %d) exited before accepting MySQL connections on %s: %w", e.Starts(), e.Addr(), e.Alive())
		}
		return fmt.Errorf("polard (start %d, pid %d): %w; log %s ends:\n%s", e.Starts(), e.Pid(), err, e.LogPath(), e.LogTail(30))
	}
	return nil
}

// Cluster is a local cluster: N storage processes (--role=storage, one
// Raft voter each) and one compute process (--role=compute) serving MySQL.
type Cluster struct {
	Storage   []*Process
	Compute   *Process
	MySQLPort int
}

// StartCluster starts n storage nodes (data Dir/s<i>, log Dir/s<i>.log) as
// the initial voters of one cluster, waits until each listens, then starts
// the compute node (log Dir/compute.log) and waits until it accepts MySQL
// logins. On failure every process started is killed. ctx bounds only the
// start-up.
func StartCluster(ctx context.Context, cfg Config, n int) (c *Cluster, err error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if n < 1 {
		return nil, fmt.Errorf("polard: cluster of %d storage nodes", n)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.ReadyTimeout)
	defer cancel()
	addrs := make([]string, n)
	peers := make([]string, n)
	for i := range addrs {
		port, err := proc.FreePort()
		if err != nil {
			return nil, fmt.Errorf("polard: %w", err)
		}
		addrs[i] = loopback(port)
		peers[i] = fmt.Sprintf("%d=%s", i+1, addrs[i])
	}
	c = &Cluster{}
	defer func() {
		if err != nil {
			c.Kill()
		}
	}()
	for i, addr := range addrs {
		id := i + 1
		args := []string{
			"--role=storage",
			"--id=" + strconv.Itoa(id),
			"--listen=" + addr,
			"--data=" + filepath.Join(cfg.Dir, fmt.Sprintf("s%d", id)),
			"--peers=" + strings.Join(peers, ","),
		}
		p, err := Launch(fmt.Sprintf("polard storage %d", id), cfg.Binary, args, filepath.Join(cfg.Dir, fmt.Sprintf("s%d.log", id)))
		if err != nil {
			return c, fmt.Errorf("polard: %w", err)
		}
		c.Storage = append(c.Storage, p)
	}
	for i, p := range c.Storage {
		if err := WaitTCP(ctx, addrs[i], p.Done()); err != nil {
			return c, fmt.Errorf("polard: %s: %w; log %s ends:\n%s", p.Name, err, p.LogPath(), p.LogTail(30))
		}
	}
	if c.MySQLPort, err = proc.FreePort(); err != nil {
		return c, fmt.Errorf("polard: %w", err)
	}
	args := append([]string{
		"--role=compute",
		"--storage=" + strings.Join(addrs, ","),
		"--port=" + strconv.Itoa(c.MySQLPort),
	}, cfg.serverArgs()...)
	if c.Compute, err = Launch("polard compute", cfg.Binary, args, filepath.Join(cfg.Dir, "compute.log")); err != nil {
		return c, fmt.Errorf("polard: %w", err)
	}
	if err := WaitMySQL(ctx, c.Addr(), c.Compute.Done()); err != nil {
		if aerr := c.Alive(); aerr != nil {
			err = aerr
		}
		return c, fmt.Errorf("polard cluster: compute on %s: %w; compute log ends:\n%s", c.Addr(), err, c.Compute.LogTail(30))
	}
	return c, nil
}

// Addr is the compute node's MySQL protocol address.
func (c *Cluster) Addr() string { return loopback(c.MySQLPort) }

// Processes are the compute process (if started) followed by the storage
// processes.
func (c *Cluster) Processes() []*Process {
	var ps []*Process
	if c.Compute != nil {
		ps = append(ps, c.Compute)
	}
	return append(ps, c.Storage...)
}

// Alive returns an error if any process of the cluster has exited.
func (c *Cluster) Alive() error {
	for _, p := range c.Processes() {
		if err := p.Alive(); err != nil {
			return err
		}
	}
	return nil
}

// Kill SIGKILLs every process.
func (c *Cluster) Kill() {
	for _, p := range c.Processes() {
		p.Kill()
	}
}

// Stop stops the compute node, then the storage nodes (SIGTERM, SIGKILL
// after StopTimeout each).
func (c *Cluster) Stop() error {
	var errs []error
	if c.Compute != nil {
		errs = append(errs, c.Compute.Stop(0))
	}
	for _, p := range c.Storage {
		errs = append(errs, p.Stop(0))
	}
	return errors.Join(errs...)
}
