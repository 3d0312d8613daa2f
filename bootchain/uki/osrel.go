package uki

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNoOSRelease is returned when Config.OSRelease is empty. The UAPI
// Group's UKI specification makes .osrel a required section: systemd-boot
// does not list a PE file without one as a boot entry and bootctl does not
// report it as a UKI.
var ErrNoOSRelease = errors.New("uki: no os-release (.osrel): systemd-boot and bootctl only treat a PE file with an .osrel section as a UKI")

// osReleaseNames and osReleaseVersions are the os-release fields that
// systemd-boot reads for a UKI's entry title and version; it skips a UKI
// whose .osrel has none of either.
var (
	osReleaseNames    = []string{"PRETTY_NAME", "IMAGE_ID", "NAME", "ID"}
	osReleaseVersions = []string{"IMAGE_VERSION", "VERSION", "VERSION_ID", "BUILD_ID"}
)

// checkOSRelease fails unless data is an os-release file (KEY=VALUE lines,
// comments and blank lines) that names the system and its version, the
// way systemd-boot needs to list it.
func checkOSRelease(data []byte) error {
	if len(strings.TrimSpace(string(data))) == 0 {
		return ErrNoOSRelease
	}
	keys := map[string]bool{}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" || strings.ContainsAny(k, " \t\"'") {
			return fmt.Errorf("uki: os-release line %d: %q is not KEY=VALUE", i+1, line)
		}
		if strings.Trim(v, `"'`) != "" {
			keys[k] = true
		}
	}
	if !hasAny(keys, osReleaseNames) {
		return fmt.Errorf("uki: os-release names no system: set one of %s (systemd-boot skips the UKI otherwise)",
			strings.Join(osReleaseNames, ", "))
	}
	if !hasAny(keys, osReleaseVersions) {
		return fmt.Errorf("uki: os-release has no version: set one of %s (systemd-boot skips the UKI otherwise)",
			strings.Join(osReleaseVersions, ", "))
	}
	return nil
}

func hasAny(keys map[string]bool, names []string) bool {
	for _, n := range names {
		if keys[n] {
			return true
		}
	}
	return false
}
