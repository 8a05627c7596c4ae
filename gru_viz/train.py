"""Train the SST-2 sentiment classifier the page explains, top to bottom.

    python -m gru_viz.train --arch gru --out models/sst2-gru
    python -m gru_viz.train --arch gru --no-reset --out models/sst2-gru-noreset
    python -m gru_viz.train --arch rnn --out models/sst2-rnn

Reads ``train.tsv`` and ``val.tsv`` (``sentence<TAB>label``) from --data (default: the shipped copy,
``gru_viz.paths.default_data_dir``). Model selection and early stopping use the validation phrases that occur
inside no training phrase ("unseen", ~19 tokens like real reviews): plain validation phrases are cut from the
same reviews as the training phrases and flatter a model. Seeded and deterministic on a given machine and
thread count.

Neutral-aware, long-range recipe (``Recipe``; off with ``--plain``). Every epoch mixes, beside all SST-2
phrases: generated neutral plot sentences (``gru_viz.neutral``) with a soft target of 0.5, so description
stops reading as a verdict; "reviews" of a labelled phrase with 1–20 plot sentences before and/or after it
(its own label), so a verdict must survive a plot summary; and contrast pairs "A, plot sentences, but B" with
A and B of opposite polarity (B's label), so a unit learns when to forget. Selection adds the accuracy on a
development set of such reviews built from validation phrases and fresh generated plot sentences; the
memory probe's hand-written sentences (``gru_viz.probe``) are never used here.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm import tqdm

from gru_viz.analysis import fit_pca
from gru_viz.model import ModelConfig, SentimentNet, load_model, padded_batches, save_model
from gru_viz.neutral import neutral_sentences
from gru_viz.text import Vocabulary, parse_labelled_tsv, tokenize
from gru_viz.variants import CANDIDATE_ACTIVATIONS, GATE_ACTIVATIONS, is_standard

LONG_TOKENS = 15  # "full sentence" validation subset: at least this many tokens


@dataclass
class TrainConfig:
    epochs: int = 20
    batch_size: int = 64
    learning_rate: float = 2e-3
    weight_decay: float = 0.0
    clip_norm: float = 5.0  # keeps the vanilla RNN's exploding gradients in check
    patience: int = 4  # epochs without a better unseen-validation accuracy before stopping
    min_count: int = 1  # every training word gets an embedding; unknown words share <unk>
    word_dropout: float = 0.05  # fraction of training tokens read as <unk>: teaches the model unseen words
    seed: int = 0
    threads: int = 1
    ema: float = 0.0  # >0: select and ship an exponential moving average of the weights (this decay per step)


@dataclass
class Recipe:
    """The augmentation mixed into every epoch (fresh draws each epoch)."""

    neutral: int = 8000  # standalone examples of 1–3 generated plot sentences, target 0.5
    memory: int = 16000  # a labelled phrase with plot sentences before and/or after it, its own label
    contrast: int = 6000  # "A . plot … but B", A and B of opposite polarity, B's label
    max_plot: int = 20  # most plot sentences around one phrase; counts are log-uniform in 1..max_plot
    dev: int = 600  # development reviews (from validation phrases) added to the selection score

    @classmethod
    def plain(cls) -> Recipe:
        return cls(neutral=0, memory=0, contrast=0, dev=0)


PLOT_POOL = 12000  # generated plot sentences per epoch
RESET_BIAS = 30.0  # σ(30) rounds to exactly 1.0 in float32: the no-reset GRU's r_t ≡ 1


def read_tsv(path: Path) -> list[tuple[str, int]]:
    """Rows of ``sentence<TAB>label`` (``text.parse_labelled_tsv``'s rules); ValueError on a malformed row."""
    texts, labels = parse_labelled_tsv(Path(path).read_bytes(), str(path))
    return list(zip(texts, labels))


def unseen_mask(validation: list[str], training: list[str]) -> np.ndarray:
    """True for each validation phrase that occurs inside no training phrase (as whole tokens)."""
    corpus = "\n".join(f" {sentence} " for sentence in training)
    return np.array([f" {sentence} " not in corpus for sentence in validation])


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def encode(rows, vocab) -> tuple[list[list[int]], np.ndarray]:
    ids = [vocab.encode(tokenize(sentence).normalized) for sentence, _ in rows]
    return ids, np.array([label for _, label in rows])


def batches(ids, labels, batch_size, generator=None):
    """Padded (ids (B, T), lengths (B,), targets (B,)) batches from the one batcher, ``model.padded_batches``.
    With ``generator``: shuffled, with similar lengths together inside chunks of 50 batches (little padding,
    still random); without, sorted by length."""
    groups = None
    if generator is not None:
        order = generator.permutation(len(ids))
        chunk = batch_size * 50
        groups = []
        for start in range(0, len(order), chunk):
            part = sorted(order[start:start + chunk], key=lambda i: len(ids[i]))
            groups += [part[i:i + batch_size] for i in range(0, len(part), batch_size)]
        groups = [groups[i] for i in generator.permutation(len(groups))]
    targets = np.asarray(labels)
    for chosen, padded, lengths in padded_batches(ids, batch_size, groups=groups):
        yield padded, torch.from_numpy(lengths), torch.tensor(targets[chosen], dtype=torch.float32)


def accuracy(net, ids, labels) -> float:
    net.eval()
    correct = 0
    with torch.inference_mode():
        for padded, lengths, target in batches(ids, labels, 512):
            correct += int(((net(padded, lengths) > 0).float() == target).sum())
    return correct / max(len(ids), 1)


class Augmenter:
    """Builds the recipe's examples as id lists from encoded SST-2 phrases and generated plot sentences."""

    def __init__(self, vocab: Vocabulary, ids: list[list[int]], labels: np.ndarray, recipe: Recipe):
        self.vocab, self.recipe = vocab, recipe
        # phrases of at least 3 tokens carry a verdict worth remembering; one-word fragments mostly do not
        self.pool = {label: [i for i, sentence in enumerate(ids) if len(sentence) >= 3 and labels[i] == label]
                     for label in (0, 1)}
        self.ids, self.labels = ids, labels
        self.stop = vocab.index.get(".", Vocabulary.UNK)
        self.but = vocab.index.get("but", Vocabulary.UNK)
        self.ends = {vocab.index.get(t) for t in (".", "!", "?")} - {None}

    def plot(self, rng, count: int) -> list[list[int]]:
        return [self.vocab.encode(tokenize(s).normalized) for s in neutral_sentences(rng, count)]

    def _count(self, rng, low: int) -> int:
        """Log-uniform in low..max_plot: short tails are common, 20 sentences still happen."""
        return int(np.exp(rng.uniform(np.log(low + 1), np.log(self.recipe.max_plot + 2)))) - 1

    def _phrase(self, rng, label: int) -> list[int]:
        sentence = self.ids[self.pool[label][rng.integers(len(self.pool[label]))]]
        # reviews end their sentences; phrases mostly don't: half the time add the full stop
        return sentence + [self.stop] if sentence[-1] not in self.ends and rng.random() < 0.5 else sentence

    def examples(self, rng) -> tuple[list[list[int]], list[float]]:
        recipe = self.recipe
        # a pool of fresh sentences each epoch, drawn from with replacement: generating one per use costs more
        # than the training step it feeds
        plot = self.plot(rng, min(PLOT_POOL, recipe.neutral * 2 + (recipe.memory + recipe.contrast) * 8 + 1))
        def sentences(count):
            return [token for i in rng.integers(len(plot), size=count) for token in plot[i]]

        ids, targets = [], []
        for _ in range(recipe.neutral):
            ids.append(sentences(int(rng.integers(1, 4))))
            targets.append(0.5)
        for _ in range(recipe.memory):
            label = int(rng.integers(2))
            where = rng.choice(3, p=[0.45, 0.3, 0.25])  # after, before, both
            before = self._count(rng, 1) if where in (1, 2) else 0
            after = self._count(rng, 1) if where in (0, 2) else 0
            ids.append(sentences(before) + self._phrase(rng, label) + sentences(after))
            targets.append(float(label))
        for _ in range(recipe.contrast):
            label = int(rng.integers(2))
            ids.append(self._phrase(rng, 1 - label) + sentences(self._count(rng, 0)) + [self.but]
                       + self._phrase(rng, label))
            targets.append(float(label))
        return ids, targets

    def development(self, val_ids, val_labels, seed: int) -> tuple[list[list[int]], np.ndarray]:
        """Reviews built the same way from validation phrases and fresh plot sentences (selection only)."""
        rng = np.random.default_rng(seed)
        held = Augmenter(self.vocab, val_ids, val_labels, Recipe(neutral=0, memory=self.recipe.dev // 2,
                                                                 contrast=self.recipe.dev // 2,
                                                                 max_plot=self.recipe.max_plot))
        ids, targets = held.examples(rng)
        return ids, np.array(targets)


def pin_reset_rows(rnn: nn.GRU) -> None:
    """Set the reset rows (PyTorch's gate order r, z, n: rows 0..H) to zero weights, zero hidden bias and a
    large input bias, so that r_t ≡ 1 exactly."""
    hidden = rnn.hidden_size
    with torch.no_grad():
        for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
            getattr(rnn, name)[:hidden] = RESET_BIAS if name == "bias_ih_l0" else 0.0


def freeze_reset_gate(rnn: nn.GRU) -> None:
    """Make r_t ≡ 1 exactly, in training and use, while the fused kernel still runs: the reset rows are pinned
    (``pin_reset_rows``) and their gradients zeroed so no optimizer step moves them."""
    hidden = rnn.hidden_size
    pin_reset_rows(rnn)
    for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
        def keep_reset_rows(grad, hidden=hidden):
            grad = grad.clone()
            grad[:hidden] = 0.0
            return grad
        getattr(rnn, name).register_hook(keep_reset_rows)


class Divergence:
    """Watches the training loss: diverged when a batch's loss is not finite. ``initial_loss`` is the mean of
    the first ``INITIAL_BATCHES`` batches, the starting value a run that ends above it has failed to beat."""

    INITIAL_BATCHES = 50

    def __init__(self):
        self.diverged, self._first = False, []

    def observe(self, loss: float) -> bool:
        """Record one batch's loss; True when it is not finite (stop training)."""
        if not math.isfinite(loss):
            self.diverged = True
        elif len(self._first) < self.INITIAL_BATCHES:
            self._first.append(loss)
        return self.diverged

    @property
    def initial_loss(self) -> float | None:
        return round(float(np.mean(self._first)), 4) if self._first else None


def hidden_states(net, ids, limit=4000) -> np.ndarray:
    """Every hidden state of the first ``limit`` longest-first training phrases, (N, H)."""
    chosen = sorted(range(len(ids)), key=lambda i: -len(ids[i]))[:limit]
    states = []
    with torch.inference_mode():
        for i in chosen:
            output, _ = net.rnn(net.embedding(torch.tensor(ids[i])))  # (T, H)
            states.append(output.numpy())
    return np.concatenate(states)


def fit(args, train_config, recipe, train_rows, val_rows, unseen):
    """Train one model from the seed; keep the epoch with the best selection score (unseen-validation
    accuracy, plus the development reviews' accuracy when the recipe adds reviews)."""
    torch.manual_seed(train_config.seed)
    generator = np.random.default_rng(train_config.seed)
    vocab = Vocabulary.build([tokenize(s).normalized for s, _ in train_rows], train_config.min_count)
    train_ids, train_labels = encode(train_rows, vocab)
    val_ids, val_labels = encode(val_rows, vocab)
    long = np.array([len(ids) >= LONG_TOKENS for ids in val_ids])
    subset = {name: ([val_ids[i] for i in np.flatnonzero(mask)], val_labels[mask])
              for name, mask in (("unseen", unseen), ("long", long))}
    augmenter = Augmenter(vocab, train_ids, train_labels, recipe)
    if recipe.dev:
        subset["reviews"] = augmenter.development(val_ids, val_labels, train_config.seed + 1)
    print(f"{len(train_rows)} training phrases, {len(val_rows)} validation ({unseen.sum()} unseen, "
          f"{long.sum()} of ≥{LONG_TOKENS} tokens), vocabulary {len(vocab)}", file=sys.stderr)

    config = ModelConfig(arch=args.arch, vocab_size=len(vocab), embed_dim=args.embed_dim,
                         hidden_size=args.hidden_size, dropout=args.dropout,
                         gate_activation=args.gate_activation, candidate_activation=args.candidate_activation,
                         num_layers=getattr(args, "num_layers", 1), bidirectional=getattr(args, "bidirectional", False))
    net = SentimentNet(config)
    if args.no_reset:
        freeze_reset_gate(net.rnn)
    optimizer = torch.optim.Adam(net.parameters(), lr=train_config.learning_rate,
                                 weight_decay=train_config.weight_decay)
    # the moving average of the weights is judged and shipped instead of the last step's: it smooths the noise
    # of small batches on a small data set
    averaged = (AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(train_config.ema), use_buffers=True)
                if train_config.ema else None)
    judged = averaged.module if averaged is not None else net
    loss_function = nn.BCEWithLogitsLoss()

    # the untrained weights stand in when no epoch finishes before training diverges
    best, best_epoch, history = -1.0, 0, []
    best_state = {k: v.clone() for k, v in judged.state_dict().items()}
    divergence = Divergence()
    for epoch in range(1, train_config.epochs + 1):
        net.train()
        extra_ids, extra_targets = augmenter.examples(generator)
        epoch_ids = train_ids + extra_ids
        epoch_targets = np.concatenate([train_labels.astype(np.float64), np.array(extra_targets)])
        steps = math.ceil(len(epoch_ids) / train_config.batch_size)
        progress = tqdm(batches(epoch_ids, epoch_targets, train_config.batch_size, generator), total=steps,
                        desc=f"epoch {epoch}", file=sys.stderr, leave=False, mininterval=1.0)
        seen = correct = 0
        total_loss = 0.0
        for padded, lengths, target in progress:
            if train_config.word_dropout:
                dropped = (torch.rand(padded.shape) < train_config.word_dropout) & (padded != Vocabulary.PAD)
                padded = padded.masked_fill(dropped, Vocabulary.UNK)
            logits = net(padded, lengths)
            loss = loss_function(logits, target)
            if divergence.observe(loss.item()):
                break
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), train_config.clip_norm)
            optimizer.step()
            if averaged is not None:
                averaged.update_parameters(net)
            hard = target != 0.5  # neutral examples have no right side to be on
            seen += len(target)
            correct += int(((logits > 0).float() == target)[hard].sum()) + int((~hard).sum())
            total_loss += loss.item() * len(target)
            progress.set_postfix(loss=f"{total_loss / seen:.3f}", acc=f"{correct / seen:.3f}")
        if divergence.diverged:
            print(f"stopping: the training loss is not finite (epoch {epoch})", file=sys.stderr)
            break
        if averaged is not None and args.no_reset:  # an average of 30.0s can round off 30.0: pinned again
            pin_reset_rows(judged.rnn)
        scores = {"train_loss": total_loss / seen, "train_accuracy": correct / seen,
                  "val_accuracy": accuracy(judged, val_ids, val_labels),
                  **{f"val_{name}_accuracy": accuracy(judged, *data) for name, data in subset.items()}}
        history.append({"epoch": epoch, **{k: round(v, 4) for k, v in scores.items()}})
        print(f"epoch {epoch}: " + ", ".join(f"{k} {v:.4f}" for k, v in scores.items()), file=sys.stderr)
        score = scores["val_unseen_accuracy"] + scores.get("val_reviews_accuracy", 0.0)
        if score > best:
            best, best_epoch = score, epoch
            best_state = {k: v.clone() for k, v in judged.state_dict().items()}
        elif epoch - best_epoch >= train_config.patience:
            print(f"stopping: no better selection score for {train_config.patience} epochs", file=sys.stderr)
            break

    net.load_state_dict(best_state)
    net.eval()
    metrics = {"val_accuracy": accuracy(net, val_ids, val_labels),
               **{f"val_{name}_accuracy": accuracy(net, *data) for name, data in subset.items()},
               "val_size": len(val_ids), "val_unseen_size": int(unseen.sum()),
               "val_long_size": int(long.sum()), "val_long_min_tokens": LONG_TOKENS,
               "best_epoch": best_epoch, "training_phrases": len(train_rows),
               "initial_loss": divergence.initial_loss, "diverged": divergence.diverged
               or (bool(history) and history[-1]["train_loss"] > divergence.initial_loss)}
    return net, vocab, train_ids, history, best_epoch, metrics


