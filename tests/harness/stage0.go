package harness

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Stage0Spec describes the bootstrap root filesystem: a Debian system made
// by mmdebstrap that has a host compiler to build the first toolchain.
type Stage0Spec struct {
	// Suite is the Debian release, e.g. "bookworm".
	Suite string
	// Variant is mmdebstrap's --variant, e.g. "minbase".
	Variant string
	// Arch is the Debian architecture (amd64, arm64, armhf).
	Arch string
	// Packages are added with --include.
	Packages []string
	// Mirror is the Debian archive URL. It is not part of Key: any mirror
	// serves the same suite.
	Mirror string
}

// DefaultStage0 is the stage0 the e2e tests use: bookworm minbase with
// build-essential and the decompressors for upstream tarballs, for amd64,
// the host tools the kernel build runs and the disk tools of boot steps.
// systemd-boot-efi is no longer read by any step (boot targets take
// systemd-boot and the stub from a recipe output, systemd:efi); it stays
// until the next change of this list, which rebuilds every cached step.
func DefaultStage0() Stage0Spec {
	return Stage0Spec{
		Suite:   "bookworm",
		Variant: "minbase",
		Arch:    "amd64",
		Packages: []string{"build-essential", "bzip2", "xz-utils", "file", "systemd-boot-efi",
			// The kernel's build: Kconfig's parser, bc for timeconst,
			// objtool (libelf), sign-file/extract-cert (libssl), depmod,
			// headers_install (rsync), compressed modules (zstd).
			"flex", "bison", "bc", "libelf-dev", "libssl-dev", "kmod", "rsync", "cpio", "zstd",
			// meson and cmake builds (systemd, json-c, ...): meson, ninja,
			// cmake, pkg-config (the cross environment points it at
			// /sysroot), and what systemd's build runs: gperf, Python's
			// jinja2, pyelftools for systemd-boot.
			"meson", "ninja-build", "cmake", "pkgconf", "gperf", "python3-jinja2", "python3-pyelftools",
			// Sources published as Git tag archives (tpm2-tss) carry no
			// configure script: autoreconf and the macros they use.
			"autoconf", "automake", "libtool", "autoconf-archive", "autopoint",
			// The openssl command: CA certificate hash links at build time.
			"openssl",
			// Disk images built in BuildKit steps: erofs root and system
			// extension file systems, the ESP's FAT (mtools).
			"erofs-utils", "mtools", "dosfstools"},
		Mirror: DebianMirror(),
	}
}

// DebianMirror returns the Debian archive this machine's apt uses (the
// first "URIs:" of /etc/apt/sources.list.d/debian.sources ending in
// /debian), $HADRON_DEBIAN_MIRROR when set, else http://deb.debian.org/debian.
func DebianMirror() string {
	if m := os.Getenv("HADRON_DEBIAN_MIRROR"); m != "" {
		return m
	}
	if f, err := os.Open("/etc/apt/sources.list.d/debian.sources"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) >= 2 && fields[0] == "URIs:" && strings.HasSuffix(strings.TrimSuffix(fields[1], "/"), "/debian") {
				return fields[1]
			}
		}
	}
	return "http://deb.debian.org/debian"
}

// Stage0Epoch is the SOURCE_DATE_EPOCH stage 0 is made at (2023-11-14).
// With it mmdebstrap clamps every timestamp and drops its logs and
// caches, and the host's resolv.conf and hostname are replaced, so the
// same suite state gives the same tarball, hence the same image digest
// and the same cache keys, on every machine.
const Stage0Epoch int64 = 1700000000

// Key identifies the rootfs a spec produces: a digest of suite, variant,
// architecture and the sorted package list.
func (s Stage0Spec) Key() string {
	pkgs := slices.Clone(s.Packages)
	slices.Sort(pkgs)
	h := sha256.Sum256([]byte(strings.Join([]string{
		"mmdebstrap", s.Suite, s.Variant, s.Arch, strings.Join(slices.Compact(pkgs), ","),
		"reproducible", strconv.FormatInt(Stage0Epoch, 10),
	}, "\n")))
	return s.Suite + "-" + s.Arch + "-" + hex.EncodeToString(h[:])[:16]
}

// Platform is the OCI platform of the spec's architecture.
func (s Stage0Spec) Platform() (v1.Platform, error) {
	switch s.Arch {
	case "amd64", "arm64", "riscv64", "ppc64le", "s390x":
		return v1.Platform{OS: "linux", Architecture: s.Arch}, nil
	case "i386":
		return v1.Platform{OS: "linux", Architecture: "386"}, nil
	case "armhf":
		return v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}, nil
	case "armel":
		return v1.Platform{OS: "linux", Architecture: "arm", Variant: "v5"}, nil
	}
	return v1.Platform{}, fmt.Errorf("stage0: unknown Debian architecture %q", s.Arch)
}

