# vpcemu — AWS VPC network security on a real kernel with eBPF.
# `sudo make up` brings the default lab up; `sudo make test` runs every test.

# sudo's secure_path usually lacks Go's own directory.
export PATH := $(PATH):/usr/local/go/bin
GO        ?= go
CLANG     ?= clang
STRIP     ?= llvm-strip
BIN       := bin/vpcemu
export BPF2GO_CC    := $(CLANG)
export BPF2GO_STRIP := $(STRIP)
export CGO_ENABLED  := 0
export GOFLAGS      := -mod=mod

# Debian packages and the command that proves each is there (chromium: the
# web view's browser tests drive it headless; awscli: the EC2 API tests).
DEB_CMDS := clang:clang llvm-strip:llvm ip:iproute2 curl:curl sshd:openssh-server \
            ssh:openssh-client ssh-keygen:openssh-client iperf3:iperf3 nft:nftables \
            iptables:iptables ethtool:ethtool nstat:iproute2 bpftool:bpftool \
            chromium:chromium aws:awscli tcpdump:tcpdump tshark:tshark

.PHONY: help deps build install generate check-generated test test-unit test-terraform lint bench soak up down clean

help: ## list targets
	@awk -F':.*## ' '/^[a-z-]+:.*## /{printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

deps: ## install what is missing (apt-get, as root) and mount bpffs
	@command -v $(GO) >/dev/null 2>&1 || { echo "deps: Go >= 1.26 is needed (https://go.dev/dl, or your distribution's golang package if new enough)"; exit 1; }
	@missing=""; for pair in $(DEB_CMDS); do cmd=$${pair%%:*}; pkg=$${pair#*:}; \
	  command -v $$cmd >/dev/null 2>&1 || [ -x /usr/sbin/$$cmd ] || missing="$$missing $$pkg"; done; \
	dpkg -s libbpf-dev >/dev/null 2>&1 || missing="$$missing libbpf-dev"; \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing$$missing"; \
	  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

build: ## compile bin/vpcemu (uses committed BPF objects; no clang needed)
	$(GO) build -o $(BIN) ./cmd/vpcemu

install: build ## install bin/vpcemu as /usr/local/bin/vpcemu
	install -m 0755 $(BIN) /usr/local/bin/vpcemu

generate: ## rebuild bpf/*.c into loader/*_bpfel.{go,o} and rules/datapath_gen.go (needs clang)
	$(GO) generate ./loader/...

check-generated: generate ## fail if the committed BPF objects are not what bpf/ builds
	@git diff --exit-code --stat -- loader/ rules/datapath_gen.go || { echo "generated BPF objects are stale: run 'make generate' and commit"; exit 1; }

lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); [ -z "$$out" ] || { echo "gofmt needed:"; echo "$$out"; exit 1; }
	$(GO) vet ./...

test-unit: ## root-free tests only (pure packages), as any user
	$(GO) test -count=1 . ./vpc/... ./rules/... ./flowlog/... ./intent/... ./importer/...

test: deps lint check-generated build ## every test, privileged ones included (run as root)
	VPCEMU_REQUIRE_PRIV=1 $(GO) test -count=1 -timeout 25m -p 2 ./...

# How long `make soak` runs (`make test` runs the same test for one minute).
SOAK ?= 10m

soak: deps build ## 10 minutes (SOAK=10m) of mixed traffic, a rule change a second, flow logs on: the daemon must not grow, flow logs exact (as root)
	VPCEMU_REQUIRE_PRIV=1 VPCEMU_SOAK=$(SOAK) $(GO) test -count=1 -timeout 60m -run '^TestSoak$$' -v ./cmd/vpcemu

test-terraform: build ## the README's Terraform provider block against a running lab (needs terraform and hashicorp/aws in a provider mirror: VPCEMU_TF_PLUGINS, default /opt/tf-plugins)
	VPCEMU_REQUIRE_PRIV=1 VPCEMU_TEST_TERRAFORM=1 $(GO) test -count=1 -timeout 15m -run TestTerraformDrivesLab -v ./cmd/vpcemu

bench: deps build ## benchmarks: topology up/down, datapath, throughput, filter CPU share, check/diff/replay, up/down of 2,000 instances (prints tables, ~55 min)
	./scripts/bench.sh

up: deps install ## install vpcemu, bring the default lab up in the foreground (Ctrl-C tears it down)
	vpcemu up

down: ## tear down every vpcemu topology
	$(BIN) down --all

clean: ## remove build output
	rm -rf bin
