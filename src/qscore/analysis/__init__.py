"""Tables and statistics built from per-atom Q-scores."""
