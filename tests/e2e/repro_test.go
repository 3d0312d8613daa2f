package e2e

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hadron-linux/hadron/bootchain/secureboot"
	"github.com/hadron-linux/hadron/internal/ocilayout"
	"github.com/hadron-linux/hadron/tests/harness"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// exitNotReproducible is the exit status of `hadron repro-check` when the
// two builds differ (cmd/hadron/exit.go).
const exitNotReproducible = 3

// reproConfig writes the hadron.yaml a repro-check of the harness's
// builds reads: stage 0, epoch, mirrors (and extra ones) and substitutes
// as e.request sets them, and the harness's buildkitd for the fresh
// engines.
func reproConfig(t *testing.T, e env, substitutes bool, extraMirrors ...map[string]string) string {
	t.Helper()
	cfg, err := harness.EngineConfig()
	require.NoError(t, err)
	require.NotEmpty(t, cfg.Binary, "out/bin/buildkitd is missing: run `make tools`")
	var b strings.Builder
	b.WriteString("stage0: " + e.stage0 + "\nsource-date-epoch: " + strconv.FormatInt(epoch, 10) + "\n")
	if substitutes {
		b.WriteString("substitutes: [" + strings.Join(harness.Substitutes, ", ") + "]\n")
	}
	b.WriteString("mirrors:\n")
	mirrors := maps.Clone(e.mirrors)
	for _, m := range extraMirrors {
		maps.Copy(mirrors, m)
	}
	for k, v := range mirrors {
		b.WriteString("  \"" + k + "\": \"" + v + "\"\n")
	}
	b.WriteString("engine:\n  binary: " + cfg.Binary + "\n  insecure-registries: [" + e.registry + "]\n")
	p := filepath.Join(t.TempDir(), "hadron.yaml")
	require.NoError(t, os.WriteFile(p, []byte(b.String()), 0o644))
	return p
}

