package grub

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
)

// EnvSize is the size of a grubenv block; GRUB rewrites it in place, so
// it must keep this exact size.
const EnvSize = 1024

const envHeader = "# GRUB Environment Block\n"

// Env is the content of a grubenv file.
type Env map[string]string

// Encode returns the 1024-byte grubenv block: the header line, one
// name=value line per variable in name order, then '#' padding.
func (e Env) Encode() ([]byte, error) {
	names := make([]string, 0, len(e))
	for k := range e {
		names = append(names, k)
	}
	sort.Strings(names)
	var b bytes.Buffer
	b.WriteString(envHeader)
	for _, k := range names {
		v := e[k]
		if k == "" || strings.ContainsAny(k, "=\n\\#") {
			return nil, fmt.Errorf("grubenv: bad variable name %q", k)
		}
		if strings.ContainsAny(v, "\n\\") {
			return nil, fmt.Errorf("grubenv: value of %s has a newline or backslash", k)
		}
		fmt.Fprintf(&b, "%s=%s\n", k, v)
	}
	if b.Len() > EnvSize {
		return nil, fmt.Errorf("grubenv: %d bytes of variables do not fit in %d", b.Len(), EnvSize)
	}
	b.Write(bytes.Repeat([]byte{'#'}, EnvSize-b.Len()))
	return b.Bytes(), nil
}

// ParseEnv reads a grubenv block as written by Encode, grub-editenv or
// GRUB's save_env.
func ParseEnv(block []byte) (Env, error) {
	if len(block) != EnvSize {
		return nil, fmt.Errorf("grubenv: size %d, want %d", len(block), EnvSize)
	}
	if !bytes.HasPrefix(block, []byte(envHeader)) {
		return nil, fmt.Errorf("grubenv: missing header")
	}
	env := Env{}
	for _, line := range strings.Split(string(block[len(envHeader):]), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("grubenv: malformed line %q", line)
		}
		env[k] = v
	}
	return env, nil
}
