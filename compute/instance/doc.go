// Package instance assembles one Polar compute node: the storage tier it
// writes to, the engine, the catalog and the SQL front end. cmd/polard and
// the embedded database/sql driver (package driver) both start Polar
// through it, so the two cannot drift apart.
//
// Three ways to get storage:
//
//   - Embedded (Config.Dir set): an in-process storage node, a single Raft
//     voter whose data lives in Dir/storage. The engine calls it directly
//     (storage.Node implements storage.Service); its gRPC listener exists
//     only so polarctl can inspect it.
//   - In memory (Config.InMemory): the same in-process node, but in a fresh
//     temporary directory that Close removes. Pebble and the Raft log need a
//     real directory (storage.Config has no virtual filesystem), so "in
//     memory" means a directory under /dev/shm (tmpfs) when it exists,
//     otherwise under os.TempDir() — which may be on disk. Nothing of it
//     survives Close.
//   - A storage cluster (Config.StorageAddrs set): a storage.Client dialled
//     to the cluster; the compute node keeps no local state.
//
// Open waits until the storage tier has a Raft leader (bounded by its
// context), then opens the engine as the primary: it takes a new epoch,
// which fences any previous primary of the same storage.
//
// The MySQL protocol server is not part of an Instance: whoever serves
// connections (cmd/polard, the driver) creates the sessions with
// DB().Handler / DB().NewSession and must close them before Instance.Close,
// which then stops the engine and the storage tier.
package instance
