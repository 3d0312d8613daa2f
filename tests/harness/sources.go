package harness

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Source is an upstream release tarball the mirror serves. Debian's .orig
// tarball of the package is byte-identical to the upstream release, so the
// file comes from Debian's archive (reachable here) under Debian's name and
// is served under the upstream name.
type Source struct {
	// File is the upstream file name, e.g. musl-1.2.3.tar.gz.
	File string
	// URLPrefixes are the upstream directories the file is published in,
	// each ending in "/"; the mirror map rewrites them.
	URLPrefixes []string
	// DebianSource is the Debian source package that carries the tarball.
	DebianSource string
	// DebianOrig is the .orig tarball's name in Debian's archive.
	DebianOrig string
	// DebianVersion is the Debian version of DebianSource that carries
	// DebianOrig ("1.2.3-1", with the epoch where Debian has one), so that
	// `apt-get source` fetches that version and no newer one.
	DebianVersion string
	// SHA256 is the tarball's digest (hex), checked before it is served.
	SHA256 string
	// URL, when set, is where the file is downloaded from (a file of a
	// declared substitute, named by its full Debian archive URL) instead
	// of its pool path; File is then the URL's base name and URLPrefixes
	// its folder. Debian's archive is reached through DebianMirror.
	URL string
}

// Sources are the tarballs SourceMirror serves. The digests match the
// upstream projects' published checksums.
var Sources = []Source{
	{
		// 1.2.6: systemd (-Dlibc=musl) requires it.
		File:          "musl-1.2.6.tar.gz",
		URLPrefixes:   []string{"https://musl.libc.org/releases/"},
		DebianSource:  "musl",
		DebianOrig:    "musl_1.2.6.orig.tar.gz",
		DebianVersion: "1.2.6-1", // forky
		SHA256:        "d585fd3b613c66151fc3249e8ed44f77020cb5e6c1e635a616d3f9f82460512a",
	},
	{
		File: "xz-5.4.1.tar.xz",
		URLPrefixes: []string{
			"https://tukaani.org/xz/",
			"https://github.com/tukaani-project/xz/releases/download/v5.4.1/",
		},
		DebianSource:  "xz-utils",
		DebianOrig:    "xz-utils_5.4.1.orig.tar.xz",
		DebianVersion: "5.4.1-1+deb12u1", // bookworm
		SHA256:        "5d9827aa1875b21c288f78864bb26d2650b436ea8d2cad364e4921eb6266a5a5",
	},
	{
		File:          "busybox-1.35.0.tar.bz2",
		URLPrefixes:   []string{"https://busybox.net/downloads/"},
		DebianSource:  "busybox",
		DebianOrig:    "busybox_1.35.0.orig.tar.bz2",
		DebianVersion: "1:1.35.0-4+deb12u1", // bookworm
		SHA256:        "faeeb244c35a348a334f4a59e44626ee870fb07b6884d68c10ae8bc19f83a694",
	},
	// The base system's libraries (images/base, issue 9), byte-identical.
	{
		File:          "libcap-2.78.tar.xz",
		URLPrefixes:   []string{"https://www.kernel.org/pub/linux/libs/security/linux-privs/libcap2/"},
		DebianSource:  "libcap2",
		DebianOrig:    "libcap2_2.78.orig.tar.xz",
		DebianVersion: "1:2.78-1", // forky
		SHA256:        "0d621e562fd932ccf67b9660fb018e468a683d7b827541df27813228c996bb11",
	},
	{
		File:          "util-linux-2.42.4.tar.xz",
		URLPrefixes:   []string{"https://www.kernel.org/pub/linux/utils/util-linux/v2.42/"},
		DebianSource:  "util-linux",
		DebianOrig:    "util-linux_2.42.4.orig.tar.xz",
		DebianVersion: "2.42.4-1", // forky
		SHA256:        "fbd62a100ab7bb8746ba0661255c3c48185b1e9021507c624da01fbc696330ec",
	},
	{
		// Debian's orig is GitHub's tag archive, byte for byte.
		File:          "v262.tar.gz",
		URLPrefixes:   []string{"https://github.com/systemd/systemd/archive/refs/tags/"},
		DebianSource:  "systemd",
		DebianOrig:    "systemd_262.orig.tar.gz",
		DebianVersion: "262-1", // forky
		SHA256:        "6aa77506c0644aa67f940a48e3d3a7368601f787e4f249139516d353f107bcab",
	},
	// systemd's optional libraries (seccomp filters, ACLs, LZ4), byte-identical.
	{
		File:          "attr-2.5.2.tar.xz",
		URLPrefixes:   []string{"https://download.savannah.nongnu.org/releases/attr/"},
		DebianSource:  "attr",
		DebianOrig:    "attr_2.5.2.orig.tar.xz",
		DebianVersion: "1:2.5.2-3", // trixie
		SHA256:        "f2e97b0ab7ce293681ab701915766190d607a1dba7fae8a718138150b700a70b",
	},
	{
		File:          "acl-2.3.2.tar.xz",
		URLPrefixes:   []string{"https://download.savannah.nongnu.org/releases/acl/"},
		DebianSource:  "acl",
		DebianOrig:    "acl_2.3.2.orig.tar.xz",
		DebianVersion: "2.3.2-2", // trixie
		SHA256:        "97203a72cae99ab89a067fe2210c1cbf052bc492b479eca7d226d9830883b0bd",
	},
	{
		File:          "libseccomp-2.6.0.tar.gz",
		URLPrefixes:   []string{"https://github.com/seccomp/libseccomp/releases/download/v2.6.0/"},
		DebianSource:  "libseccomp",
		DebianOrig:    "libseccomp_2.6.0.orig.tar.gz",
		DebianVersion: "2.6.0-2", // trixie
		SHA256:        "83b6085232d1588c379dc9b9cae47bb37407cf262e6e74993c61ba72d2a784dc",
	},
	{
		// Debian's orig is GitHub's tag archive, byte for byte.
		File:          "v1.10.0.tar.gz",
		URLPrefixes:   []string{"https://github.com/lz4/lz4/archive/refs/tags/"},
		DebianSource:  "lz4",
		DebianOrig:    "lz4_1.10.0.orig.tar.gz",
		DebianVersion: "1.10.0-4", // trixie
		SHA256:        "537512904744b35e232912055ccf8ec66d768639ff3abe5788d90d792ec5f48b",
	},
	// The system bus: dbus and its XML parser.
	{
		// Debian's orig is GitHub's tag archive, byte for byte.
		File:          "R_2_5_0.tar.gz",
		URLPrefixes:   []string{"https://github.com/libexpat/libexpat/archive/refs/tags/"},
		DebianSource:  "expat",
		DebianOrig:    "expat_2.5.0.orig.tar.gz",
		DebianVersion: "2.5.0-1+deb12u2", // bookworm
		SHA256:        "ab00ee05c7067fd10a35c5d2a4922ebba746ddd50ff83b79c828da17bbdf1757",
	},
	{
		File:          "dbus-1.16.2.tar.xz",
		URLPrefixes:   []string{"https://dbus.freedesktop.org/releases/dbus/"},
		DebianSource:  "dbus",
		DebianOrig:    "dbus_1.16.2.orig.tar.xz",
		DebianVersion: "1.16.2-2", // trixie
		SHA256:        "0ba2a1a4b16afe7bceb2c07e9ce99a8c2c3508e5dec290dbb643384bd6beb7e2",
	},
	{
		File:          "openssl-3.5.7.tar.gz",
		URLPrefixes:   []string{"https://github.com/openssl/openssl/releases/download/openssl-3.5.7/"},
		DebianSource:  "openssl",
		DebianOrig:    "openssl_3.5.7.orig.tar.gz",
		DebianVersion: "3.5.7-1~deb13u2", // trixie
		SHA256:        "a8c0d28a529ca480f9f36cf5792e2cd21984552a3c8e4aa11a24aa31aeac98e8",
	},
	{
		File:          "e2fsprogs-1.47.2.tar.gz",
		URLPrefixes:   []string{"https://downloads.sourceforge.net/project/e2fsprogs/e2fsprogs/v1.47.2/"},
		DebianSource:  "e2fsprogs",
		DebianOrig:    "e2fsprogs_1.47.2.orig.tar.gz",
		DebianVersion: "1.47.2-3", // trixie
		SHA256:        "6dcd67ff9d8b13274ba3f088e4318be4f5b71412cd863524423fc49d39a6371f",
	},
	{
		File:          "iproute2-6.1.0.tar.xz",
		URLPrefixes:   []string{"https://www.kernel.org/pub/linux/utils/net/iproute2/"},
		DebianSource:  "iproute2",
		DebianOrig:    "iproute2_6.1.0.orig.tar.xz",
		DebianVersion: "6.1.0-3", // bookworm
		SHA256:        "5ce12a0fec6b212725ef218735941b2dab76244db7e72646a76021b0537b43ab",
	},
	{
		// GRUB 2.14: the boot loader of standard-boot images.
		File:          "grub-2.14.tar.xz",
		URLPrefixes:   []string{"https://ftp.gnu.org/gnu/grub/"},
		DebianSource:  "grub2",
		DebianOrig:    "grub2_2.14.orig.tar.xz",
		DebianVersion: "2.14-4", // forky
		SHA256:        "bc8d3c73535b8838d8c8e2654d73edc4e6ae8c8acdb45d5df5dc9a1547446d43",
	},
	{
		// dracut-ng 112: the initramfs generator of standard-boot images.
		// Debian's orig is the release tarball, byte for byte.
		File:          "dracut-112.tar.gz",
		URLPrefixes:   []string{"https://github.com/dracut-ng/dracut-ng/archive/112/"},
		DebianSource:  "dracut",
		DebianOrig:    "dracut_112.orig.tar.gz",
		DebianVersion: "112-7", // forky
		SHA256:        "839d21eb4bd27bb0ee40d74c9da46df088c2e1425fcd8c3ea62b7e3a3dd28a91",
	},
	// Debian is ca-certificates' upstream: its release tarball is in the pool.
	debianFile("c/ca-certificates/", "ca-certificates", "ca-certificates_20250419.tar.xz", "20250419", // trixie
		"33b44ef78653ecd3f0f2f13e5bba6be466be2e7da72182f737912b81798ba5d2"),
	// The files of vendor-hashes/substitutes/{zlib-1.3.1,zstd-1.5.7,kmod-34.2,
	// json-c-0.16,lvm2-2.03.16,cryptsetup-2.7.5,tpm2-tss-4.1.3}-debian.yaml.
	debianFile("z/zlib/", "zlib", "zlib_1.3.dfsg+really1.3.1.orig.tar.gz", "1:1.3.dfsg+really1.3.1-1", // trixie
		"60dd315c07f616887caa029408308a018ace66e3d142726a97db164b3b8f69fb"),
	debianFile("libz/libzstd/", "libzstd", "libzstd_1.5.7+dfsg.orig.tar.xz", "1.5.7+dfsg-1", // trixie
		"0c092ef267edce57ba7f3f2645c861f72eaf5e76273c6c3632869423464b90a5"),
	debianFile("k/kmod/", "kmod", "kmod_34.2.orig.tar.xz", "34.2-2", // trixie
		"012d16e2099115486d8aa9f2c2a23d058d3d0cad83113a60512647d25d3869e8"),
	debianFile("j/json-c/", "json-c", "json-c_0.16.orig.tar.gz", "0.16-2", // bookworm
		"3ecaeedffd99a60b1262819f9e60d7d983844073abc74e495cb822b251904185"),
	debianFile("l/lvm2/", "lvm2", "lvm2_2.03.16.orig.tar.xz", "2.03.16-2", // bookworm
		"9eee14d34f7962ade7d4624114ce7b6bd3d868d210afb72b3769f8c6a082646e"),
	debianFile("c/cryptsetup/", "cryptsetup", "cryptsetup_2.7.5.orig.tar.gz", "2:2.7.5-2", // trixie
		"66f82757456411353216def2e93ee6f82e1dc5c8b583cb9b1c84ecb918b60980"),
	debianFile("t/tpm2-tss/", "tpm2-tss", "tpm2-tss_4.1.3.orig.tar.gz", "4.1.3-1.2", // trixie
		"8a389bda64690910e7af7deaf64703a3faed416dc538c9c3e4f893f24893524d"),
	// gcc's in-tree libraries with byte-identical Debian origs.
	{
		File:          "mpfr-4.2.2.tar.xz",
		URLPrefixes:   []string{"https://ftp.gnu.org/gnu/mpfr/"},
		DebianSource:  "mpfr4",
		DebianOrig:    "mpfr4_4.2.2.orig.tar.xz",
		DebianVersion: "4.2.2-1", // trixie
		SHA256:        "b67ba0383ef7e8a8563734e2e889ef5ec3c3b898a01d00fa0a6869ad81c6ce01",
	},
	{
		File:          "mpc-1.3.1.tar.gz",
		URLPrefixes:   []string{"https://ftp.gnu.org/gnu/mpc/"},
		DebianSource:  "mpclib3",
		DebianOrig:    "mpclib3_1.3.1.orig.tar.gz",
		DebianVersion: "1.3.1-1", // bookworm
		SHA256:        "ab642492f5cf882b74aa0cb730cd410a81edcdbec895183ce930e706c1c759b8",
	},
	// The files of vendor-hashes/substitutes/{gcc-14.2.0,binutils-2.44,gmp-6.3.0}-debian.yaml.
	{
		File:          "gcc-14_14.2.0.orig.tar.gz",
		URLPrefixes:   []string{debianPool + "g/gcc-14/"},
		DebianSource:  "gcc-14",
		DebianOrig:    "gcc-14_14.2.0.orig.tar.gz",
		DebianVersion: "14.2.0-19", // trixie
		SHA256:        "e162a5ef3f0077ecae598c6556908d2ab80841532df3398072a96a6df6e6aa29",
		URL:           debianPool + "g/gcc-14/gcc-14_14.2.0.orig.tar.gz",
	},
	{
		File:          "binutils_2.44.orig.tar.xz",
		URLPrefixes:   []string{debianPool + "b/binutils/"},
		DebianSource:  "binutils",
		DebianOrig:    "binutils_2.44.orig.tar.xz",
		DebianVersion: "2.44-3", // trixie
		SHA256:        "c41a0272424f41bb01bf828e7ffef1b2d59d1788064fd6b5f1d971717e9320b8",
		URL:           debianPool + "b/binutils/binutils_2.44.orig.tar.xz",
	},
	{
		File:          "gmp_6.3.0+dfsg.orig.tar.xz",
		URLPrefixes:   []string{debianPool + "g/gmp/"},
		DebianSource:  "gmp",
		DebianOrig:    "gmp_6.3.0+dfsg.orig.tar.xz",
		DebianVersion: "2:6.3.0+dfsg-3", // trixie
		SHA256:        "bd2966e6d277f79328e894a5a9f3ba3fbf2ed2be81def5f48623e30c23fb1572",
		URL:           debianPool + "g/gmp/gmp_6.3.0+dfsg.orig.tar.xz",
	},
	// The files of vendor-hashes/substitutes/linux-7.2.8-debian.yaml.
	{
		File:          "linux_7.2.8.orig.tar.xz",
		URLPrefixes:   []string{debianLinuxPool},
		DebianSource:  "linux",
		DebianOrig:    "linux_7.2.8.orig.tar.xz",
		DebianVersion: "7.2.8-1", // sid
		SHA256:        "08f058f9de8d487e32a5c9e2855ee7e35bee1a047e77d37ba797d734c0cc07b3",
		URL:           debianLinuxPool + "linux_7.2.8.orig.tar.xz",
	},
	{
		File:          "linux_7.2.8-1.debian.tar.xz",
		URLPrefixes:   []string{debianLinuxPool},
		DebianSource:  "linux",
		DebianOrig:    "linux_7.2.8-1.debian.tar.xz",
		DebianVersion: "7.2.8-1", // sid
		SHA256:        "0882144238490cd844202ea9a91bb6cc563103b4a11cc5fe488b1415b9be1354",
		URL:           debianLinuxPool + "linux_7.2.8-1.debian.tar.xz",
	},
}

