//go:build !unix

package dirfs

import (
	"errors"
	"io/fs"
	"os"
)

// readFile reads path with os.ReadFile.
func readFile(path string) ([]byte, string, error) {
	data, err := os.ReadFile(path)
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return nil, pe.Op, pe.Err
	}
	return data, "", err
}
