# Hadron build system. Two commands on a fresh Debian bookworm machine (root):
#   make build   install what is needed, build the tools, build images/mini offline
#   make test    unit + golden + e2e (real BuildKit) + QEMU tests; what CI runs
GO      ?= go
BIN     := out/bin
PKGS    := ./...
# Debian packages the tools and tests use (BuildKit's runtime, stage-0 bootstrap,
# firmware, emulators, signing and image tools).
APT_PACKAGES := runc mmdebstrap qemu-system-x86 qemu-system-arm qemu-efi-aarch64 \
	qemu-user-static ovmf swtpm swtpm-tools tpm2-tools sbsigntool systemd-boot-efi \
	mtools dosfstools erofs-utils squashfs-tools cpio xorriso grub-efi-amd64-bin \
	grub-pc-bin grub-common dracut-core fdisk busybox-static git ca-certificates \
	openssl zstd kmod musl-tools gcc-aarch64-linux-gnu cryptsetup-bin

.PHONY: all deps tools frontend-image build repro-check qemu test test-full test-unit test-e2e test-qemu bench bench-planning bldr-llb vet fmt-check clean

all: tools

out/.deps-stamp: Makefile tests/harness/debian-sources.sh
	@if [ "$$(id -u)" != 0 ]; then echo "make deps: run as root (apt-get install)"; exit 1; fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(APT_PACKAGES) >/dev/null
	sh tests/harness/debian-sources.sh
	mkdir -p out && touch $@

## out/ holds build state, BuildKit snapshots of the tree among it: a go.mod there makes
## `go test ./...` and `go vet ./...` skip it instead of testing those copies
out/go.mod:
	mkdir -p out && printf 'module hadron.invalid/out\n' > $@

## deps: install the Debian packages (apt) and the deb-src entry the tests need
deps: out/.deps-stamp

## tools: build hadron, hadron-frontend, and buildkitd/buildctl at the version pinned in go.mod;
## prepare the offline inputs (Debian stage-0 rootfs, mirrored source tarballs)
tools: deps
	mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/ ./cmd/hadron ./cmd/hadron-frontend
	sh tests/harness/prepare.sh
	sh tests/fixtures/debian-kernel.sh out/debian-kernel

## frontend-image: the gateway frontend image (hadron-frontend + the hadron binary its boot
## steps run) as an OCI layout tarball, out/hadron-frontend.oci.tar; no Docker engine needed.
## Load it with `docker load` or `skopeo copy oci-archive:...`, or pass PUSH=<registry ref>.
frontend-image:
	mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/ ./cmd/hadron ./cmd/hadron-frontend
	SOURCE_DATE_EPOCH=$${SOURCE_DATE_EPOCH:-0} $(GO) run ./tests/tools/frontend-image \
		-frontend $(BIN)/hadron-frontend -hadron $(BIN)/hadron -o out/hadron-frontend.oci.tar $(if $(PUSH),-push $(PUSH))

## build: set everything up and build images/mini offline (local stage 0, loopback mirror)
build: tools
	$(GO) run ./tests/tools/offline-build -- mini -o type=local,dest=out/mini -o type=oci,dest=out/mini.oci.tar
	@echo "root filesystem in out/mini, OCI image in out/mini.oci.tar"

## repro-check: build TARGET (default mini) twice from clean state, offline like `make build`,
## and compare the outputs bit for bit (docs/reproducibility.md); exit status 3 when they differ.
## SCOPE=full (default: two fresh engines, the cross toolchain built twice) or SCOPE=packages
## (every step but the toolchain's re-run on the managed engine); REPRO_ARGS adds flags.
TARGET ?= mini
SCOPE  ?= full
repro-check: tools
	$(GO) run ./tests/tools/offline-build -command repro-check -- $(TARGET) --scope $(SCOPE) $(REPRO_ARGS)

