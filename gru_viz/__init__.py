"""gru-viz: exact gate traces of torch.nn.GRU, analyses and figures."""

from gru_viz.trace import GRUTrace, trace_gru

__version__ = "0.2.0"
__all__ = ["GRUTrace", "__version__", "trace_gru"]
