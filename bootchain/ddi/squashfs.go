package ddi

import (
	"encoding/binary"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/squashfs"
	"github.com/hadron-linux/hadron/internal/treecopy"
)

// squashfsMkfsTime is the offset of the superblock's creation time.
const squashfsMkfsTime = 8

// chdirMu serialises writeSquashfs's change of working directory.
var chdirMu sync.Mutex

// writeSquashfs writes the tree under dir to out as a squashfs file
// system (gzip), in-process with go-diskfs: for `hadron sysext build` on a
// host without mkfs.erofs (BuildKit steps ask for erofs). Every file is owned by
// root and dated epoch, and so is the file system, so the bytes depend on
// the tree's content, names, modes and link targets only.
//
// go-diskfs v1.9.4 has two quirks handled here: it stamps the superblock
// with the wall-clock time (patched afterwards), and it reads symbolic
// link targets by paths relative to the process's working directory (so
// the working directory is its workspace while it runs; chdirMu keeps two
// calls apart).
func writeSquashfs(dir, out string, epoch int64) error {
	if err := os.Remove(out); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("squashfs: %w", err)
	}
	f, err := os.Create(out)
	if err != nil {
		return fmt.Errorf("squashfs: %w", err)
	}
	defer f.Close()
	sq, err := squashfs.Create(file.New(f, false), 0, 0, 0)
	if err != nil {
		return fmt.Errorf("squashfs: %w", err)
	}
	defer sq.Close()
	ws := sq.Workspace()
	at := time.Unix(epoch, 0)
	if err := treecopy.Copy(dir, ws, treecopy.Options{Stamp: &at, Strict: true}); err != nil {
		return fmt.Errorf("squashfs: copy %s: %w", dir, err)
	}
	root := uint32(0)
	if err := finalizeIn(ws, func() error {
		return sq.Finalize(squashfs.FinalizeOptions{Compression: &squashfs.CompressorGzip{}, FileUID: &root, FileGID: &root})
	}); err != nil {
		return fmt.Errorf("squashfs: %w", err)
	}
	var ts [4]byte
	binary.LittleEndian.PutUint32(ts[:], uint32(epoch))
	if _, err := f.WriteAt(ts[:], squashfsMkfsTime); err != nil {
		return fmt.Errorf("squashfs: set creation time: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("squashfs: %w", err)
	}
	return nil
}

// finalizeIn runs fn with dir as the working directory.
func finalizeIn(dir string, fn func() error) error {
	chdirMu.Lock()
	defer chdirMu.Unlock()
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	if err := os.Chdir(dir); err != nil {
		return err
	}
	err = fn()
	if cerr := os.Chdir(wd); err == nil {
		err = cerr
	}
	return err
}
