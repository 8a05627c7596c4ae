"""gru-viz: exact gate traces of torch.nn.GRU, analyses and figures."""

from gru_viz.trace import GRUTrace, trace_gru

__all__ = ["GRUTrace", "trace_gru"]
