"""Where shards are read: in this process (``local``), or by an actor pool of Ray Data (``ray``).

Both engines run the same ``shard_statistics`` on the same shards and hand back the same ``.npz`` bytes,
so the index does not depend on the engine; only the wall time does. An engine is a generator of
``(shard number, partial bytes)`` in any order; the caller stores each as it arrives (so an interrupted
build resumes) and merges them in shard order.

Ray is optional (``pip install gru-viz[scale]``) and imported only by ``run_ray``. Its workers get the
model as the three files' bytes through Ray's object store, and the package itself through
``runtime_env={"py_modules": [...]}``, so a cluster needs torch and numpy but neither this checkout nor the
model folder.
"""

from __future__ import annotations

import logging
import os
import resource
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from gru_viz.corpus.statistics import Options, partial_to_bytes, shard_statistics

__all__ = ["ENGINES", "Shard", "run_local", "run_ray", "start_ray"]

ENGINES = ("local", "ray")


@dataclass(frozen=True)
class Shard:
    """Corpus rows ``offset`` … ``offset + len(texts) − 1``; ``labels`` is a list of 0/1 or None."""

    number: int
    offset: int
    texts: list[str]
    labels: list[int] | None


def run_local(model, shards: list[Shard], options: Options, *, threads: int = 1):
    """Read the shards one after another in this process with ``threads`` torch threads (one is fastest
    for these small matrices, and much faster when other work shares the cores)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for shard in shards:
            yield shard.number, partial_to_bytes(shard_statistics(model, shard.texts, shard.labels, shard.offset,
                                                                  options))
    finally:
        torch.set_num_threads(previous)


class _ShardReader:
    """A Ray Data actor: loads the model once from its files' bytes, then reads one shard per call."""

    def __init__(self, model_files: dict, options: dict):
        from gru_viz.model import load_model

        torch.set_num_threads(1)  # one core per actor; Ray schedules one actor per CPU
        with tempfile.TemporaryDirectory(prefix="gru-viz-index-") as folder:
            for name, data in model_files.items():
                (Path(folder) / name).write_bytes(data)
            self.model = load_model(folder)
        self.options = Options(**options)

    def __call__(self, batch: dict) -> dict:
        partials = []
        for offset, texts, labels in zip(batch["offset"], batch["texts"], batch["labels"]):
            labels = None if labels is None or len(labels) == 0 else [int(label) for label in labels]
            partial = shard_statistics(self.model, [str(text) for text in texts], labels, int(offset), self.options)
            partials.append(partial_to_bytes(partial))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
        return {"number": batch["number"], "partial": partials, "pid": [os.getpid()] * len(partials),
                "peak_rss": [peak] * len(partials)}


def start_ray(address: str | None = None, workers: int | None = None) -> bool:
    """Make sure Ray runs in this process: join ``address`` (``"auto"``, ``"ray://HEAD:10001"``), or start a
    local runtime of ``workers`` CPUs (default: all) with no dashboard. Ray 2.60 binds its servers to the node's
    address even when asked for 127.0.0.1 (``resolve_ip_for_localhost``); its token authentication, on by
    default, is what guards them, so none is disabled here. Ships this package to the workers (``runtime_env``
    py_modules). Returns True if it started or joined Ray (so the caller stops it), False if Ray was already
    running. Raises ``ValueError`` when Ray is missing or cannot start."""
    try:
        import ray
    except ImportError:
        raise ValueError("the ray engine needs Ray Data: pip install 'gru-viz[scale]' (or 'ray[data]')") from None
    if ray.is_initialized():
        return False
    import gru_viz

    code = {"py_modules": [str(Path(gru_viz.__file__).resolve().parent)]}
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    # a worker that imports torch on a busy machine can take minutes to register; Ray's 60 s would kill and
    # restart it forever (seen here at load 20 on 2 cores)
    os.environ.setdefault("RAY_worker_register_timeout_seconds", "600")
    try:
        if address:  # a cluster's own settings (dashboard, logging) are its operator's, not ours
            ray.init(address=address, runtime_env=code)
        else:
            ray.init(num_cpus=workers or os.cpu_count(), include_dashboard=False, log_to_driver=False,
                     configure_logging=False, runtime_env=code)
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise ValueError(f"cannot {'join Ray at ' + address if address else 'start Ray'}: {error}") from None
    return True


def run_ray(model_files: dict, shards: list[Shard], options: Options, *, address: str | None = None,
            workers: int | None = None, peak_rss: dict | None = None):
    """Read the shards with Ray Data: ``map_batches`` over one shard per row, by an actor pool of 1 to
    ``workers`` actors (default: the CPUs Ray sees). Uses ``start_ray(address, workers)``, and stops Ray
    afterwards only if it started it. ``peak_rss``, if given, receives {actor pid: peak resident bytes}."""
    started = start_ray(address, workers)
    import ray
    import ray.data

    quiet = logging.getLogger("ray.data")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # the caller's bar says how far the build is; Ray's INFO lines repeat it
    try:
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        pool = workers or max(int(ray.cluster_resources().get("CPU", 1)), 1)
        rows = [{"number": s.number, "offset": s.offset, "texts": s.texts, "labels": s.labels or []}
                for s in shards]
        if not rows:
            return
        dataset = ray.data.from_items(rows, override_num_blocks=len(rows))
        dataset = dataset.map_batches(_ShardReader, batch_size=1, num_cpus=1,
                                      compute=ray.data.ActorPoolStrategy(min_size=1, max_size=pool),
                                      fn_constructor_kwargs={"model_files": model_files, "options": asdict(options)})
        for row in dataset.iter_rows():
            if peak_rss is not None:
                peak_rss[int(row["pid"])] = max(peak_rss.get(int(row["pid"]), 0), int(row["peak_rss"]))
            yield int(row["number"]), bytes(row["partial"])
    finally:
        quiet.setLevel(level)
        if started:
            ray.shutdown()
