"""The seed study: the page's claims measured over several training runs, not one.

    python -m gru_viz study --out studies/seeds --seeds 5 --budget quick --jobs 2

Each variant (``VARIANTS``) is trained with seeds 0 … N−1 on the same recipe, without the validation fragments
(``--exclude-val-fragments``), so each run's unseen-validation accuracy is a held-out estimate. Each run is then
measured (``measure_run``): the held-out accuracy, the memory probe, gradient flow by distance, the largest |h|
on the validation set, whether training diverged, and every unit's timescale and reset-gate activity.

Runs are written to ``DIR/study.json`` as they finish, so an interrupted study resumes where it stopped; the
trained weights stay in ``DIR/checkpoints/`` (not shipped). ``claims`` in study.json states each claim with
its per-seed values, the mean with a 95% Student-t interval over seeds (seed-paired differences where two
variants are compared: the same seed draws the same data order) and how many seeds it holds on.

Training is seeded and deterministic (one thread, deterministic algorithms), so
``study --out TMP --variants gru --seeds 1 --budget B`` reproduces the (gru, 0) run of a study with budget B
number for number, wall-clock seconds aside.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

__all__ = ["BUDGETS", "CLAIMS", "VARIANTS", "claims", "mean_interval", "measure_run", "paired_difference",
           "read_study", "report", "run_study", "verdict"]

# train flags of each variant; the seed and the recipe's budget are added per run
VARIANTS = {
    "gru": ["--arch", "gru"],
    "gru-noreset": ["--arch", "gru", "--no-reset"],
    "rnn": ["--arch", "rnn"],
    "gru-hardsigmoid": ["--arch", "gru", "--gate-activation", "hardsigmoid"],
    "gru-relu": ["--arch", "gru", "--candidate-activation", "relu"],
    "gru-linear": ["--arch", "gru", "--candidate-activation", "linear"],
}
ACTIVATION_VARIANTS = ("gru-hardsigmoid", "gru-relu", "gru-linear")

# full: the shipped models' recipe; quick: a third of the augmentation and three epochs (one run ~5 min alone)
BUDGETS = {
    "full": ["--epochs", "6", "--patience", "2", "--embed-dim", "256", "--ema", "0.999"],
    "quick": ["--epochs", "3", "--patience", "3", "--embed-dim", "256", "--ema", "0.999",
              "--neutral", "3000", "--memory", "6000", "--contrast", "2000", "--dev", "400"],
}

FLOW_DISTANCES = (1, 2, 4, 8, 16, 32, 64, 128)  # words back from the end where gradient flow is reported
FLOW_REVIEWS = 64  # probe-style reviews (a phrase, then 16 plot sentences) the gradient flow averages over
PROBE_SAMPLES = 150  # phrases per polarity, as `python -m gru_viz probe`
CONFIDENCE = 0.95
NEUTRAL_BAND = 0.15  # neutral text "reads neutral" below this median |P − 0.5|: the goal the recipe was set with
VANISHED = -3.0  # log10 of the gradient norm at 64 words back, relative to distance 0: a thousandth is gone
SPEARMAN_LEVEL = 0.05


# ---------------------------------------------------------------- statistics


def mean_interval(values, confidence: float = CONFIDENCE) -> dict:
    """The mean of per-seed values with a Student-t interval: {"mean", "low", "high", "n"} (low/high None
    for fewer than two values).

    >>> mean_interval([1.0, 2.0, 3.0])   # t(0.975, 2) = 4.303, sd/√n = 0.577
    {'mean': 2.0, 'low': -0.484138, 'high': 4.484138, 'n': 3}
    """
    from scipy import stats

    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return {"mean": None, "low": None, "high": None, "n": 0}
    mean = float(values.mean())
    if len(values) < 2:
        return {"mean": round(mean, 6), "low": None, "high": None, "n": 1}
    half = float(stats.t.ppf(0.5 + confidence / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values)))
    return {"mean": round(mean, 6), "low": round(mean - half, 6), "high": round(mean + half, 6),
            "n": int(len(values))}


def paired_difference(first: dict, second: dict, confidence: float = CONFIDENCE) -> dict:
    """``first − second`` over the seeds both have ({seed: value} each): the per-seed differences and their
    mean with a Student-t interval (a paired t interval).

    >>> paired_difference({0: 0.9, 1: 0.8, 2: 0.7}, {0: 0.8, 1: 0.8, 2: 0.8})["differences"]
    {'0': 0.1, '1': 0.0, '2': -0.1}
    """
    seeds = sorted(set(first) & set(second))
    differences = {str(seed): round(first[seed] - second[seed], 6) for seed in seeds}
    return {"differences": differences, **mean_interval(list(differences.values()), confidence)}


# ---------------------------------------------------------------- one run


def _run_name(variant: str, seed: int) -> str:
    return f"{variant}-seed{seed}"


def train_arguments(variant: str, seed: int, budget: str, out: Path, data: Path | None) -> list[str]:
    """The ``python -m gru_viz.train`` arguments of one run."""
    arguments = [*VARIANTS[variant], *BUDGETS[budget], "--seed", str(seed), "--exclude-val-fragments",
                 "--out", str(out)]
    return arguments + (["--data", str(data)] if data is not None else [])


def _flow_reviews(texts, labels) -> list[str]:
    """Long reviews for gradient flow: unseen-style phrases, each followed by 16 of the probe's plot sentences."""
    from gru_viz.probe import SHORT, load_neutral, review
    from gru_viz.text import tokenize

    neutral = load_neutral()
    phrases = [t for t in texts if SHORT[0] <= len(tokenize(t).tokens) <= SHORT[1]][:FLOW_REVIEWS]
    return [review(phrase, 16, seed=i, neutral=neutral) for i, phrase in enumerate(phrases)]


