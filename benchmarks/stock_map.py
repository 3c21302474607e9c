"""The stock approach a user would pick for the same map: streamlit-folium showing
folium's FastMarkerCluster of the polling stations, read with pandas and kept with
``st.cache_data``. Run by benchmarks/operations.py (``streamlit run stock_map.py --
<polling_stations.csv>``); not part of the dashboard."""

from __future__ import annotations

import sys

import folium
import pandas as pd
import streamlit as st
from folium.plugins import FastMarkerCluster
from streamlit_folium import st_folium


@st.cache_data
def stations(path: str) -> pd.DataFrame:
    return pd.read_csv(path, usecols=["latitude", "longitude"]).dropna()


st.set_page_config(layout="wide")
st.title("Polling stations")
points = stations(sys.argv[1])
view = folium.Map(
    location=[points["latitude"].median(), points["longitude"].median()], zoom_start=6
)
FastMarkerCluster(points[["latitude", "longitude"]].to_numpy().tolist()).add_to(view)
st_folium(view, height=640, use_container_width=True, returned_objects=[])
