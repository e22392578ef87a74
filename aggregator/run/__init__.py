"""Running the pipeline: one poll cycle (`cycle`), document worker processes
(`workers`), the store's writing thread (`writes`), the scheduled service (`service`)
and the HTTP server process (`server`)."""