// debianFile is a Sources entry for a file a declared substitute fetches
// from Debian's pool (dir is the pool folder under main/, with its slash):
// the mirror serves it under its own URL.
func debianFile(dir, source, file, version, sha256 string) Source {
	return Source{
		File:          file,
		URLPrefixes:   []string{debianPool + dir},
		DebianSource:  source,
		DebianOrig:    file,
		DebianVersion: version,
		SHA256:        sha256,
		URL:           debianPool + dir + file,
	}
}

const (
	debianPool      = "http://deb.debian.org/debian/pool/main/"
	debianLinuxPool = debianPool + "l/linux/"
)

// Substitutes are the declared substitutes (vendor-hashes/substitutes)
// the e2e builds use: upstream tarballs that are not byte-identical to
// anything this machine can fetch. Their files are in Sources.
var Substitutes = []string{"linux-7.2.8-debian", "gcc-14.2.0-debian", "binutils-2.44-debian", "gmp-6.3.0-debian",
	"zlib-1.3.1-debian", "zstd-1.5.7-debian", "kmod-34.2-debian", "json-c-0.16-debian", "lvm2-2.03.16-debian", "cryptsetup-2.7.5-debian",
	"tpm2-tss-4.1.3-debian"}

// SourceMirror serves Sources on a loopback HTTP server for the whole test
// binary and returns the mirror map: upstream URL prefix → mirror URL
// prefix (http://127.0.0.1:PORT/...), both ending in "/". Missing tarballs
// are fetched from Debian's archive first (see FetchSources); a tarball
// whose digest is not the pinned one fails the test.
func SourceMirror(t testing.TB) map[string]string {
	t.Helper()
	Require(t)
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.mirror == nil {
		cache, err := CacheDir()
		if err != nil {
			t.Fatalf("harness: source mirror: %v", err)
		}
		dir := filepath.Join(cache, "sources")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		if err := FetchSources(ctx, dir, Sources); err != nil {
			t.Fatalf("harness: source mirror: %v", err)
		}
		m, err := newMirrorServer(dir, Sources)
		if err != nil {
			t.Fatalf("harness: source mirror: %v", err)
		}
		shared.mirror = m
	}
	return shared.mirror.Mirrors()
}

