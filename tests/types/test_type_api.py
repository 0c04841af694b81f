"""Type definitions: GET/PUT/DELETE /arca/v1/types, logos, operator files in <root>/types/ and
the admin_token setting (docs/arca-api.md "Artifact types", docs/artifact-type.schema.json).

Every test that changes types runs its own server.
"""
import base64
import json
import os
import socket
import subprocess
import uuid

import pytest

from arca_server import REPO_TOP
from typelib import (COSIGN_SIG, CNAB_TYPE, DOCKER_CONFIG, HELM_CONFIG, OCI_CONFIG, OCI_INDEX,
                     OPA_CONFIG, SIF_CONFIG, SPDX_JSON, UNKNOWN_TYPE, Arca,
                     assert_error, assert_svg_response, build_artifact, build_helm, describe,
                     type_path, wait_until)

# The built-ins issue 4 asks for, by their projects' published media types.
BUILTINS = {
    OCI_CONFIG: "OCI image",
    DOCKER_CONFIG: "Docker image",
    OCI_INDEX: "multi-platform image index",
    HELM_CONFIG: "Helm chart",
    SIF_CONFIG: "Singularity/Apptainer SIF",
    CNAB_TYPE: "CNAB bundle",
    OPA_CONFIG: "OPA bundle",
    "application/vnd.wasm.config.v0+json": "WASM module",
    COSIGN_SIG: "cosign signature",
    "application/vnd.cncf.notary.signature": "Notary v2 signature",
    SPDX_JSON: "SPDX SBOM",
    "application/vnd.cyclonedx+json": "CycloneDX SBOM",
    "application/vnd.in-toto+json": "in-toto attestation",
    "application/vnd.cncf.flux.config.v1+json": "Flux artifact",
}
SUMMARY_KEYS = ("mediaType", "title", "description", "layerMediaTypes", "version", "specUrl",
                "moreInfoUrl", "source", "hasLogo", "hasConfigSchema", "indexFields")

WIDGET = "application/vnd.example.widget.config.v1+json"
LOGO = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
        '<circle cx="8" cy="8" r="7" fill="#3366cc"/></svg>')


def widget(title="Widget", **over):
    d = {"mediaType": WIDGET, "title": title, "description": "A widget for the tests.",
         "layerMediaTypes": ["application/vnd.example.widget.layer.v1.tar", "text/*"],
         "logo": LOGO,
         "configSchema": {"type": "object", "required": ["name", "size"],
                          "properties": {"name": {"type": "string", "minLength": 1},
                                         "size": {"type": "integer", "minimum": 1}}},
         "indexFields": {"name": "/name", "size": "/size", "owner": "/meta/owner"},
         "version": "1.0", "specUrl": "https://example.com/widget/spec",
         "moreInfoUrl": "https://example.com/widget"}
    d.update(over)
    return {k: v for k, v in d.items() if v is not None}


def summary_of(arca, type_id):
    found = [t for t in arca.types() if t["mediaType"] == type_id]
    assert len(found) <= 1, f"{type_id} listed {len(found)} times"
    return found[0] if found else None


def type_files(root):
    """{file name: parsed JSON} of the definitions in <root>/types/."""
    d = os.path.join(root, "types")
    out = {}
    if os.path.isdir(d):
        for n in sorted(os.listdir(d)):
            if n.endswith(".json"):
                with open(os.path.join(d, n), "rb") as f:
                    try:
                        out[n] = json.loads(f.read())
                    except ValueError:
                        out[n] = None
    return out


def files_defining(root, type_id):
    return [n for n, d in type_files(root).items() if isinstance(d, dict)
            and d.get("mediaType") == type_id]


def write_atomic(path, data):
    tmp = str(path) + ".tmp~"
    with open(tmp, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)
    os.replace(tmp, path)


def rescan_barrier(arca, folder):
    """Returns once the types folder watcher has read the whole folder again after this call:
    a new definition file is dropped in and waited for, then removed and waited for. The
    watcher rescans the folder as a whole on any change (TypeCatalog::Rescan), so whatever was
    written there before has been read by then. The proof a fixed sleep only hoped for."""
    sentinel = f"application/vnd.example.sentinel-{uuid.uuid4().hex[:12]}.v1+json"
    path = os.path.join(folder, f"sentinel-{uuid.uuid4().hex[:12]}.json")
    write_atomic(path, json.dumps({"mediaType": sentinel, "title": "Sentinel"}))
    wait_until(lambda: arca.get_type(sentinel).status_code == 200,
               what="the watcher to load a new file")
    os.remove(path)
    wait_until(lambda: arca.get_type(sentinel).status_code == 404,
               what="the watcher to notice a removed file")


