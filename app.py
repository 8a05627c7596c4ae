"""gru-viz: type a sentence, watch a GRU read it."""
import streamlit as st

st.set_page_config(page_title="gru-viz", layout="wide")
st.title("gru-viz")
st.text_area("Sentence", key="text")
