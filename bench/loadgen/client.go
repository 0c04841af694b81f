package main

// The registry client the workloads share: uploads, manifest pushes and paginated listings,
// spoken the same way to every registry under test.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const ociManifest = "application/vnd.oci.image.manifest.v1+json"

type registry struct {
	base   string // http://host:port
	client *http.Client
}

func newRegistry(base string, conns int) *registry {
	tr := &http.Transport{
		MaxIdleConns:        conns * 2,
		MaxIdleConnsPerHost: conns * 2,
		DisableCompression:  true,
		IdleConnTimeout:     90 * time.Second,
	}
	return &registry{base: strings.TrimRight(base, "/"), client: &http.Client{Transport: tr, Timeout: 10 * time.Minute}}
}

func digestOf(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// resolve turns a Location header (absolute or relative) into a full URL.
func (r *registry) resolve(loc string) string {
	if strings.HasPrefix(loc, "http://") || strings.HasPrefix(loc, "https://") {
		return loc
	}
	return r.base + loc
}

func withQuery(u, key, value string) string {
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + key + "=" + url.QueryEscape(value)
}

func (r *registry) do(method, u string, body io.Reader, length int64, headers map[string]string, want int) (*http.Response, error) {
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.ContentLength = length
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
		resp.Body.Close()
		return nil, fmt.Errorf("%s %s: status %d, want %d: %s", method, u, resp.StatusCode, want, msg)
	}
	return resp, nil
}

func drain(resp *http.Response) {
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// startUpload opens an upload session and returns its URL.
func (r *registry) startUpload(repo string) (string, error) {
	resp, err := r.do("POST", r.base+"/v2/"+repo+"/blobs/uploads/", nil, 0, nil, 202)
	if err != nil {
		return "", err
	}
	drain(resp)
	return r.resolve(resp.Header.Get("Location")), nil
}

// pushBlob uploads data as POST + PUT with the whole body (the monolithic form both
// registries support).
func (r *registry) pushBlob(repo string, data []byte, digest string) error {
	loc, err := r.startUpload(repo)
	if err != nil {
		return err
	}
	resp, err := r.do("PUT", withQuery(loc, "digest", digest), bytes.NewReader(data), int64(len(data)),
		map[string]string{"Content-Type": "application/octet-stream"}, 201)
	if err != nil {
		return err
	}
	drain(resp)
	return nil
}

// pushChunked uploads data in PATCHes of chunk bytes, then a PUT without a body.
func (r *registry) pushChunked(repo string, data []byte, digest string, chunk int) error {
	loc, err := r.startUpload(repo)
	if err != nil {
		return err
	}
	for off := 0; off < len(data); off += chunk {
		end := off + chunk
		if end > len(data) {
			end = len(data)
		}
		resp, err := r.do("PATCH", loc, bytes.NewReader(data[off:end]), int64(end-off), map[string]string{
			"Content-Type":  "application/octet-stream",
			"Content-Range": fmt.Sprintf("%d-%d", off, end-1),
		}, 202)
		if err != nil {
			return err
		}
		drain(resp)
		loc = r.resolve(resp.Header.Get("Location"))
	}
	resp, err := r.do("PUT", withQuery(loc, "digest", digest), nil, 0, nil, 201)
	if err != nil {
		return err
	}
	drain(resp)
	return nil
}

// imageManifest is a minimal OCI image manifest over one config and one layer.
func imageManifest(config, layer []byte) []byte {
	return []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":%d}]}`,
		ociManifest, digestOf(config), len(config), digestOf(layer), len(layer)))
}

func (r *registry) putManifest(repo, ref string, manifest []byte) error {
	resp, err := r.do("PUT", r.base+"/v2/"+repo+"/manifests/"+ref, bytes.NewReader(manifest),
		int64(len(manifest)), map[string]string{"Content-Type": ociManifest}, 201)
	if err != nil {
		return err
	}
	drain(resp)
	return nil
}

// pushImage pushes config, layer and manifest under tag; returns the manifest.
func (r *registry) pushImage(repo, tag string, config, layer []byte) ([]byte, error) {
	if err := r.pushBlob(repo, config, digestOf(config)); err != nil {
		return nil, err
	}
	if err := r.pushBlob(repo, layer, digestOf(layer)); err != nil {
		return nil, err
	}
	m := imageManifest(config, layer)
	return m, r.putManifest(repo, tag, m)
}

// nextLink extracts the target of a Link: <...>; rel="next" header.
func nextLink(h string) string {
	if h == "" || !strings.Contains(h, `rel="next"`) {
		return ""
	}
	start, end := strings.Index(h, "<"), strings.Index(h, ">")
	if start < 0 || end < start {
		return ""
	}
	return h[start+1 : end]
}
