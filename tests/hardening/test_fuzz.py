"""A bounded mutation fuzzer against the running server (issue 9).

Valid manifests, configs, type definitions and policies are mutated (deep nesting, huge
numbers, odd unicode, truncation, type swaps, duplicate keys, null where an array belongs...)
and sent. Every answer must be a well-formed status: 2xx, or 4xx with an OCI error body; the
server must never die; at the end content pushed before the run still pulls byte-identical.

Bounded by a count and by a time budget of 60 s x ARCA_TEST_TIME_SCALE (default 1). The seed is
printed, and named in every failure: ARCA_FUZZ_SEED=<seed> replays a run.
"""
import json
import os
import random
import time

import requests

import ocihttp
from ocihttp import (DOCKER_CONFIG, DOCKER_MANIFEST, OCI_CONFIG, OCI_INDEX, OCI_LAYER,
                     OCI_MANIFEST, descriptor, sha256)
from testkit import CNAB_CONFIG, HELM_CONFIG, hang_guard
from hardlib import assert_well_formed

MAX_CASES = 5000
BUDGET_S = hang_guard(60.0)  # a budget, not a bound: scaled like the hang guards
POLICY_EVERY_S = 2.0  # the server re-reads the policy file about once a second
DEEP_SENTINEL = "\u2603deep\u2603"

GIZMO = "application/vnd.example.gizmo.config.v1+json"
CONFIG_TYPES = [OCI_CONFIG, DOCKER_CONFIG, HELM_CONFIG, CNAB_CONFIG, GIZMO]

GIZMO_DEF = {
    "mediaType": GIZMO, "title": "Gizmo", "description": "fuzz seed",
    "layerMediaTypes": ["application/vnd.example.gizmo.layer.v1.tar", "application/vnd.oci.*"],
    "configSchema": {"type": "object", "required": ["model"],
                     "properties": {"model": {"type": "string", "minLength": 1, "pattern": "^[a-z0-9]+$"},
                                    "count": {"type": "integer", "minimum": 0},
                                    "tags": {"type": "array", "items": {"type": "string"},
                                             "uniqueItems": True},
                                    "mode": {"enum": ["a", "b", [1, {"x": None}]]}}},
    "indexFields": {"model": "/model", "first": "/tags/0"},
    "version": "1", "specUrl": "https://example.org/gizmo",
}

IMAGE_CONFIG = {"architecture": "amd64", "os": "linux", "created": "2024-05-01T10:00:00Z",
                "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "1" * 64]},
                "config": {"Env": ["PATH=/usr/bin"], "Labels": {"a": "b"}}}
# Each config with the media type it is pushed under (a third of the time, another one).
CONFIGS = [
    (OCI_CONFIG, IMAGE_CONFIG),
    (DOCKER_CONFIG, IMAGE_CONFIG),
    (HELM_CONFIG, {"apiVersion": "v2", "name": "web", "version": "1.0.0",
                   "dependencies": [{"name": "db"}]}),
    (CNAB_CONFIG, {"schemaVersion": "v1.0.0", "name": "bundle", "version": "0.1.0",
                   "invocationImages": [{"imageType": "docker", "image": "x/y:1"}],
                   "images": None}),
    (GIZMO, {"model": "g1", "count": 2, "tags": ["x", "y"], "mode": "a"}),
]

POLICIES = [
    'rules:\n  - repositories: "fz/**"\n    allow: ["%s", "%s", "%s"]\n    config: warn\n'
    '    layers: warn\n    unknown: warn\n' % (OCI_CONFIG, GIZMO, CNAB_CONFIG),
    'rules:\n  - repositories: "fz/*"\n    config: enforce\n  - repositories: "**"\n'
    '    unknown: warn\n',
]


