package solve

import (
	"github.com/hadron-linux/hadron/buildkit-frontends/frontend"
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
		{"boot without secrets", "mini/boot", nil, dir, `needs the secret "db.key": pass --secret id=db.key,src=PATH`},
		{"boot without pcr key", "mini/boot", all[:2], dir, `needs the secret "pcr.key": pass --secret id=pcr.key,src=PATH`},
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
