"""The server's own limits match what the page promises."""

from pathlib import Path

import pytest

from gru_viz import upload

tomllib = pytest.importorskip("tomllib")  # the standard library's from Python 3.11

CONFIG = Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml"


def test_the_server_refuses_uploads_over_the_pages_promise():
    config = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    assert config["server"]["maxUploadSize"] * 2**20 == upload.MAX_UPLOAD_BYTES


def test_readers_see_no_developer_toolbar():
    config = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    assert config["client"]["toolbarMode"] == "viewer"


def test_an_unexpected_exception_shows_no_traceback():
    config = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    assert config["client"]["showErrorDetails"] == "none"


def test_no_page_needs_magic_which_is_off():
    """With magic off a bare value on its own line draws nothing; no page script holds one (docstrings aside)."""
    import ast

    config = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    assert config["runner"]["magicEnabled"] is False
    root = CONFIG.parents[1]
    for script in [root / "app.py", *sorted((root / "views" / "pages").glob("*.py"))]:
        tree = ast.parse(script.read_text(encoding="utf-8"))
        for parent in ast.walk(tree):
            for field in ("body", "orelse", "finalbody"):
                body = getattr(parent, field, None)
                for i, node in enumerate(body if isinstance(body, list) else []):
                    docstring = i == 0 and field == "body" and isinstance(
                        parent, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                    if isinstance(node, ast.Expr) and not docstring:
                        assert isinstance(node.value, (ast.Call, ast.Await)), (script.name, node.lineno)
