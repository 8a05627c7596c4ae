"""How long each step of the Lesson page takes to compute on the shipped models, cold, in one process:
``python -m benchmarks.lesson_bench``. Each step's numbers are computed once per server (the page caches them);
this is what the first reader of a step waits for, beside the time of one plain ``predict_proba`` of the same
review (the cheapest full pass), so machine noise shows in both. It prints; it asserts nothing.
"""

from __future__ import annotations

import time
from pathlib import Path

from gru_viz import lesson, paths, study
from gru_viz.model import load_model

ROOT = Path(__file__).resolve().parent.parent


def _seconds(call) -> tuple[float, object]:
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


def main() -> None:
    models = {name: load_model(ROOT / "models" / name) for name in paths.SHIPPED_MODELS}
    gru, rnn = models[paths.DEFAULT_MODEL], models[paths.RNN_MODEL]
    timed = {"one predict_proba of the review": _seconds(lambda: gru.predict_proba([lesson.VERDICT_FIRST.text]))[0]}
    pair = {paths.DEFAULT_MODEL: gru, paths.RNN_MODEL: rnn}
    timed["1 gradient flow"] = _seconds(lambda: lesson.gradient_lesson(pair, lesson.VERDICT_FIRST))[0]
    timed["2 three models, z"] = _seconds(lambda: lesson.memory_lesson(models, lesson.VERDICT_FIRST,
                                                                          paths.DEFAULT_MODEL))[0]
    timed["3 reset at 'but'"], reset = _seconds(lambda: lesson.reset_lesson(gru, paths.DEFAULT_MODEL, lesson.CONTRAST))
    timed["4 forced = RNN"] = _seconds(lambda: lesson.vanilla_lesson(
        gru, rnn, lesson.CONTRAST, names=("gru", "rnn"), position=reset.position, unit=reset.unit))[0]
    timed["4 forced probe rate"] = _seconds(lambda: lesson.forced_probe_rate(models, paths.DEFAULT_MODEL,
                                                                             lesson.CONTRAST))[0]
    timed["5 seed answers"] = _seconds(lambda: lesson.seed_answers(study.read_study(
        ROOT / "studies" / "seeds" / "study.json")))[0]
    for label, seconds in timed.items():
        print(f"{label:34s} {seconds:7.3f} s")


if __name__ == "__main__":
    main()