# ------------------------------------------------------------------------ mutations
class Mutator:
    def __init__(self, rng):
        self.rng = rng

    def scalar(self):
        r = self.rng
        return r.choice([
            None, True, False, 0, -1, 2 ** 63, 2 ** 64 + 1, -(2 ** 63) - 1, 1.5, 1e308, -0.0,
            "", "x" * r.choice([1, 255, 4096, 100_000]), "\u0000", "\ud83d\ude00 \u202e rtl",
            "sha256:" + "0" * 64, "sha512:zz", "../../etc/passwd", "a/b", "application/" + "x" * 300,
        ])

    def deep(self):
        r = self.rng
        # mostly the attack's depth; the edges of the limit too
        depth = r.choice([99, 100, 101, 1000, 100_000, 100_000, 100_000])
        core = json.dumps(self.scalar())
        return ("[" * depth + core + "]" * depth) if r.random() < 0.5 else \
               ('{"a":' * depth + core + "}" * depth)

    def value(self):
        r = self.rng
        pick = r.random()
        if pick < 0.5:
            return self.scalar()
        if pick < 0.7:
            return [self.scalar() for _ in range(r.randint(0, 4))]
        return {f"k{i}": self.scalar() for i in range(r.randint(0, 4))}

    def paths(self, doc, prefix=()):
        out = [prefix]
        if isinstance(doc, dict):
            for k, v in doc.items():
                out.extend(self.paths(v, prefix + (k,)))
        elif isinstance(doc, list):
            for i, v in enumerate(doc):
                out.extend(self.paths(v, prefix + (i,)))
        return out

    def structural(self, doc):
        """One change to the tree; returns the new document (a Python value)."""
        r = self.rng
        doc = json.loads(json.dumps(doc))
        path = r.choice(self.paths(doc))
        parent, key = None, None
        node = doc
        for k in path:
            parent, key, node = node, k, node[k]
        op = r.choice(["swap", "null", "drop", "add", "empty"])
        if parent is None:
            return self.value() if op == "swap" else doc
        if op == "swap":
            parent[key] = self.value()
        elif op == "null":
            parent[key] = None
        elif op == "drop":
            del parent[key]
        elif op == "add" and isinstance(node, dict):
            node[r.choice(["mediaType", "layers", "manifests", "x", "annotations", "urls"])] = self.value()
        elif op == "empty":
            parent[key] = type(node)() if isinstance(node, (list, dict, str)) else None
        return doc

    def with_deep_value(self, doc):
        """doc as text with one value (any depth, any position) replaced by a deep one."""
        doc = json.loads(json.dumps(doc))
        path = self.rng.choice(self.paths(doc)[1:] or [()])
        if not path:
            return self.deep()
        node = doc
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = DEEP_SENTINEL
        return json.dumps(doc).replace(json.dumps(DEEP_SENTINEL), self.deep(), 1)

    def mutate(self, doc):
        """Mutated bytes of doc (a Python value): tree changes, then text changes."""
        r = self.rng
        for _ in range(r.randint(0, 3)):
            doc = self.structural(doc)
        text = json.dumps(doc, ensure_ascii=r.random() < 0.5)
        op = r.random()
        if op < 0.3:
            text = self.with_deep_value(doc)
        elif op < 0.35:
            text = text[:r.randrange(len(text) + 1)]  # truncation
        elif op < 0.45 and text.startswith("{") and len(text) > 2:
            k = r.choice(["mediaType", "schemaVersion", "config", "layers", "title", "name"])
            text = "{" + json.dumps(k) + ":" + json.dumps(self.value()) + "," + text[1:]  # duplicate
        elif op < 0.52:
            data = bytearray(text.encode("utf-8", "surrogatepass"))
            for _ in range(r.randint(1, 8)):
                if data:
                    data[r.randrange(len(data))] = r.randrange(256)
            return bytes(data)
        elif op < 0.58:
            text = text.replace("[", "[" * r.choice([2, 50, 200]), 1)
        elif op < 0.62:
            text = text + r.choice(["", " ", "\n", "{}", "\x00", "garbage"])
        elif op < 0.66:
            text = text.replace('"', "'", r.randint(1, 4))
        elif op < 0.70:
            text = text.replace("2", "1e400", 1)
        return text.encode("utf-8", "surrogatepass")


