# Polar — see README.md.
GO      ?= go
BIN     := bin
PKGS    := ./...
# The race detector slows the Raft cluster tests; they are still run with it.
TESTFLAGS ?= -race -timeout 20m

.PHONY: build test run cluster cluster-stop proto bench lint fmt clean

build:
	$(GO) build -o $(BIN)/ ./cmd/...

test: build
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1)
	POLARD=$(CURDIR)/$(BIN)/polard $(GO) test $(TESTFLAGS) $(PKGS)

# The embedded default: storage, engine and MySQL on 127.0.0.1:3306 in one
# process, data in ./polar-data. Ctrl-C stops it cleanly.
run: build
	$(BIN)/polard

# Three storage nodes on 127.0.0.1:7001-7003 and one compute node serving
# MySQL on 127.0.0.1:3306, in the background; data, logs and pid files
# under ./polar-cluster. `make cluster-stop` stops them.
CLUSTER       := polar-cluster
STORAGE_ADDRS := 127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003

cluster: build
	@mkdir -p $(CLUSTER)
	@for f in $(CLUSTER)/*.pid; do \
	  if [ -f "$$f" ] && kill -0 $$(cat "$$f") 2>/dev/null; then echo "$$f: already running (make cluster-stop)"; exit 1; fi; \
	done
	@for i in 1 2 3; do \
	  $(BIN)/polard --role=storage --id=$$i --listen=127.0.0.1:700$$i --data=$(CLUSTER)/s$$i \
	    --peers=1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003 >$(CLUSTER)/s$$i.log 2>&1 & echo $$! >$(CLUSTER)/s$$i.pid; \
	done
	@$(BIN)/polard --role=compute --storage=$(STORAGE_ADDRS) --port=3306 >$(CLUSTER)/c1.log 2>&1 & echo $$! >$(CLUSTER)/c1.pid
	@for n in $$(seq 300); do grep -q "ready for connections" $(CLUSTER)/c1.log && break; \
	  kill -0 $$(cat $(CLUSTER)/c1.pid) 2>/dev/null || break; sleep 0.1; done; \
	grep -q "ready for connections" $(CLUSTER)/c1.log || { echo "compute node did not start:"; cat $(CLUSTER)/c1.log; exit 1; }
	@$(BIN)/polarctl --storage=$(STORAGE_ADDRS) status
	@echo
	@echo "connect: mysql -h127.0.0.1 -P3306 -uroot"
	@echo "logs:    $(CLUSTER)/*.log"
	@echo "stop:    make cluster-stop"

# SIGTERM to the compute node first (its sessions roll back, the engine
# closes), then to the storage nodes together; waits up to 10 s for each.
cluster-stop:
	@stop() { \
	  pids=""; for f in "$$@"; do [ -f "$$f" ] && pids="$$pids $$(cat "$$f")" && rm -f "$$f"; done; \
	  for p in $$pids; do kill "$$p" 2>/dev/null; done; \
	  for p in $$pids; do \
	    for n in $$(seq 100); do kill -0 "$$p" 2>/dev/null || break; sleep 0.1; done; \
	    kill -0 "$$p" 2>/dev/null && echo "pid $$p still running"; \
	  done; true; \
	}; \
	stop $(CLUSTER)/c1.pid; stop $(CLUSTER)/s1.pid $(CLUSTER)/s2.pid $(CLUSTER)/s3.pid

proto:
	protoc --go_out=. --go_opt=module=github.com/polarsql/polar \
	  --go-grpc_out=. --go-grpc_opt=module=github.com/polarsql/polar -I proto proto/*.proto

# Go microbenchmarks, then the sysbench suite against polard and MariaDB
# (writes docs/benchmarks.md; BENCH_QUICK=1 for a smoke run; bench/README.md).
bench: build
	POLARD=$(CURDIR)/$(BIN)/polard $(GO) test -run XXX -bench . -benchtime 2s ./wal ./storage/... ./compute/... ./sql/...
	$(GO) run ./bench/suite -polard $(BIN)/polard

lint:
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf $(BIN)
