"""Datasets from what a plant has: class folders, logs with engineer labels; merge, split, info (one file format, `store`)."""
