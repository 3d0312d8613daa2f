package grub

import (
	"testing"

	"github.com/hadron-linux/hadron/internal/golden"
	"github.com/stretchr/testify/require"
)

func abConfig() Config {
	return Config{
		Entries: []Entry{
			{ID: "hadron-a", Title: "Hadron (slot A)", Kernel: "/hadron/a/vmlinuz", Initrd: "/hadron/a/initrd.img",
				Cmdline: "root=PARTLABEL=root-a ro console=ttyS0,115200"},
			{ID: "hadron-b", Title: "Hadron (slot B)", Kernel: "/hadron/b/vmlinuz", Initrd: "/hadron/b/initrd.img",
				Cmdline: "root=PARTLABEL=root-b ro console=ttyS0,115200"},
		},
		Default: "hadron-a",
		Timeout: 3,
		Serial:  &Serial{Unit: 0, Speed: 115200},
	}
}

func TestRenderGolden(t *testing.T) {
	three := abConfig()
	three.Entries = append(three.Entries, Entry{ID: "rescue", Title: "Rescue shell 'single'",
		Kernel: "/hadron/a/vmlinuz", Cmdline: `root=PARTLABEL=root-a init=/bin/sh dyndbg="file x +p"`})
	three.Default = "hadron-b"
	three.Serial = nil
	three.Timeout = 0
	three.EnvFile = "env/grubenv"

	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"grub-ab.cfg.golden", abConfig()},
		{"grub-three-noserial.cfg.golden", three},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.cfg.Render()
			require.NoError(t, err)
			golden.Assert(t, tc.name, got)
		})
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no entries", func(c *Config) { c.Entries = nil }, "no entries"},
		{"duplicate id", func(c *Config) { c.Entries[1].ID = "hadron-a" }, "duplicate entry id"},
		{"bad id", func(c *Config) { c.Entries[0].ID = "a b" }, "bad id"},
		{"unknown default", func(c *Config) { c.Default = "hadron-c" }, "not an entry id"},
		{"relative kernel", func(c *Config) { c.Entries[0].Kernel = "vmlinuz" }, "bad kernel path"},
		{"traversal initrd", func(c *Config) { c.Entries[0].Initrd = "/a/../../x" }, "bad initrd path"},
		{"injection in kernel", func(c *Config) { c.Entries[0].Kernel = "/v; reboot" }, "bad kernel path"},
		{"newline in cmdline", func(c *Config) { c.Entries[0].Cmdline = "a\n}" }, "line break"},
		{"newline in title", func(c *Config) { c.Entries[0].Title = "x\ny" }, "line break"},
		{"negative timeout", func(c *Config) { c.Timeout = -1 }, "negative timeout"},
		{"bad serial", func(c *Config) { c.Serial.Speed = 0 }, "bad serial"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := abConfig()
			tc.edit(&c)
			_, err := c.Render()
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestQuoteWord(t *testing.T) {
	for in, want := range map[string]string{
		"root=PARTLABEL=root-a": "root=PARTLABEL=root-a",
		"console=ttyS0,115200":  "console=ttyS0,115200",
		`a="b c"`:               `'a="b c"'`,
		"it's":                  `'it'\''s'`,
		"$x":                    "'$x'",
	} {
		require.Equal(t, want, quoteWord(in), in)
	}
}

func TestEarlyConfig(t *testing.T) {
	got, err := EarlyConfig("1234-ABCD", "/grub")
	require.NoError(t, err)
	golden.Assert(t, "early.cfg.golden", got)

	_, err = EarlyConfig("12 34", "/grub")
	require.ErrorContains(t, err, "bad file system uuid")
	_, err = EarlyConfig("1234-ABCD", "grub")
	require.ErrorContains(t, err, "bad prefix dir")
}

func BenchmarkRender(b *testing.B) {
	c := abConfig()
	for b.Loop() {
		if _, err := c.Render(); err != nil {
			b.Fatal(err)
		}
	}
}
