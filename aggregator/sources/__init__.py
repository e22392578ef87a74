"""Where documents come from: retrievers by URL scheme (`fetch`), parsers by detected
format (`parse`), and when to poll each source next (`polling`)."""