// FetchSources makes sure dir holds every source's Debian .orig tarball
// with the pinned digest. A missing file is fetched by its exact name from
// Debian's pool (PoolURL, through DebianMirror); when the pool cannot be
// reached it falls back to `apt-get source --download-only NAME=VERSION`
// (AptSourceArg), which needs the deb-src entry that
// tests/harness/debian-sources.sh adds. Neither can pick another release:
// both name the exact file or version, and every file's digest is checked
// before use.
func FetchSources(ctx context.Context, dir string, srcs []Source) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	mirror := DebianMirror()
	for _, s := range srcs {
		dest := filepath.Join(dir, s.DebianOrig)
		if _, err := os.Stat(dest); err == nil {
			continue
		}
		u, err := PoolURL(mirror, s)
		if err != nil {
			return err
		}
		poolErr := download(ctx, u, s.SHA256, dest)
		if poolErr == nil {
			continue
		}
		var bad *DigestError
		if errors.As(poolErr, &bad) {
			return fmt.Errorf("source %s: %w", s.File, poolErr)
		}
		if err := aptSource(ctx, dir, s); err != nil {
			return fmt.Errorf("source %s: %v; falling back to apt-get source: %w", s.File, poolErr, err)
		}
	}
	for _, s := range srcs {
		if err := checkSHA256(filepath.Join(dir, s.DebianOrig), s.SHA256); err != nil {
			return fmt.Errorf("source %s: %w (delete the file to download it again)", s.File, err)
		}
	}
	return nil
}

