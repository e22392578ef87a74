#!/usr/bin/env bash
# Builds the project's Dockerfile with podman, runs the image and the compose file's sqlite
# profile, and checks what the README promises of them. tests/ reproduce the image without
# an engine; this is the one place it is really built. Run as root: `bash deploy/container-check.sh`
# (.ci/run calls it after the tests).
#
# Docker Hub is not reachable from CI, so the base image is made here from Debian packages
# (debootstrap of the apt mirror this machine uses, plus python3-venv: `python` and `pip`
# on PATH like python:*-slim) and handed to the unchanged Dockerfile as PYTHON_IMAGE. Its
# tarball is cached in $AGGREGATOR_CI_CACHE keyed by what went into it, so a second run
# skips debootstrap. Everything else lives in a podman storage of its own under a temporary
# directory, removed on exit whatever happened: no container, volume or image outlives the run.
#
# Exit 0 with "container check skipped: <why>" when podman or debootstrap is missing;
# exit 1 with "container check FAILED: <what>" when an assertion fails; time-boxed to
# $CONTAINER_CHECK_BUDGET seconds (default 360).
set -Eeuo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

SUITE=bookworm
PACKAGES=python3-venv,ca-certificates
BASE_RECIPE=1                     # bump when make_base changes, to refresh the cache
PODMAN_COMPOSE=podman-compose==1.6.0
CACHE=${AGGREGATOR_CI_CACHE:-/var/cache/aggregator-ci}
BUDGET=${CONTAINER_CHECK_BUDGET:-360}
DEMO_TOPIC=car-t-lupus
DEMO_ENTRIES=6                    # stories config/demo.toml finds in samples/feeds/ on that topic
IMAGE_UID=10001
STOP_WITHIN=10                    # Docker's default grace before SIGKILL
RUN_ID=aggci$$
# The machine's PostgreSQL (the one the tests use): no postgres image can be had offline.
PG_URL=${AGGREGATOR_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test}

skip() { echo "container check skipped: $*"; exit 0; }
fail() { echo "container check FAILED: $*" >&2; exit 1; }
step() { echo "== [${SECONDS}s] $*"; }

# Every command that can hang gets what is left of the budget, so the check ends in time
# and the cleanup below still runs.
within() {
  local left=$((BUDGET - SECONDS))
  ((left > 0)) || fail "out of time (${BUDGET}s) before: $*"
  timeout --kill-after=10 "$left" "$@"
}

for tool in podman runc debootstrap curl python3; do
  command -v "$tool" >/dev/null 2>&1 || skip "$tool is not installed"
done
[ "$(id -u)" = 0 ] || skip "needs root (debootstrap, and a podman storage of its own)"

WORK=$(mktemp -d /var/tmp/aggregator-ci.XXXXXX)
cleanup() {
  local status=$?
  set +e
  trap - EXIT INT TERM
  if [ "$status" != 0 ]; then
    for name in $(timeout 30 podman ps --all --format '{{.Names}}' 2>/dev/null); do
      echo "-- last log lines of $name"
      timeout 30 podman logs --tail 15 "$name" 2>&1
    done
  fi
  if [ -n "${COMPOSE_UP:-}" ]; then
    timeout 60 "${COMPOSE[@]}" down --volumes >/dev/null 2>&1
    timeout 30 podman network rm -f "${RUN_ID}_default" >/dev/null 2>&1
  fi
  # The storage is this run's alone, so "all" is exactly what it made.
  timeout 60 podman rm --all --force --time 0 >/dev/null 2>&1
  timeout 30 podman volume rm --all --force >/dev/null 2>&1
  timeout 60 podman rmi --all --force >/dev/null 2>&1
  [ -n "${PG_SCHEMA:-}" ] && timeout 30 psql -q "$PG_URL" -c "DROP SCHEMA $PG_SCHEMA CASCADE" >/dev/null 2>&1
  rm -rf "$WORK"
  echo "== [${SECONDS}s] cleaned up; exit $status"
  exit "$status"
}
trap cleanup EXIT
trap 'echo "container check FAILED: line $LINENO: $BASH_COMMAND" >&2' ERR
trap 'exit 130' INT TERM

