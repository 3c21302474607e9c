"""What the feeds mean together: areas, the derived picture, filters, figures, gaps, risk."""
