"""Comparison pipelines the bench measures beside the suite. Nothing in the suite imports them."""