// Stage0 returns a digest-pinned reference (<reg>/hadron/stage0@sha256:…)
// to the default stage0 image pushed to the registry reg, building and
// caching the rootfs tarball on first use (about half a minute; needs root
// and mmdebstrap). $HADRON_STAGE0, when set, is returned instead.
func Stage0(t testing.TB, reg string) string {
	t.Helper()
	Require(t)
	if ref := os.Getenv(EnvStage0); ref != "" {
		return ref
	}
	spec := DefaultStage0()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	key := spec.Key() + "@" + reg
	if ref, ok := shared.stage0[key]; ok {
		return ref
	}
	cache, err := CacheDir()
	if err != nil {
		t.Fatalf("harness: stage0: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	start := time.Now()
	rootfs, err := BuildStage0(ctx, spec, cache)
	if err != nil {
		t.Fatalf("harness: stage0: %v", err)
	}
	built := time.Since(start)
	ref, err := PushStage0(ctx, spec, rootfs, reg)
	if err != nil {
		t.Fatalf("harness: stage0: %v", err)
	}
	t.Logf("harness: stage0 %s (rootfs ready after %s, pushed after %s)", ref,
		built.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	if shared.stage0 == nil {
		shared.stage0 = map[string]string{}
	}
	shared.stage0[key] = ref
	return ref
}

// BuildStage0 returns the gzip-compressed rootfs tarball for spec under
// <cache>/stage0/<key>.tar.gz, running mmdebstrap when it is not there yet.
// Concurrent callers (other test binaries) wait for one build.
func BuildStage0(ctx context.Context, spec Stage0Spec, cache string) (string, error) {
	dir := filepath.Join(cache, "stage0")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("creating %s: %w", dir, err)
	}
	out := filepath.Join(dir, spec.Key()+".tar.gz")
	unlock, err := flock(out + ".lock")
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	if _, err := exec.LookPath("mmdebstrap"); err != nil {
		return "", fmt.Errorf("mmdebstrap is not installed (apt-get install mmdebstrap), or set %s to a prebuilt stage0 image", EnvStage0)
	}
	raw := filepath.Join(dir, spec.Key()+".tmp.tar")
	defer os.Remove(raw)
	args := []string{
		"--variant=" + spec.Variant,
		"--architectures=" + spec.Arch,
		"--include=" + strings.Join(spec.Packages, ","),
		// Copied from the host by mmdebstrap; they would make the tarball
		// depend on the machine that made it. Fixed contents, not removed:
		// build steps keep the files BuildKit mounts over.
		`--customize-hook=: > "$1/etc/resolv.conf"; echo stage0 > "$1/etc/hostname"`,
		spec.Suite, raw, spec.Mirror,
	}
	cmd := exec.CommandContext(ctx, "mmdebstrap", args...)
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH="+strconv.FormatInt(Stage0Epoch, 10))
	if output, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("mmdebstrap %s: %w\n%s", strings.Join(args, " "), err, Tail(string(output), 20))
	}
	if err := gzipFile(raw, out); err != nil {
		return "", err
	}
	return out, nil
}

// gzipFile compresses src into dst, atomically.
func gzipFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	zw, err := gzip.NewWriterLevel(f, gzip.BestSpeed)
	if err != nil {
		f.Close()
		return err
	}
	if _, err := io.Copy(zw, in); err != nil {
		f.Close()
		return fmt.Errorf("compressing %s: %w", src, err)
	}
	if err := zw.Close(); err != nil {
		f.Close()
		return fmt.Errorf("compressing %s: %w", src, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

// PushStage0 pushes the rootfs tarball as a one-layer image for spec's
// platform to reg/hadron/stage0 (tagged with the spec's key) and returns
// the digest-pinned reference.
func PushStage0(ctx context.Context, spec Stage0Spec, rootfs, reg string) (string, error) {
	platform, err := spec.Platform()
	if err != nil {
		return "", err
	}
	layer, err := layerFromFile(rootfs)
	if err != nil {
		return "", err
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
	if err != nil {
		return "", fmt.Errorf("assembling stage0 image: %w", err)
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return "", fmt.Errorf("assembling stage0 image: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = platform.OS, platform.Architecture, platform.Variant
	cf.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	cf.Config.Cmd = []string{"/bin/bash"}
	cf.Config.Labels = map[string]string{"org.hadron.stage0": spec.Key()}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return "", fmt.Errorf("assembling stage0 image: %w", err)
	}
	tag, err := name.NewTag(reg+"/hadron/stage0:"+spec.Key(), name.Insecure)
	if err != nil {
		return "", fmt.Errorf("stage0 reference: %w", err)
	}
	if err := remote.Write(tag, img, remote.WithContext(ctx)); err != nil {
		return "", fmt.Errorf("pushing stage0 to %s: %w", tag, err)
	}
	digest, err := img.Digest()
	if err != nil {
		return "", fmt.Errorf("stage0 digest: %w", err)
	}
	return tag.Context().Digest(digest.String()).String(), nil
}

// flock takes an exclusive lock on path and returns its release.
func flock(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return func() { _ = f.Close() }, nil
}

// Tail returns the last n lines of s, for error messages that quote a
// command's output.
func Tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
