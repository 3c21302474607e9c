"""Everything that knows about feeds and geography; nothing here imports Streamlit.

The flow, one direction: ``io`` reads feed files into raw tables and keeps the last
good copy; each layer module (``polling_stations``, ``patrols``, ``convoy_routes``,
``convoy_positions``, ``incidents``, ``areas``; listed in ``registry``, shaped by
``contract``) loads its feed into a clean frame and derives its columns; ``scene``
holds every feed of a folder at one moment; ``analysis`` puts the layers together
(areas, filters, figures, gaps, risk); ``views`` turns results into what a page shows
(map payloads, charts, exports); ``map`` holds the browser payload format and the map
elements; ``geo`` measures on the ellipsoid; ``core`` holds problems, settings and
growth; ``exercise`` generates and simulates exercise scenarios.

This package imports nothing itself, so ``import layers.geo.geodesy`` loads only that.
"""
