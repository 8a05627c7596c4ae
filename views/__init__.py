"""The Streamlit page of ``app.py``: the pages in ``views/pages/`` (each run as a script, wiring widgets only) and
the parts they share in ``views/parts/``. ``gru_viz`` never imports anything here."""
