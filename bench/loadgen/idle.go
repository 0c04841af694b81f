package main

// idle holds many idle keep-alive connections to a registry, so the bench can read the
// server's memory and serve other clients meanwhile.

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// idle opens n connections (c dialing at a time), sends one GET path on each and reads the
// answer, keeping the socket open. It then prints {"event":"ready",...} and waits for a line
// (or EOF) on stdin; then it checks, without sending anything, how many the server has kept
// open, and prints the final figures. The sockets are plain fds: no goroutine per connection,
// so the client costs little while the server is measured.
func idle(base, path string, n, c int) (map[string]any, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	request := []byte(fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: arca-bench-idle\r\n\r\n", path, u.Host))
	// No TCP keep-alive probes: the connections are to be idle in every sense.
	dialer := net.Dialer{Timeout: 30 * time.Second, KeepAlive: -1}

	conns := make([]*net.TCPConn, n)
	var failed atomic.Int64
	var firstErr atomic.Value
	fail := func(err error) {
		failed.Add(1)
		firstErr.CompareAndSwap(nil, err.Error())
	}
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				conn, err := dialer.Dial("tcp", u.Host)
				if err != nil {
					fail(err)
					continue
				}
				if err := oneRequest(conn, request); err != nil {
					conn.Close()
					fail(err)
					continue
				}
				conns[i] = conn.(*net.TCPConn)
			}
		}()
	}
	wg.Wait()
	opened := n - int(failed.Load())
	ready := map[string]any{"event": "ready", "opened": opened, "failed": failed.Load(),
		"open_s": time.Since(start).Seconds()}
	if e := firstErr.Load(); e != nil {
		ready["first_error"] = e
	}
	json.NewEncoder(os.Stdout).Encode(ready)

	io.Copy(io.Discard, bufio.NewReader(os.Stdin)) // until the bench closes stdin
	held := time.Since(start).Seconds()
	open, closed, chatty := 0, 0, 0
	for _, conn := range conns {
		if conn == nil {
			continue
		}
		switch peek(conn) {
		case peekOpen:
			open++
		case peekClosed:
			closed++
		default:
			chatty++
		}
		conn.Close()
	}
	out := map[string]any{"opened": opened, "failed": failed.Load(), "still_open": open,
		"closed_by_server": closed, "sent_unasked": chatty, "held_s": held}
	if e := firstErr.Load(); e != nil {
		out["first_error"] = e
	}
	return out, nil
}

// oneRequest writes request and reads one whole response; the connection must stay usable.
func oneRequest(conn net.Conn, request []byte) error {
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	defer conn.SetDeadline(time.Time{})
	if _, err := conn.Write(request); err != nil {
		return err
	}
	// A small buffer, dropped after the response: what is left is the socket alone. The
	// registry answers GET /v2/ with a short body and nothing after it, so nothing buffered
	// here belongs to a later response.
	br := bufio.NewReaderSize(conn, 1024)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET: status %d", resp.StatusCode)
	}
	if resp.Close {
		return errors.New("the server asked to close the connection")
	}
	if br.Buffered() > 0 {
		return errors.New("bytes after the response")
	}
	return nil
}

const (
	peekOpen = iota
	peekClosed
	peekData
)

// peek tells, without consuming anything, whether the server still holds conn open: a
// non-blocking MSG_PEEK that would block means open; end of stream or a reset means closed.
func peek(conn *net.TCPConn) int {
	raw, err := conn.SyscallConn()
	if err != nil {
		return peekClosed
	}
	state := peekClosed
	buf := make([]byte, 1)
	raw.Control(func(fd uintptr) {
		n, _, err := syscall.Recvfrom(int(fd), buf, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case err == syscall.EAGAIN:
			state = peekOpen
		case err == nil && n > 0:
			state = peekData // e.g. a 408 sent before closing
		default:
			state = peekClosed
		}
	})
	return state
}
