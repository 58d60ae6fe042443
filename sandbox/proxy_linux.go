package sandbox

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// listenForProxy, in the init, listens on the sandbox's own loopback at
// proxyPort and hands the listening socket to pkgbox over sock, which
// serves the proxy on it from the host's network namespace.
func listenForProxy(sock *os.File) error {
	defer sock.Close()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("network: proxy: %w", err)
	}
	l := os.NewFile(uintptr(fd), "proxy listener")
	defer l.Close()
	if err := unix.Bind(fd, &unix.SockaddrInet4{Port: proxyPort, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return fmt.Errorf("network: proxy: listen on 127.0.0.1:%d: %w", proxyPort, err)
	}
	if err := unix.Listen(fd, 128); err != nil {
		return fmt.Errorf("network: proxy: listen on 127.0.0.1:%d: %w", proxyPort, err)
	}
	if err := sendFD(sock, l); err != nil {
		return fmt.Errorf("network: proxy: hand the socket to pkgbox: %w", err)
	}
	return nil
}
