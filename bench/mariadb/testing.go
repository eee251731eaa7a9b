package mariadb

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"
)

// StartForTest starts a MariaDB server with a TestBufferPool-sized buffer
// pool in t.TempDir() and stops it when the test ends. It skips the test if
// mariadbd or mariadb-install-db is not installed.
func StartForTest(t testing.TB) *Server {
	t.Helper()
	if _, err := os.Stat(DefaultServerBinary); err != nil {
		t.Skipf("mariadb: %s not installed", DefaultServerBinary)
	}
	if _, err := exec.LookPath(DefaultInstallBinary); err != nil {
		t.Skipf("mariadb: %s not installed", DefaultInstallBinary)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Start(ctx, Config{Dir: t.TempDir(), BufferPoolSize: TestBufferPool})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("stop MariaDB: %v", err)
		}
	})
	return s
}