// PoolURL is where s's .orig tarball lies in the Debian archive at mirror:
// s.URL when set (moved to mirror), else
// MIRROR/pool/main/<prefix>/<source>/<orig> with Debian's pool prefix (the
// first letter, or "lib" and the fourth for lib* packages).
func PoolURL(mirror string, s Source) (string, error) {
	mirror = strings.TrimSuffix(mirror, "/")
	if s.URL != "" {
		if rest, ok := strings.CutPrefix(s.URL, "http://deb.debian.org/debian/"); ok {
			return mirror + "/" + rest, nil
		}
		return s.URL, nil
	}
	if s.DebianSource == "" || s.DebianOrig == "" {
		return "", fmt.Errorf("source %s: no Debian source package or .orig file name pinned", s.File)
	}
	prefix := s.DebianSource[:1]
	if strings.HasPrefix(s.DebianSource, "lib") && len(s.DebianSource) > 3 {
		prefix = s.DebianSource[:4]
	}
	return fmt.Sprintf("%s/pool/main/%s/%s/%s", mirror, prefix, s.DebianSource, s.DebianOrig), nil
}

// AptSourceArg is the `apt-get source` argument that asks for exactly the
// pinned Debian version of s ("musl=1.2.3-1"), never the newest one the
// machine's apt sources list.
func AptSourceArg(s Source) (string, error) {
	if s.DebianVersion == "" {
		return "", fmt.Errorf("source %s: no Debian version pinned; apt-get source would pick the newest %s of any listed suite", s.File, s.DebianSource)
	}
	return s.DebianSource + "=" + s.DebianVersion, nil
}

