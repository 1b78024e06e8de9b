"""File input and output: maps, models, annotated models and tables."""
