// Package atomicfile replaces files so that readers see the old content or
// the new one, never a part: the data goes to a temporary file in the same
// folder, which is then renamed over the target.
package atomicfile

import (
	"os"
	"path/filepath"
)

// WriteFile writes data to a temporary file next to name, gives it perm and
// renames it to name. The folder must exist. On failure name is left as it
// was and the temporary file is removed; errors are the os package's, which
// name the file.
func WriteFile(name string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}