def _gradient_flow(model, reviews) -> dict:
    """log10 of the typical ‖∂h_T/∂h_t‖_F / √H at each distance in ``FLOW_DISTANCES`` (geometric mean over the
    reviews long enough)."""
    from gru_viz.analysis import gradient_flow

    logs = {d: [] for d in FLOW_DISTANCES}
    for ids in model.encode(reviews):
        norms = gradient_flow(model.gru, model.embed(ids))  # (T,)
        relative = norms[::-1] / norms[-1]  # by distance from the end
        for d in FLOW_DISTANCES:
            if d < len(relative):
                logs[d].append(np.log10(max(relative[d], 1e-300)))
    return {"distance": list(FLOW_DISTANCES),
            "log10_norm": [round(float(np.mean(logs[d])), 4) if logs[d] else None for d in FLOW_DISTANCES],
            "sentences": [len(logs[d]) for d in FLOW_DISTANCES]}


def _largest_hidden(model, texts) -> float:
    """max |h_t| over every real step of every text."""
    from gru_viz.model import padded_batches

    largest = 0.0
    for _, ids, lengths in padded_batches(model.encode(texts), 512):
        with torch.inference_mode():
            states, _ = model.gru(model.embed(ids))  # (B, T, H)
        real = torch.arange(states.shape[1])[None] < torch.from_numpy(lengths)[:, None]  # (B, T)
        largest = max(largest, float(states[real].abs().max()))
    return largest


def measure_run(folder: Path, texts, labels) -> dict:
    """The figures of one trained run (a model folder): see the module docstring."""
    from gru_viz.analysis import memory_statistics
    from gru_viz.model import load_model
    from gru_viz.probe import run_probe

    model = load_model(folder)
    card = model.card
    metrics, training = card["metrics"], card["training"]
    history = training["history"]
    probe = run_probe({model.name: model}, list(texts), list(labels), samples=PROBE_SAMPLES)
    figures = probe["models"][model.name]
    measures = {
        "heldout_accuracy": metrics["val_unseen_accuracy"],
        "val_accuracy": metrics["val_accuracy"],
        "best_epoch": metrics["best_epoch"],
        "epochs_run": training["epochs_run"],
        "diverged": bool(metrics.get("diverged", False)),
        "initial_loss": metrics.get("initial_loss"),
        "final_loss": history[-1]["train_loss"] if history else None,
        "probe": {"neutral_median_distance": figures["neutral_median_distance"], **figures["retention"],
                  "contrast": figures["contrast"],
                  "phrases_per_polarity": probe["settings"]["phrases_per_polarity"]},
        "gradient_flow": _gradient_flow(model, _flow_reviews(texts, labels)),
        "max_abs_hidden": round(_largest_hidden(model, texts), 6),
    }
    if model.arch == "gru":
        units = memory_statistics(model, texts)
        measures["units"] = {"timescale": [round(float(t), 4) if np.isfinite(t) else None for t in units.timescale],
                             "reset_low": np.round(units.reset_low, 4).tolist(),
                             "reset_mean": np.round(units.reset_mean, 4).tolist(),
                             "update_mean": np.round(units.update_mean, 4).tolist()}
    return measures


