# syntax=docker/dockerfile:1
# One image for every Relance service; the command picks the service:
#   docker run IMAGE run ingestion      (scheduler, notifier, disputes, reporting)
#   docker run IMAGE migrate all
#
# Stage 1 builds wheels for Relance and all its dependencies; stage 2 installs them
# without a compiler, pip cache or sources, and runs as an unprivileged user.
#
# BASE is any Debian bookworm image with Python 3.11 and a `pip` on PATH. The default is
# Docker Hub's; scripts/image builds one from Debian packages instead (mmdebstrap, with a
# virtual environment in /opt/venv on PATH) and builds this file with podman, no daemon.
ARG BASE=python:3.11.10-slim-bookworm

FROM ${BASE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY contracts ./contracts
COPY services ./services
COPY relance ./relance
RUN pip wheel --wheel-dir /wheels .
# DejaVu Sans for the notifier's letters (Latin Extended names, the euro sign, PDF/A):
# scripts/image's base has it; Docker Hub's is given it here
RUN test -d /usr/share/fonts/truetype/dejavu || (apt-get update \
    && apt-get install --yes --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*)

FROM ${BASE} AS runtime
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
RUN groupadd --system --gid 10001 relance \
    && useradd --system --uid 10001 --gid relance --no-create-home --shell /usr/sbin/nologin relance
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels /wheels/relance-*.whl \
    && pip uninstall --yes pip setuptools wheel
COPY --from=builder /usr/share/fonts/truetype/dejavu /usr/share/fonts/truetype/dejavu
# The default scenario library; a ConfigMap mounted over this folder replaces it.
COPY scenarios /etc/relance/scenarios
ENV RELANCE_SCHEDULER_SCENARIOS_PATH=/etc/relance/scenarios
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["relance"]
CMD ["run", "ingestion"]
