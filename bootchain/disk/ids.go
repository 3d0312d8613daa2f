// Package disk builds reproducible disk images: a GPT layout written with
// go-diskfs, FAT file systems (ESP, Raspberry Pi boot) made with mtools,
// and read-only root file systems (erofs, squashfs). Every identifier a
// tool would pick at random — disk and partition GUIDs, FAT volume ids,
// file system UUIDs — is derived from the image name, SOURCE_DATE_EPOCH
// and the thing's role, so two builds of the same inputs give the same
// bytes.
package disk

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/google/uuid"
)

// namespace is the UUIDv5 namespace for Hadron's derived identifiers.
var namespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/hadron-linux/hadron/bootchain/disk"))

func seed(image string, epoch int64, role string) []byte {
	return fmt.Appendf(nil, "%s\x00%d\x00%s", image, epoch, role)
}

// GUID returns the UUID (version 5) for role in image built at epoch,
// e.g. role "disk" or "partition/esp", in the canonical lower-case form.
func GUID(image string, epoch int64, role string) string {
	return uuid.NewSHA1(namespace, seed(image, epoch, role)).String()
}

// VolumeID returns a 32-bit FAT volume serial number for role in image.
func VolumeID(image string, epoch int64, role string) uint32 {
	sum := sha256.Sum256(append([]byte("fat-volume-id\x00"), seed(image, epoch, role)...))
	return binary.BigEndian.Uint32(sum[:4])
}

// FormatVolumeID writes a FAT volume id the way GRUB, blkid and
// /dev/disk/by-uuid show it: "XXXX-XXXX".
func FormatVolumeID(id uint32) string {
	return fmt.Sprintf("%04X-%04X", id>>16, id&0xffff)
}
