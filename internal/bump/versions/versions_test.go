package versions

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	tests := []struct {
		scheme Scheme
		in     string
		want   string // Normalised(); "" means a parse error is expected
		pre    bool
	}{
		{Semver, "1.2.3", "1.2.3", false},
		{Semver, "v5.4", "5.4.0", false},
		{Semver, "9.9", "9.9.0", false},
		{Semver, "0.194", "0.194.0", false},
		{Semver, "7", "7.0.0", false},
		{Semver, "1.2.3.4", "1.2.3[4]", false},
		{Semver, "1.2.3rc1", "1.2.3-rc.1", true},
		{Semver, "1.2.3-rc.10", "1.2.3-rc.10", true},
		{Semver, "2.0_beta2", "2.0.0-beta.2", true},
		{Semver, "3.1a1", "3.1.0-alpha.1", true},
		{Semver, "5.0-pre", "5.0.0-pre", true},
		{Semver, "1.9.17p2", "", false},
		{Semver, "latest", "", false},
		{Semver, "1.2.3-foo", "", false},
		{"", "1.0", "1.0.0", false},
		{OpenSSH, "9.9p1", "9.9.0[1]", false},
		{OpenSSH, "10.0p1", "10.0.0[1]", false},
		{OpenSSH, "9.9", "9.9.0[0]", false},
		{OpenSSH, "1.9.17p2", "1.9.17[2]", false},
		{OpenSSH, "9.9p1-rc", "", false},
		{Date, "20251003", "20251003.0.0", false},
		{Date, "2025-10-03", "20251003.0.0", false},
		{Date, "2025.10.03", "20251003.0.0", false},
		{Date, "2025-1003", "", false},
		{Date, "20251399", "", false},
		{Date, "1.2.3", "", false},
		{Kernel, "6.12.8", "6.12.8", false},
		{Kernel, "v6.13", "6.13.0", false},
		{Kernel, "6.14-rc3", "6.14.0-rc.3", true},
		{Kernel, "2.6.32.71", "2.6.32[71]", false},
		{Kernel, "6.12.8-rc1", "", false},
		{Kernel, "6.12-next", "", false},
		{"bogus", "1.0", "", false},
	}
	for _, tt := range tests {
		t.Run(string(tt.scheme)+"/"+tt.in, func(t *testing.T) {
			v, err := Parse(tt.scheme, tt.in)
			if tt.want == "" {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, v.Normalised())
			assert.Equal(t, tt.in, v.String(), "Text keeps upstream spelling")
			assert.Equal(t, tt.pre, v.Prerelease())
		})
	}
}

func TestCompare(t *testing.T) {
	tests := []struct {
		scheme Scheme
		a, b   string
		want   int
	}{
		{Semver, "1.2.3", "1.2.10", -1},
		{Semver, "1.2.3-rc.9", "1.2.3rc10", -1}, // numeric, not lexical
		{Semver, "1.2.3rc1", "1.2.3", -1},
		{Semver, "9.9", "9.9.0", 0},
		{Semver, "1.2.3.4", "1.2.3.10", -1},
		{Semver, "0.194", "0.193", 1},
		{OpenSSH, "9.9p2", "9.9p1", 1},
		{OpenSSH, "10.0p1", "9.9p2", 1},
		{OpenSSH, "9.9", "9.9p1", -1},
		{OpenSSH, "1.9.17p2", "1.9.17p10", -1},
		{Date, "20251003", "2025-10-04", -1},
		{Date, "20240101", "20231231", 1},
		{Kernel, "6.13-rc7", "6.13", -1},
		{Kernel, "6.12.10", "6.12.9", 1},
		{Kernel, "6.13", "6.12.99", 1},
	}
	for _, tt := range tests {
		t.Run(tt.a+"_"+tt.b, func(t *testing.T) {
			a, err := Parse(tt.scheme, tt.a)
			require.NoError(t, err)
			b, err := Parse(tt.scheme, tt.b)
			require.NoError(t, err)
			assert.Equal(t, tt.want, a.Compare(b))
			assert.Equal(t, -tt.want, b.Compare(a))
		})
	}
}

func TestConstraint(t *testing.T) {
	tests := []struct {
		scheme     Scheme
		constraint string
		version    string
		want       bool
	}{
		{Semver, "", "1.2.3", true},
		{Semver, "", "1.2.3rc1", false}, // pre-releases never match by default
		{Semver, ">= 5.4, < 6", "5.8.1", true},
		{Semver, ">= 5.4, < 6", "6.0", false},
		{Semver, ">= 5.4, < 6", "6.0rc1", false},
		{Semver, ">= 6.0.0-rc.1", "6.0rc2", true}, // the constraint asks for pre-releases
		{Semver, ">= 0.190", "0.194", true},
		{OpenSSH, ">= 9.9, < 11", "10.0p1", true},
		{OpenSSH, ">= 9.9, < 10", "10.0p1", false},
		{OpenSSH, "~1.9.17", "1.9.17p2", true},
		{Date, ">= 20250101", "20251003", true},
		{Date, ">= 20250101", "20241231", false},
		{Kernel, "~6.12", "6.12.40", true},
		{Kernel, "~6.12", "6.13", false},
		{Kernel, "~6.12", "6.13-rc1", false},
		{Kernel, ">= 6.6, < 7", "6.18.2", true},
	}
	for _, tt := range tests {
		t.Run(tt.constraint+"/"+tt.version, func(t *testing.T) {
			c, err := ParseConstraint(tt.constraint)
			require.NoError(t, err)
			v, err := Parse(tt.scheme, tt.version)
			require.NoError(t, err)
			assert.Equal(t, tt.want, c.Check(v))
		})
	}
}

func TestParseConstraintErrors(t *testing.T) {
	_, err := ParseConstraint(">= banana")
	assert.ErrorContains(t, err, "banana")
	c, err := ParseConstraint("  ")
	require.NoError(t, err)
	assert.Equal(t, "*", c.String())
	assert.False(t, c.AllowsPrerelease())
	c, err = ParseConstraint(">= 6.14.0-rc1")
	require.NoError(t, err)
	assert.True(t, c.AllowsPrerelease())
}

func TestParseScheme(t *testing.T) {
	for _, s := range []string{"", "semver", "openssh", "date", "kernel"} {
		_, err := ParseScheme(s)
		assert.NoError(t, err, s)
	}
	_, err := ParseScheme("calver")
	assert.ErrorContains(t, err, "calver")
}

func BenchmarkParse(b *testing.B) {
	for b.Loop() {
		for _, s := range []string{"1.2.3", "v6.12.8", "2.0_beta2"} {
			if _, err := Parse(Semver, s); err != nil {
				b.Fatal(err)
			}
		}
	}
}
