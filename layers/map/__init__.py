"""The map: the browser payload format, the map elements, the base map."""
