"""gru-viz: type a sentence, watch a trained GRU read it.  ``streamlit run app.py``

A few focused pages (``views/pages/``), each wiring widgets to ``gru_viz`` with the parts in ``views/parts/``.
Each visit runs this file as a script (``__name__ == "__main__"``): it sets the page up, reads the link once into
the shared state (``?text=``, ``?model=``), runs the chosen page and writes the state back to the link, so any page
can be shared. Model folders are listed from models/ beside this file, or from the folder named by GRU_VIZ_MODELS
(the tests use it).

``streamlit run app.py`` also finds the ``st.App`` below and imports this file once to start the server: its
lifespan loads torch, the default model and the first sentence before the server answers, so the first visitor
does not wait for them (``views/parts/startup.py``).
"""

from __future__ import annotations

import streamlit as st

if __name__ == "__main__":  # one visitor's run of the page
    from views.parts import first_screen, state

    st.set_page_config(page_title="gru-viz: watch a GRU read", layout="wide", initial_sidebar_state="collapsed")
    state.init_session()
    # short titles: all pages stay in the bar at 800 px (Streamlit folds what does not fit into "N more")
    page = st.navigation([
        st.Page("views/pages/read.py", title="Read", url_path="read", default=True),
        st.Page("views/pages/cell.py", title="Cell", url_path="cell"),
        st.Page("views/pages/compare.py", title="Compare", url_path="compare"),
        st.Page("views/pages/dynamics.py", title="Dynamics", url_path="dynamics"),
        st.Page("views/pages/dataset.py", title="Data set", url_path="dataset"),
        st.Page("views/pages/unit.py", title="Units", url_path="unit"),
        st.Page("views/pages/seeds.py", title="Seeds", url_path="seeds"),
        st.Page("views/pages/lesson.py", title="Lesson", url_path="lesson"),
        st.Page("views/pages/your_model.py", title="Your model", url_path="your-model"),
    ], position="top")
    try:
        page.run()
    except first_screen.FirstScreenOnly:  # a new tab's first run: the rest follows once the browser has painted it
        pass
    state.write_link()
else:  # imported by `streamlit run app.py` to serve the pages
    from views.parts.startup import warm_up

    app = st.App("app.py", lifespan=warm_up)
