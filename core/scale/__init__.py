"""Indexing on a cluster (Ray): the local indexer's stages, distributed. Needs the ray extra."""
