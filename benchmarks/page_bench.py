"""Server time for the page to show a new 20-word sentence: ``python -m benchmarks.page_bench``.

Two measurements, each the median over repeats, each repeat a sentence the page has not seen (so no
cache helps), against the 150 ms goal:

1. the work of *Read a sentence*'s first screen, what it draws by default, through the page's own cached
   functions (``views/parts/caches.py``): the trace → each word's and unit's change of the logit → the story's
   three Vega-Lite rows → their JSON; with ``--sections``, also the Plotly figures of the sections a reader
   opens below it (each word's change against the retention split, the unit heatmap, the path) and what
   ``st.plotly_chart`` does with each (``to_dict`` and ``plotly.io.to_json``);
2. the page: a whole rerun of app.py in Streamlit's AppTest after typing the sentence (the first screen's
   work plus Streamlit's own). AppTest adds its own bookkeeping, so this is an upper bound.

It is a script, not a test: it prints, it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import plotly.io as pio

from benchmarks.texts import sentences
from gru_viz.model import load_model
from views.parts import caches

__all__ = ["GOAL_MS", "first_screen", "main", "opened_sections", "sentences", "time_page", "time_work"]

GOAL_MS = 150.0
ROOT = Path(__file__).resolve().parent.parent


def first_screen(model_key: tuple, model, text: str) -> dict[str, dict]:
    """What *Read a sentence* draws for a new sentence before anything is opened, through the page's own cached
    functions: the story's Vega-Lite rows."""
    sentence = caches.trace(model_key, text, model)
    return caches.story(model_key, text, sentence)[1]


def opened_sections(model_key: tuple, model, text: str) -> dict[str, object]:
    """The Plotly figures of the sections below the story, as the page builds them when they are opened (the
    unit heatmap at its defaults: memory h of the units that carry the verdict)."""
    sentence = caches.trace(model_key, text, model)
    changes = caches.unit_changes(model_key, text, sentence)
    return {"words": caches.retention_figure(model_key, text, _sentence=sentence),
            "units": caches.units_figure(model_key, text, "hidden", "top", "verdict", _sentence=sentence,
                                         _changes=changes),
            "trajectory": caches.trajectory_figure(model_key, text, 2, _sentence=sentence, _card=model.card)[0]}


def time_work(model, texts: list[str], sections: bool = False) -> list[float]:
    """Milliseconds per text for the page's own work on a new sentence (see the module docstring)."""
    model_key = ("page_bench", model.name)
    times = []
    for text in texts:
        started = time.perf_counter()
        for spec in first_screen(model_key, model, text).values():  # what st.vega_lite_chart sends
            json.dumps(spec)
        if sections:
            for figure in opened_sections(model_key, model, text).values():  # what st.plotly_chart does with one
                pio.to_json(figure.to_dict(), validate=False)
        times.append((time.perf_counter() - started) * 1000)
    return times


def time_page(models_dir: Path, model_name: str, texts: list[str]) -> list[float]:
    """Milliseconds per whole AppTest rerun of app.py after typing each text."""
    from streamlit.testing.v1 import AppTest  # only this measurement needs Streamlit

    os.environ["GRU_VIZ_MODELS"] = str(models_dir)
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    app.query_params["model"] = model_name
    app.run()  # cold: imports, model load, compare section
    if app.exception:
        raise RuntimeError(f"the page failed: {app.exception[0].message}")
    times = []
    for text in texts:
        app.text_area(key="text").set_value(text)
        started = time.perf_counter()
        app.run()
        times.append((time.perf_counter() - started) * 1000)
    return times


def _report(name: str, times: list[float]) -> str:
    median = statistics.median(times)
    verdict = "within" if median <= GOAL_MS else "OVER"
    return (f"{name:<44} median {median:6.1f} ms  (min {min(times):.1f}, max {max(times):.1f}, n={len(times)})"
            f"  {verdict} the {GOAL_MS:.0f} ms goal ({median / GOAL_MS:.2f}×)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.page_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "sst2-gru", help="model folder")
    parser.add_argument("--repeats", type=int, default=15, help="new sentences per measurement")
    parser.add_argument("--words", type=int, default=20, help="words per sentence")
    parser.add_argument("--sections", action="store_true", help="add the figures of the sections below the story")
    parser.add_argument("--no-page", action="store_true", help="skip the AppTest measurement")
    args = parser.parse_args(argv)

    model = load_model(args.model)
    warmup, work, page = (sentences(n, args.words, seed) for n, seed in ((3, 1), (args.repeats, 2), (args.repeats, 3)))
    time_work(model, warmup, sections=True)  # first calls import Plotly's classes and warm torch's allocator
    print(f"{model!r}, new {args.words}-word sentences")
    what = "first screen" + (" + opened sections" if args.sections else "")
    print(_report(f"work: {what}, with JSON", time_work(model, work, args.sections)))
    if not args.no_page:
        print(_report("page: AppTest rerun of app.py", time_page(args.model.parent, args.model.name, page)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
