#!/usr/bin/env python3
"""Loads N manifests straight into an Arca store's metadata (arca must be stopped), to measure
that request costs stay flat as the store grows. The rows are what a push would write:
repositories, manifests with their exact bytes, one tag each, and their references."""
import hashlib
import sqlite3
import sys
import time


def preload(db_path, count, repos=1000):
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA synchronous=OFF")
    now = int(time.time())
    cur = db.cursor()
    cur.execute("BEGIN")
    repo_ids = []
    for r in range(repos):
        cur.execute("INSERT OR IGNORE INTO repositories(name, created_at) VALUES(?, ?)",
                    (f"preload/r{r:05d}", now))
        cur.execute("SELECT id FROM repositories WHERE name = ?", (f"preload/r{r:05d}",))
        repo_ids.append(cur.fetchone()[0])
    config = '{"architecture":"amd64","os":"linux"}'
    config_digest = "sha256:" + hashlib.sha256(config.encode()).hexdigest()
    batch = 20000
    for start in range(0, count, batch):
        rows, tags, refs = [], [], []
        for i in range(start, min(count, start + batch)):
            layer = "sha256:" + hashlib.sha256(str(i).encode()).hexdigest()
            body = ('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",'
                    f'"config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config_digest}","size":{len(config)}}},'
                    f'"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{layer}","size":4096}}]}}')
            digest = "sha256:" + hashlib.sha256(body.encode()).hexdigest()
            rows.append((repo_ids[i % repos], digest, "application/vnd.oci.image.manifest.v1+json", "",
                         "application/vnd.oci.image.config.v1+json", None, "", len(body), body.encode(), now))
        cur.executemany(
            "INSERT INTO manifests(repository_id, digest, media_type, artifact_type, config_media_type,"
            " subject_digest, annotations, size, content, pushed_at) VALUES(?,?,?,?,?,?,?,?,?,?)", rows)
        last = cur.execute("SELECT max(id) FROM manifests").fetchone()[0]
        first = last - len(rows) + 1
        for k, row in enumerate(rows):
            mid = first + k
            tags.append((row[0], f"p{start + k:07d}", mid, now))
            refs.append((mid, 0, 0, config_digest, "application/vnd.oci.image.config.v1+json", len(config), 0))
        cur.executemany("INSERT INTO tags(repository_id, name, manifest_id, updated_at) VALUES(?,?,?,?)", tags)
        cur.executemany("INSERT INTO manifest_references(manifest_id, position, kind, digest, media_type,"
                        " size, is_foreign) VALUES(?,?,?,?,?,?,?)", refs)
    db.commit()
    total = db.execute("SELECT count(*) FROM manifests").fetchone()[0]
    db.close()
    return total


if __name__ == "__main__":
    t = time.time()
    n = preload(sys.argv[1], int(sys.argv[2]))
    print(f"{n} manifests in the store ({time.time() - t:.1f} s to load)")
