package qemu_test

import (
	"testing"

	"github.com/hadron-linux/hadron/bootchain/grub"
	"github.com/hadron-linux/hadron/tests/qemu/qemutest"
	"github.com/stretchr/testify/require"
)

// TestGrubEFIBoot boots a standard-boot disk through OVMF (no Secure
// Boot) and GRUB's EFI image into the Debian kernel and the dracut
// initrd: first the saved slot, then a one-shot next_entry, which GRUB
// must clear in grubenv.
func TestGrubEFIBoot(t *testing.T) {
	t.Run("saved_entry", func(t *testing.T) {
		img, _ := standardDisk(t, grub.Env{"saved_entry": "hadron-a"})
		bootStandard(t, qemutest.UEFI(t, false, qemutest.OVMFVarsEmpty), img, "a", "b")
	})
	t.Run("next_entry", func(t *testing.T) {
		img, res := standardDisk(t, grub.Env{"saved_entry": "hadron-a", "next_entry": "hadron-b"})
		bootStandard(t, qemutest.UEFI(t, false, qemutest.OVMFVarsEmpty), img, "b", "a")
		env := readGrubenv(t, img, res)
		require.Equal(t, "", env["next_entry"], "GRUB clears next_entry before booting it")
		require.Equal(t, "hadron-a", env["saved_entry"])
	})
}