def _train_and_measure(variant: str, seed: int, arguments: list[str], folder: str, data: str | None) -> dict:
    """One run (in a worker process when several run at once): train with ``arguments`` unless its model
    folder is complete, then measure."""
    from gru_viz import train
    from gru_viz.text import parse_labelled_tsv

    torch.set_num_threads(1)
    folder = Path(folder)
    data_dir = Path(data) if data else train._default_data()
    if not (folder / "card.json").is_file():
        if train.main(arguments) != 0:
            raise RuntimeError(f"training {variant} seed {seed} failed")
    card = json.loads((folder / "card.json").read_text(encoding="utf-8"))
    texts, labels = parse_labelled_tsv((data_dir / "val.tsv").read_bytes(), "val.tsv")
    started = time.time()
    measures = measure_run(folder, texts, labels)
    return {"variant": variant, "seed": seed, "seconds": card["training"]["seconds"],
            "measure_seconds": round(time.time() - started, 1),
            "command": "python -m gru_viz.train " + " ".join(arguments), **measures}


# ---------------------------------------------------------------- claims


def _by_seed(runs, variant: str, value) -> dict:
    """{seed: value(run)} of one variant's runs, leaving out runs where the value is missing."""
    picked = {}
    for run in runs:
        if run["variant"] == variant:
            measured = value(run)
            if measured is not None:
                picked[run["seed"]] = float(measured)
    return picked


def _retention(k: int, test: str = "verdict_first"):
    return lambda run: run["probe"][test][str(k)]


def _flow_at(distance: int):
    return lambda run: run["gradient_flow"]["log10_norm"][FLOW_DISTANCES.index(distance)]


def _spearman(run):
    units = run.get("units")
    if not units:
        return None
    from scipy import stats

    timescale = np.array([np.inf if t is None else t for t in units["timescale"]])
    rho, p = stats.spearmanr(timescale, units["reset_low"])
    return None if not np.isfinite(rho) else (round(float(rho), 4), float(p))


def _holds(values: dict, test) -> str:
    return f"{sum(bool(test(v)) for v in values.values())}/{len(values)} seeds"


def _comparison(claim: str, statement: str, measure: str, runs, first: str, second: str, value,
                better=lambda d: d > 0) -> dict:
    one, other = _by_seed(runs, first, value), _by_seed(runs, second, value)
    difference = paired_difference(one, other)
    return {"claim": claim, "statement": statement, "measure": measure, "variants": [first, second],
            "values": {first: {str(s): v for s, v in one.items()}, second: {str(s): v for s, v in other.items()}},
            "difference": difference, "holds": _holds({s: float(d) for s, d in difference["differences"].items()},
                                                      better)}


def _single(claim: str, statement: str, measure: str, runs, variants, value, test) -> dict:
    values = {variant: _by_seed(runs, variant, value) for variant in variants}
    return {"claim": claim, "statement": statement, "measure": measure, "variants": list(variants),
            "values": {v: {str(s): x for s, x in per_seed.items()} for v, per_seed in values.items()},
            "summary": {v: mean_interval(list(per_seed.values())) for v, per_seed in values.items()},
            "holds": {v: _holds(per_seed, test) for v, per_seed in values.items()}}


