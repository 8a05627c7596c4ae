"""Corpus scale: an activation index of a whole corpus, built in one exact batched pass, in this process or on
Ray Data, and read by the page and the CLI without computing.

    reading     a labelled TSV or a folder of them; bad rows skipped and reported by file and line
    statistics  exact, mergeable partial statistics of one shard (counts, sums, top-k), and their merge
    engines     where shards are read: ``local`` (in process) or ``ray`` (an actor pool of Ray Data)
    index       ``build_index`` writes the parquet files and manifest.json; ``open_index`` reads them
    profile     one unit as the index measured it (``unit_profile``) and its one-line description

>>> manifest = build_index("data/sst2/train.tsv", "models/sst2-gru", "artifacts/index-sst2-gru")  # doctest: +SKIP
>>> index = open_index("artifacts/index-sst2-gru", load_model("models/sst2-gru"))               # doctest: +SKIP
>>> index.units["timescale"].shape, index.ablation["free"]                                       # doctest: +SKIP
((64,), 0.94...)
"""

from gru_viz.corpus.engines import ENGINES
from gru_viz.corpus.index import (
                                  CONTEXT_COLUMNS,
                                  INDEX_FORMAT,
                                  UNIT_COLUMNS,
                                  CorpusIndex,
                                  Manifest,
                                  build_index,
                                  model_sha256,
                                  open_index,
)
from gru_viz.corpus.profile import CONTEXTS, UnitProfile, describe_unit, parse_unit, unit_profile
from gru_viz.corpus.reading import BadRow, Corpus, data_sha256, read_corpus
from gru_viz.corpus.statistics import FIELDS, Options

__all__ = ["CONTEXT_COLUMNS", "ENGINES", "FIELDS", "INDEX_FORMAT", "UNIT_COLUMNS", "BadRow", "Corpus", "CorpusIndex",
           "Manifest", "Options", "UnitProfile", "CONTEXTS", "build_index", "describe_unit", "parse_unit",
           "unit_profile",
           "data_sha256", "model_sha256", "open_index", "read_corpus"]