def check_definition_response(r, want, source):
    """GET /arca/v1/types/<id>: the definition as loaded plus source, logo not inlined."""
    assert r.status_code == 200, describe(r)
    assert r.headers.get("Content-Type", "").split(";")[0].strip() == "application/json"
    got = r.json()
    assert got.get("source") == source, got
    for k, v in want.items():
        if k == "logo":
            continue
        assert got.get(k) == v, f"{k}: {got.get(k)!r} != {v!r}"
    assert "<svg" not in r.text, "the logo must not be inlined in GET /arca/v1/types/<id>"


# ------------------------------------------------------------------ built-ins

def test_builtin_types_are_listed_sorted_with_summaries(arca):
    types = arca.types()
    ids = [t["mediaType"] for t in types]
    assert ids == sorted(ids), "GET /arca/v1/types must be sorted by mediaType"
    assert len(ids) == len(set(ids)), ids
    missing = [f"{k} ({v})" for k, v in BUILTINS.items() if k not in ids]
    assert not missing, f"built-in types missing: {missing}"
    for t in types:
        for k in ("mediaType", "title", "source", "hasLogo", "hasConfigSchema"):
            assert k in t, f"summary of {t.get('mediaType')} lacks {k}: {t}"
        assert set(t) <= set(SUMMARY_KEYS), f"unexpected summary keys: {set(t) - set(SUMMARY_KEYS)}"
        assert isinstance(t["hasLogo"], bool) and isinstance(t["hasConfigSchema"], bool), t
        assert t["source"] in ("builtin", "file", "api"), t
        assert isinstance(t["title"], str) and t["title"], t
    for type_id in BUILTINS:
        t = summary_of(arca, type_id)
        assert t["source"] == "builtin", t
        assert t["hasLogo"] is True, f"built-in {type_id} has no logo"
        full = arca.type_def(type_id)
        for k in SUMMARY_KEYS:
            if k in full and k != "source":
                assert t.get(k) == full[k], f"{type_id}: summary {k}={t.get(k)!r}, full {full[k]!r}"
        assert t["hasConfigSchema"] == ("configSchema" in full), (t, full.keys())
        assert_svg_response(arca.logo(type_id))
    helm = arca.type_def(HELM_CONFIG)
    assert "version" in helm["configSchema"].get("required", []), helm["configSchema"]
    assert "/name" in helm["indexFields"].values() and "/version" in helm["indexFields"].values()


def test_builtin_definitions_are_the_shipped_files(arca):
    """Each built-in is served as its file in types/builtin/ says (the full definition plus
    source; the logo not inlined but served from logo.svg)."""
    folder = os.path.join(REPO_TOP, "types", "builtin")
    files = sorted(n for n in os.listdir(folder) if n.endswith(".json"))
    assert len(files) >= len(BUILTINS), files
    for n in files:
        with open(os.path.join(folder, n)) as f:
            want = json.load(f)
        r = arca.get_type(want["mediaType"])
        assert r.status_code == 200, describe(r)
        got = r.json()
        assert got.pop("source") == "builtin", n
        logo = want.pop("logo", None)
        got.pop("logo", None)
        if "hasLogo" in got:  # tolerated: the logo itself is not inlined
            assert got.pop("hasLogo") is bool(logo), n
        assert got == want, f"{n}: served {got} != shipped {want}"
        if logo:
            with open(os.path.join(folder, logo), "rb") as f:
                svg = f.read()
            r = arca.logo(want["mediaType"])
            assert_svg_response(r)
            assert r.content == svg, f"{n}: logo.svg is not {logo}"


