"""Completion of a user's image with a user's mask, and the paper's post-processing."""
