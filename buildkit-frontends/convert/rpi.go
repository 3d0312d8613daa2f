package convert

import (
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/hadron-linux/hadron/bootchain/rpi"
	"github.com/hadron-linux/hadron/bootchain/toolcmd"
	"github.com/hadron-linux/hadron/buildkit-frontends/target"
	"github.com/hadron-linux/hadron/internal/imagedef"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/hadron-linux/hadron/kernel/board"
	"github.com/moby/buildkit/client/llb"
)

// The file names on a Raspberry Pi boot partition that config.txt names.
const (
	// RPiKernel is the kernel image (the arm64 Image of boot/vmlinuz).
	RPiKernel = "kernel8.img"
	// RPiInitramfs is the initrd image's newc cpio (gzip).
	RPiInitramfs = "initramfs.img"
)

// rpiBuild is what the boot steps of a boot: rpi image make.
type rpiBuild struct {
	// boot is the boot partition's tree.
	boot llb.State
	// root is the root file system: the image with the kernel's modules.
	root llb.State
	// boards are the Pi boards the kernel ships device trees for.
	boards []rpi.Board
}

// rpiBoot converts the boot of a boot: rpi image: the Pi firmware reads
// config.txt from the first partition and loads the kernel, the board's
// device tree (from the kernel board's build) and the initramfs (the
// image's initrd image with the kernel's modules), and gives the kernel
// cmdline.txt, where root=PARTUUID= names the disk's root partition (see
// rpi.RootPartUUID) unless the image's command line names a root itself.
// A board whose firmware is not in EEPROM (Pi 4) needs the image's
// firmware: package (its imagedef.FirmwareDir).
func (c *Converter) rpiBoot(img *imagedef.Image) (*rpiBuild, error) {
	root, kernel, err := c.bootRoot(img)
	if err != nil {
		return nil, err
	}
	boards, dtbs, err := c.rpiBoards(img)
	if err != nil {
		return nil, err
	}
	var firmware *llb.State
	if img.Firmware != "" {
		fw, err := c.gatedOutput(recipe.ParseRef(img.Firmware))
		if err != nil {
			return nil, fmt.Errorf("image %s: firmware: %w", img.Name, err)
		}
		firmware = &fw
	}

	out := &rpiBuild{boards: boards, root: root}

	cfg := rpi.Config{Boards: boards, Kernel: RPiKernel, Cmdline: rpiCmdline(img, c.opts.SourceDateEpoch), EnableUART: true}
	var initrd *llb.State
	if img.Initrd != "" {
		tree, err := c.initrdTree(img, kernel)
		if err != nil {
			return nil, err
		}
		packed := c.packInitrd(img, tree)
		initrd = &packed
		cfg.Initramfs = RPiInitramfs
	}
	configTxt, err := cfg.ConfigTxt()
	if err != nil {
		return nil, fmt.Errorf("image %s: %w (%s)", img.Name, err, img.File)
	}
	cmdlineTxt, err := cfg.CmdlineTxt()
	if err != nil {
		return nil, fmt.Errorf("image %s: %w (%s)", img.Name, err, img.File)
	}

	created := time.Unix(c.opts.SourceDateEpoch, 0).UTC()
	ct := llb.WithCreatedTime(created)
	cp := &llb.CopyInfo{CreateDestPath: true, CreatedTime: &created}
	fa := llb.Mkfile("/config.txt", 0o644, configTxt, ct).
		Mkfile("/cmdline.txt", 0o644, cmdlineTxt, ct).
		Copy(kernel, "/"+KernelImage, "/"+RPiKernel, cp)
	if initrd != nil {
		fa = fa.Copy(*initrd, "/initrd.cpio.gz", "/"+RPiInitramfs, cp)
	}
	for _, d := range dtbs {
		fa = fa.Copy(kernel, "/boot/dtbs/"+d, "/"+path.Base(d), cp)
	}
	if firmware != nil {
		fa = fa.Copy(*firmware, "/"+imagedef.FirmwareDir+"/*", "/", &llb.CopyInfo{
			CreateDestPath: true, CreatedTime: &created, AllowWildcard: true, CopyDirContentsOnly: true})
	}
	out.boot = llb.Scratch().File(restamp(fa, c.opts.SourceDateEpoch), llb.WithCustomName(img.Name+": boot partition"))
	return out, nil
}