def test_get_type_as_is_and_percent_encoded(arca):
    a = arca.get_type(HELM_CONFIG)
    b = arca.get_type(HELM_CONFIG, encoded=True)
    assert a.status_code == 200 and b.status_code == 200, describe(a) + describe(b)
    assert a.json() == b.json()
    d = a.json()
    assert d["mediaType"] == HELM_CONFIG and d["source"] == "builtin"
    assert "<svg" not in a.text, "the logo must not be inlined"
    assert isinstance(d.get("configSchema"), dict) and isinstance(d.get("indexFields"), dict)
    assert_error(arca.get_type("application/vnd.example.never-defined.v1"), 404, "NAME_UNKNOWN")
    r = arca.logo("application/vnd.example.never-defined.v1")
    assert r.status_code == 404, describe(r)


# ------------------------------------------------------------------ PUT / GET / DELETE

def test_put_get_replace_delete_a_type(make_arca):
    srv, arca = make_arca()
    before = arca.type_ids()
    assert WIDGET not in before
    r = arca.put_type(widget())
    assert r.status_code == 201, describe(r)

    t = summary_of(arca, WIDGET)
    assert t is not None, "a PUT type must be listed at once"
    assert t["source"] == "api" and t["title"] == "Widget" and t["hasLogo"] is True, t
    assert t["hasConfigSchema"] is True and t["indexFields"] == widget()["indexFields"], t
    assert t["layerMediaTypes"] == widget()["layerMediaTypes"], t
    assert sorted(arca.type_ids()) == sorted(before + [WIDGET])
    check_definition_response(arca.get_type(WIDGET), widget(), "api")
    check_definition_response(arca.get_type(WIDGET, encoded=True), widget(), "api")
    r = arca.logo(WIDGET)
    assert_svg_response(r)
    assert r.content == LOGO.encode(), "the inline logo is served as given"
    # persisted as a file under <root>/types/, named as docs/artifact-types.md says
    # ("api--<id>.json", characters other than letters, digits, "." and "-" written "_")
    assert files_defining(srv.root, WIDGET) == [
        "api--application_vnd.example.widget.config.v1_json.json"], type_files(srv.root)

    # PUT again (percent-encoded path this time): replaced
    r = arca.put_type(widget("Widget v2", indexFields={"name": "/name"}), encoded=True)
    assert r.status_code == 200, describe(r)
    check_definition_response(arca.get_type(WIDGET), widget("Widget v2", indexFields={
        "name": "/name"}), "api")
    assert summary_of(arca, WIDGET)["title"] == "Widget v2"
    assert len(files_defining(srv.root, WIDGET)) == 1, type_files(srv.root)

    # persisted: a restart keeps it
    srv.stop()
    srv.start()
    assert arca.type_def(WIDGET)["title"] == "Widget v2"
    assert_svg_response(arca.logo(WIDGET))

    r = arca.delete_type(WIDGET)
    assert r.status_code == 202, describe(r)
    assert_error(arca.get_type(WIDGET), 404, "NAME_UNKNOWN")
    assert arca.logo(WIDGET).status_code == 404
    assert WIDGET not in arca.type_ids()
    assert files_defining(srv.root, WIDGET) == [], type_files(srv.root)
    srv.stop()
    srv.start()
    assert_error(arca.get_type(WIDGET), 404, "NAME_UNKNOWN")


def test_type_without_logo_has_no_logo(make_arca):
    srv, arca = make_arca()
    r = arca.put_type(widget(logo=None))
    assert r.status_code == 201, describe(r)
    assert summary_of(arca, WIDGET)["hasLogo"] is False
    assert arca.logo(WIDGET).status_code == 404