# crun cannot raise RLIMIT_NOFILE here and refuses hybrid cgroups; runc with explicit
# limits works. The storage.conf keeps this run out of the machine's podman storage.
cat >"$WORK/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=20000:20000"]
[engine]
runtime = "runc"
CONF
cat >"$WORK/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$WORK/storage"
runroot = "$WORK/run"
CONF
export CONTAINERS_CONF=$WORK/containers.conf CONTAINERS_STORAGE_CONF=$WORK/storage.conf

# The first Debian (non-security) mirror in apt's sources, in either format.
debian_mirror() {
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources \
    2>/dev/null | grep -v '^\s*#' | grep -oE '(https?|file)://[^ ]*/debian/?( |$)' \
    | head -n 1 | tr -d ' ' || true
}

# A bookworm root with python3-venv, a venv at /opt/python (pip 23.0.1 and setuptools,
# no wheel: what Debian ships), the build machine's CA bundle (pip in the build stage
# reaches PyPI through it), and no apt lists, .debs or docs.
make_base() {
  local mirror=$1 tarball=$2 root=$WORK/rootfs
  within debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$root" "$mirror" \
    >"$WORK/debootstrap.log" 2>&1 || { tail -n 20 "$WORK/debootstrap.log"; fail "debootstrap"; }
  chroot "$root" python3 -m venv /opt/python
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/log/* \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
    "$root"/usr/share/locale/* "$root"/dev/*
  mkdir -p "$CACHE"
  tar --numeric-owner -C "$root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
  rm -rf "$root"
}

http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$1" || true; }

# The ids of the demo topic's entries, one a line, from its JSON Feed.
entry_ids() {
  curl -sf --max-time 5 "$1/feeds/$DEMO_TOPIC.json" \
    | python3 -c 'import json, sys; print(*(i["id"] for i in json.load(sys.stdin)["items"]), sep="\n")' \
    2>/dev/null || true
}

wait_until() {  # seconds, what, command...
  local limit=$((SECONDS + $1)) what=$2
  shift 2
  until "$@"; do
    ((SECONDS < limit)) || fail "waited in vain for: $what"
    sleep 0.5
  done
}

is_200() { [ "$(http_code "$1")" = 200 ]; }
has_demo_entries() { [ "$(entry_ids "$1" | grep -c .)" = "$DEMO_ENTRIES" ]; }

serving_demo() {  # base URL
  wait_until 60 "$1/healthz 200" is_200 "$1/healthz"
  wait_until 30 "$1/readyz 200" is_200 "$1/readyz"
  wait_until 60 "$DEMO_ENTRIES entries on $DEMO_TOPIC" has_demo_entries "$1"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# SIGTERM, then the exit code within STOP_WITHIN seconds.
stops_cleanly() {
  local name=$1 start code elapsed
  start=$(date +%s.%N)
  podman kill --signal TERM "$name" >/dev/null
  code=$(within podman wait "$name")
  elapsed=$(python3 -c "import time; print(f'{time.time() - $start:.2f}')")
  echo "   SIGTERM: exit $code after ${elapsed}s"
  [ "$code" = 0 ] || fail "$name exited $code on SIGTERM"
  python3 -c "import sys; sys.exit($elapsed >= $STOP_WITHIN)" \
    || fail "$name took ${elapsed}s to stop (over ${STOP_WITHIN}s)"
}

step "base image ($SUITE + $PACKAGES)"
MIRROR=$(debian_mirror)
MIRROR=${MIRROR:-http://deb.debian.org/debian}
KEY=$( (printf '%s\n' "$SUITE" "$MIRROR" "$PACKAGES" "$BASE_RECIPE"
        cat /etc/ssl/certs/ca-certificates.crt) | sha256sum | cut -c1-16)
TARBALL=$CACHE/base-$SUITE-$KEY.tar
if [ -s "$TARBALL" ]; then
  echo "   cached: $TARBALL"
else
  echo "   debootstrap from $MIRROR"
  make_base "$MIRROR" "$TARBALL"
fi
BASE=localhost/aggregator-ci-base:$KEY
within podman import --quiet \
  --change 'ENV PATH=/opt/python/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["python"]' "$TARBALL" "$BASE" >/dev/null

step "podman build --format docker (the Dockerfile as it is, PYTHON_IMAGE=$BASE)"
IMAGE=localhost/newswire-aggregator:$RUN_ID
within podman build --quiet --pull=never --format docker --build-arg "PYTHON_IMAGE=$BASE" \
  --tag "$IMAGE" --tag localhost/newswire-aggregator:0.1.0 --file Dockerfile . \
  >"$WORK/build.log" 2>&1 || { tail -n 30 "$WORK/build.log"; fail "podman build"; }
SIZE=$(podman image inspect --format '{{.Size}}' "$IMAGE")
BASE_SIZE=$(podman image inspect --format '{{.Size}}' "$BASE")
echo "   image $((SIZE / 1000000)) MB (base $((BASE_SIZE / 1000000)) MB)"

step "the image: HEALTHCHECK kept, no compiler or build tool"
# The image's health check is the Dockerfile's (without --format docker podman drops it).
HEALTH=$(podman image inspect --format '{{json .HealthCheck.Test}}' "$IMAGE")
python3 - "$HEALTH" <<'PY' || fail "the image's health check $HEALTH is not the Dockerfile's"
import json, re, sys
text = open("Dockerfile").read().replace("\\\n", " ")
command = re.search(r"^HEALTHCHECK .*?\bCMD (\[.*\])$", text, re.MULTILINE).group(1)
sys.exit(json.loads(sys.argv[1]) != ["CMD", *json.loads(command)])
PY
TOOLS=$(podman run --rm --entrypoint sh "$IMAGE" -c \
  'for t in gcc cc c++ make ld as; do command -v $t; done; python -c "import wheel" 2>/dev/null && echo wheel; true' \
  2>>"$WORK/podman.log")
[ -z "$TOOLS" ] || fail "build tools in the image: $TOOLS"

step "podman run: the offline demo on 127.0.0.1, data in a volume"
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
run_demo() {  # container name
  podman run --detach --name "$1" --publish "127.0.0.1:$PORT:8080" \
    --volume "$RUN_ID-data:/data" --volume "$REPO/config:/config:ro" \
    --volume "$REPO/samples:/samples:ro" --env AGGREGATOR_CONFIG=/config/demo.toml \
    "$IMAGE" >/dev/null 2>>"$WORK/podman.log"
}
run_demo "$RUN_ID-a"
serving_demo "$URL"
IDS=$(entry_ids "$URL")
PID=$(podman inspect --format '{{.State.Pid}}' "$RUN_ID-a")
RUN_UID=$(awk '/^Uid:/ {print $2}' "/proc/$PID/status")
echo "   uid $RUN_UID, $DEMO_ENTRIES entries on $DEMO_TOPIC"
[ "$RUN_UID" = "$IMAGE_UID" ] || fail "PID 1 runs as uid $RUN_UID, not $IMAGE_UID"
within podman healthcheck run "$RUN_ID-a" || fail "podman healthcheck run: unhealthy"
stops_cleanly "$RUN_ID-a"

step "the volume keeps the stories: restart, then a new container"
podman start "$RUN_ID-a" >/dev/null 2>>"$WORK/podman.log"
serving_demo "$URL"
[ "$(entry_ids "$URL")" = "$IDS" ] || fail "other entry ids after a restart"
stops_cleanly "$RUN_ID-a"
podman rm "$RUN_ID-a" >/dev/null 2>>"$WORK/podman.log"
run_demo "$RUN_ID-b"
serving_demo "$URL"
[ "$(entry_ids "$URL")" = "$IDS" ] || fail "other entry ids in a new container on the volume"
stops_cleanly "$RUN_ID-b"

step "compose --profile sqlite up ($PODMAN_COMPOSE)"
VENV=$CACHE/${PODMAN_COMPOSE/==/-}
if ! "$VENV/bin/podman-compose" version >/dev/null 2>&1; then  # absent, or its python gone
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  within env -u PIP_CONSTRAINT "$VENV/bin/pip" install --quiet "$PODMAN_COMPOSE" 2>"$WORK/pip.log" || fail "pip install $PODMAN_COMPOSE"
fi
COMPOSE_PORT=$(free_port)
export PUBLISH_PORT=$COMPOSE_PORT
COMPOSE=("$VENV/bin/podman-compose" --project-name "$RUN_ID" --file docker-compose.yml
         --profile sqlite)
COMPOSE_UP=1
within "${COMPOSE[@]}" up --detach --no-build >"$WORK/compose.log" 2>&1 \
  || { tail -n 30 "$WORK/compose.log"; fail "compose up"; }
serving_demo "http://127.0.0.1:$COMPOSE_PORT"
PUBLISHED=$(podman ps --filter "label=io.podman.compose.project=$RUN_ID" --format '{{.Ports}}')
echo "   published: $PUBLISHED"
[[ "$PUBLISHED" == "127.0.0.1:$COMPOSE_PORT->8080/tcp" ]] \
  || fail "compose publishes $PUBLISHED, not on 127.0.0.1 alone"

step "compose --profile postgres: its web and worker commands on this machine's PostgreSQL"
# The postgres service itself cannot run here (no image offline); the services built from
# the Dockerfile run the compose file's commands, on host networking to reach 127.0.0.1:5432
# (so each listens on 127.0.0.1 and a port of its own), in a schema of this run's.
if ! command -v psql >/dev/null 2>&1 || ! psql -q "$PG_URL" -c 'SELECT 1' >/dev/null 2>&1; then
  echo "   skipped: no PostgreSQL at $PG_URL"
else
  "${COMPOSE[@]}" down --volumes >/dev/null 2>&1
  PG_SCHEMA=$RUN_ID
  psql -q "$PG_URL" -c "CREATE SCHEMA $PG_SCHEMA"
  mapfile -t ROLES < <("$VENV/bin/python" - <<'PY'
import yaml
services = yaml.safe_load(open("docker-compose.yml"))["services"]
for spec in services.values():
    if "postgres" in spec.get("profiles", []) and "command" in spec:
        replicas = spec.get("deploy", {}).get("replicas", 1)
        print(*[spec["command"][spec["command"].index("--role") + 1]] * replicas, sep="\n")
PY
  )
  echo "   roles: ${ROLES[*]}"
  for i in "${!ROLES[@]}"; do
    podman run --detach --name "$RUN_ID-pg$i" --network host \
      --env AGGREGATOR_HOST=127.0.0.1 --env "AGGREGATOR_PORT=$(free_port)" \
      --env "AGGREGATOR_STORAGE_URL=$PG_URL?options=-csearch_path%3D$PG_SCHEMA" \
      --env AGGREGATOR_CONFIG=/config/demo.toml \
      --volume "$REPO/config:/config:ro" --volume "$REPO/samples:/samples:ro" \
      "$IMAGE" aggregator run --role "${ROLES[$i]}" >/dev/null 2>>"$WORK/podman.log"
  done
  for i in "${!ROLES[@]}"; do
    port=$(podman inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$RUN_ID-pg$i" \
      | sed -n 's/^AGGREGATOR_PORT=//p')
    if [ "${ROLES[$i]}" = web ]; then
      serving_demo "http://127.0.0.1:$port"
    else
      wait_until 60 "worker $i /readyz 200" is_200 "http://127.0.0.1:$port/readyz"
    fi
  done
  polls_by() {  # role: the poll events in the logs of that role's containers
    for i in "${!ROLES[@]}"; do
      [ "${ROLES[$i]}" = "$1" ] && podman logs "$RUN_ID-pg$i" 2>&1
    done | grep -c '"event": "poll"' || true
  }
  POLLS=$(polls_by worker)
  echo "   $POLLS source polls by the workers, $DEMO_ENTRIES entries served by the web process"
  ((POLLS > 0)) || fail "the workers polled nothing"
  [ "$(polls_by web)" = 0 ] || fail "the web process polled"
  for i in "${!ROLES[@]}"; do stops_cleanly "$RUN_ID-pg$i"; done
fi

step "passed"