def claims(runs: list[dict]) -> list[dict]:
    """Every claim the page states, measured on ``runs`` (see ``CLAIMS`` for what each one tests)."""
    result = []
    for k in (8, 16):
        result.append(_comparison(
            f"gru_keeps_verdict_k{k}", f"The GRU keeps an early verdict through {k} plot sentences better than "
            "the vanilla RNN.", f"probe retention, verdict first, k = {k} (accuracy); gru − rnn", runs,
            "gru", "rnn", _retention(k)))
    result.append(_comparison(
        "gru_beats_rnn_accuracy", "The GRU is more accurate than the vanilla RNN on unseen reviews.",
        "held-out accuracy on the 766 unseen validation sentences; gru − rnn", runs, "gru", "rnn",
        lambda run: run["heldout_accuracy"]))
    result.append(_comparison(
        "reset_helps_retention", "The reset gate helps keep an early verdict.",
        "probe retention, verdict first, k = 16; gru − gru-noreset", runs, "gru", "gru-noreset", _retention(16)))
    result.append(_comparison(
        "reset_helps_contrast", "The reset gate helps drop the past after 'but'.",
        "probe contrast, k = 8 (accuracy on the phrase after 'but'); gru − gru-noreset", runs, "gru",
        "gru-noreset", lambda run: run["probe"]["contrast"]["8"]))
    result.append(_comparison(
        "reset_helps_accuracy", "The reset gate raises accuracy on unseen reviews.",
        "held-out accuracy on the 766 unseen validation sentences; gru − gru-noreset", runs, "gru",
        "gru-noreset", lambda run: run["heldout_accuracy"]))
    result.append(_single(
        "rnn_gradient_vanishes", "The vanilla RNN's gradient vanishes with distance.",
        "log10 of the typical ‖∂h_T/∂h_t‖ / √H 64 words back, over 64 long reviews; holds where below −3 "
        "(a thousandth)", runs, ("rnn",), _flow_at(64), lambda v: v < VANISHED))
    result.append(_comparison(
        "gru_gradient_persists", "The GRU's gradient reaches further back than the vanilla RNN's.",
        "log10 of the typical ‖∂h_T/∂h_t‖ / √H 64 words back; gru − rnn", runs, "gru", "rnn", _flow_at(64)))
    result.append(_single(
        "neutral_reads_neutral", "Neutral plot text reads neutral.",
        f"median |P − 0.5| over the probe's plot sentences; holds where below {NEUTRAL_BAND}", runs,
        ("gru", "gru-noreset", "rnn"), lambda run: run["probe"]["neutral_median_distance"],
        lambda v: v < NEUTRAL_BAND))
    correlations = {run["seed"]: _spearman(run) for run in runs if run["variant"] == "gru"}  # (ρ, p), once each
    correlations = {seed: pair for seed, pair in correlations.items() if pair is not None}
    spearman = _single(
        "short_memory_units_reset", "Units with a short memory have active reset gates.",
        "Spearman ρ over units between the timescale τ and the fraction of steps with r < 0.1; holds where "
        f"ρ < 0 with p < {SPEARMAN_LEVEL}", runs, ("gru",),
        lambda run: correlations[run["seed"]][0] if run["seed"] in correlations else None, lambda v: v < 0)
    spearman["p_values"] = {str(seed): round(p, 6) for seed, (_, p) in correlations.items()}
    # holding needs the p-value as well as the sign, which a per-value test cannot see
    spearman["holds"] = {"gru": f"{sum(rho < 0 and p < SPEARMAN_LEVEL for rho, p in correlations.values())}/"
                                f"{len(correlations)} seeds"}
    result.append(spearman)
    for variant in ACTIVATION_VARIANTS:
        measures = {
            "heldout_accuracy": (lambda run: run["heldout_accuracy"], lambda d: d > 0),
            "retention_k16": (_retention(16), lambda d: d > 0),
            "max_abs_hidden": (lambda run: run["max_abs_hidden"], lambda d: d < 0),
            "diverged": (lambda run: float(run["diverged"]), lambda d: d < 0),
        }
        entry = {"claim": f"activations_{variant}", "variants": ["gru", variant],
                 "statement": "Sigmoid gates and a tanh candidate matter: the GRU against " + variant + ".",
                 "measure": "per measure, gru − " + variant + " (held-out accuracy, retention at k = 16, largest "
                            "|h| on the validation set, diverged 1/0); holds where the GRU is better",
                 "measures": {}}
        for name, (value, better) in measures.items():
            comparison = _comparison(name, "", name, runs, "gru", variant, value, better)
            entry["measures"][name] = {key: comparison[key] for key in ("values", "difference", "holds")}
        result.append(entry)
    return result


