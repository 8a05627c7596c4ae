"""The pages, one module each, run as scripts by ``app.py``'s navigation: read (the default), cell, compare,
dynamics, dataset, your_model. Each reads top to bottom and only wires widgets to ``gru_viz`` and the parts."""
