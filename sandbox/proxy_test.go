package sandbox

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"
)

// startProxy serves the proxy on a loopback port for the test.
func startProxy(t *testing.T, denied func(netip.Addr) bool) *url.URL {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(l, denied)
	t.Cleanup(p.close)
	return &url.URL{Scheme: "http", Host: l.Addr().String()}
}

func allowAll(netip.Addr) bool { return false }

func TestProxyForwardsHTTPAndHTTPS(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/dists/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "index of %s", r.URL.Path)
	})
	plain := httptest.NewServer(mux)
	defer plain.Close()
	tls := httptest.NewTLSServer(mux)
	defer tls.Close()
	proxyURL := startProxy(t, allowAll)

	tr := tls.Client().Transport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyURL(proxyURL)
	client := &http.Client{Transport: tr}
	for _, base := range []string{plain.URL, plain.URL, tls.URL} { // twice: a kept-alive connection
		resp, err := client.Get(base + "/dists/bookworm/Release")
		if err != nil {
			t.Fatalf("GET through the proxy: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "index of /dists/bookworm/Release" {
			t.Errorf("%s: %d %q", base, resp.StatusCode, body)
		}
	}
}

func TestProxyRefusesTheHost(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the host's service was reached: %s", r.URL)
	}))
	defer srv.Close()
	proxyURL := startProxy(t, hostDenier(nil))
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL)}}
	resp, err := client.Get(srv.URL + "/secret")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "may not connect to the host") {
		t.Errorf("plain GET of the host: %d %q, want 403", resp.StatusCode, body)
	}
	// And a tunnel to it, by name as well as by address.
	host := strings.Replace(srv.Listener.Addr().String(), "127.0.0.1", "localhost", 1)
	for _, target := range []string{srv.Listener.Addr().String(), host} {
		c, err := net.Dial("tcp", proxyURL.Host)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %[1]s\r\n\r\n", target)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("CONNECT %s: %d, want 403", target, resp.StatusCode)
		}
	}
}

func TestHostDenier(t *testing.T) {
	deny := hostDenier([]netip.Addr{netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("2001:db8::2")})
	for a, want := range map[string]bool{
		"127.0.0.1": true, "127.1.2.3": true, "::1": true, "0.0.0.0": true, "::": true,
		"fe80::1": true, "169.254.1.1": true, "224.0.0.1": true, "::ffff:127.0.0.1": true,
		"192.0.2.2": true, "::ffff:192.0.2.2": true, "2001:db8::2": true,
		"203.0.113.5": false, "2001:db8::5": false,
	} {
		if got := deny(netip.MustParseAddr(a)); got != want {
			t.Errorf("denied(%s) = %v, want %v", a, got, want)
		}
	}
}

// TestProxyCloseCutsTunnels: a sandbox's end closes the proxy even while
// a tunnel waits on a silent server.
func TestProxyCloseCutsTunnels(t *testing.T) {
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(l, allowAll)
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %[1]s\r\n\r\n", silent.Addr())
	if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT: %v %v", resp, err)
	}
	done := make(chan struct{})
	go func() { p.close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("close waits for a silent tunnel")
	}
}
