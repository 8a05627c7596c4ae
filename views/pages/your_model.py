"""Your model: upload a model folder's three files and read sentences with it on every page."""

from __future__ import annotations

import streamlit as st

from gru_viz import paths, upload
from views.parts import caches, state

st.subheader("Bring your own GRU")
st.markdown("Upload the three files of a model folder — `model.safetensors`, `vocab.json` (or a Hugging Face "
            "`tokenizer.json`) and `card.json` — for any classifier `nn.Embedding → nn.GRU (or nn.RNN) → nn.Linear`: "
            "any number of layers, one or two directions, one logit or several classes, read from the last states or "
            f"their mean, up to {upload.MAX_UPLOAD_BYTES // 2**20} MB together. Weights are read with safetensors "
            "only, so no code in a file can run, and every shape is checked against the card first. The model "
            "stays in your session: it is never written to disk or put in a link.")
# no type= filter: Streamlit would raise on another extension; upload.py refuses other names in words
files = st.file_uploader("Model files", accept_multiple_files=True, key="model_upload",
                         max_upload_size=upload.MAX_UPLOAD_BYTES // 2**20)
st.caption(state.UPLOAD_NOTE)
if files:
    upload_id = tuple(file.file_id for file in files)
    outcome = st.session_state.get("model_upload_outcome")
    if outcome is None or outcome[0] != upload_id:  # each set of files is read and checked once
        named = tuple((file.name, file.getvalue()) for file in files)
        digest = caches.upload_digest(named)
        try:
            outcome = (upload_id, digest, caches.uploaded_model(digest, _files=named), None)
        except ValueError as error:
            outcome = (upload_id, None, None, str(error))
        st.session_state["model_upload_outcome"] = outcome
    _, digest, model, problem = outcome
    if problem is not None:  # the message may quote the user's file: shown literally, never as markdown
        st.error("That model cannot be used:")
        st.text(paths.public_message(problem, limit=upload.MAX_MESSAGE))  # one line, no server folder
        st.session_state["uploaded"] = None
    else:
        st.session_state["uploaded"] = (digest, model)
        st.success(f"Loaded. Choose “{state.UPLOADED}” under Model on any page.")
        # the stack's shape only where it is not the default one layer, one direction, one logit
        shape = "" if model.single_path else (
            f"{model.num_layers} layer{'s' * (model.num_layers > 1)}, {model.num_directions} "
            f"direction{'s' * (model.num_directions > 1)}, {model.num_classes} class"
            f"{'es' * (model.num_classes > 1)}, readout {model.readout}, ")
        st.text(f"{model.name}: {model.arch}, {shape}{model.config.hidden_size} units, "
                f"{model.config.vocab_size:,} words")
        if st.button("Read my sentence with it", key="use_uploaded"):
            st.session_state["model"] = state.UPLOADED
            st.switch_page("views/pages/read.py")
else:
    st.session_state["uploaded"] = None

st.subheader("Start from a template")
st.markdown("`python -m gru_viz template my-model --hidden-size 32 --embed-dim 64 --vocab words.txt` writes a valid "
            "(random, untrained) folder to fill with your weights; `python -m gru_viz trace \"a great movie\" --model "
            "my-model` reads a sentence with it on the command line. docs/bring-your-own-model.md lists every "
            "card key, tensor name and shape.")