## qemu: build IMAGE/disk offline (default base-trusted: hours cold, the toolchain, kernel and
## systemd first) signed with Debian's snakeoil db key (enrolled in the Secure Boot firmware)
## and a PCR key in out/keys, then boot it: hadron qemu --secure-boot --tpm --snapshot.
## Ctrl-A X quits QEMU. ARCH (amd64 or arm64, arm64 when IMAGE names it: base-trusted-arm64)
## picks the platform and the firmware (OVMF or AAVMF). A standard (GRUB) image, one whose
## name holds "standard" (base-standard, base-standard-arm64), boots without Secure Boot and TPM.
IMAGE ?= base-trusted
ARCH  ?= $(if $(findstring arm64,$(IMAGE)),arm64,amd64)
QEMU_FLAGS ?= $(if $(findstring standard,$(IMAGE)),,--secure-boot --tpm)
SNAKEOIL := /usr/share/ovmf/PkKek-1-snakeoil
qemu: tools
	mkdir -p out/keys out/disk
	test -f out/keys/pcr.key || $(BIN)/hadron keys generate out/keys
	test -f out/keys/snakeoil-db.key || openssl pkey -in $(SNAKEOIL).key -passin pass:snakeoil -out out/keys/snakeoil-db.key
	$(GO) run ./tests/tools/offline-build -- $(IMAGE)/disk --platform linux/$(ARCH) -o type=local,dest=out/disk/$(IMAGE) \
		--secret id=db.key,src=out/keys/snakeoil-db.key --secret id=db.crt,src=$(SNAKEOIL).pem \
		--secret id=pcr.key,src=out/keys/pcr.key
	$(BIN)/hadron qemu out/disk/$(IMAGE)/$(IMAGE).raw --arch $(ARCH) $(QEMU_FLAGS) --snapshot

## test: everything CI runs (unit, golden, e2e through real BuildKit, QEMU boots)
test: tools vet fmt-check out/go.mod
	@df -h . /tmp | sed 's/^/disk before tests: /'
	HADRON_E2E=1 HADRON_QEMU=1 $(GO) test -count=1 -timeout 88m $(PKGS); rc=$$?; \
	  df -h . /tmp | sed 's/^/disk after tests: /'; du -sh out/e2e 2>/dev/null | sed 's/^/e2e cache: /'; exit $$rc

## test-full: the full tier on top of `make test`: whole-machine kernels for every board
## (amd64-generic, arm64-generic, rpi4, rpi5), hours on 2 cores; run it yourself
test-full: tools vet fmt-check out/go.mod
	HADRON_E2E=1 HADRON_QEMU=1 HADRON_E2E_FULL=1 $(GO) test -count=1 -timeout 600m $(PKGS)

## test-unit: the fast tier (seconds): unit and golden tests only
test-unit: out/go.mod
	$(GO) test -count=1 $(PKGS)

## test-e2e: builds through a real local buildkitd
test-e2e: tools
	HADRON_E2E=1 $(GO) test -count=1 -timeout 60m ./tests/... ./internal/engine/...

## test-qemu: boot tests under QEMU (TCG)
test-qemu: deps
	HADRON_QEMU=1 $(GO) test -count=1 -timeout 40m ./tests/qemu/...

## bench: benchmarks (figures go to docs/performance.md)
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./internal/... ./buildkit-frontends/... ./bootchain/...

## bench-planning: time hadron graph, validate and an LLB dry run on generated 500- and
## 2000-package trees (out/bench) against bldr when BLDR=path or bldr is on PATH (and
## BLDR_LLB=path or bldr-llb on PATH for bldr's LLB dry run); RUNS paired runs, median.
## Figures go to docs/performance.md.
RUNS ?= 7
BLDR ?=
BLDR_LLB ?= $(wildcard $(BIN)/bldr-llb)
bench-planning:
	mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/ ./cmd/hadron ./tests/tools/planllb
	$(GO) run ./tests/tools/benchplanning -hadron $(BIN)/hadron -planllb $(BIN)/planllb -dir out/bench -runs $(RUNS) \
		-bldr "$(BLDR)" -bldr-llb "$(BLDR_LLB)"

## bldr-llb: build bldr's LLB dry run (tests/tools/bldrllb) inside a bldr checkout,
## e.g. make bldr-llb BLDR_SRC=/work/bldr-src (bldr v0.6.3); writes $(BIN)/bldr-llb
bldr-llb:
	@if [ -z "$(BLDR_SRC)" ]; then echo "make bldr-llb: set BLDR_SRC to a bldr source tree"; exit 1; fi
	mkdir -p $(BLDR_SRC)/cmd/bldr-llb $(BIN)
	sed '/^\/\/go:build ignore$$/d' tests/tools/bldrllb/main.go > $(BLDR_SRC)/cmd/bldr-llb/main.go
	cd $(BLDR_SRC) && GOFLAGS=-mod=mod CGO_ENABLED=0 $(GO) build -o $(CURDIR)/$(BIN)/bldr-llb ./cmd/bldr-llb

vet: out/go.mod
	$(GO) vet $(PKGS)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

clean:
	rm -rf out/bin out/mini out/mini.oci.tar