MEASURE_NAMES = {"heldout_accuracy": "held-out accuracy", "retention_k16": "retention at k = 16",
                 "max_abs_hidden": "largest |h|", "diverged": "diverged (1/0)"}


def _interval_text(summary: dict, digits: int = 3) -> str:
    if summary["mean"] is None:
        return "not measured"
    if summary["low"] is None:
        return f"{summary['mean']:+.{digits}f} (one seed)"
    return f"{summary['mean']:+.{digits}f} (95% CI {summary['low']:+.{digits}f} to {summary['high']:+.{digits}f})"


def _ties(difference: dict) -> str:
    """", equal on m" when some seeds' differences are exactly 0 (e.g. both bounded by 1, neither diverged)."""
    ties = sum(value == 0 for value in difference["differences"].values())
    return f", equal on {ties}" if ties else ""


def _difference_verdict(difference: dict, holds: str, subject: str) -> str:
    """One sentence on a seed-paired difference: consistent, no measurable difference, or the reverse."""
    low, high = difference["low"], difference["high"]
    if not difference["n"]:
        return f"Not measured: no seed has runs of both ({subject})."
    if all(value == 0 for value in difference["differences"].values()):
        return f"No difference: {subject} is 0 on every seed ({difference['n']})."
    text = f"{subject}: {_interval_text(difference)}, better on {holds}{_ties(difference)}."
    if low is None:
        return text + " One seed is an anecdote."
    if low > 0:
        return "Holds. " + text
    if high < 0:
        return "The reverse holds. " + text
    return "No measurable difference. " + text


def verdict(claim: dict) -> str:
    """The claim's result in one plain sentence, from its numbers only."""
    if "difference" in claim:
        first, second = claim["variants"]
        return _difference_verdict(claim["difference"], claim["holds"], f"{first} − {second}")
    if "measures" in claim:
        parts = []
        for name, measure in claim["measures"].items():
            difference = measure["difference"]
            if not difference["n"]:
                continue
            if all(value == 0 for value in difference["differences"].values()):
                parts.append(f"{MEASURE_NAMES.get(name, name)} the same on every seed")
            else:
                parts.append(f"{MEASURE_NAMES.get(name, name)} {_interval_text(difference)}, GRU better on "
                             f"{measure['holds']}{_ties(difference)}")
        return ("gru − " + claim["variants"][1] + ": " + "; ".join(parts) + ".") if parts else "Not measured."
    return "; ".join(f"{variant}: {_interval_text(claim['summary'][variant])}, holds on {claim['holds'][variant]}"
                     for variant in claim["variants"] if claim["summary"][variant]["n"]) + "."


def read_study(path) -> dict:
    """A study.json as written by ``run_study``; ``ValueError`` with one sentence when it is not one."""
    path = Path(path)
    try:
        study = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ValueError(f"{path.name}: not a readable study ({error.__class__.__name__})") from None
    if not isinstance(study, dict) or not all(isinstance(study.get(key), want) for key, want in
                                              (("settings", dict), ("runs", list), ("claims", list))):
        raise ValueError(f"{path.name}: not a study (needs settings, runs and claims)")
    return study


def report(study: dict) -> str:
    """The claims as a Markdown table: claim, measure, result, seeds where it holds."""
    lines = ["| claim | measure | result |", "|---|---|---|"]
    for claim in study["claims"]:
        cells = [text.replace("|", "\\|") for text in (claim["statement"], claim["measure"], verdict(claim))]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


CLAIMS = ("gru_keeps_verdict_k8", "gru_keeps_verdict_k16", "gru_beats_rnn_accuracy", "reset_helps_retention",
          "reset_helps_contrast", "reset_helps_accuracy", "rnn_gradient_vanishes", "gru_gradient_persists",
          "neutral_reads_neutral", "short_memory_units_reset", *(f"activations_{v}" for v in ACTIVATION_VARIANTS))


# ---------------------------------------------------------------- the study


