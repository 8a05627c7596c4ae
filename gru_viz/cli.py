"""Command line: ``gru-viz`` (or ``python -m gru_viz``) ``trace TEXT [--model DIR] [--json]`` and
``ablate [--data TSV] [--model DIR] [--json] [--limit N]`` and
``gradient-flow [--data TSV] [--models DIR DIR] [--min-tokens N] [--json]`` and
``python -m gru_viz template OUT [--arch gru|rnn] [--embed-dim E] [--hidden-size H] [--vocab FILE]``
(a small random model folder in the format ``--model`` and the page's upload accept) and
``index --data PATH --out DIR [--model DIR] [--heldout TSV] [--engine local|ray] [--address ADDR] [--json]``
(an activation index of a whole corpus, ``gru_viz.corpus``) and
``fixed-points [--model DIR] [--input zero|mean|WORD] [--data TSV] [--json]`` (fixed points of the GRU step,
``analysis.fixed_points``) and
``study --out DIR [--variants …] [--seeds N] [--budget quick|full] [--jobs N] [--json]`` (every variant trained
with several seeds, the page's claims measured across them, ``gru_viz.study``).

Defaults come from ``gru_viz.paths``: the shipped ``models/sst2-gru`` and ``data/sst2/val.tsv`` of the
checkout around the current folder, or ``$GRU_VIZ_MODELS`` and ``$GRU_VIZ_DATA``.

Every fault a user can cause (blank text, an unreadable or malformed TSV, a bad model folder) is one short
line on stderr and exit status 2, never a traceback. ``ablate`` draws its progress bar on stderr, so
stdout holds only the table or the JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tqdm import tqdm

from gru_viz import paths
from gru_viz.analysis import ABLATION_MEANINGS, ablation
from gru_viz.model import is_positive, load_model
from gru_viz.study import add_arguments as add_study_arguments
from gru_viz.study import study_command

MODEL_HELP = "model folder (default: models/sst2-gru of the checkout, or $GRU_VIZ_MODELS/sst2-gru)"
DATA_HELP = ("TSV file of sentence<TAB>label (0|1) rows (default: data/sst2/val.tsv of the checkout, "
             "or $GRU_VIZ_DATA)")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own usage errors: one line, exit 2
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m gru_viz", description="Trace a trained GRU reading a sentence.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    trace = commands.add_parser("trace", help="print the gates, states and prediction at every token")
    trace.add_argument("text", help="the sentence to read")
    trace.add_argument("--model", type=Path, help=MODEL_HELP)
    trace.add_argument("--json", action="store_true", help="print JSON instead of a table")
    trace.add_argument("--units", type=int, default=4, help="units shown in the table (default: %(default)s)")
    ablate = commands.add_parser("ablate", help="accuracy on a data set with the reset and/or update gate forced")
    ablate.add_argument("--data", type=Path, help=DATA_HELP)
    ablate.add_argument("--model", type=Path, help=MODEL_HELP)
    ablate.add_argument("--json", action="store_true", help='print {"free": …, "reset=1": …, "update=0": …, '
                                                            '"reset=1,update=0": …} instead of a table')
    ablate.add_argument("--limit", type=_positive, help="use only the first N sentences")
    flow = commands.add_parser("gradient-flow", help="typical ‖∂h_T/∂h_t‖ by distance from the end, over a "
                                                     "data set, for each model (GRU vs vanilla RNN)")
    flow.add_argument("--data", type=Path, help=DATA_HELP)
    flow.add_argument("--models", type=Path, nargs="+",
                      help="model folders (default: the shipped GRU and RNN, models/sst2-gru and models/sst2-rnn)")
    flow.add_argument("--min-tokens", type=_positive, default=1, help="only sentences of at least N tokens")
    flow.add_argument("--limit", type=_positive, help="use only the first N sentences (after --min-tokens)")
    flow.add_argument("--json", action="store_true", help="print {model: {distance, mean, geometric_mean, "
                                                          "count}} instead of a table")
    template = commands.add_parser("template", help="write a small random model folder: the format to fill in")
    template.add_argument("out", type=Path, help="new (or empty) folder to write")
    template.add_argument("--arch", choices=("gru", "rnn"), default="gru", help="default: %(default)s")
    template.add_argument("--embed-dim", type=_positive, default=16, help="default: %(default)s")
    template.add_argument("--hidden-size", type=_positive, default=8, help="default: %(default)s")
    template.add_argument("--vocab", type=Path, help="UTF-8 text file of words (split and lower-cased as typed "
                                                     "text is); default: a few dozen sentiment words")
    template.add_argument("--seed", type=int, default=0, help="default: %(default)s")
    probe = commands.add_parser("probe", help="memory probe: neutral calibration, retention of a verdict through "
                                              "plot sentences, and contrast after 'but', for each model")
    probe.add_argument("--model", dest="models", type=Path, nargs="+", action="extend",
                       help="model folders (default: every shipped model: sst2-gru, sst2-gru-noreset, sst2-rnn)")
    probe.add_argument("--data", type=Path, help="TSV of labelled phrases to draw verdicts from "
                                                 "(default: the shipped validation set)")
    probe.add_argument("--neutral", type=Path, help="file of neutral plot sentences, one a line "
                                                    "(default: the hand-written set in gru_viz/data)")
    probe.add_argument("--samples", type=_positive, default=150, help="phrases per polarity (default: %(default)s)")
    probe.add_argument("--json", action="store_true", help="print the figures as JSON (keys in the README)")
    probe.add_argument("--record", action="store_true", help="also write each model's figures into its card.json "
                                                             "under 'probe' (the page shows them)")
    index = commands.add_parser("index", help="index a whole corpus in one pass (unit statistics, contexts, "
                                              "ablation, gradient flow) for the page to open")
    index.add_argument("--data", type=Path, required=True, help="a TSV of sentence<TAB>label (0|1) rows, or a "
                                                                "folder of them (every *.tsv, in sorted order)")
    index.add_argument("--model", type=Path, help=MODEL_HELP)
    index.add_argument("--out", type=Path, required=True, help="index folder to write (a rerun resumes or skips)")
    index.add_argument("--engine", choices=("local", "ray"), default="local",
                       help="local: in this process (default); ray: Ray Data, pip install 'gru-viz[scale]'")
    index.add_argument("--address", help="Ray cluster to join with --engine ray: auto, or ray://HEAD:10001 "
                                         "(default: start a local Ray runtime)")
    index.add_argument("--workers", type=_positive, help="Ray actors at most (default: the cluster's CPUs)")
    index.add_argument("--shard-rows", type=_positive, default=4096, help="rows per shard (default: %(default)s)")
    index.add_argument("--heldout", type=Path, help="a labelled TSV (e.g. data/sst2/val.tsv) on which to measure "
                       "each unit's ablation")
    index.add_argument("--json", action="store_true", help="print the manifest as JSON (with \"skipped\")")
    fixed = commands.add_parser("fixed-points", help="fixed points of the GRU step under a constant input, their "
                                                     "eigenvalues, timescales and alignment with the readout")
    fixed.add_argument("--model", type=Path, help=MODEL_HELP)
    fixed.add_argument("--input", default="mean", help="the constant input: zero (the padding embedding), mean "
                                                       "(the mean word embedding) or a WORD (default: %(default)s)")
    fixed.add_argument("--data", type=Path, help=DATA_HELP + "; the search starts from states visited on it")
    fixed.add_argument("--sentences", type=_positive, default=400, help="sentences read for starting states "
                                                                        "(default: %(default)s)")
    fixed.add_argument("--starts", type=_positive, default=256, help="starting states (default: %(default)s)")
    fixed.add_argument("--json", action="store_true",
                       help="print JSON (keys in docs/fixed-points.md) instead of a table")
    study = commands.add_parser("study", help="train every variant with several seeds and measure the page's "
                                              "claims across them (study.json; resumes when rerun)")
    add_study_arguments(study)
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text!r}")
    return value


def _require_single_path(model) -> None:
    """The data-set commands read one layer, one direction and one logit (the shipped shape): say so for others."""
    if not model.single_path:
        raise ValueError(f"{model.name} has {model.num_layers} layer(s), {model.num_directions} direction(s), "
                         f"{model.num_classes} logit(s) and a {model.readout!r} readout; this command is defined for "
                         "one layer, one direction and one logit read from the last state (trace reads any shape)")


def trace_command(args) -> str:
    from gru_viz.export import trace_document

    model = load_model(args.model or paths.default_model_dir())
    sentence = model.trace(args.text)
    gates = sentence.gates
    if args.json:  # the top layer's forward direction under today's keys, every layer under "layers"
        return json.dumps(trace_document(sentence), ensure_ascii=False)
    fields = {name: getattr(gates, name)[-1, 0, 0] for name in ("update", "reset", "candidate", "hidden")}
    units = min(max(args.units, 1), gates.shape[-1])
    header = f"{'pos':>3}  {'token':<16}{'P(pos)':>7}" + "".join(
        f"  z{u:<3} r{u:<3} h{u:<4}" for u in range(units))
    stack = "" if model.single_path else (f"; the top layer of {model.num_layers}, forward; --json has every "
                                          f"layer and direction")
    lines = [f"{model.name} ({model.arch}, {gates.shape[-1]} units; first {units} shown{stack})", header]
    for t, token in enumerate(sentence.tokens):
        shown = token if len(token) <= 15 else token[:14] + "…"
        unknown = "" if sentence.known[t] else "?"
        row = f"{t:>3}  {shown + unknown:<16}{sentence.probability[t]:>7.3f}"
        for u in range(units):
            row += f"  {fields['update'][t, u]:.2f} {fields['reset'][t, u]:.2f} {fields['hidden'][t, u]:+.2f}"
        lines.append(row)
    if model.num_classes == 1:
        verdict = "positive" if is_positive(sentence.probability[-1]) else "negative"
        lines.append(f"verdict: {verdict} (P(positive) = {sentence.probability[-1]:.3f}); ? marks unknown words")
    else:  # the P column follows the predicted class
        lines[1] = lines[1].replace(" P(pos)", "P(pred)")
        lines.append(f"verdict: {sentence.labels[sentence.predicted]} (P = {sentence.probability[-1]:.3f}; "
                     + ", ".join(f"{label} {p:.3f}" for label, p in zip(sentence.labels, sentence.probabilities[-1]))
                     + "); ? marks unknown words")
    if sentence.note:
        lines.append(sentence.note)
    return "\n".join(lines)


def ablate_command(args) -> str:
    args.data = args.data or paths.default_data_file("val")
    rows = _read_rows(args.data)[:args.limit]
    model = load_model(args.model or paths.default_model_dir())
    _require_single_path(model)
    texts, labels = [sentence for sentence, _ in rows], [label for _, label in rows]
    bars = []  # the bar starts with the first finished batch, so a refused input prints only its error

    def progress(done, total):
        if not bars:
            bars.append(tqdm(total=total, desc="ablation", unit="sentence", file=sys.stderr, mininterval=0.5))
        bars[0].update(done - bars[0].n)

    try:
        accuracy = ablation(model, texts, labels, progress=progress)
    finally:
        for bar in bars:
            bar.close()
    if args.json:
        return json.dumps(accuracy)
    lines = [f"{model.name} ({model.arch}, {model.gru.hidden_size} units) on {args.data.name}: "
             f"{len(texts)} sentences", f"{'condition':<18}{'accuracy':>9}{'change':>9}  meaning"]
    for name, value in accuracy.items():
        change = "" if name == "free" else f"{value - accuracy['free']:+.4f}"
        lines.append(f"{name:<18}{value:>9.4f}{change:>9}  {ABLATION_MEANINGS[name]}")
    return "\n".join(lines)


def _read_rows(path: Path) -> list[tuple[str, int]]:
    from gru_viz.train import read_tsv  # here, so `trace` does not pay for the training module

    try:
        return read_tsv(path)
    except OSError as error:
        raise ValueError(f"{path}: cannot read the file ({error.strerror or error})") from None


def gradient_flow_command(args) -> str:
    from gru_viz.analysis import dataset_gradient_flow, embed_texts

    args.data = args.data or paths.default_data_file("val")
    args.models = args.models or [paths.default_model_dir(name) for name in (paths.DEFAULT_MODEL, paths.RNN_MODEL)]
    if len(set(map(str, args.models))) != len(args.models):
        raise ValueError("--models names the same folder twice")
    texts = [sentence for sentence, _ in _read_rows(args.data)]
    flows = {}
    for folder in args.models:
        model = load_model(folder)
        _require_single_path(model)
        sequences = [s for s in embed_texts(model, texts) if len(s) >= args.min_tokens][:args.limit]
        if not sequences:
            raise ValueError(f"{args.data}: no sentence of at least {args.min_tokens} tokens")
        with tqdm(total=len(sequences), desc=model.name, unit="sentence", file=sys.stderr, mininterval=0.5) as bar:
            if model.name in flows:
                raise ValueError(f"{folder}: its card's name {model.name!r} is already taken by another model")
            flows[model.name] = dataset_gradient_flow(model.gru, sequences,
                                                      progress=lambda done, total: bar.update(done - bar.n))
    if args.json:
        return json.dumps({name: {field: getattr(flow, field).tolist()
                                  for field in ("distance", "mean", "geometric_mean", "count")}
                           for name, flow in flows.items()})
    distances = [d for d in (0, 1, 2, 5, 10, 15, 20, 30, 40)
                 if all(d < len(flow.distance) for flow in flows.values())]
    lines = [f"‖∂h_T/∂h_t‖ by distance d = T−1−t from the last token, over {args.data.name} "
             f"(sentences of ≥{args.min_tokens} tokens); geometric mean = the typical sentence",
             f"{'':<22}" + "".join(f"{'d=' + str(d):>10}" for d in distances)]
    for name, flow in flows.items():
        lines.append(f"{name + ' geometric':<22}" + "".join(f"{flow.geometric_mean[d]:>10.3g}" for d in distances))
        lines.append(f"{name + ' mean':<22}" + "".join(f"{flow.mean[d]:>10.3g}" for d in distances))
    first = next(iter(flows.values()))
    lines.append(f"{'sentences':<22}" + "".join(f"{first.count[d]:>10}" for d in distances))
    return "\n".join(lines)


def template_command(args) -> str:
    from gru_viz.upload import write_template

    words = None
    if args.vocab is not None:
        try:
            words = args.vocab.read_text(encoding="utf-8").split()
        except UnicodeDecodeError:
            raise ValueError(f"{args.vocab}: not UTF-8 text") from None
        except OSError as error:
            raise ValueError(f"{args.vocab}: cannot read the file ({error.strerror or error})") from None
    try:
        written = write_template(args.out, words=words, arch=args.arch, embed_dim=args.embed_dim,
                                 hidden_size=args.hidden_size, seed=args.seed)
    except OSError as error:
        raise ValueError(f"{args.out}: cannot write the folder ({error.strerror or error})") from None
    model = load_model(args.out)
    lines = [f"wrote a random, untrained {model.arch} model (vocab {model.config.vocab_size}, embed "
             f"{model.config.embed_dim}, hidden {model.config.hidden_size}) to {args.out}:"]
    lines += [f"  {path.name:<18}{path.stat().st_size:>9,} bytes" for path in written]
    lines.append(f"try it: python -m gru_viz trace \"a great movie\" --model {args.out}")
    return "\n".join(lines)


def index_command(args) -> str:
    from dataclasses import asdict

    from gru_viz.corpus import build_index

    manifest = build_index(args.data, args.model or paths.default_model_dir(), args.out, engine=args.engine,
                           address=args.address, workers=args.workers, shard_rows=args.shard_rows,
                           heldout=args.heldout)
    if args.json:
        return json.dumps(asdict(manifest), ensure_ascii=False)
    if manifest.skipped:
        return (f"{args.out}: up to date ({manifest.sentences:,} sentences, {manifest.model['name']}); "
                f"nothing to do")
    lines = [f"indexed {manifest.sentences:,} sentences ({manifest.tokens:,} tokens) of {args.data} with "
             f"{manifest.model['name']} into {args.out} in {manifest.wall_seconds:.1f} s ({manifest.engine}; "
             f"{manifest.shards} shards, {manifest.shards_reused} reused)"]
    if manifest.ablation:
        lines.append("accuracy: " + ", ".join(f"{name} {value:.4f}"
                                              for name, value in manifest.ablation["accuracy"].items()))
    if manifest.bad_rows:
        lines.append(f"{len(manifest.bad_rows)} bad rows skipped (listed in manifest.json), the first:")
        lines += [f"  {row['file']}:{row['line']}: {row['reason']}" for row in manifest.bad_rows[:10]]
    return "\n".join(lines)


def probe_command(args) -> str:
    from gru_viz.probe import DISTANCES, load_neutral, record_probe, run_probe

    folders = args.models or [path for name in PROBE_MODELS if (path := paths.default_models_root() / name).is_dir()]
    models, named = {}, {}
    for folder in folders:
        model = load_model(folder)
        _require_single_path(model)
        name = model.name if model.name not in models else str(folder)
        models[name], named[name] = model, folder
    texts = labels = None
    if args.data is not None:
        texts, labels = zip(*_read_rows(args.data))
    result = run_probe(models, list(texts) if texts else None, labels, samples=args.samples,
                       neutral=load_neutral(args.neutral) if args.neutral else None)
    if args.record:
        record_probe(result, named)
    if args.json:
        return json.dumps(result, indent=2)
    head = "model                      test           " + "".join(f"k={k:<6}" for k in DISTANCES)
    lines = [f"neutral median |P − 0.5| over {result['settings']['neutral_sentences']} plot sentences "
             "(0 = undecided, 0.5 = a confident verdict):"]
    lines += [f"  {name:<24} {scores['neutral_median_distance']:.3f}" for name, scores in result["models"].items()]
    lines += ["", "accuracy with k neutral plot sentences "
              f"({'/'.join(map(str, result['settings']['phrases_per_polarity']))} positive/negative phrases):", head]
    for name, scores in result["models"].items():
        rows = {**scores["retention"], "contrast": scores["contrast"]}
        for test, by_k in rows.items():
            lines.append(f"{name:<26} {test:<14} " + "".join(f"{by_k[str(k)]:<8.3f}" for k in DISTANCES))
    return "\n".join(lines)


def fixed_points_command(args) -> str:
    import numpy as np

    from gru_viz.analysis import constant_input, fixed_points, readout_cosine, visited_states
    from gru_viz.analysis.fixed_points import RESIDUAL_TOLERANCE, SLOW_THRESHOLD

    model = load_model(args.model or paths.default_model_dir())
    _require_single_path(model)
    args.data = args.data or paths.default_data_file("val")
    texts = [sentence for sentence, _ in _read_rows(args.data)[:args.sentences]]
    found = fixed_points(model.gru, constant_input(model, args.input), visited_states(model, texts, count=args.starts))
    readout = model.readout_weight  # (H,)
    logit = found.points @ readout + model.readout_bias  # (K,) where each point sits on the verdict
    cosine = readout_cosine(found.directions, readout)
    axis = found.principal_axis()  # are the points spread along one line, and is it the readout's?
    axis_cosine = None if axis is None else float(readout_cosine(axis[0], readout))
    axis_explained = None if axis is None else axis[1]
    slow, growing, kinds = found.slow_modes(SLOW_THRESHOLD), found.growing_modes, found.kinds
    timescale = found.timescales[:, 0] if len(found) else np.zeros(0)
    if args.json:
        def finite(values):  # JSON has no infinity: an infinite timescale is null
            return [[float(v) if np.isfinite(v) else None for v in row] for row in values]
        return json.dumps({
            "model": model.name, "input": args.input, "starts": found.starts, "count": len(found),
            "tolerance": RESIDUAL_TOLERANCE, "points": found.points.tolist(), "residual": found.residual.tolist(),
            "logit": logit.tolist(), "eigenvalues_real": found.eigenvalues.real.tolist(),
            "eigenvalues_imag": found.eigenvalues.imag.tolist(), "slowest": found.slowest.tolist(),
            "timescales": finite(found.timescales), "slow_modes": slow.tolist(), "slow_threshold": SLOW_THRESHOLD,
            "directions": found.directions.tolist(), "readout_cosine": cosine.tolist(),
            "points_axis_cosine": axis_cosine, "points_axis_explained": axis_explained,
            "kinds": kinds.tolist(), "growing_modes": growing.tolist(), "candidates": found.candidates,
            "dropped": found.dropped}, ensure_ascii=False)
    dropped = found.dropped
    lines = [f"{model.name} ({model.arch}, {model.gru.hidden_size} units), constant input {args.input!r}: "
             f"{len(found)} fixed points (‖F(h) − h‖ ≤ {RESIDUAL_TOLERANCE:g} in float64, every |h_i| < 1) from "
             f"{found.starts} states visited on {len(texts)} sentences of {args.data.name}",
             f"of {found.candidates} polished candidates, dropped: {dropped['box']} on or past the box |h_i| ≥ 1, "
             f"{dropped['not_converged']} not converged, {dropped['duplicate']} duplicates",
             f"{'#':>3} {'kind':<10}{'logit':>8}{'P(pos)':>8}{'residual':>10}{'max |λ|':>10}{'τ (steps)':>11}"
             f"{f'|λ|≥{SLOW_THRESHOLD}':>10}{'|λ|>1':>7}{'cos(slow, readout)':>20}"]
    for k in range(len(found)):
        tau = f"{timescale[k]:.3g}" if np.isfinite(timescale[k]) else "inf"
        lines.append(f"{k:>3} {kinds[k]:<10}{logit[k]:>8.3f}{1 / (1 + np.exp(-logit[k])):>8.3f}"
                     f"{found.residual[k]:>10.1e}{found.slowest[k]:>10.6f}{tau:>11}{slow[k]:>10}{growing[k]:>7}"
                     f"{cosine[k]:>20.3f}")
    if axis is not None:
        lines.append(f"the points' principal axis holds {axis_explained:.0%} of their spread; "
                     f"|cos| with the readout {axis_cosine:.3f}")
    lines.append("τ = −1/ln|λ| of the slowest mode (negative: the mode grows, a saddle); cos 1 = the slow "
                 "direction moves the verdict most, 0 = not at all")
    return "\n".join(lines)


PROBE_MODELS = paths.SHIPPED_MODELS
COMMANDS = {"trace": trace_command, "ablate": ablate_command, "gradient-flow": gradient_flow_command,
            "template": template_command, "probe": probe_command, "index": index_command,
            "fixed-points": fixed_points_command, "study": study_command}


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        output = COMMANDS[args.command](args)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
