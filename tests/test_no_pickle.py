"""No code runs from files, and no user text becomes HTML: a static scan (``ast``) of every .py file under
gru_viz/ and of app.py.

Fails on: ``torch.load`` without ``weights_only=True``; importing pickle or a pickle-based loader (dill,
cloudpickle, joblib, shelve, marshal); ``pandas.read_pickle``; ``np.load`` with ``allow_pickle`` anything but
False; ``eval``/``exec``; and, in app.py, any ``unsafe_allow_html=True`` or raw-HTML element (``st.html``,
``components.html``), since the page shows typed text and a card's name. The scanner is itself tested on
snippets that break each rule, including under import aliases.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "gru_viz").rglob("*.py")) + [ROOT / "app.py"]
PICKLE_MODULES = {"pickle", "_pickle", "cPickle", "dill", "cloudpickle", "joblib", "shelve", "marshal"}
TORCH_LOADS = {"torch.load", "torch.serialization.load"}
NUMPY_LOADS = {"numpy.load"}
RAW_HTML = {"streamlit.html", "streamlit.components.v1.html"}


def _imported_names(tree: ast.AST) -> dict[str, str]:
    """Local name → dotted origin, from every import in the file (``import numpy as np`` → np: numpy)."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    names[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _dotted(node: ast.AST, names: dict[str, str]) -> str | None:
    """``np.load`` → "numpy.load" via the file's imports; None for anything not a plain dotted name."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(names.get(node.id, node.id))
    return ".".join(reversed(parts))


def _keyword(call: ast.Call, name: str):
    """The constant value of keyword ``name`` (``...`` if absent, a non-constant marker if computed)."""
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value.value if isinstance(keyword.value, ast.Constant) else "<computed>"
        if keyword.arg is None:  # **kwargs could carry anything
            return "<computed>"
    return ...


def violations(source: str, is_page: bool = False) -> list[str]:
    """Every rule broken by ``source``, as "line N: what"."""
    tree = ast.parse(source)
    names = _imported_names(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for module in modules:
                if module.split(".")[0] in PICKLE_MODULES:
                    found.append(f"line {node.lineno}: imports {module} (pickle runs code from data)")
        if isinstance(node, ast.keyword) and node.arg == "unsafe_allow_html" and is_page:
            if not (isinstance(node.value, ast.Constant) and node.value.value is False):
                found.append(f"line {node.value.lineno}: unsafe_allow_html on the page that shows user text")
        if not isinstance(node, ast.Call):
            continue
        called = _dotted(node.func, names)
        if called in TORCH_LOADS and _keyword(node, "weights_only") is not True:
            found.append(f"line {node.lineno}: {called} without weights_only=True")
        if called in NUMPY_LOADS and _keyword(node, "allow_pickle") not in (..., False):
            found.append(f"line {node.lineno}: numpy.load with allow_pickle not False")
        if called in ("pandas.read_pickle",) or (called or "").endswith(".read_pickle"):
            found.append(f"line {node.lineno}: {called} (pickle)")
        if called in ("eval", "exec"):
            found.append(f"line {node.lineno}: {called}() runs text as code")
        if is_page and called in RAW_HTML:
            found.append(f"line {node.lineno}: {called} renders raw HTML on the page")
    return found


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: str(path.relative_to(ROOT)))
def test_source_runs_no_code_from_files_and_no_user_html(path):
    assert violations(path.read_text(encoding="utf-8"), is_page=path.name == "app.py") == []


def test_the_scan_covers_the_package_and_the_page():
    covered = {path.relative_to(ROOT).as_posix() for path in SOURCES}
    assert {"app.py", "gru_viz/model.py", "gru_viz/text.py", "gru_viz/upload.py", "gru_viz/export.py"} <= covered


@pytest.mark.parametrize("snippet", [
    "import torch\ntorch.load('m.pt')",
    "import torch\ntorch.load('m.pt', weights_only=False)",
    "import torch as t\nt.load('m.pt', map_location='cpu')",
    "from torch import load\nload('m.pt')",
    "from torch import load as fetch\nfetch('m.pt', weights_only=flag)",
    "import torch\ntorch.serialization.load('m.pt')",
    "import torch\ntorch.load('m.pt', **options)",
    "import pickle",
    "from pickle import loads",
    "import joblib",
    "import numpy as np\nnp.load('a.npy', allow_pickle=True)",
    "from numpy import load\nload('a.npz', allow_pickle=flag)",
    "import pandas as pd\npd.read_pickle('x')",
    "eval(text)",
    "exec(open('card.py').read())",
])
def test_the_scan_catches_code_from_files(snippet):
    assert violations(snippet)


@pytest.mark.parametrize("snippet", [
    "import streamlit as st\nst.markdown(text, unsafe_allow_html=True)",
    "import streamlit as st\nst.markdown('<b>static</b>', unsafe_allow_html=True)",
    "import streamlit as st\nst.write(text, unsafe_allow_html=allow)",
    "import streamlit as st\nst.html(text)",
    "import streamlit.components.v1 as components\ncomponents.html(text)",
])
def test_the_scan_catches_raw_html_on_the_page(snippet):
    assert violations(snippet, is_page=True)


@pytest.mark.parametrize("snippet", [
    "import torch\ntorch.load('m.pt', weights_only=True)",
    "import numpy as np\nnp.load('a.npz')\nnp.load('b.npz', allow_pickle=False)",
    "import streamlit as st\nst.markdown(text)\nst.text(text)",
    "model.eval()",
    "from safetensors.torch import load_file\nload_file('m.safetensors')",
])
def test_the_scan_passes_safe_code(snippet):
    assert violations(snippet, is_page=True) == []
