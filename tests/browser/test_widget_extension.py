"""The theme app extension as Shopify will read it: theme-check, structure, locales, size budget.

Structure per https://shopify.dev/docs/apps/build/online-store/theme-app-extensions/configuration
(``shopify.extension.toml`` with ``type = "theme"``; ``blocks/*.liquid`` each with a ``{% schema %}``
whose ``target`` is ``section`` for app blocks or ``head``/``body``/``compliance_head`` for app
embeds; ``t:`` keys resolved from ``locales/*.schema.json``; storefront strings from ``locales/*.json``).
"""
from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
import tomllib

import pytest

from tests.browser.storefront import EXTENSION, ROOT, block_schema

BLOCKS = sorted(p.name for p in (EXTENSION / "blocks").glob("*.liquid"))
SCHEMA_LOCALES = ("en.default.schema.json", "es.schema.json", "pt-BR.schema.json")
STOREFRONT_LOCALES = ("en.default.json", "es.json", "pt-BR.json")
NODE = shutil.which("node")


def theme_check(root) -> subprocess.CompletedProcess:
    assert NODE and (ROOT / "node_modules" / "@shopify" / "theme-check-node").is_dir(), \
        "node_modules is missing: run `make test` (it runs npm ci)"
    return subprocess.run([NODE, str(ROOT / "scripts" / "theme_check.js"), str(root)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_shopify_theme_check_finds_nothing():
    done = theme_check(EXTENSION)
    assert done.returncode == 0 and done.stdout.strip().endswith("0 offenses"), done.stdout + done.stderr


def test_theme_check_would_catch_a_render_blocking_script_and_a_missing_asset(tmp_path):
    broken = tmp_path / "ext"
    shutil.copytree(EXTENSION, broken)
    embed = broken / "blocks" / "app-embed.liquid"
    embed.write_text(embed.read_text().replace(" defer ", " ").replace("embajador.css", "missing.css"))
    done = theme_check(broken)
    assert done.returncode == 1
    assert "ParserBlockingScript" in done.stdout and "MissingAsset" in done.stdout


def test_extension_toml_and_app_toml_declare_the_theme_extension():
    extension = tomllib.loads((EXTENSION / "shopify.extension.toml").read_text())
    assert extension["type"] == "theme" and extension["name"] == "embajador-widget"
    app = tomllib.loads((ROOT / "shopify.app.toml").read_text())
    assert "extensions/*" in app["extension_directories"]
    assert app["app_proxy"] == {"url": app["app_proxy"]["url"], "subpath": "embajador", "prefix": "apps"}


@pytest.mark.parametrize("name", BLOCKS)
def test_block_schema_targets_and_translations(name):
    schema = block_schema(name)
    assert schema["target"] in ("section", "head", "body", "compliance_head")
    keys = re.findall(r'"t:([\w.]+)"', json.dumps(schema))
    assert keys and schema["name"].startswith("t:")
    for locale in SCHEMA_LOCALES:
        strings = json.loads((EXTENSION / "locales" / locale).read_text())
        for key in keys:
            value = strings
            for part in key.split("."):
                value = value[part]
            assert isinstance(value, str) and value, f"{locale}: {key}"
    for setting in schema.get("settings", []):
        assert setting["type"] in ("checkbox", "select", "color", "text", "paragraph"), setting


def test_app_embed_only_includes_the_stylesheet_and_the_deferred_script():
    schema = block_schema("app-embed.liquid")
    assert schema["target"] == "body"
    markup = re.sub(r"{%-?\s*(comment|schema)\s*-?%}.*?{%-?\s*end\1\s*-?%}", "",
                    (EXTENSION / "blocks" / "app-embed.liquid").read_text(), flags=re.S)
    tags = re.findall(r"<(\w+)", markup)
    assert tags == ["link", "script"]
    assert re.search(r"<script [^>]*\bdefer\b", markup) and "data-proxy-path" in markup


def test_storefront_locales_and_widget_strings_match_in_es_en_pt():
    flat = []
    for locale in STOREFRONT_LOCALES:
        strings = json.loads((EXTENSION / "locales" / locale).read_text())
        flat.append({f"{group}.{key}" for group, values in strings.items() for key in values})
    assert flat[0] == flat[1] == flat[2]
    used = set(re.findall(r"'([\w.]+)' \| t", "".join((EXTENSION / "blocks" / b).read_text() for b in BLOCKS)))
    assert used and used <= flat[0]
    script = (EXTENSION / "assets" / "embajador.js").read_text()
    probe = ("const vm=require('vm');const w={};const d={readyState:'loading',addEventListener(){},"
             "querySelector(){return null},documentElement:{lang:'es'}};"
             "vm.runInNewContext(require('fs').readFileSync(0,'utf8'),{window:w,document:d});"
             "console.log(JSON.stringify(Object.fromEntries(Object.entries(w.Embajador.strings)"
             ".map(([k,v])=>[k,Object.keys(v).sort()]))))")
    keys = json.loads(subprocess.run([NODE, "-e", probe], input=script, capture_output=True, text=True,
                                     check=True, timeout=30).stdout)
    assert set(keys) == {"es", "en", "pt"} and keys["es"] == keys["en"] == keys["pt"]


def test_everything_the_storefront_downloads_is_under_10_kb_gzipped():
    total = sum(len(gzip.compress(p.read_bytes(), compresslevel=9)) for p in (EXTENSION / "assets").iterdir())
    assert total <= 10 * 1024, f"{total} bytes gzipped"
