"""The small things every part needs: problems, settings, the scenario manifest, growth."""