def _default_data() -> Path:
    try:
        from gru_viz.paths import default_data_dir
    except ImportError:  # until the package ships its data paths
        return Path("data/sst2")
    return default_data_dir()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Train a GRU (or vanilla RNN) sentiment classifier on SST-2.")
    parser.add_argument("--data", type=Path, default=None,
                        help="folder with train.tsv and val.tsv (default: $GRU_VIZ_DATA, else the shipped data/sst2)")
    parser.add_argument("--arch", choices=["gru", "rnn"], default="gru")
    parser.add_argument("--no-reset", action="store_true",
                        help="GRU only: hold the reset gate at exactly 1 in training and use (r_t ≡ 1)")
    parser.add_argument("--gate-activation", choices=sorted(GATE_ACTIVATIONS), default="sigmoid",
                        help="GRU only: the gates' squashing function (hardsigmoid: clamp(x/6 + 1/2, 0, 1))")
    parser.add_argument("--candidate-activation", choices=sorted(CANDIDATE_ACTIVATIONS), default="tanh",
                        help="GRU only: the candidate's squashing function (linear: none)")
    parser.add_argument("--plain", action="store_true",
                        help="SST-2 phrases only: no neutral plot sentences, reviews or contrast pairs")
    parser.add_argument("--out", required=True, type=Path, help="model folder to write")
    parser.add_argument("--embed-dim", type=int, default=ModelConfig.embed_dim)
    parser.add_argument("--hidden-size", type=int, default=ModelConfig.hidden_size)
    parser.add_argument("--dropout", type=float, default=ModelConfig.dropout)
    parser.add_argument("--num-layers", type=int, default=ModelConfig.num_layers, help="stacked recurrent layers")
    parser.add_argument("--bidirectional", action="store_true", help="a backward direction beside the forward one")
    parser.add_argument("--exclude-val-fragments", action="store_true",
                        help="drop training phrases cut from the unseen validation sentences, so that their "
                             "accuracy estimates accuracy on reviews never seen in any form")
    parser.add_argument("--heldout", action="store_true",
                        help="first train once with --exclude-val-fragments and record its unseen accuracy in the "
                             "card as metrics.heldout_unseen_accuracy (an estimate for reviews never seen)")
    for name, value in [*vars(TrainConfig()).items(), *vars(Recipe()).items()]:
        parser.add_argument("--" + name.replace("_", "-"), type=type(value), default=value)
    args = parser.parse_args(argv)
    if args.no_reset and args.arch != "gru":
        parser.error("--no-reset needs --arch gru")
    if args.no_reset and (args.num_layers > 1 or args.bidirectional):
        parser.error("--no-reset pins one layer's reset gate: use it with one layer and one direction")
    if not is_standard(args.gate_activation, args.candidate_activation) and (args.arch != "gru" or args.no_reset):
        parser.error("--gate-activation and --candidate-activation need --arch gru without --no-reset")
    train_config = TrainConfig(**{k: getattr(args, k) for k in vars(TrainConfig())})
    recipe = Recipe.plain() if args.plain else Recipe(**{k: getattr(args, k) for k in vars(Recipe())})
    if args.data is None:
        args.data = _default_data()

    try:
        train_rows = all_train_rows = read_tsv(args.data / "train.tsv")
        val_rows = read_tsv(args.data / "val.tsv")
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    torch.set_num_threads(train_config.threads)
    torch.use_deterministic_algorithms(True)
    started = time.time()
    unseen = unseen_mask([s for s, _ in val_rows], [s for s, _ in train_rows])
    if args.heldout or args.exclude_val_fragments:
        fragments = unseen_mask([s for s, _ in train_rows], [s for (s, _), new in zip(val_rows, unseen) if new])
    heldout = None
    if args.heldout and not args.exclude_val_fragments:
        print("held-out estimate: training without the unseen validation sentences' fragments", file=sys.stderr)
        *_, heldout = fit(args, train_config, recipe, [r for r, keep in zip(train_rows, fragments) if keep],
                          val_rows, unseen)
    if args.exclude_val_fragments:
        train_rows = [row for row, keep in zip(train_rows, fragments) if keep]
        print(f"dropped {int((~fragments).sum())} training phrases cut from unseen validation sentences",
              file=sys.stderr)
    model_started = time.time()  # the shipped model's own training, without the held-out estimate's
    net, vocab, train_ids, history, best_epoch, metrics = fit(args, train_config, recipe, train_rows, val_rows,
                                                              unseen)
    model_seconds = time.time() - model_started
    metrics["val_fragments_excluded_from_training"] = args.exclude_val_fragments
    if heldout is not None:
        metrics["heldout_unseen_accuracy"] = heldout["val_unseen_accuracy"]
        metrics["heldout_best_epoch"] = heldout["best_epoch"]
        metrics["heldout_training_phrases"] = heldout["training_phrases"]
    projection = fit_pca(hidden_states(net, train_ids))
    kind = {"gru": "GRU without a reset gate (r ≡ 1)" if args.no_reset else "GRU",
            "rnn": "vanilla tanh RNN"}[args.arch]
    if args.num_layers > 1 or args.bidirectional:
        kind = f"{args.num_layers}-layer {'bidirectional ' if args.bidirectional else ''}{kind}"
    if not is_standard(args.gate_activation, args.candidate_activation):
        kind += f" with {args.gate_activation} gates and a {args.candidate_activation} candidate"
    card = {
        "name": args.out.name,
        "description": f"{kind} sentiment classifier on SST-2 phrases"
                       f"{'' if args.plain else ' with neutral plot sentences, reviews and contrast pairs'}"
                       "; head on the last hidden state",
        "metrics": {k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.items()},
        "training": {**vars(train_config), "recipe": vars(recipe), "reset_gate": "fixed at 1" if args.no_reset
                     else "learned", "best_epoch": best_epoch, "epochs_run": len(history),
                     "seconds": round(time.time() - started, 1), "model_seconds": round(model_seconds, 1),
                     "history": history,
                     "torch": torch.__version__,
                     "data": {name: {"sha256": sha256(args.data / name), "rows": len(rows)}
                              for name, rows in (("train.tsv", all_train_rows), ("val.tsv", val_rows))},
                     "command": "python -m gru_viz.train " + " ".join(sys.argv[1:] if argv is None else argv)},
        "projection": {k: np.round(v, 6).tolist() for k, v in projection.items()},
    }
    save_model(net, vocab, card, args.out)
    load_model(args.out)  # what was written must load
    print(f"wrote {args.out}: val_accuracy {metrics['val_accuracy']:.4f}, val_unseen_accuracy "
          f"{metrics['val_unseen_accuracy']:.4f}, val_long_accuracy {metrics['val_long_accuracy']:.4f} "
          f"(best epoch {best_epoch}, {time.time() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
