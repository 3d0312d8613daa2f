//go:build unix

package dirfs

import "syscall"

// readFile reads path with open, read and close system calls only. op
// names the call that failed.
func readFile(path string) (data []byte, op string, err error) {
	var fd int
	for {
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return nil, "open", err
	}
	defer syscall.Close(fd)
	buf := make([]byte, 0, 2048) // recipes and locks are smaller; larger files grow it
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := syscall.Read(fd, buf[len(buf):cap(buf)])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, "read", err
		}
		if n == 0 {
			return buf, "", nil
		}
		buf = buf[:len(buf)+n]
	}
}
