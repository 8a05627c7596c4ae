"""Hostile uploads through a real browser: Debian's Chromium puts broken and hostile files into the file uploaders of
*Your model* and *Across the data set* (Playwright's ``set_input_files``) on one ``streamlit run app.py`` server.

Each file gets a one-line message (no traceback, no server path, no markup run from its name), and the next
upload of a valid file works in the same tab, so nothing stalls. The files are made in a temporary folder here.
"""

from __future__ import annotations

import io
import json
import tempfile
import time
import zipfile
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from gru_viz.model import load_model
from gru_viz.upload import write_template
from tests.test_browser import LOAD_TIMEOUT, _open, _wait_until_idle

ROOT = Path(__file__).resolve().parent.parent
ERROR = '[data-testid="stAlertContentError"]'
TEXT = '[data-testid="stMain"] [data-testid="stText"]'
CHIP_ERROR = '[data-testid="stFileChip"] [role="alert"]'  # the uploader's own refusal, drawn beside the file
MARKUP = "<img src=x onerror=alert(1)>"
FORBIDDEN = ("Traceback", "gru-viz-upload-", "/etc", str(ROOT), tempfile.gettempdir() + "/")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    """A valid model folder, a valid TSV, and the hostile files made from them."""
    folder = tmp_path_factory.mktemp("uploads")
    valid = folder / "valid"
    write_template(valid, hidden_size=4, embed_dim=3)
    weights = (valid / "model.safetensors").read_bytes()
    state = load_file(str(valid / "model.safetensors"))
    save_file({name: torch.full_like(tensor, float("nan")) for name, tensor in state.items()}, str(folder / "nan"))
    pickled = io.BytesIO()
    torch.save(state, pickled)  # a real pickle-based checkpoint
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("model.safetensors", bytes(200 * 2**20))  # 200 MB of zeros in ~200 kB
    card = json.loads((valid / "card.json").read_text())
    card["config"]["hidden_size"] = 10**9
    contents = {
        "truncated.safetensors": weights[:-9],
        "nan.safetensors": (folder / "nan").read_bytes(),
        "pickle.safetensors": pickled.getvalue(),
        "bomb.zip": bomb.getvalue(),
        "huge-card.json": json.dumps(card).encode(),
        "good.tsv": b"sentence\tlabel\na fine and lovely film\t1\nawful\t0\n",
        "bom.tsv": "\ufeffsentence\tlabel\na fine and lovely film\t1\nawful\t0\n".encode(),
        "columns.tsv": b"\t" * (10**6 - 1) + b"\n",  # 10^6 columns in 10^6 bytes: what the page takes
        "binary.tsv": bytes(range(256)) * 64,
    }
    for name, data in contents.items():
        (folder / name).write_bytes(data)
    (folder / "oversized").mkdir()
    with open(folder / "oversized" / "model.safetensors", "wb") as big:
        big.truncate(51 * 2**20)  # sparse: 51 MiB without writing them
    with open(folder / "oversized.tsv", "wb") as big:
        big.truncate(2 * 2**20)
    return folder


def _payload(name: str, data: bytes) -> dict:
    return {"name": name, "mimeType": "application/octet-stream", "buffer": data}


def _model_files(files: Path, **replaced) -> list:
    """The valid model's three files, with ``replaced`` ({model file name: hostile file}) swapped in; a hostile
    file is uploaded under the model file's name unless the value is a (name, file) pair."""
    chosen = []
    for name in ("model.safetensors", "vocab.json", "card.json"):
        shown, source = name, files / "valid" / name
        if name.split(".")[0] in replaced:
            value = replaced[name.split(".")[0]]
            shown, source = value if isinstance(value, tuple) else (name, value)
        chosen.append((shown, source))
    if any(source.stat().st_size > 2**20 for _, source in chosen):  # too large to pass as bytes: by path
        assert all(shown == source.name for shown, source in chosen)
        return [str(source) for _, source in chosen]
    return [_payload(shown, source.read_bytes()) for shown, source in chosen]


