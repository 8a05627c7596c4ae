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