INVALID = [
    # (what, field the error must name, definition)
    ("missing title", "title", widget(title=None)),
    ("empty title", "title", widget(title="")),
    ("title not a string", "title", widget(title=7)),
    ("indexFields pointer without '/'", "indexFields", widget(indexFields={"name": "name"})),
    ("indexFields not an object", "indexFields", widget(indexFields=["/name"])),
    ("logo path traversal", "logo", widget(logo="../../../etc/passwd.svg")),
    ("logo in a subfolder", "logo", widget(logo="sub/widget.svg")),
    ("logo neither SVG nor .svg file", "logo", widget(logo="widget.png")),
    ("layerMediaTypes not an array", "layerMediaTypes", widget(layerMediaTypes="text/plain")),
    ("layerMediaTypes bad entry", "layerMediaTypes", widget(layerMediaTypes=["not a type"])),
    ("specUrl not http(s)", "specUrl", widget(specUrl="ftp://example.com/x")),
    ("unknown property", "colour", widget(colour="blue")),
    ("configSchema not a schema", "configSchema", widget(configSchema="object")),
    ("configSchema true", "configSchema", widget(configSchema=True)),
    # configSchema must be a schema in the subset docs/artifact-type.schema.json describes
    ("configSchema bad type name", "configSchema", widget(configSchema={"type": "text"})),
    ("configSchema required not an array", "configSchema",
     widget(configSchema={"required": "name"})),
    ("configSchema negative minLength", "configSchema", widget(configSchema={"minLength": -1})),
    ("configSchema property not a schema", "configSchema",
     widget(configSchema={"properties": {"a": 5}})),
    ("configSchema tuple items", "configSchema",
     widget(configSchema={"items": [{"type": "string"}]})),
    ("configSchema empty enum", "configSchema", widget(configSchema={"enum": []})),
    ("configSchema bad pattern", "configSchema",
     widget(configSchema={"type": "string", "pattern": "("})),
    ("title too long", "title", widget(title="x" * 201)),
    # docs/artifact-types.md "Logos": no scripts, handlers or external references
    ("logo with a script", "logo",
     widget(logo='<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')),
    ("logo with an event handler", "logo",
     widget(logo='<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>')),
    ("logo with an external href", "logo",
     widget(logo='<svg xmlns="http://www.w3.org/2000/svg"><a href="https://evil.example/">'
                 '<rect width="1" height="1"/></a></svg>')),
    # issue 9: an allowlist over the parsed XML, not a search for " on"
    ("logo with onload after a slash", "logo", widget(logo="<svg/onload=alert(1)>")),
    ("logo with uppercase ONLOAD", "logo",
     widget(logo='<svg xmlns="http://www.w3.org/2000/svg" ONLOAD="alert(1)"/>')),
    ("logo with a handler after a newline", "logo",
     widget(logo='<svg xmlns="http://www.w3.org/2000/svg">\n<rect\nonclick="alert(1)"/></svg>')),
    ("logo with a protocol-relative xlink:href", "logo",
     widget(logo='<svg xmlns="http://www.w3.org/2000/svg" '
                 'xmlns:xlink="http://www.w3.org/1999/xlink"><use xlink:href="//evil.example/a.svg#x"/>'
                 '</svg>')),
    ("logo with a javascript href", "logo",
     widget(logo='<svg xmlns="http://www.w3.org/2000/svg"><use href="javascript:alert(1)"/></svg>')),
    ("logo with foreignObject", "logo",
     widget(logo='<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><div '
                 'xmlns="http://www.w3.org/1999/xhtml">x</div></foreignObject></svg>')),
    ("logo with an external entity", "logo",
     widget(logo='<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                 '<svg xmlns="http://www.w3.org/2000/svg"><text>&x;</text></svg>')),
    ("logo with a style url to elsewhere", "logo",
     widget(logo='<svg xmlns="http://www.w3.org/2000/svg"><rect style="fill:url(https://evil.example/p)"'
                 '/></svg>')),
    ("logo too big", "logo",
     widget(logo='<svg xmlns="http://www.w3.org/2000/svg">' + "<!-- x -->" * 30000 + "</svg>")),
]


@pytest.mark.parametrize("what,field,definition", INVALID, ids=[c[0] for c in INVALID])
def test_invalid_definition_is_refused_and_nothing_changes(make_arca, what, field, definition):
    srv, arca = make_arca()
    assert arca.put_type(widget()).status_code == 201
    types_before = arca.types()
    files_before = type_files(srv.root)
    r = arca.put_type(definition, type_id=WIDGET)
    text = assert_error(r, 400, "MANIFEST_INVALID")
    assert field in text, f"the error must name the field {field!r}: {text}"
    assert arca.types() == types_before
    assert type_files(srv.root) == files_before
    check_definition_response(arca.get_type(WIDGET), widget(), "api")


def test_invalid_media_types_and_bodies_are_refused(make_arca):
    srv, arca = make_arca()
    before = arca.types()
    # mediaTypes that are not media types (RFC 6838 type/subtype, no parameters), sent both
    # in the path (percent-encoded) and the body
    for bad_id in ("application/vnd.example.widget; v=1", "application/vnd example",
                   "application/", "/vnd.example"):
        r = arca.put_type(widget(mediaType=bad_id), encoded=True)
        text = assert_error(r, 400, "MANIFEST_INVALID")
        assert "mediaType" in text, text
    # the body's mediaType must equal the <id> of the path
    text = assert_error(arca.put_type(widget(), type_id="application/vnd.example.other.v1"), 400,
                        "MANIFEST_INVALID")
    assert "mediaType" in text, text
    # missing mediaType
    text = assert_error(arca.put_type(widget(mediaType=None), type_id=WIDGET), 400,
                        "MANIFEST_INVALID")
    assert "mediaType" in text, text
    # not JSON / not an object
    assert_error(arca.put_type(None, type_id=WIDGET, raw=b"{not json"), 400, "MANIFEST_INVALID")
    assert_error(arca.put_type(None, type_id=WIDGET, raw=b"[1,2]"), 400, "MANIFEST_INVALID")
    assert arca.types() == before
    assert type_files(srv.root) == {}
    assert_error(arca.get_type(WIDGET), 404, "NAME_UNKNOWN")


def test_delete_of_builtin_without_override_is_unsupported(make_arca):
    srv, arca = make_arca()
    before = arca.types()
    assert_error(arca.delete_type(HELM_CONFIG), 405, "UNSUPPORTED")
    assert_error(arca.delete_type(HELM_CONFIG, encoded=True), 405, "UNSUPPORTED")
    assert arca.types() == before
    assert arca.type_def(HELM_CONFIG)["source"] == "builtin"


def test_override_builtin_then_delete_restores_it(make_arca, repo):
    srv, arca = make_arca()
    builtin = arca.type_def(HELM_CONFIG)
    builtin_summary = summary_of(arca, HELM_CONFIG)
    name = repo("charts")
    chart = build_helm(arca, name, "web", "1.0.0")
    arca.push(chart, ref="1.0.0")
    assert arca.artifact(name, chart.digest)["title"] == builtin["title"]

    custom = {"mediaType": HELM_CONFIG, "title": "Charts (ours)",
              "description": "Our own Helm chart definition",
              "layerMediaTypes": ["application/vnd.cncf.helm.chart.content.v1.tar+gzip"],
              "indexFields": {"chart": "/name"}}
    r = arca.put_type(custom)
    # creating an operator definition over a built-in: 201 (created) or 200 (replaced)
    assert r.status_code in (200, 201), describe(r)
    check_definition_response(arca.get_type(HELM_CONFIG), custom, "api")
    s = summary_of(arca, HELM_CONFIG)
    assert s["source"] == "api" and s["title"] == "Charts (ours)" and s["hasLogo"] is False, s
    assert s["hasConfigSchema"] is False, s
    assert arca.logo(HELM_CONFIG).status_code == 404, "the override has no logo"
    # listings show the type's (current) title
    assert arca.artifact(name, chart.digest)["title"] == "Charts (ours)"

    r = arca.delete_type(HELM_CONFIG)
    assert r.status_code == 202, describe(r)
    restored = arca.get_type(HELM_CONFIG)
    assert restored.status_code == 200 and restored.json() == builtin, describe(restored)
    assert summary_of(arca, HELM_CONFIG) == builtin_summary
    assert_svg_response(arca.logo(HELM_CONFIG))
    assert arca.artifact(name, chart.digest)["title"] == builtin["title"]
    assert files_defining(srv.root, HELM_CONFIG) == []
    assert_error(arca.delete_type(HELM_CONFIG), 405, "UNSUPPORTED")


def test_defining_a_type_later_gives_stored_artifacts_its_title(make_arca, repo):
    srv, arca = make_arca()
    name = repo("later")
    art = build_artifact(arca, name, "application/vnd.oci.empty.v1+json", b"{}",
                         [("application/octet-stream", b"payload")], artifact_type=UNKNOWN_TYPE)
    arca.push(art, ref="v1")
    assert arca.artifact(name, art.digest)["title"] == "Unknown"
    r = arca.put_type({"mediaType": UNKNOWN_TYPE, "title": "Thing"})
    assert r.status_code == 201, describe(r)
    e = arca.artifact(name, art.digest)
    assert e["artifactType"] == UNKNOWN_TYPE and e["title"] == "Thing", e
    assert arca.delete_type(UNKNOWN_TYPE).status_code == 202
    assert arca.artifact(name, art.digest)["title"] == "Unknown"


def test_index_fields_of_a_defined_type_are_indexed_at_push(make_arca, repo):
    srv, arca = make_arca()
    assert arca.put_type(widget()).status_code == 201
    name = repo("widgets")
    cfg = json.dumps({"name": "sprocket", "size": 3, "meta": {"owner": "team-a"},
                      "extra": [1, 2]}).encode()
    art = build_artifact(arca, name, WIDGET, cfg,
                         [("application/vnd.example.widget.layer.v1.tar", b"tar bytes")])
    arca.push(art, ref="v1")
    e = arca.artifact(name, art.digest)
    assert e["artifactType"] == WIDGET and e["title"] == "Widget", e
    assert e["fields"] == {"name": "sprocket", "size": 3, "owner": "team-a"}, e
    assert [x["digest"] for x in arca.artifacts(name, WIDGET)] == [art.digest]
    # a config without some of the fields: those are absent (or null)
    cfg2 = json.dumps({"name": "gear", "size": 1}).encode()
    art2 = build_artifact(arca, name, WIDGET, cfg2, [("text/plain", b"notes")])
    arca.push(art2, ref="v2")
    f = {k: v for k, v in (arca.artifact(name, art2.digest)["fields"] or {}).items()
         if v is not None}
    assert f == {"name": "gear", "size": 1}, f


# ------------------------------------------------------------------ files in <root>/types/

GADGET = "application/vnd.example.gadget.v1"
ADMIN_TOKEN = "arca-test-admin-token-0123456789"   # the setting wants at least 16 characters


def gadget(title="Gadget", **over):
    d = {"mediaType": GADGET, "title": title, "description": "dropped in as a file",
         "logo": "gadget.svg", "indexFields": {"model": "/model"}}
    d.update(over)
    return json.dumps({k: v for k, v in d.items() if v is not None}, indent=2)


GADGET_SVG = ('<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" '
              'viewBox="0 0 8 8"><rect width="8" height="8" fill="#c60"/></svg>\n')


def test_file_dropped_into_types_dir_applies_without_restart(make_arca):
    srv, arca = make_arca()
    types_dir = os.path.join(srv.root, "types")
    os.makedirs(types_dir, exist_ok=True)
    write_atomic(os.path.join(types_dir, "gadget.svg"), GADGET_SVG)
    write_atomic(os.path.join(types_dir, "gadget.json"), gadget())
    wait_until(lambda: arca.get_type(GADGET).status_code == 200, what="gadget.json to load")
    check_definition_response(arca.get_type(GADGET), json.loads(gadget()), "file")
    s = summary_of(arca, GADGET)
    assert s["source"] == "file" and s["hasLogo"] is True, s
    r = arca.logo(GADGET)
    assert_svg_response(r)
    assert r.content == GADGET_SVG.encode(), "the logo file beside the definition is served"

    # a change applies
    write_atomic(os.path.join(types_dir, "gadget.json"), gadget("Gadget, revised"))
    wait_until(lambda: arca.type_def(GADGET)["title"] == "Gadget, revised",
               what="the changed file to apply")
    # a removal applies
    os.remove(os.path.join(types_dir, "gadget.json"))
    wait_until(lambda: arca.get_type(GADGET).status_code == 404, what="the removal to apply")
    assert GADGET not in arca.type_ids()


def test_put_over_a_file_type_and_a_logo_file_from_the_folder(make_arca):
    """docs/artifact-types.md: a PUT is stored "in the file that already defines that id";
    through the API the logo may name an .svg file already in the types folder."""
    srv, arca = make_arca(types={"gadget.json": gadget(), "gadget.svg": GADGET_SVG})
    r = arca.put_type(json.loads(gadget("Gadget via the API")))
    assert r.status_code == 200, "replacing a file's definition" + describe(r)
    assert arca.type_def(GADGET)["title"] == "Gadget via the API"
    assert files_defining(srv.root, GADGET) == ["gadget.json"], type_files(srv.root)
    assert type_files(srv.root)["gadget.json"]["title"] == "Gadget via the API"
    r = arca.logo(GADGET)
    assert_svg_response(r)
    assert r.content == GADGET_SVG.encode()
    rescan_barrier(arca, os.path.join(srv.root, "types"))  # gadget.json read again: the same
    assert arca.type_def(GADGET)["title"] == "Gadget via the API"


def test_file_type_can_be_deleted_through_the_api(make_arca):
    srv, arca = make_arca(types={"gadget.json": gadget(), "gadget.svg": GADGET_SVG})
    assert arca.type_def(GADGET)["source"] == "file"
    r = arca.delete_type(GADGET)
    assert r.status_code == 202, describe(r)
    assert_error(arca.get_type(GADGET), 404, "NAME_UNKNOWN")
    rescan_barrier(arca, os.path.join(srv.root, "types"))  # it must not come back from there
    assert_error(arca.get_type(GADGET), 404, "NAME_UNKNOWN")
    assert files_defining(srv.root, GADGET) == []


def test_types_dir_setting(make_arca, tmp_path):
    folder = tmp_path / "operator-types"
    folder.mkdir()
    (folder / "gadget.json").write_text(gadget())
    (folder / "gadget.svg").write_text(GADGET_SVG)
    srv, arca = make_arca(extra_args=["--types-dir", str(folder)])
    assert arca.type_def(GADGET)["source"] == "file"
    assert_svg_response(arca.logo(GADGET))
    # a PUT type is persisted as a file (in the configured folder or under <root>/types/)
    assert arca.put_type(widget()).status_code == 201
    in_folder = [n for n in os.listdir(folder) if n.endswith(".json")
                 and json.loads((folder / n).read_text()).get("mediaType") == WIDGET]
    assert len(in_folder) + len(files_defining(srv.root, WIDGET)) == 1, os.listdir(folder)
    # files added to the configured folder later are picked up too
    write_atomic(str(folder / "other.json"),
                 json.dumps({"mediaType": "application/vnd.example.other.v1", "title": "Other"}))
    wait_until(lambda: arca.get_type("application/vnd.example.other.v1").status_code == 200,
               what="other.json in types_dir to load")


def test_malformed_files_are_ignored_and_loaded_types_stay(make_arca):
    srv, arca = make_arca(types={
        "gadget.json": gadget("Gadget v1"), "gadget.svg": GADGET_SVG,
        "broken.json": "{\"mediaType\": \"application/vnd.example.broken.v1\", \"title\": ",
        "badfield.json": json.dumps({"mediaType": "application/vnd.example.badfield.v1",
                                     "title": "Bad field", "indexFields": {"x": "no-slash"}})})
    # the server started, the good file and the built-ins are loaded, the bad ones are not
    assert arca.type_def(GADGET)["title"] == "Gadget v1"
    ids = arca.type_ids()
    assert HELM_CONFIG in ids and OCI_CONFIG in ids
    assert "application/vnd.example.broken.v1" not in ids
    assert "application/vnd.example.badfield.v1" not in ids
    log = wait_until(lambda: (lambda t: t if "badfield.json" in t and "broken.json" in t else None)(
        srv.log_text()), what="the log to name the malformed files")
    line = [l for l in log.splitlines() if "badfield.json" in l]
    assert any("indexFields" in l for l in line), f"the log must name the field: {line}"
    assert arca.put_type(widget()).status_code == 201

    # a good file turned bad: the previous version stays in force
    types_before = arca.types()
    mentions = srv.log_text().count("gadget.json")
    write_atomic(os.path.join(srv.root, "types", "gadget.json"),
                 gadget(title=None))
    wait_until(lambda: srv.log_text().count("gadget.json") > mentions,
               what="the log to report the malformed gadget.json")
    rescan_barrier(arca, os.path.join(srv.root, "types"))
    assert arca.type_def(GADGET)["title"] == "Gadget v1"
    assert arca.types() == types_before
    assert_svg_response(arca.logo(GADGET))
    # and a fixed file applies again
    write_atomic(os.path.join(srv.root, "types", "gadget.json"), gadget("Gadget v3"))
    wait_until(lambda: arca.type_def(GADGET)["title"] == "Gadget v3", what="the fix to apply")
    # a file added later that is malformed does not disturb anything either
    mentions = srv.log_text().count("later.json")
    write_atomic(os.path.join(srv.root, "types", "later.json"), "not json at all")
    wait_until(lambda: srv.log_text().count("later.json") > mentions,
               what="the log to report the malformed later.json")
    rescan_barrier(arca, os.path.join(srv.root, "types"))
    assert [t for t in arca.types() if t["mediaType"] != GADGET] == \
        [t for t in types_before if t["mediaType"] != GADGET]


# ------------------------------------------------------------------ who may write

def test_admin_token(make_arca):
    srv, arca = make_arca(extra_args=["--admin-token", ADMIN_TOKEN])
    assert arca.get("/arca/v1/types").status_code == 200, "reads need no token"
    assert_error(arca.put_type(widget()), 401, "UNAUTHORIZED")
    assert_error(arca.put_type(widget(), token="wrong"), 403, "DENIED")
    r = arca.request("PUT", type_path(WIDGET), data=json.dumps(widget()),
                     headers={"Authorization": "Basic " + base64.b64encode(
                         (ADMIN_TOKEN + ":").encode()).decode()})
    assert r.status_code in (401, 403), describe(r)
    assert_error(arca.get_type(WIDGET), 404, "NAME_UNKNOWN")
    r = arca.put_type(widget(), token=ADMIN_TOKEN)
    assert r.status_code == 201, describe(r)
    assert_error(arca.delete_type(WIDGET), 401, "UNAUTHORIZED")
    assert_error(arca.delete_type(WIDGET, token="wrong"), 403, "DENIED")
    assert arca.type_def(WIDGET)["title"] == "Widget"
    r = arca.delete_type(WIDGET, token=ADMIN_TOKEN)
    assert r.status_code == 202, describe(r)


def local_non_loopback_ipv4():
    out = subprocess.run(["ip", "-4", "-o", "addr", "show"], stdout=subprocess.PIPE, text=True,
                         check=False).stdout
    for line in out.splitlines():
        parts = line.split()
        if "inet" in parts:
            ip = parts[parts.index("inet") + 1].split("/")[0]
            if not ip.startswith("127."):
                return ip
    # fall back to the address the default route would use
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))
            ip = s.getsockname()[0]
        except OSError:
            ip = None
    if not ip or ip.startswith("127."):
        pytest.fail("this machine has no non-loopback IPv4 address to test remote writes with")
    return ip


