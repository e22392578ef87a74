"""The pure core: what the pipeline decides about each document, with no I/O.

normalize (ids, links, sanitized HTML, plain text) → match (topics) → dedupe
(fingerprints and the story decision), and `process`, which runs them on one parsed
document. Nothing here imports the store, the fetcher, the web layer or the config.
"""
