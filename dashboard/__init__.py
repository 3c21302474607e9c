"""Streamlit pages of the dashboard: layout, caching and messages only; the domain lives in layers/."""