# ------------------------------------------------------------------------- the run
class Fuzz:
    def __init__(self, srv, seed):
        self.srv = srv
        self.reg = ocihttp.Registry(srv.url)
        self.seed = seed
        self.rng = random.Random(seed)
        self.mut = Mutator(self.rng)
        self.cases = 0
        self.statuses = {}
        self.blobs = {}  # repo -> [digest] of blobs known pushed (for valid references)

    def ctx(self, what, data=b""):
        return f"seed={self.seed} case={self.cases} {what} body[:200]={data[:200]!r}"

    def check(self, r, what, data=b""):
        self.statuses[r.status_code] = self.statuses.get(r.status_code, 0) + 1
        try:
            assert_well_formed(r, self.ctx(what, data))
        finally:
            assert self.srv.proc.poll() is None, "arca died: " + self.ctx(what, data) + \
                f"; log: {self.srv.log_path}"

    def repo(self):
        return f"fz/r{self.rng.randrange(4)}"

    def push_blob(self, repo, data):
        digest = sha256(data)
        r = self.reg.post(f"/v2/{repo}/blobs/uploads/", params={"digest": digest}, data=data,
                          headers={"Content-Type": "application/octet-stream"})
        self.check(r, "blob push", data)
        return digest if r.status_code == 201 else None

    def valid_manifest(self, repo):
        """A manifest (Python value) whose config and layer are pushed."""
        r = self.rng
        cfg_type, cfg_doc = r.choice(CONFIGS)
        cfg = json.dumps(cfg_doc).encode()
        layer = os.urandom(32)
        for b in (cfg, layer):
            self.push_blob(repo, b)
        docker = cfg_type == DOCKER_CONFIG
        m = {"schemaVersion": 2, "mediaType": DOCKER_MANIFEST if docker else OCI_MANIFEST,
             "config": descriptor(cfg_type, cfg),
             "layers": [descriptor(OCI_LAYER, layer, annotations={"a": "b"})]}
        if cfg_type == CNAB_CONFIG:
            m["layers"] = None
        if r.random() < 0.3:
            child = json.dumps(m).encode()
            self.send_manifest(repo, child, m["mediaType"])
            m = {"schemaVersion": 2, "mediaType": OCI_INDEX,
                 "manifests": [descriptor(m["mediaType"], child,
                                          platform={"os": "linux", "architecture": "amd64"})],
                 "annotations": {"org.opencontainers.artifactType": "application/x.fuzz"}}
        return m

    def send_manifest(self, repo, data, content_type):
        ref = self.rng.choice(["latest", "v1", sha256(data)])
        r = self.reg.put(f"/v2/{repo}/manifests/{ref}", data=data, headers={"Content-Type": content_type})
        self.check(r, f"manifest PUT {repo}:{ref}", data)
        return r

    def fuzz_manifest(self):
        repo = self.repo()
        m = self.valid_manifest(repo)
        data = self.mut.mutate(m)
        ctype = self.rng.choice([m["mediaType"], OCI_MANIFEST, DOCKER_MANIFEST, OCI_INDEX, "",
                                 "application/json", "text/plain; charset=utf-8"])
        self.send_manifest(repo, data, ctype)

    def fuzz_config(self):
        repo = self.repo()
        cfg_type, cfg_doc = self.rng.choice(CONFIGS)
        if self.rng.random() < 0.3:
            cfg_type = self.rng.choice(CONFIG_TYPES)
        cfg = self.mut.mutate(cfg_doc)
        if not self.push_blob(repo, cfg):
            return
        layer = os.urandom(16)
        self.push_blob(repo, layer)
        m = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": descriptor(cfg_type, cfg),
             "layers": [descriptor(OCI_LAYER, layer)]}
        self.send_manifest(repo, json.dumps(m).encode(), OCI_MANIFEST)

    def fuzz_type(self):
        data = self.mut.mutate(GIZMO_DEF)
        type_id = self.rng.choice([GIZMO, "application/vnd.example.other+json", "a/b"])
        r = self.reg.put(f"/arca/v1/types/{type_id}", data=data,
                         headers={"Content-Type": "application/json"})
        self.check(r, f"type PUT {type_id}", data)
        if self.rng.random() < 0.2:
            self.check(self.reg.get("/arca/v1/types"), "type list")
        if self.rng.random() < 0.2:
            repo = self.repo()
            self.check(self.reg.get(f"/arca/v1/repositories/{repo}/artifacts"), "artifacts")

    def write_policy(self):
        base = self.rng.choice(POLICIES)
        r = self.rng.random()
        if r < 0.3:
            text = base
        elif r < 0.5:
            d = self.rng.choice([10, 499, 501, 100_000])
            text = base + "extra: " + "[" * d + "]" * d + "\n"
        elif r < 0.7:
            text = base[: self.rng.randrange(len(base))]
        else:
            data = bytearray(base.encode())
            for _ in range(self.rng.randint(1, 6)):
                data[self.rng.randrange(len(data))] = self.rng.randrange(256)
            text = bytes(data).decode("latin-1")
        with open(os.path.join(self.srv.root, "policy.yaml"), "w", encoding="latin-1") as f:
            f.write(text)


