"""Streamlit pages: layout, caching and messages only; the domain lives in layers/."""