def test_writes_from_non_loopback_clients_need_the_token(make_arca):
    ip = local_non_loopback_ipv4()
    # auth: none beyond loopback must be asked for (docs/auth.md)
    srv, _ = make_arca(listen="0.0.0.0", extra_args=["--insecure-open"])
    remote = Arca(f"http://{ip}:{srv.port}")
    assert remote.get("/arca/v1/types").status_code == 200, "reads are open"
    r = remote.put_type(widget())
    assert r.status_code in (401, 403), describe(r)
    assert_error(r, r.status_code, "UNAUTHORIZED" if r.status_code == 401 else "DENIED")
    r = remote.delete_type(HELM_CONFIG)
    assert r.status_code in (401, 403), describe(r)
    local = Arca(srv.url)
    assert_error(local.get_type(WIDGET), 404, "NAME_UNKNOWN")
    assert local.put_type(widget()).status_code == 201

    srv2, _ = make_arca(listen="0.0.0.0", extra_args=["--insecure-open", "--admin-token", ADMIN_TOKEN])
    remote2 = Arca(f"http://{ip}:{srv2.port}")
    assert_error(remote2.put_type(widget()), 401, "UNAUTHORIZED")
    r = remote2.put_type(widget(), token=ADMIN_TOKEN)
    assert r.status_code == 201, describe(r)
    # with a token set, loopback is no longer enough
    assert_error(Arca(srv2.url).delete_type(WIDGET), 401, "UNAUTHORIZED")


def test_types_folder_rules(make_arca):
    """docs/artifact-types.md: names starting with "." are ignored; when two files define the
    same mediaType the one whose name sorts last is used; "$schema" is allowed and ignored."""
    srv, arca = make_arca(types={
        "a-gadget.json": gadget("Gadget from a", logo=None),
        "b-gadget.json": gadget("Gadget from b", logo=None),
        ".hidden.json": json.dumps({"mediaType": "application/vnd.example.hidden.v1",
                                    "title": "Hidden"}),
        "with-schema.json": json.dumps({"$schema": "../../docs/artifact-type.schema.json",
                                        "mediaType": "application/vnd.example.schema.v1",
                                        "title": "With $schema"})})
    assert arca.type_def(GADGET)["title"] == "Gadget from b"
    assert_error(arca.get_type("application/vnd.example.hidden.v1"), 404, "NAME_UNKNOWN")
    assert arca.type_def("application/vnd.example.schema.v1")["title"] == "With $schema"
