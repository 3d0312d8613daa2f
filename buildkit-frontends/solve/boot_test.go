package solve

import (
	"github.com/hadron-linux/hadron/buildkit-frontends/frontend"
	"github.com/hadron-linux/hadron/buildkit-frontends/target"
	"github.com/hadron-linux/hadron/internal/imagedef"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSecretIDs(t *testing.T) {
	tests := []struct {
		specs []string
		want  []string
	}{
		{nil, nil},
		{[]string{"id=db.key,src=keys/db.key"}, []string{"db.key"}},
		{[]string{"src=/k/pcr.key", "type=file,id=db.crt,source=/k/x.pem"}, []string{"pcr.key", "db.crt"}},
		{[]string{"id=tok,env=TOKEN"}, []string{"tok"}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, SecretIDs(tt.specs), "%v", tt.specs)
	}
}

// TestCheckSecrets: a trusted image's boot targets and a system extension
// need their signing keys, named with the flag to pass; a Raspberry Pi
// image's disk signs nothing.
func TestCheckSecrets(t *testing.T) {
	images := map[string]*imagedef.Image{
		"tb":  {Name: "tb", Boot: imagedef.BootTrusted},
		"pi":  {Name: "pi", Boot: imagedef.BootRPi},
		"dbg": {Name: "dbg", Kind: imagedef.KindSysext},
	}
	all := []string{"id=db.key,src=/k/db.key", "id=db.crt,src=/k/db.crt", "id=pcr.key,src=/k/pcr.key"}
	tests := []struct {
		target  string
		secrets []string
		want    string
	}{
		{"tb/disk", all, ""},
		{"tb/boot", nil, `target tb/boot signs boot artifacts and needs the secret "db.key": pass --secret id=db.key,src=PATH`},
		{"tb/uki", all[:2], `needs the secret "pcr.key": pass --secret id=pcr.key,src=PATH (secrets needed: db.key, db.crt, pcr.key)`},
		{"pi/disk", nil, ""},
		{"pi/boot", nil, ""},
		{"dbg/sysext", all, `target dbg/sysext signs a system extension and needs the secret "verity.key"`},
		{"tb", nil, ""},
	}
	for _, tt := range tests {
		tg, err := target.Parse(tt.target)
		require.NoError(t, err)
		err = checkSecrets(Request{Options: frontend.Options{Target: tt.target}, Secrets: tt.secrets}, tg, images)
		if tt.want == "" {
			assert.NoError(t, err, tt.target)
			continue
		}
		assert.ErrorContains(t, err, tt.want, tt.target)
	}
}

func TestValidateBootTarget(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "hadron"), []byte("#!/bin/sh\n"), 0o755))
	var all []string
	for _, id := range []string{"db.key", "db.crt", "pcr.key"} {
		p := filepath.Join(dir, id)
		require.NoError(t, os.WriteFile(p, []byte("SECRET-CONTENT"), 0o600))
		all = append(all, "id="+id+",src="+p)
	}
	tests := []struct {
		name    string
		target  string
		secrets []string
		tools   string
		want    string
	}{
		{"image needs the tools", "mini", nil, dir, ""},
		{"recipe needs the tools", "xz", nil, dir, ""},
		{"image without tools", "mini", nil, "", "target mini runs the hadron binary inside BuildKit (ELF gate, boot steps): pass --tools-dir DIR"},
		{"recipe without tools", "xz", nil, "", "pass --tools-dir DIR"},
		{"kernel needs nothing", "linux@qemu-amd64", nil, "", ""},
		{"kernel config needs nothing", "linux@qemu-amd64/config", nil, "", ""},
		{"boot complete", "mini/boot", all, dir, ""},
		{"boot without tools", "mini/boot", all, "", "pass --tools-dir DIR"},
		{"tools dir without hadron", "mini/boot", all, t.TempDir(), "--tools-dir: stat"},
		{"no target", "", nil, "", "empty target"},
		{"bad output", "mini/esp", all, dir, `image mini has no output "esp" (only "boot", "disk", "uki" or "sysext")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(Request{Options: frontend.Options{Target: tt.target}, Secrets: tt.secrets, ToolsDir: tt.tools})
			if tt.want == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tt.want)
			assert.NotContains(t, err.Error(), "SECRET-CONTENT", "errors never show key content")
		})
	}
}
