"""Labeled development corpora (stories, relevance): loading, feed building, scoring."""
