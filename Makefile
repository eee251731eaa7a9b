# Polar — see README.md.
GO      ?= go
BIN     := bin
PKGS    := ./...
# The race detector slows the Raft cluster tests; they are still run with it.
TESTFLAGS ?= -race -timeout 20m

.PHONY: build test run cluster proto bench lint fmt clean

build:
	$(GO) build -o $(BIN)/ ./cmd/...

test: build
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1)
	POLARD=$(CURDIR)/$(BIN)/polard $(GO) test $(TESTFLAGS) $(PKGS)

run: build
	$(BIN)/polard

# Three storage nodes on 127.0.0.1:7001-7003, data under ./polar-cluster.
cluster: build
	@mkdir -p polar-cluster
	@for i in 1 2 3; do \
	  $(BIN)/polard --role=storage --id=$$i --listen=127.0.0.1:700$$i --data=polar-cluster/s$$i \
	    --peers=1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003 >polar-cluster/s$$i.log 2>&1 & \
	done; sleep 2; $(BIN)/polarctl --storage=127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003 status

proto:
	protoc --go_out=. --go_opt=module=github.com/polarsql/polar \
	  --go-grpc_out=. --go-grpc_opt=module=github.com/polarsql/polar -I proto proto/*.proto

bench: build
	POLARD=$(CURDIR)/$(BIN)/polard $(GO) test -run XXX -bench . -benchtime 2s ./wal ./storage/... ./compute/...

lint:
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf $(BIN)
