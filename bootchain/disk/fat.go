package disk

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// MiB is one mebibyte.
const MiB = 1 << 20

// minFAT32 is the smallest size mformat accepts for FAT32 with 512-byte
// clusters (65525 clusters plus the FATs), rounded up.
const minFAT32 = 36 * MiB

// File is one file to place on a FAT file system.
type File struct {
	// Path is where it goes, relative to the file system root, with '/'
	// separators, e.g. EFI/BOOT/BOOTX64.EFI.
	Path string
	// Source is the host file to copy.
	Source string
}

// FAT describes a FAT32 file system image.
type FAT struct {
	// Label is the volume label (at most 11 characters).
	Label string
	// VolumeID is the volume serial number (see VolumeID).
	VolumeID uint32
	// Size is the image size in bytes; 0 picks one that fits Files with
	// room to spare (at least 64 MiB).
	Size int64
	// Epoch is SOURCE_DATE_EPOCH: every timestamp on the file system.
	Epoch int64
	// Files are copied in, in path order; directories are created as needed.
	Files []File
}

var fatPath = regexp.MustCompile(`^[A-Za-z0-9._+-]+(/[A-Za-z0-9._+-]+)*$`)

// FATEpoch is the earliest time FAT can record, 1980-01-01 00:00 UTC.
const FATEpoch = 315532800

// FATTime is the time a FAT file system built for SOURCE_DATE_EPOCH
// epoch stamps: the epoch, or FATEpoch for an earlier one (the default
// epoch 0 among them), which FAT cannot record.
func FATTime(epoch int64) int64 { return max(epoch, FATEpoch) }

// Validate checks the label, paths and sizes.
func (f FAT) Validate() error {
	if len(f.Label) > 11 || strings.ContainsAny(f.Label, `"*+,./:;<=>?[\]|`) {
		return fmt.Errorf("fat: bad volume label %q (at most 11 characters, no punctuation)", f.Label)
	}
	if f.Size != 0 && f.Size < minFAT32 {
		return fmt.Errorf("fat: size %d is below the FAT32 minimum of %d", f.Size, minFAT32)
	}
	if f.Epoch < 0 {
		return fmt.Errorf("fat: negative epoch %d", f.Epoch)
	}
	seen := map[string]bool{}
	for _, file := range f.Files {
		if !fatPath.MatchString(file.Path) || slices.Contains(strings.Split(file.Path, "/"), "..") {
			return fmt.Errorf("fat: bad path %q", file.Path)
		}
		key := strings.ToUpper(file.Path) // FAT is case-insensitive
		if seen[key] {
			return fmt.Errorf("fat: duplicate path %q", file.Path)
		}
		seen[key] = true
	}
	return nil
}

// contentSize is the total size of the source files.
func (f FAT) contentSize() (int64, error) {
	var n int64
	for _, file := range f.Files {
		st, err := os.Stat(file.Source)
		if err != nil {
			return 0, fmt.Errorf("fat: %s: %w", file.Path, err)
		}
		if !st.Mode().IsRegular() {
			return 0, fmt.Errorf("fat: %s: source %s is not a regular file", file.Path, file.Source)
		}
		n += st.Size()
	}
	return n, nil
}

// SizeFor returns the image size Build picks when Size is 0: the content
// plus a quarter and 8 MiB for metadata and updates, at least 64 MiB,
// rounded up to a MiB.
func SizeFor(content int64) int64 {
	n := content + content/4 + 8*MiB
	n = max(n, 64*MiB)
	return (n + MiB - 1) / MiB * MiB
}

// Build writes the FAT32 image to out with mtools (mformat, mmd, mcopy).
// mtools takes every timestamp from SOURCE_DATE_EPOCH, and the volume id
// and label are fixed, so the image is reproducible.
func (f FAT) Build(ctx context.Context, out string) error {
	if err := f.Validate(); err != nil {
		return err
	}
	size := f.Size
	if size == 0 {
		content, err := f.contentSize()
		if err != nil {
			return err
		}
		size = SizeFor(content)
	}
	if err := os.Remove(out); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("fat: %w", err)
	}
	fd, err := os.Create(out)
	if err != nil {
		return fmt.Errorf("fat: %w", err)
	}
	err = fd.Truncate(size)
	if cerr := fd.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fat: size %s: %w", out, err)
	}

	run := func(args ...string) error {
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Env = append(os.Environ(),
			"SOURCE_DATE_EPOCH="+strconv.FormatInt(FATTime(f.Epoch), 10),
			"MTOOLSRC=/dev/null", // no host mtools.conf
			"MTOOLS_SKIP_CHECK=1",
			"TZ=UTC",
		)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("fat: %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
		}
		return nil
	}
	label := f.Label
	if label == "" {
		label = "NO NAME"
	}
	if err := run("mformat", "-i", out, "-F", "-N", fmt.Sprintf("%08X", f.VolumeID), "-v", label, "::"); err != nil {
		return err
	}
	files := slices.Clone(f.Files)
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	made := map[string]bool{}
	for _, file := range files {
		var dirs []string
		for d := path.Dir(file.Path); d != "."; d = path.Dir(d) {
			dirs = append(dirs, d)
		}
		slices.Reverse(dirs)
		for _, d := range dirs {
			if made[strings.ToUpper(d)] {
				continue
			}
			if err := run("mmd", "-i", out, "::/"+d); err != nil {
				return err
			}
			made[strings.ToUpper(d)] = true
		}
		if err := run("mcopy", "-i", out, file.Source, "::/"+file.Path); err != nil {
			return err
		}
	}
	return nil
}

// TreeFiles lists the regular files under dir, in path order, for a FAT
// file system (what names it in errors: "ESP"): a FAT holds files and
// folders only, so a link or device in the tree is an error, and so is
// an empty tree.
func TreeFiles(dir, what string) ([]File, error) {
	var files []File
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return nil
		case !d.Type().IsRegular():
			return fmt.Errorf("%s tree: %s is not a regular file (a FAT file system holds files and folders only)", what, rel)
		}
		files = append(files, File{Path: filepath.ToSlash(rel), Source: p})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s tree %s is empty", what, dir)
	}
	return files, nil
}
