"""gru-viz: exact gate traces of torch.nn.GRU, analyses and figures."""

from gru_viz.capture import Capture, capture
from gru_viz.model import load_model
from gru_viz.trace import GRUTrace, trace_gru, trace_rnn

__version__ = "0.2.0"
__all__ = ["Capture", "GRUTrace", "__version__", "capture", "load_model", "trace_gru", "trace_rnn"]
