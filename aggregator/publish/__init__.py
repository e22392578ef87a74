"""From stored stories to feed bytes: a topic's page (`page`), one renderer per format
(`render`), and the per-topic-version cache the web layer and CLI serve from (`cache`)."""
