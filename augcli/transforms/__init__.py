"""Transforms per modality. Importing this package imports no heavy library."""