// UpstreamVersion is the upstream part of a Debian version: without the
// epoch ("1:") and the Debian revision ("-4+deb12u1").
func UpstreamVersion(debianVersion string) string {
	v := debianVersion
	if _, rest, ok := strings.Cut(v, ":"); ok {
		v = rest
	}
	if i := strings.LastIndexByte(v, '-'); i > 0 {
		v = v[:i]
	}
	return v
}

// aptSource downloads the pinned version of s's Debian source package into
// dir with apt-get.
func aptSource(ctx context.Context, dir string, s Source) error {
	arg, err := AptSourceArg(s)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "apt-get", "source", "--download-only", "-q", arg)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get source %s: %w\n%s\n"+
			"(run tests/harness/debian-sources.sh as root to add the deb-src entry, or tests/harness/prepare.sh)",
			arg, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// download fetches u to dest, checking the digest before the file appears
// under its final name.
func download(ctx context.Context, u, sha256Hex, dest string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("downloading %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("downloading %s: %s", u, resp.Status)
	}
	tmp := dest + ".part"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("downloading %s: %w", u, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := checkSHA256(tmp, sha256Hex); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("downloading %s: %w", u, err)
	}
	return os.Rename(tmp, dest)
}

// DigestError is a file whose SHA-256 is not the pinned one.
type DigestError struct {
	File             string
	Expected, Actual string
}

