# syntax=docker/dockerfile:1
# newswire-aggregator: docker build -t newswire-aggregator . (see README, "Deployment").
#
# Two stages from one pinned interpreter: `build` turns the project into a wheel and
# collects a wheel of every dependency at the versions in constraints.txt; the runtime
# stage installs those wheels offline, so what runs is exactly what was locked and no
# compiler, source tree or build tool is left in the image.
# tests/test_deploy.py repeats these two pip steps into a fresh virtualenv and runs the
# result as an unprivileged user until /healthz answers.

ARG PYTHON_IMAGE=python:3.11.7-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
COPY pyproject.toml README.md constraints.txt ./
COPY aggregator ./aggregator
RUN pip wheel --no-cache-dir --use-pep517 --constraint constraints.txt --wheel-dir /wheels .

FROM ${PYTHON_IMAGE}
# The config is read from /config/aggregator.toml; without one the service starts on
# the built-in default (no sources) and logs a warning. The store's default URL,
# sqlite:///data/aggregator.db, is relative to the working directory `/`, so SQLite
# lives in the /data volume. Host, port and log format suit a container; every
# AGGREGATOR_* variable in the README can be set with `docker run -e`.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    AGGREGATOR_CONFIG=/config/aggregator.toml \
    AGGREGATOR_HOST=0.0.0.0 \
    AGGREGATOR_PORT=8080 \
    AGGREGATOR_LOG_FORMAT=json
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    --mount=type=bind,from=build,source=/src/constraints.txt,target=/constraints.txt \
    pip install --no-cache-dir --disable-pip-version-check --no-index --find-links /wheels \
        --constraint /constraints.txt newswire-aggregator \
 && groupadd --system --gid 10001 aggregator \
 && useradd --system --uid 10001 --gid aggregator --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin aggregator \
 && mkdir /data /config \
 && chown aggregator:aggregator /data
WORKDIR /
VOLUME ["/data"]
USER 10001:10001
EXPOSE 8080
# Liveness through the service's own endpoint, with the interpreter the image already has.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('AGGREGATOR_PORT', '8080') + '/healthz', timeout=4)"]
# Exec form: the aggregator is PID 1 and receives SIGTERM itself (graceful stop, exit 0).
CMD ["aggregator", "run"]
