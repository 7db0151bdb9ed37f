"""Data loading and splitting, one module per kind of data."""