func (e *DigestError) Error() string {
	return fmt.Sprintf("%s: sha256 mismatch: expected %s (pinned in tests/harness/sources.go), actual %s",
		filepath.Base(e.File), e.Expected, e.Actual)
}

// checkSHA256 fails with a *DigestError unless the file at p has the given
// hex digest.
func checkSHA256(p, want string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("hashing %s: %w", p, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return &DigestError{File: p, Expected: want, Actual: got}
	}
	return nil
}

// mirrorServer serves source tarballs on 127.0.0.1 under
// /<source name>/<upstream file name>.
type mirrorServer struct {
	ln      net.Listener
	srv     *http.Server
	mirrors map[string]string
}

// newMirrorServer serves srcs from dir (holding their Debian .orig names).
func newMirrorServer(dir string, srcs []Source) (*mirrorServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening for the source mirror: %w", err)
	}
	base := "http://" + ln.Addr().String()
	mux := http.NewServeMux()
	mirrors := map[string]string{}
	for _, s := range srcs {
		p := filepath.Join(dir, s.DebianOrig)
		serve := func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/octet-stream")
			http.ServeFile(w, r, p)
		}
		for i, prefix := range s.URLPrefixes {
			// Each upstream location gets its own mirror directory so the
			// map stays one-to-one.
			sub := sourceDir(s) + "/"
			if s.URL != "" {
				// Every file of one archive folder under one mirror folder.
				sub = "pool/" + s.DebianSource + "/"
			}
			if i > 0 {
				sub += fmt.Sprintf("alt%d/", i)
			}
			mux.HandleFunc("GET /"+sub+s.File, serve)
			mirrors[prefix] = base + "/" + sub
		}
	}
	m := &mirrorServer{ln: ln, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 30 * time.Second}, mirrors: mirrors}
	go func() {
		if err := m.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "harness: source mirror stopped:", err)
		}
	}()
	return m, nil
}

// sourceDir is the mirror directory of a source: its upstream name without
// version, e.g. "musl" for musl-1.2.3.tar.gz.
func sourceDir(s Source) string {
	name := path.Base(s.File)
	if i := strings.LastIndexByte(strings.Split(name, ".tar")[0], '-'); i > 0 {
		return name[:i]
	}
	return s.DebianSource
}

// Mirrors returns a copy of the prefix map.
func (m *mirrorServer) Mirrors() map[string]string {
	out := make(map[string]string, len(m.mirrors))
	for k, v := range m.mirrors {
		out[k] = v
	}
	return out
}

// Close stops the server.
func (m *mirrorServer) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := m.srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("stopping source mirror: %w", err)
	}
	return nil
}
