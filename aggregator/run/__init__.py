"""Running the pipeline: one poll cycle and the re-match (`cycle`), document worker
processes (`workers`), the store's writing thread (`writes`) and the scheduled service
(`service`). The HTTP server process that hosts the service is `aggregator.web.server`."""
