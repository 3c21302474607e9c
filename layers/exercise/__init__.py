"""Exercise scenarios: a generator of our own, and a simulator that keeps them live."""
