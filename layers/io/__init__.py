"""Feed files to raw tables to clean frames: files, parsing, specs, values, the last-good store."""