@pytest.fixture(scope="module")
def tab(app_url, browser):
    """One tab for the whole module: every upload follows the one before it, as a visitor's would."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(60_000)
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    yield page
    context.close()


def _upload(page, uploader: str, chosen) -> None:
    """Remove what the uploader holds, then put ``chosen`` into it, and wait until the page has read it."""
    box = page.locator(f'[data-testid="stFileUploader"]:has([aria-label^="{uploader}"])')
    chips = box.locator('[data-testid="stFileChip"]')
    if chips.count():
        while (held := chips.count()):
            box.locator('[data-testid="stFileChipDeleteBtn"] button').first.click()
            _until(page, lambda: chips.count() < held, True, timeout=30)
        _wait_until_idle(page)
    box.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(chosen, timeout=LOAD_TIMEOUT)
    box.locator('[data-testid="stFileChip"]').nth(len(chosen) - 1).wait_for()
    page.wait_for_timeout(500)  # the bytes go to the server, then the page reruns: wait for the run, not before it
    _wait_until_idle(page)


def _until(page, read, expected, timeout: float = 60):
    """``read()`` once it equals ``expected`` (or, after ``timeout`` seconds, whatever it last was)."""
    deadline = time.monotonic() + timeout
    while (value := read()) != expected and time.monotonic() < deadline:
        page.wait_for_timeout(250)
    return value


def _message(page) -> str:
    """What the page says about the upload: the uploader's own refusal, else the page's error and its detail."""
    said = [node.inner_text() for node in page.locator(f"{CHIP_ERROR}, {ERROR}, {TEXT}").all()]
    return "\n".join(text.strip() for text in said if text.strip())


def _assert_safe(page) -> None:
    """No server path and no traceback anywhere but in the uploader's own list of the visitor's file names."""
    html = page.evaluate("""() => { const copy = document.documentElement.cloneNode(true);
                                    copy.querySelectorAll('[data-testid="stFileChip"]').forEach(n => n.remove());
                                    return copy.outerHTML; }""")
    assert not [text for text in FORBIDDEN if text in html], [text for text in FORBIDDEN if text in html]
    assert page.locator('img[src="x"]').count() == 0 and page.dialogs == []  # a file's name is never markup


# name: (files, words the message must contain)
MODEL_UPLOADS = {
    "truncated weights": (lambda f: _model_files(f, model=f / "truncated.safetensors"), "not a readable safetensors"),
    "NaN weights": (lambda f: _model_files(f, model=f / "nan.safetensors"), "NaN or infinite"),
    "pickle renamed": (lambda f: _model_files(f, model=f / "pickle.safetensors"), "not a readable safetensors"),
    "zip bomb renamed": (lambda f: _model_files(f, model=f / "bomb.zip"), "not a readable safetensors"),
    "zip bomb": (lambda f: _model_files(f, model=("model.zip", f / "bomb.zip")), "not part of a model folder"),
    "10^9 units": (lambda f: _model_files(f, card=f / "huge-card.json"),
                   "hidden_size must be a whole number from 1 to 4,096, got 1000000000"),
    "traversal in a name": (lambda f: _model_files(f, card=("../card.json", f / "valid" / "card.json")), "card.json"),
    "markup in a name": (lambda f: _model_files(f, card=(f"{MARKUP}.json", f / "valid" / "card.json")),
                         "not part of a model folder"),
}


@pytest.mark.parametrize("case", list(MODEL_UPLOADS))
def test_a_hostile_model_upload_is_one_line_and_the_next_upload_works(tab, app_url, files, case):
    if "/your-model" not in tab.url:
        _open(tab, f"{app_url}/your-model")
    chosen, words = MODEL_UPLOADS[case]
    _upload(tab, "Model files", chosen(files))
    message = _message(tab)
    assert message.startswith("That model cannot be used:\n") and words in message, message
    assert len(message.splitlines()) == 2, message  # the heading, then one line that says what is wrong
    _assert_safe(tab)
    _upload(tab, "Model files", _model_files(files))
    words = load_model(files / "valid").config.vocab_size
    assert _until(tab, lambda: _message(tab), f"valid: gru, 4 units, {words} words") == \
        f"valid: gru, 4 units, {words} words"
    assert tab.locator('[data-testid="stAlertContentSuccess"]').inner_text().startswith("Loaded.")


def test_an_oversized_model_file_is_refused_by_the_uploader(tab, app_url, files):
    _open(tab, f"{app_url}/your-model")
    _upload(tab, "Model files", _model_files(files, model=files / "oversized" / "model.safetensors"))
    refusal = tab.locator(CHIP_ERROR).inner_text()
    assert refusal == "Error: File must be 50.0MB or smaller."  # the browser never sends it
    message = _message(tab)  # the other two files arrive, and the page says what is missing
    assert message.splitlines() == [refusal, "That model cannot be used:",
                                    "Missing model.safetensors: a model is the three files model.safetensors, "
                                    "vocab.json, card.json."], message
    _assert_safe(tab)
    _upload(tab, "Model files", _model_files(files))
    assert _until(tab, lambda: _message(tab).startswith("valid: gru"), True)
    assert tab.locator('[data-testid="stAlertContentSuccess"]').inner_text().startswith("Loaded.")


DATA_UPLOADS = {  # name: (file name, file, words the message must contain)
    "10^6 columns": ("columns.tsv", "columns.tsv", "columns.tsv holds no labelled sentences"),
    "binary data": ("binary.tsv", "binary.tsv", "is not UTF-8 text"),
    "zip bomb": ("bomb.zip", "bomb.zip", "is not UTF-8 text"),
    "pickle renamed": ("data.tsv", "pickle.safetensors", "is not UTF-8 text"),
    "NaN safetensors renamed": ("data.tsv", "nan.safetensors", "data.tsv"),
    "traversal in a name": ("../../etc/passwd.tsv", "binary.tsv", "passwd.tsv is not UTF-8 text"),
    "markup in a name": (f"{MARKUP}.tsv", "binary.tsv", "-img-src-x-onerror-alert-1--.tsv is not UTF-8 text"),
}


GOOD = "Every view below reads 2 sentences: all of the uploaded file good.tsv."


def _data_caption(page) -> str:
    captions = [node.inner_text() for node in page.locator('[data-testid="stCaptionContainer"]').all()]
    return next((text for text in captions if text.startswith("Every view below reads")), "")


@pytest.mark.parametrize("case", list(DATA_UPLOADS))
def test_a_hostile_data_upload_is_one_line_and_the_next_upload_works(tab, app_url, files, case):
    if "/dataset" not in tab.url:
        _open(tab, f"{app_url}/dataset")
    name, source, words = DATA_UPLOADS[case]
    _upload(tab, "Data:", [_payload(name, (files / source).read_bytes())])
    message = _message(tab)
    assert words in message and len(message.splitlines()) == 1, message
    _assert_safe(tab)
    _upload(tab, "Data:", [_payload("good.tsv", (files / "good.tsv").read_bytes())])
    assert _until(tab, lambda: _data_caption(tab), GOOD) == GOOD
    assert not _message(tab)


def test_a_tsv_with_a_byte_order_mark_reads_like_one_without(tab, app_url, files):
    _open(tab, f"{app_url}/dataset")
    _upload(tab, "Data:", [_payload("bom.tsv", (files / "bom.tsv").read_bytes())])
    read = GOOD.replace("good.tsv", "bom.tsv")
    assert _until(tab, lambda: _data_caption(tab), read) == read
    assert not _message(tab)  # the mark is not part of the header: two sentences, not a bad line 1


def test_an_oversized_data_file_is_refused_by_the_uploader(tab, app_url, files):
    _open(tab, f"{app_url}/dataset")
    _upload(tab, "Data:", [str(files / "oversized.tsv")])
    assert _message(tab) == "Error: File must be 1.0MB or smaller."
    assert _data_caption(tab).startswith("Every view below reads 872 sentences")  # the shipped file, as before
    _upload(tab, "Data:", [_payload("good.tsv", (files / "good.tsv").read_bytes())])
    assert _until(tab, lambda: _data_caption(tab), GOOD) == GOOD


def test_the_server_serves_no_file_outside_its_static_folder(app_url):
    import http.client
    from urllib.parse import urlparse

    address = urlparse(app_url)
    for path in ("/../../../../etc/passwd", "/..%2f..%2f..%2f..%2fetc%2fpasswd", "/static/../../app.py",
                 "/app/static/..%2f..%2fapp.py", "/%2e%2e/%2e%2e/etc/passwd", "/media/..%2f..%2fapp.py",
                 "/component/..%2f..%2fapp.py", "/your-model/..%2f..%2fapp.py"):
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
        connection.request("GET", path)  # sent as written: no client-side normalisation
        body = connection.getresponse().read().decode(errors="replace")
        connection.close()
        assert "root:" not in body and "st.App(" not in body and "import streamlit" not in body, path