// rpiBoards returns the Pi boards img boots and their device trees (paths
// under the kernel package's boot/dtbs): those of its kernel board's
// dtbs: that are a Pi board's. It refuses a kernel board with none, and a
// board needing closed firmware (Pi 4) when img names no firmware:.
func (c *Converter) rpiBoards(img *imagedef.Image) ([]rpi.Board, []string, error) {
	b, err := c.kernelBoard(img)
	if err != nil {
		return nil, nil, err
	}
	var boards []rpi.Board
	var dtbs []string
	for _, d := range b.DTBs {
		if pi, ok := rpi.BoardForDTB(path.Base(d)); ok {
			boards = append(boards, pi)
			dtbs = append(dtbs, d)
		}
	}
	if len(boards) == 0 {
		names := make([]string, 0, len(rpi.Boards))
		for _, pi := range rpi.Boards {
			names = append(names, pi.DTB())
		}
		return nil, nil, fmt.Errorf("image %s: kernel %s: board %s ships no Raspberry Pi device tree (%s) (%s:%d)",
			img.Name, img.Kernel, b.Name, strings.Join(names, ", "), img.File, img.LineOf("kernel"))
	}
	for _, pi := range boards {
		if need := pi.Firmware(); len(need) > 0 && img.Firmware == "" {
			return nil, nil, fmt.Errorf("image %s: board %s needs the Raspberry Pi firmware files %s on its boot partition: "+
				"name the package that holds them in %s with firmware: (%s)",
				img.Name, pi, strings.Join(need, ", "), imagedef.FirmwareDir, img.File)
		}
	}
	return boards, dtbs, nil
}

// rpiDisk is the SD card image of a boot: rpi image: the boot partition
// tree and the root file system, written by hadron's `disk rpi` on stage
// 0 with network disabled.
func (c *Converter) rpiDisk(img *imagedef.Image) (llb.State, error) {
	b, err := c.rpiBoot(img)
	if err != nil {
		return llb.State{}, err
	}
	boards := make([]string, len(b.boards))
	for i, pi := range b.boards {
		boards[i] = string(pi)
	}
	run := c.toolRun(img.Name+": disk", "",
		toolcmd.RPiDisk{Name: img.Name, Boards: boards, Boot: "/boot", Root: "/rootfs", Out: "/out/" + img.Name + ".raw"},
		llb.AddMount("/boot", b.boot, llb.Readonly),
		llb.AddMount("/rootfs", b.root, llb.Readonly))
	return outMount(run), nil
}

// rpiCmdline is the kernel command line of a boot: rpi image: its own,
// plus root=PARTUUID= of its disk's root partition when it names no root.
func rpiCmdline(img *imagedef.Image, epoch int64) string {
	for _, arg := range strings.Fields(img.Cmdline) {
		if strings.HasPrefix(arg, "root=") {
			return img.Cmdline
		}
	}
	return strings.TrimSpace(img.Cmdline + " root=PARTUUID=" + rpi.RootPartUUID(img.Name, epoch))
}

// kernelBoard returns the board of img's kernel ("<recipe>@<board>"),
// checked as the kernel's conversion checks it (board found, arch).
func (c *Converter) kernelBoard(img *imagedef.Image) (*board.Board, error) {
	name, boardName, ok := strings.Cut(img.Kernel, target.BoardSep)
	if !ok {
		return nil, fmt.Errorf("image %s: kernel %s names no board (want <recipe>@<board>, e.g. linux@rpi5) (%s:%d)",
			img.Name, img.Kernel, img.File, img.LineOf("kernel"))
	}
	k, err := c.kernel(name, boardName)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", img.Name, err)
	}
	return k.config.Board, nil
}