def push_keepsakes(reg):
    """Content pushed before the run; returns [(repo, ref, bytes)] and blobs to re-check."""
    repo = "keep/image"
    img = ocihttp.push_image(reg, repo, ref="v1", n_layers=2)
    art = ocihttp.push_artifact(reg, repo, artifact_type="application/x.keep", ref="art")
    return img, art


def test_fuzz_documents(make_server):
    seed = int(os.environ.get("ARCA_FUZZ_SEED", random.SystemRandom().randrange(1 << 32)))
    print(f"fuzz seed: {seed} (replay with ARCA_FUZZ_SEED={seed})")
    srv = make_server(policy=POLICIES[0], types={"gizmo.json": json.dumps(GIZMO_DEF)})
    reg = ocihttp.Registry(srv.url)
    img, art = push_keepsakes(reg)
    fz = Fuzz(srv, seed)
    start = time.monotonic()
    last_policy = start
    actions = [fz.fuzz_manifest] * 4 + [fz.fuzz_config] * 3 + [fz.fuzz_type] * 2
    while fz.cases < MAX_CASES and time.monotonic() - start < BUDGET_S:
        fz.cases += 1
        action = fz.rng.choice(actions)
        try:
            action()
        except requests.RequestException as e:
            state = "alive" if srv.proc.poll() is None else f"dead (exit {srv.proc.returncode})"
            raise AssertionError(f"seed={seed} case={fz.cases} {action.__name__}: {e!r}; arca is "
                                 f"{state}; log: {srv.log_path}") from e
        if time.monotonic() - last_policy > POLICY_EVERY_S:
            fz.write_policy()
            last_policy = time.monotonic()
    print(f"fuzz: {fz.cases} cases in {time.monotonic() - start:.1f} s; statuses {fz.statuses}")
    assert fz.cases >= 50, f"seed={seed}: too few cases ran ({fz.cases}); is the server very slow?"
    assert srv.proc.poll() is None, f"seed={seed}: arca died; log: {srv.log_path}"
    # the keepsakes are intact, byte for byte
    for pushed in (img, art):
        for ref in ("v1" if pushed is img else "art", pushed.digest):
            r = reg.get_manifest("keep/image", ref, accept=pushed.media_type)
            assert r.status_code == 200 and r.content == pushed.body, f"seed={seed}" + ocihttp.describe(r)
        for d, b in pushed.blobs.items():
            assert reg.get_blob("keep/image", d) == b, f"seed={seed}: blob {d} changed"
    assert sorted(reg.tags("keep/image")) == ["art", "v1"]
    log = srv.log_text()
    for bad in ("AddressSanitizer", "runtime error:", "terminate called"):
        assert bad not in log, f"seed={seed}: {bad} in the server log {srv.log_path}"
