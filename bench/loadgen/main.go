// loadgen drives the benchmark workloads against any OCI registry and prints one JSON object
// of figures on stdout. Every workload speaks plain distribution-spec HTTP, so Arca and CNCF
// Distribution are measured by the same client doing the same requests.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"hash"
	"io"
	"math/rand"
	"net"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: loadgen push|pull|artifacts|tags|repos|list|setup|referrers|tcpcopy|hammer|idle [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	base := fs.String("url", "http://127.0.0.1:5000", "registry base URL")
	repo := fs.String("repo", "bench/blob", "repository")
	size := fs.Int("size", 256<<20, "blob size in bytes")
	chunk := fs.Int("chunk", 0, "PATCH size in bytes (0: monolithic PUT)")
	count := fs.Int("n", 3, "how many times / how many items")
	conns := fs.Int("c", 1, "concurrent clients")
	dur := fs.Duration("d", 10*time.Second, "duration")
	path := fs.String("path", "", "listing path, e.g. /v2/r/tags/list")
	digest := fs.String("digest", "", "blob digest")
	rangeMid := fs.Bool("range", false, "pull the middle half with a Range request")
	tagPrefix := fs.String("prefix", "t", "tag prefix")
	method := fs.String("method", "HEAD", "hammer: HTTP method")
	readSize := fs.Int("buf", 0, "pull, tcpcopy: read size in bytes (0: io.Copy into io.Discard, 8 KiB reads)")
	verify := fs.Bool("verify", false, "pull: hash what is read with sha256 and check the digest, as real clients do")
	fs.Parse(os.Args[2:])
	reg := newRegistry(*base, *conns)

	var out map[string]any
	var err error
	switch os.Args[1] {
	case "push":
		out, err = push(reg, *repo, *size, *chunk, *count)
	case "pull":
		out, err = pull(reg, *repo, *digest, *size, *count, *rangeMid, *readSize, *verify)
	case "artifacts":
		out, err = artifacts(reg, *conns, *dur)
	case "setup":
		out, err = setup(reg, *repo)
	case "tags":
		out, err = tags(reg, *repo, *tagPrefix, *count, *conns)
	case "repos":
		out, err = repos(reg, *repo, *count, *conns)
	case "referrers":
		out, err = referrers(reg, *repo, *count)
	case "list":
		out, err = list(reg, *path, *count)
	case "tcpcopy":
		out, err = tcpcopy(*size, *count, *readSize)
	case "hammer":
		out, err = hammer(reg, *method, *path, *conns, *dur)
	case "idle":
		if *path == "" {
			*path = "/v2/"
		}
		out, err = idle(*base, *path, *count, *conns)
	default:
		err = fmt.Errorf("unknown workload %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	json.NewEncoder(os.Stdout).Encode(out)
}

func randomBytes(n int, seed int64) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

func mibPerSec(bytes int64, d time.Duration) float64 {
	return float64(bytes) / (1 << 20) / d.Seconds()
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// push uploads n distinct blobs of size bytes; the client hashes before the clock starts.
func push(reg *registry, repo string, size, chunk, n int) (map[string]any, error) {
	data := randomBytes(size, 1)
	var rates []float64
	for i := 0; i < n; i++ {
		binary.LittleEndian.PutUint64(data, uint64(time.Now().UnixNano()))
		d := digestOf(data)
		start := time.Now()
		var err error
		if chunk > 0 {
			err = reg.pushChunked(repo, data, d, chunk)
		} else {
			err = reg.pushBlob(repo, data, d)
		}
		if err != nil {
			return nil, err
		}
		rates = append(rates, mibPerSec(int64(size), time.Since(start)))
	}
	return map[string]any{"mib_s": median(rates), "runs": rates, "last_digest": digestOf(data)}, nil
}

// pull fetches a blob n times (or its middle half with a Range request) and drops it. By
// default it neither hashes nor keeps what it reads (io.Copy into io.Discard, which reads 8 KiB
// at a time); -buf sets the read size and -verify hashes every byte and checks the digest.
func pull(reg *registry, repo, digest string, size, n int, rangeMid bool, readSize int, verify bool) (map[string]any, error) {
	var rates []float64
	for i := 0; i < n; i++ {
		req, _ := http.NewRequest("GET", reg.base+"/v2/"+repo+"/blobs/"+digest, nil)
		want, expect := int64(size), 200
		if rangeMid {
			first, last := size/4, size/4*3-1
			req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", first, last))
			want, expect = int64(last-first+1), 206
		}
		var h hash.Hash
		if verify {
			h = sha256.New()
		}
		start := time.Now()
		resp, err := reg.client.Do(req)
		if err != nil {
			return nil, err
		}
		got, err := consume(resp.Body, readSize, h)
		resp.Body.Close()
		if err != nil || resp.StatusCode != expect || got != want {
			return nil, fmt.Errorf("pull: status %d, %d bytes (%v); want %d, %d", resp.StatusCode, got, err, expect, want)
		}
		if h != nil && !rangeMid {
			if d := "sha256:" + hex.EncodeToString(h.Sum(nil)); d != digest {
				return nil, fmt.Errorf("pull: read %s, want %s", d, digest)
			}
		}
		rates = append(rates, mibPerSec(got, time.Since(start)))
	}
	return map[string]any{"mib_s": median(rates), "best_mib_s": maxOf(rates), "runs": rates}, nil
}

// consume reads r to its end: into io.Discard by io.Copy when readSize is 0, else readSize
// bytes at a time into one buffer; h, when set, is fed every byte.
func consume(r io.Reader, readSize int, h hash.Hash) (int64, error) {
	if readSize <= 0 {
		if h != nil {
			return io.Copy(h, r)
		}
		return io.Copy(io.Discard, r)
	}
	buf := make([]byte, readSize)
	var total int64
	for {
		k, err := r.Read(buf)
		if h != nil {
			h.Write(buf[:k])
		}
		total += int64(k)
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

func maxOf(v []float64) float64 {
	m := v[0]
	for _, x := range v {
		if x > m {
			m = x
		}
	}
	return m
}

// artifacts: each of c clients pushes config + layer + manifest as fast as it can.
func artifacts(reg *registry, c int, d time.Duration) (map[string]any, error) {
	var done, failed atomic.Int64
	var firstErr atomic.Value
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < c; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				config := []byte(fmt.Sprintf(`{"architecture":"amd64","os":"linux","worker":%d,"i":%d,"t":%d}`, w, i, time.Now().UnixNano()))
				layer := randomBytes(4096, int64(w)<<32|int64(i))
				if _, err := reg.pushImage(fmt.Sprintf("bench/artifacts/w%02d", w), fmt.Sprintf("a%d", i), config, layer); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				done.Add(1)
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start)
	out := map[string]any{"artifacts_s": float64(done.Load()) / elapsed.Seconds(), "artifacts": done.Load(), "failed": failed.Load()}
	if e := firstErr.Load(); e != nil {
		out["first_error"] = e
	}
	return out, nil
}

// setup pushes one small image tagged "v1" and prints its digests.
func setup(reg *registry, repo string) (map[string]any, error) {
	config := []byte(`{"architecture":"amd64","os":"linux"}`)
	layer := randomBytes(4096, 7)
	m, err := reg.pushImage(repo, "v1", config, layer)
	if err != nil {
		return nil, err
	}
	return map[string]any{"manifest": digestOf(m), "layer": digestOf(layer), "config": digestOf(config)}, nil
}

// tags PUTs the repository's "v1" manifest under n new tags with c workers.
func tags(reg *registry, repo, prefix string, n, c int) (map[string]any, error) {
	req, _ := http.NewRequest("GET", reg.base+"/v2/"+repo+"/manifests/v1", nil)
	req.Header.Set("Accept", ociManifest)
	resp, err := reg.client.Do(req)
	if err != nil {
		return nil, err
	}
	manifest, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("tags: manifest v1 of %s: status %d", repo, resp.StatusCode)
	}
	start := time.Now()
	err = parallel(n, c, func(i int) error { return reg.putManifest(repo, fmt.Sprintf("%s%06d", prefix, i), manifest) })
	if err != nil {
		return nil, err
	}
	return map[string]any{"tags_s": float64(n) / time.Since(start).Seconds()}, nil
}

// repos creates n repositories, each by mounting the setup image's blobs from repo and
// pushing its manifest.
func repos(reg *registry, from string, n, c int) (map[string]any, error) {
	config := []byte(`{"architecture":"amd64","os":"linux"}`)
	layer := randomBytes(4096, 7)
	manifest := imageManifest(config, layer)
	start := time.Now()
	err := parallel(n, c, func(i int) error {
		name := fmt.Sprintf("bench/many/r%06d", i)
		for _, blob := range [][]byte{config, layer} {
			u := withQuery(withQuery(reg.base+"/v2/"+name+"/blobs/uploads/", "mount", digestOf(blob)), "from", from)
			resp, err := reg.do("POST", u, nil, 0, nil, 201)
			if err != nil {
				return err
			}
			drain(resp)
		}
		return reg.putManifest(name, "v1", manifest)
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"repos_s": float64(n) / time.Since(start).Seconds()}, nil
}

// referrers pushes n signature-like artifacts whose subject is the repository's "v1".
func referrers(reg *registry, repo string, n int) (map[string]any, error) {
	empty := []byte("{}")
	if err := reg.pushBlob(repo, empty, digestOf(empty)); err != nil {
		return nil, err
	}
	req, _ := http.NewRequest("HEAD", reg.base+"/v2/"+repo+"/manifests/v1", nil)
	req.Header.Set("Accept", ociManifest)
	resp, err := reg.client.Do(req)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	subject, size := resp.Header.Get("Docker-Content-Digest"), resp.ContentLength
	err = parallel(n, 8, func(i int) error {
		m := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"%s","artifactType":"application/vnd.example.sig","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"%s","size":2},"layers":[{"mediaType":"application/vnd.oci.empty.v1+json","digest":"%s","size":2}],"subject":{"mediaType":"%s","digest":"%s","size":%d},"annotations":{"n":"%d"}}`,
			ociManifest, digestOf(empty), digestOf(empty), ociManifest, subject, size, i))
		return reg.putManifest(repo, digestOf(m), m)
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"subject": subject}, nil
}

// list fetches a whole listing n times, following Link headers; median milliseconds. Items
// are counted, not decoded, so the figure is the registry's time rather than the client's.
func list(reg *registry, path string, n int) (map[string]any, error) {
	var times []float64
	items := 0
	for i := 0; i < n; i++ {
		start := time.Now()
		items = 0
		for u := reg.base + path; u != ""; {
			req, _ := http.NewRequest("GET", u, nil)
			resp, err := reg.client.Do(req)
			if err != nil {
				return nil, err
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 {
				return nil, fmt.Errorf("list %s: status %d: %v", u, resp.StatusCode, err)
			}
			items += countItems(body)
			u = nextLink(resp.Header.Get("Link"))
			if u != "" {
				u = reg.resolve(u)
			}
		}
		times = append(times, float64(time.Since(start).Microseconds())/1000)
	}
	return map[string]any{"ms": median(times), "items": items}, nil
}

// countItems counts the entries of the "tags" or "repositories" string array, or the
// descriptors of a referrers index.
func countItems(body []byte) int {
	for _, key := range []string{`"tags":[`, `"repositories":[`} {
		if i := bytes.Index(body, []byte(key)); i >= 0 {
			rest := body[i+len(key):]
			end := bytes.IndexByte(rest, ']')
			if end < 0 {
				return 0
			}
			return bytes.Count(rest[:end], []byte(`"`)) / 2
		}
	}
	var idx struct {
		Manifests []json.RawMessage `json:"manifests"`
	}
	if json.Unmarshal(body, &idx) == nil {
		return len(idx.Manifests)
	}
	return 0
}

// tcpcopy measures a plain loopback TCP copy of size bytes: the ceiling for any blob pull.
// The reader drains the way pull does with the same readSize.
func tcpcopy(size, n, readSize int) (map[string]any, error) {
	data := randomBytes(1<<20, 3)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				for sent := 0; sent < size; sent += len(data) {
					if _, err := c.Write(data); err != nil {
						return
					}
				}
			}()
		}
	}()
	var rates []float64
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			return nil, err
		}
		start := time.Now()
		got, _ := consume(c, readSize, nil)
		c.Close()
		rates = append(rates, mibPerSec(got, time.Since(start)))
	}
	return map[string]any{"mib_s": median(rates), "best_mib_s": maxOf(rates)}, nil
}

// parallel runs fn(0..n-1) on c workers; the first error wins.
func parallel(n, c int, fn func(i int) error) error {
	var next atomic.Int64
	var firstErr error
	var mu sync.Mutex
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
				if err := fn(i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// hammer sends one request (method, path) from c keep-alive connections for d; requests per
// second and the 99th percentile latency. For HEAD, which wrk cannot measure.
func hammer(reg *registry, method, path string, c int, d time.Duration) (map[string]any, error) {
	var mu sync.Mutex
	var lat []float64
	var firstErr error
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]float64, 0, 1<<16)
			for time.Now().Before(deadline) {
				req, _ := http.NewRequest(method, reg.base+path, nil)
				req.Header.Set("Accept", ociManifest)
				t := time.Now()
				resp, err := reg.client.Do(req)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						err = fmt.Errorf("%s %s: status %d", method, path, resp.StatusCode)
					}
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				local = append(local, float64(time.Since(t).Microseconds())/1000)
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	elapsed := time.Since(start)
	sort.Float64s(lat)
	return map[string]any{"rps": float64(len(lat)) / elapsed.Seconds(), "p99_ms": lat[len(lat)*99/100]}, nil
}
