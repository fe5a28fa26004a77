"""plugin.shopify is shared by web, worker and CLI: it must not depend on Flask or SQLAlchemy,
nor use ShopifyAPI's own (timeout-less, urllib) HTTP."""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[3] / "plugin" / "shopify"
SOURCES = sorted(PACKAGE.glob("*.py"))


def imported_modules(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module or ""


def test_the_package_has_modules_to_check():
    assert len(SOURCES) >= 10


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_no_web_framework_or_database_import(path):
    roots = {name.split(".")[0] for name in imported_modules(path)}
    assert not roots & {"flask", "sqlalchemy", "rq", "redis", "urllib3", "sendgrid"}


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_no_untimed_http_from_shopifyapi(path):
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.Name):
            names.add(node.id)
    assert not names & {"urlopen", "request_token", "GraphQL", "ShopifyResource", "activate_session"}