// reproCheck runs `hadron repro-check` (the binary the ELF gates run) on
// the tree at dir and returns its stdout, stderr, exit status and wall
// time.
func reproCheck(t *testing.T, e env, cfg, dir string, args ...string) (string, string, int, time.Duration) {
	t.Helper()
	bin := filepath.Join(e.tools, "hadron")
	cmd := exec.Command(bin, append([]string{"--config", cfg, "-C", dir, "repro-check", "--progress", "plain"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if os.Getenv("HADRON_E2E_VERBOSE") == "1" {
		cmd.Stderr = &teeWriter{&stderr}
	}
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return stdout.String(), stderr.String(), code, took
}

// teeWriter keeps what it writes and shows it on stderr.
type teeWriter struct{ b *bytes.Buffer }

func (w *teeWriter) Write(p []byte) (int, error) {
	os.Stderr.Write(p)
	return w.b.Write(p)
}

// TestReproCheckTinyTree is the check CI runs on every change: the tiny
// tree (no toolchain: its steps run on stage 0 alone) is built twice from
// clean state — each build on a fresh buildkitd with an empty state dir
// of its own, from its own copy of the tree — and both OCI outputs are
// identical down to the image digest: index, manifest, config (its
// history at the epoch, one entry per package) and every package layer.
func TestReproCheckTinyTree(t *testing.T) {
	e := setup(t)
	cfg := reproConfig(t, e, false)
	work := filepath.Join(t.TempDir(), "work")
	stdout, stderr, code, took := reproCheck(t, e, cfg, tinyTree(t), "tiny", "--all", "--keep", "--work-dir", work)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	t.Logf("repro-check tiny (scope full, two fresh engines): %s\n%s", took.Round(time.Millisecond), stdout)
	assert.Contains(t, stdout, "reproducible: all 6 compared artifacts are identical")
	for _, want := range []string{
		"identical  index index.json",
		"identical  manifest linux/amd64",
		"identical  config linux/amd64",
		"identical  layer linux/amd64 1/3 (package tiny-a 1)",
		"identical  layer linux/amd64 2/3 (package tiny-b 1)",
		"identical  layer linux/amd64 3/3 (finalize tiny)",
	} {
		assert.Contains(t, stdout, want)
	}
	assert.Equal(t, 2, strings.Count(stderr, "on a fresh engine"), "each build on an engine of its own")

	// The image config both builds wrote: every time is the epoch, and
	// the history names each layer.
	l, err := ocilayout.Open(filepath.Join(work, "a", "out"))
	require.NoError(t, err)
	imgs, err := l.Images(context.Background())
	require.NoError(t, err)
	require.Len(t, imgs, 1)
	var names []string
	for _, ly := range imgs[0].Layers {
		names = append(names, ly.CreatedBy)
	}
	assert.Equal(t, []string{"package tiny-a 1", "package tiny-b 1", "finalize tiny"}, names)
	assert.NotContains(t, string(imgs[0].ConfigJSON), time.Now().UTC().Format("2006-01-02"), "no wall-clock date in the config")
	assert.Contains(t, string(imgs[0].ConfigJSON), `"created":"`+time.Unix(epoch, 0).UTC().Format(time.RFC3339)+`"`, "the epoch the builds ran at")
	assert.NoDirExists(t, filepath.Join(work, "a", "engine", "state"), "a fresh engine's state goes with it")
}

// TestReproCheckNamesTheNonReproducibleFile: a recipe that writes the
// build time and a random uuid into a file makes the check fail with exit
// status 3, naming the package, the file and both versions of it; the
// reproducible packages are not reported. Scope packages: both builds on
// the shared engine, every step re-run.
func TestReproCheckNamesTheNonReproducibleFile(t *testing.T) {
	e := setup(t)
	dir := tinyTree(t)
	writeFile(t, dir, "recipes/tiny-date/recipe.yaml", `name: tiny-date
version: "1"
license: MIT
build:
  style: custom
  install: |
    mkdir -p /out/usr/share/tiny
    { date; cat /proc/sys/kernel/random/uuid; } >/out/usr/share/tiny/stamp
    echo constant >/out/usr/share/tiny/constant
`)
	writeFile(t, dir, "images/tinydate.yaml", "name: tinydate\npackages: [tiny-b, tiny-date]\narches: [amd64]\n")
	cfg := reproConfig(t, e, false)
	work := filepath.Join(t.TempDir(), "work")
	stdout, stderr, code, took := reproCheck(t, e, cfg, dir, "tinydate", "--scope", "packages", "--addr", e.addr, "--work-dir", work)
	t.Logf("repro-check tinydate (scope packages, shared engine): %s, exit %d\n%s", took.Round(time.Millisecond), code, stdout)
	require.Equal(t, exitNotReproducible, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	for _, want := range []string{
		"DIFFERS    layer linux/amd64 3/4 (package tiny-date 1)",
		"usr/share/tiny/stamp: content",
		"NOT REPRODUCIBLE",
	} {
		assert.Contains(t, stdout, want)
	}
	assert.NotContains(t, stdout, "usr/share/tiny/constant", "an identical file of the package is not reported")
	assert.NotContains(t, stdout, "package tiny-a", "identical packages are not reported")
	assert.NotContains(t, stdout, "package tiny-b", "identical packages are not reported")
	assert.Contains(t, stderr, "not reproducible: ")
	assert.Contains(t, stderr, work, "the outputs are kept for a look")
	assert.DirExists(t, filepath.Join(work, "b", "out", "blobs"))
}

// TestReproCheckSignedBoot: the boot artifacts of a trusted image — an
// ESP with systemd-boot and the UKI, both Authenticode-signed, the UKI
// with its signed PCR policy — built twice are identical file for file:
// signatures made with the same keys are the same bytes. The image is
// toolchain-less (the tiny tree, the boot-init fixture, Debian's kernel
// as a fixture recipe); scope packages, so the signing steps, which never
// come from the cache anyway, and everything else run twice.
func TestReproCheckSignedBoot(t *testing.T) {
	e := setup(t)
	dir := tinyTree(t)
	fixtures := writeBootFixtures(t, dir)
	writeFile(t, dir, "images/tboot.yaml", `name: tboot
packages: [tiny-b, boot-init]
boot: trusted
kernel: debian-kernel
efi: debian-efi
cmdline: "console=ttyS0 rdinit=/init"
arches: [amd64]
`)
	keys := filepath.Join(t.TempDir(), "keys")
	out, err := exec.Command(filepath.Join(e.tools, "hadron"), "keys", "generate", keys).CombinedOutput()
	require.NoError(t, err, "hadron keys generate: %s", out)
	cfg := reproConfig(t, e, false, serveFixtures(t, fixtures...))
	stdout, stderr, code, took := reproCheck(t, e, cfg, dir, "tboot/boot", "--scope", "packages", "--addr", e.addr, "--all",
		"--work-dir", filepath.Join(t.TempDir(), "work"),
		"--secret", "id=db.key,src="+secureboot.KeyFile(keys, secureboot.DBName),
		"--secret", "id=db.crt,src="+secureboot.CertFile(keys, secureboot.DBName),
		"--secret", "id=pcr.key,src="+secureboot.KeyFile(keys, secureboot.PCRKeyName))
	t.Logf("repro-check tboot/boot (scope packages): %s\n%s", took.Round(time.Millisecond), stdout)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	for _, want := range []string{
		"identical  file EFI/Linux/tboot.efi",
		"identical  file EFI/BOOT/BOOTX64.EFI",
		"identical  file loader/loader.conf",
		"identical  file EFI ",
	} {
		assert.Contains(t, stdout, want)
	}
}

// TestReproCheckImages is repro-check on the real images, full tier:
// images/mini from clean state (two fresh engines, so the cross toolchain
// is built twice too: hours on 2 cores), and images/base (systemd,
// util-linux, busybox) with every package rebuilt twice on the shared
// engine, the cross toolchain from its cache (the clean-state check of
// the toolchain is mini's). An image the tree does not hold is skipped,
// saying so. It replaces the earlier comparison of the layer digests of a
// cached and a --no-cache build of mini, which missed the image digest
// and the finalize layer's directory times.
func TestReproCheckImages(t *testing.T) {
	harness.RequireFull(t)
	e := setup(t)
	cfg := reproConfig(t, e, true)
	for _, tc := range []struct {
		image string
		args  []string
	}{
		{"mini", []string{"--scope", "full"}},
		{"base", []string{"--scope", "packages", "--addr", e.addr}},
	} {
		t.Run(tc.image, func(t *testing.T) {
			if _, err := os.Stat(filepath.Join(repoRoot(t), "images", tc.image+".yaml")); err != nil {
				t.Skipf("images/%s.yaml is not in this tree", tc.image)
			}
			args := append([]string{tc.image, "--work-dir", filepath.Join(t.TempDir(), "work")}, tc.args...)
			stdout, stderr, code, took := reproCheck(t, e, cfg, repoRoot(t), args...)
			t.Logf("repro-check %s (%s): %s\n%s", tc.image, strings.Join(tc.args, " "), took.Round(time.Second), stdout)
			require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			assert.Contains(t, stdout, "reproducible: all")
		})
	}
}
