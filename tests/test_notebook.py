"""docs/notebook.ipynb runs from the repository root and from docs/, prints what it claims, shows its four figures,
and is committed without outputs."""

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "docs" / "notebook.ipynb"
PLOTLY = "application/vnd.plotly.v1+json"


def test_committed_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(cell.outputs == [] and cell.execution_count is None for cell in code)
    assert notebook.metadata.kernelspec.name == "python3" and "widgets" not in notebook.metadata


@pytest.mark.parametrize("folder", [".", "docs"])
def test_runs_and_holds_what_it_claims(folder):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT / folder)}}).execute()  # raises on any cell's error
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    printed = "".join(output.text for output in outputs if output.output_type == "stream" and output.name == "stdout")

    accuracy = float(re.search(r"accuracy on 1000 held-out sequences: ([0-9.]+)", printed).group(1))
    assert accuracy >= 0.95  # the memory task is learnt, not guessed
    assert "largest |head(trace.h_n) - model output|: 0.0e+00" in printed
    assert "GRUTrace(layers=1, directions=1, batch=8, steps=20, hidden=8" in printed
    assert "largest |capture - model.trace| over every gate and state: 0.0e+00" in printed
    assert "SentimentModel('sst2-gru'" in printed and re.search(r"P\(positive\) = 0\.\d{3}", printed)

    figures = [output.data[PLOTLY] for output in outputs if PLOTLY in output.get("data", {})]
    titles = [figure["layout"]["title"]["text"] for figure in figures]
    assert titles == ["layer 1 of 1, forward, item 0",
                      "the hidden state's path: layer 1 of 1, forward, items 0, 1, 2, 3, 4, 5, 6, 7",
                      "layer 1 of 1, forward, item 0", "the hidden state's path: layer 1 of 1, forward, item 0"]
    assert [len(figures[2]["data"][k]["y"]) for k in range(4)] == [12] * 4  # the 12 units that move most
    assert figures[3]["data"][0]["text"][1:] == ["the", "acting", "is", "good", "but", "the", "plot", "is", "boring"]
