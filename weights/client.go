package weights

import (
	"net"
	"net/http"
	"time"
)

// Time limits of downloads. DefaultClient applies the first three to every
// request; the stall timeout (Cache.StallTimeout) applies to every client,
// DefaultClient or not.
const (
	// ConnectTimeout bounds establishing a TCP connection.
	ConnectTimeout = 30 * time.Second
	// TLSHandshakeTimeout bounds the TLS handshake.
	TLSHandshakeTimeout = 30 * time.Second
	// HeaderTimeout bounds the wait for response headers after the request
	// was sent.
	HeaderTimeout = 30 * time.Second
	// DefaultStallTimeout abandons a request that received nothing (no
	// headers, no body bytes) for this long; Fetch then resumes it, up to
	// three attempts in all.
	DefaultStallTimeout = 30 * time.Second
)

// DefaultClient is the client a Cache uses when its Client is nil: Go's
// default transport (proxies from the environment, HTTP/2, keep-alive)
// with ConnectTimeout, TLSHandshakeTimeout and HeaderTimeout. It has no
// overall timeout, since a large file on a slow line may legitimately take
// long; a stalled body is caught by the Cache's StallTimeout.
var DefaultClient = &http.Client{Transport: defaultTransport()}

func defaultTransport() http.RoundTripper {
	t, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		t = &http.Transport{Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true}
	} else {
		t = t.Clone()
	}
	t.DialContext = (&net.Dialer{Timeout: ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = TLSHandshakeTimeout
	t.ResponseHeaderTimeout = HeaderTimeout
	return t
}

func (c *Cache) client() *http.Client {
	if c.Client != nil {
		return c.Client
	}
	return DefaultClient
}

func (c *Cache) stallTimeout() time.Duration {
	if c.StallTimeout > 0 {
		return c.StallTimeout
	}
	return DefaultStallTimeout
}
