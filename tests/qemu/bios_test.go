package qemu_test

import (
	"testing"

	"github.com/hadron-linux/hadron/bootchain/grub"
	"github.com/stretchr/testify/require"
)

// biosMachine is a q35 machine with QEMU's default firmware, SeaBIOS.
var biosMachine = []string{"-machine", "q35", "-m", "512"}

// TestBIOSBoot boots the same kind of standard-boot disk with SeaBIOS:
// boot.img in the MBR loads core.img from the BIOS boot partition, which
// finds the ESP by volume id and runs the same grub.cfg.
func TestBIOSBoot(t *testing.T) {
	t.Run("default", func(t *testing.T) {
		img, _ := standardDisk(t, grub.Env{})
		bootStandard(t, biosMachine, img, "a", "b")
	})
	t.Run("next_entry", func(t *testing.T) {
		img, res := standardDisk(t, grub.Env{"saved_entry": "hadron-a", "next_entry": "hadron-b"})
		bootStandard(t, biosMachine, img, "b", "a")
		require.Equal(t, "", readGrubenv(t, img, res)["next_entry"], "GRUB clears next_entry through biosdisk")
	})
}
