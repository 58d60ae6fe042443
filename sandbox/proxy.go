package sandbox

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proxy is the network of a rootless sandbox where pasta cannot run (it
// needs /dev/net/tun, which a user may not open on every machine): an HTTP
// proxy, served by pkgbox on a socket that listens on the sandbox's own
// loopback. apt, and most tools, use it through http_proxy and
// https_proxy; nothing else leaves the sandbox. pkgbox resolves the names
// and connects from the host as the calling user, and never to the host
// itself (its loopback or any of its addresses).
type proxy struct {
	listener net.Listener
	// denied says whether an address must not be connected to.
	denied    func(netip.Addr) bool
	transport *http.Transport
	wg        sync.WaitGroup
	mu        sync.Mutex
	conns     map[net.Conn]struct{}
	closed    bool
	// ctx ends every request in flight when the proxy closes.
	ctx    context.Context
	cancel context.CancelFunc
}

// proxyPort is where the proxy listens inside the sandbox, on 127.0.0.1:
// the sandbox's network namespace is its own, so no port is taken on the
// host. It is apt-cacher-ng's, which some roots are configured for.
const proxyPort = 3142

// withProxyEnv is env with what a payload needs to use the proxy, where
// env does not say otherwise: apt, like most tools, reads http_proxy and
// https_proxy.
func withProxyEnv(env []string) []string {
	u := fmt.Sprintf("http://127.0.0.1:%d", proxyPort)
	out := append([]string(nil), env...)
	for _, kv := range []string{"http_proxy=" + u, "https_proxy=" + u, "HTTP_PROXY=" + u, "HTTPS_PROXY=" + u,
		"no_proxy=localhost,127.0.0.1,::1"} {
		k, _, _ := strings.Cut(kv, "=")
		if !slices.ContainsFunc(env, func(e string) bool { return strings.HasPrefix(e, k+"=") }) {
			out = append(out, kv)
		}
	}
	return out
}

// hostDenier denies the host's loopback, its own addresses (as the
// sandbox started) and addresses no proxy should reach: unspecified,
// multicast and link-local ones.
func hostDenier(host []netip.Addr) func(netip.Addr) bool {
	return func(a netip.Addr) bool {
		a = a.Unmap().WithZone("")
		if a.IsLoopback() || a.IsUnspecified() || a.IsMulticast() ||
			a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() {
			return true
		}
		for _, h := range host {
			if h.Unmap() == a {
				return true
			}
		}
		return false
	}
}

// errDenied is a connection the proxy refuses to make.
var errDenied = errors.New("the sandbox may not connect to the host")

// newProxy serves the HTTP proxy on l until close.
func newProxy(l net.Listener, denied func(netip.Addr) bool) *proxy {
	p := &proxy{listener: l, denied: denied, conns: map[net.Conn]struct{}{}}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.transport = &http.Transport{
		Proxy:                 nil, // never the host's own proxy settings: connect directly
		DialContext:           p.dial,
		DisableCompression:    true, // pass bodies through as the server sends them
		ResponseHeaderTimeout: 5 * time.Minute,
		IdleConnTimeout:       30 * time.Second,
		MaxIdleConnsPerHost:   4,
	}
	p.wg.Add(1)
	go p.serve()
	return p
}

// dial connects to addr unless it resolves to a denied address; the
// check is on the address actually connected to, after resolution.
func (p *proxy) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: 30 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return err
		}
		if p.denied(ap.Addr()) {
			return errDenied
		}
		return nil
	}}
	return d.DialContext(ctx, network, addr)
}

func (p *proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.listener.Accept()
		if err != nil {
			return
		}
		if !p.track(c, true) {
			c.Close()
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer p.track(c, false)
			defer c.Close()
			p.handle(c)
		}()
	}
}

// track adds or removes a client connection; it reports false once the
// proxy is closed.
func (p *proxy) track(c net.Conn, add bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !add {
		delete(p.conns, c)
		return true
	}
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

// handle serves one client connection: requests in turn, or one CONNECT
// tunnel.
func (p *proxy) handle(c net.Conn) {
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if req.Method == http.MethodConnect {
			p.tunnel(c, br, req)
			return
		}
		if !p.forward(c, req) {
			return
		}
	}
}

// tunnel serves CONNECT host:port (https through the proxy).
func (p *proxy) tunnel(c net.Conn, br *bufio.Reader, req *http.Request) {
	up, err := p.dial(p.ctx, "tcp", req.Host)
	if err != nil {
		writeProxyError(c, err)
		return
	}
	defer up.Close()
	if !p.track(up, true) {
		return
	}
	defer p.track(up, false)
	if _, err := io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	done := make(chan struct{})
	go func() {
		// What the client sent after its request is already in br.
		io.Copy(up, br)
		if tc, ok := up.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
		close(done)
	}()
	io.Copy(c, up)
	if tc, ok := c.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
	<-done
}

// forward serves one plain http request with an absolute URL; it says
// whether the connection may carry another.
func (p *proxy) forward(c net.Conn, req *http.Request) bool {
	if req.URL.Scheme != "http" || req.URL.Host == "" {
		writeProxyStatus(c, http.StatusBadRequest, "pkgbox's proxy takes http:// URLs and CONNECT only")
		return false
	}
	req.RequestURI = ""
	req = req.WithContext(p.ctx)
	for _, h := range []string{"Proxy-Connection", "Proxy-Authorization", "Connection", "Keep-Alive", "Te", "Trailer", "Upgrade"} {
		req.Header.Del(h)
	}
	resp, err := p.transport.RoundTrip(req)
	if err != nil {
		writeProxyError(c, err)
		return false
	}
	defer resp.Body.Close()
	if err := resp.Write(c); err != nil {
		return false
	}
	return !req.Close && !resp.Close
}

func writeProxyError(c net.Conn, err error) {
	status := http.StatusBadGateway
	if errors.Is(err, errDenied) {
		status = http.StatusForbidden
	}
	writeProxyStatus(c, status, err.Error())
}

func writeProxyStatus(c net.Conn, status int, msg string) {
	msg = "pkgbox: " + strings.ReplaceAll(msg, "\n", " ") + "\n"
	fmt.Fprintf(c, "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		status, http.StatusText(status), len(msg), msg)
}

// close stops the proxy: no new connection, and every open one is cut.
func (p *proxy) close() {
	p.cancel()
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.listener.Close()
	p.transport.CloseIdleConnections()
	p.wg.Wait()
}