def _write(path: Path, study: dict) -> None:
    """Replace study.json whole (write, then rename), so an interrupted study never leaves half a file."""
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(study, indent=1) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def _plan(variants, seeds: int) -> list[tuple[str, int]]:
    """Seed by seed across the variants, so an early stop still covers every variant evenly."""
    return [(variant, seed) for seed in range(seeds) for variant in variants]


def run_study(out: Path, variants, seeds: int, budget: str, *, jobs: int = 1, data: Path | None = None,
              log=print) -> dict:
    """Train and measure every (variant, seed) not yet in ``out/study.json``, then restate the claims."""
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        raise ValueError(f"unknown variants {unknown}; choose from {sorted(VARIANTS)}")
    if budget not in BUDGETS:
        raise ValueError(f"budget must be one of {sorted(BUDGETS)}, got {budget!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "study.json"
    settings = {"budget": budget, "train_arguments": BUDGETS[budget], "confidence": CONFIDENCE,
                "probe_samples": PROBE_SAMPLES, "flow_reviews": FLOW_REVIEWS, "torch": torch.__version__}
    study = {"settings": settings, "runs": [], "claims": []}
    if path.is_file():
        study = json.loads(path.read_text(encoding="utf-8"))
        if study["settings"]["budget"] != budget:
            raise ValueError(f"{path}: holds a {study['settings']['budget']} study; give that --budget or "
                             "another --out")
    done = {(run["variant"], run["seed"]) for run in study["runs"]}
    todo = [(v, s) for v, s in _plan(variants, seeds) if (v, s) not in done]
    study["settings"]["seeds"] = max(seeds, study["settings"].get("seeds", 0))
    study["settings"]["variants"] = sorted(set(variants) | set(study["settings"].get("variants", [])),
                                           key=list(VARIANTS).index)
    started = time.time()

    def finished(run: dict) -> None:
        study["runs"].append(run)
        study["runs"].sort(key=lambda r: (list(VARIANTS).index(r["variant"]), r["seed"]))
        study["claims"] = claims(study["runs"])
        _write(path, study)
        log(f"{run['variant']} seed {run['seed']}: held-out {run['heldout_accuracy']:.4f}, "
            f"{run['seconds']:.0f} s training ({time.time() - started:.0f} s into the study)")

    jobs_arguments = [(v, s, train_arguments(v, s, budget, out / "checkpoints" / _run_name(v, s), data),
                       str(out / "checkpoints" / _run_name(v, s)), None if data is None else str(data))
                      for v, s in todo]
    if jobs == 1:  # in this process: nothing to spawn
        for arguments in jobs_arguments:
            finished(_train_and_measure(*arguments))
    else:
        context = multiprocessing.get_context("spawn")  # a fresh interpreter per run: no state carries over
        with concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context,
                                                    max_tasks_per_child=1) as pool:
            for future in concurrent.futures.as_completed([pool.submit(_train_and_measure, *arguments)
                                                           for arguments in jobs_arguments]):
                finished(future.result())
    study["claims"] = claims(study["runs"])
    _write(path, study)
    return study


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="study folder (study.json; checkpoints/ beside it)")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS), metavar="VARIANT",
                        help=f"default: all of {', '.join(VARIANTS)}")
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0 … N−1 per variant (default: %(default)s)")
    parser.add_argument("--budget", choices=sorted(BUDGETS), default="quick",
                        help="quick (~5 min a run alone) or full (the shipped recipe); default: %(default)s")
    parser.add_argument("--jobs", type=int, default=1, help="runs trained at once (default: %(default)s)")
    parser.add_argument("--data", type=Path, help="folder with train.tsv and val.tsv (default: the shipped copy)")
    parser.add_argument("--json", action="store_true", help="print the claims as JSON")


def study_command(args) -> str:
    if args.seeds < 1 or args.jobs < 1:
        raise ValueError("--seeds and --jobs must be at least 1")
    study = run_study(args.out, args.variants, args.seeds, args.budget, jobs=args.jobs, data=args.data,
                      log=lambda line: print(line, file=sys.stderr))
    if args.json:
        return json.dumps(study["claims"], indent=1)
    return report(study)
