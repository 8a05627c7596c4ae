"""Train the SST-2 sentiment classifier the page explains, top to bottom.

    python -m gru_viz.train --data ../shared/data/sst2 --arch gru --out models/sst2-gru
    python -m gru_viz.train --data ../shared/data/sst2 --arch rnn --out models/sst2-rnn

Reads ``train.tsv`` and ``val.tsv`` (``sentence<TAB>label``) from --data; never copies them. Model
selection and early stopping use the validation phrases that occur inside no training phrase
("unseen", ~19 tokens like real reviews): plain validation phrases are cut from the same reviews as the
training phrases and flatter a model. Seeded and deterministic on a given machine and thread count.
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
from tqdm import tqdm

from gru_viz.analysis import fit_pca
from gru_viz.model import ModelConfig, SentimentNet, load_model, save_model
from gru_viz.text import Vocabulary, parse_labelled_tsv, tokenize

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
    word_dropout: float = 0.0  # fraction of training tokens read as <unk>: teaches the model unseen words
    seed: int = 0
    threads: int = 2


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
    """Padded (ids (B, T), lengths (B,), labels (B,)) batches; similar lengths together."""
    order = np.arange(len(ids)) if generator is None else generator.permutation(len(ids))
    chunk = batch_size * 50
    groups = []
    for start in range(0, len(order), chunk):  # sort within chunks: little padding, still shuffled
        part = sorted(order[start:start + chunk], key=lambda i: len(ids[i]))
        groups += [part[i:i + batch_size] for i in range(0, len(part), batch_size)]
    if generator is not None:
        groups = [groups[i] for i in generator.permutation(len(groups))]
    for group in groups:
        lengths = torch.tensor([len(ids[i]) for i in group])
        padded = torch.zeros(len(group), int(lengths.max()), dtype=torch.long)  # (B, T)
        for row, i in enumerate(group):
            padded[row, :len(ids[i])] = torch.tensor(ids[i])
        yield padded, lengths, torch.tensor(labels[group], dtype=torch.float32)


def accuracy(net, ids, labels) -> float:
    net.eval()
    correct = 0
    with torch.inference_mode():
        for padded, lengths, target in batches(ids, labels, 512):
            correct += int(((net(padded, lengths) > 0).float() == target).sum())
    return correct / max(len(ids), 1)


def hidden_states(net, ids, limit=4000) -> np.ndarray:
    """Every hidden state of the first ``limit`` longest-first training phrases, (N, H)."""
    chosen = sorted(range(len(ids)), key=lambda i: -len(ids[i]))[:limit]
    states = []
    with torch.inference_mode():
        for i in chosen:
            output, _ = net.rnn(net.embedding(torch.tensor(ids[i])))  # (T, H)
            states.append(output.numpy())
    return np.concatenate(states)


def fit(args, train_config, train_rows, val_rows, unseen):
    """Train one model from the seed; keep the epoch with the best unseen-validation accuracy."""
    torch.manual_seed(train_config.seed)
    generator = np.random.default_rng(train_config.seed)
    vocab = Vocabulary.build([tokenize(s).normalized for s, _ in train_rows], train_config.min_count)
    train_ids, train_labels = encode(train_rows, vocab)
    val_ids, val_labels = encode(val_rows, vocab)
    long = np.array([len(ids) >= LONG_TOKENS for ids in val_ids])
    subset = {name: ([val_ids[i] for i in np.flatnonzero(mask)], val_labels[mask])
              for name, mask in (("unseen", unseen), ("long", long))}
    print(f"{len(train_rows)} training phrases, {len(val_rows)} validation ({unseen.sum()} unseen, "
          f"{long.sum()} of ≥{LONG_TOKENS} tokens), vocabulary {len(vocab)}", file=sys.stderr)

    config = ModelConfig(arch=args.arch, vocab_size=len(vocab), embed_dim=args.embed_dim,
                         hidden_size=args.hidden_size, dropout=args.dropout)
    net = SentimentNet(config)
    optimizer = torch.optim.Adam(net.parameters(), lr=train_config.learning_rate,
                                 weight_decay=train_config.weight_decay)
    loss_function = nn.BCEWithLogitsLoss()

    best, best_state, best_epoch, history = -1.0, None, 0, []
    for epoch in range(1, train_config.epochs + 1):
        net.train()
        steps = math.ceil(len(train_ids) / train_config.batch_size)
        progress = tqdm(batches(train_ids, train_labels, train_config.batch_size, generator), total=steps,
                        desc=f"epoch {epoch}", file=sys.stderr, leave=False, mininterval=1.0)
        seen = correct = 0
        total_loss = 0.0
        for padded, lengths, target in progress:
            if train_config.word_dropout:
                dropped = (torch.rand(padded.shape) < train_config.word_dropout) & (padded != Vocabulary.PAD)
                padded = padded.masked_fill(dropped, Vocabulary.UNK)
            logits = net(padded, lengths)
            loss = loss_function(logits, target)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), train_config.clip_norm)
            optimizer.step()
            seen += len(target)
            correct += int(((logits > 0).float() == target).sum())
            total_loss += loss.item() * len(target)
            progress.set_postfix(loss=f"{total_loss / seen:.3f}", acc=f"{correct / seen:.3f}")
        scores = {"train_loss": total_loss / seen, "train_accuracy": correct / seen,
                  "val_accuracy": accuracy(net, val_ids, val_labels),
                  "val_unseen_accuracy": accuracy(net, *subset["unseen"]),
                  "val_long_accuracy": accuracy(net, *subset["long"])}
        history.append({"epoch": epoch, **{k: round(v, 4) for k, v in scores.items()}})
        print(f"epoch {epoch}: " + ", ".join(f"{k} {v:.4f}" for k, v in scores.items()), file=sys.stderr)
        if scores["val_unseen_accuracy"] > best:
            best, best_epoch = scores["val_unseen_accuracy"], epoch
            best_state = {k: v.clone() for k, v in net.state_dict().items()}
        elif epoch - best_epoch >= train_config.patience:
            print(f"stopping: no better unseen-validation accuracy for {train_config.patience} epochs",
                  file=sys.stderr)
            break

    net.load_state_dict(best_state)
    net.eval()
    metrics = {"val_accuracy": accuracy(net, val_ids, val_labels),
               "val_unseen_accuracy": accuracy(net, *subset["unseen"]),
               "val_long_accuracy": accuracy(net, *subset["long"]),
               "val_size": len(val_ids), "val_unseen_size": int(unseen.sum()),
               "val_long_size": int(long.sum()), "val_long_min_tokens": LONG_TOKENS,
               "best_epoch": best_epoch, "training_phrases": len(train_rows)}
    return net, vocab, train_ids, history, best_epoch, metrics


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Train a GRU (or vanilla RNN) sentiment classifier on SST-2.")
    parser.add_argument("--data", required=True, type=Path, help="folder with train.tsv and val.tsv")
    parser.add_argument("--arch", choices=["gru", "rnn"], default="gru")
    parser.add_argument("--out", required=True, type=Path, help="model folder to write")
    parser.add_argument("--embed-dim", type=int, default=ModelConfig.embed_dim)
    parser.add_argument("--hidden-size", type=int, default=ModelConfig.hidden_size)
    parser.add_argument("--dropout", type=float, default=ModelConfig.dropout)
    parser.add_argument("--exclude-val-fragments", action="store_true",
                        help="drop training phrases cut from the unseen validation sentences, so that their "
                             "accuracy estimates accuracy on reviews never seen in any form")
    parser.add_argument("--heldout", action="store_true",
                        help="first train once with --exclude-val-fragments and record its unseen accuracy in the "
                             "card as metrics.heldout_unseen_accuracy (an estimate for reviews never seen)")
    for name, value in vars(TrainConfig()).items():
        parser.add_argument("--" + name.replace("_", "-"), type=type(value), default=value)
    args = parser.parse_args(argv)
    train_config = TrainConfig(**{k: getattr(args, k) for k in vars(TrainConfig())})

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
        *_, heldout = fit(args, train_config, [r for r, keep in zip(train_rows, fragments) if keep],
                          val_rows, unseen)
    if args.exclude_val_fragments:
        train_rows = [row for row, keep in zip(train_rows, fragments) if keep]
        print(f"dropped {int((~fragments).sum())} training phrases cut from unseen validation sentences",
              file=sys.stderr)
    net, vocab, train_ids, history, best_epoch, metrics = fit(args, train_config, train_rows, val_rows, unseen)
    metrics["val_fragments_excluded_from_training"] = args.exclude_val_fragments
    if heldout is not None:
        metrics["heldout_unseen_accuracy"] = heldout["val_unseen_accuracy"]
        metrics["heldout_best_epoch"] = heldout["best_epoch"]
        metrics["heldout_training_phrases"] = heldout["training_phrases"]
    projection = fit_pca(hidden_states(net, train_ids))
    card = {
        "name": args.out.name,
        "description": f"{'GRU' if args.arch == 'gru' else 'vanilla tanh RNN'} sentiment classifier on "
                       "SST-2 phrases; head on the last hidden state",
        "metrics": {k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.items()},
        "training": {**vars(train_config), "best_epoch": best_epoch, "epochs_run": len(history),
                     "seconds": round(time.time() - started, 1), "history": history,
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
