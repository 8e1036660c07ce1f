# syntax=docker/dockerfile:1
# One image for the three components: `kuorum node|operator|webhook` (the chart passes the
# component as the first argument). Multi-stage: the wheel and its dependencies are built
# in a throw-away stage; the runtime stage holds a virtualenv, libsodium and nothing else.
#
# Base image pinned by full version tag. Before publishing, pin the digest as well
# (`docker buildx imagetools inspect python:3.11.14-slim-bookworm` prints it) by setting
# PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:<digest>; Renovate/Dependabot keep
# both current.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# The components live at the repository root and reach the package through symlinks
# (kuorum/operator -> ../operator): copy both, the wheel then holds kuorum.operator etc.
COPY pyproject.toml README.md LICENSE ./
COPY kuorum ./kuorum
COPY node ./node
COPY operator ./operator
COPY webhook ./webhook
COPY agent ./agent
COPY crds ./crds
RUN python -m pip wheel --wheel-dir /wheels . \
 && python -m venv /opt/kuorum \
 && /opt/kuorum/bin/pip install --no-index --find-links /wheels kuorum \
 && /opt/kuorum/bin/pip uninstall --yes pip \
 && /opt/kuorum/bin/kuorum --version

FROM ${PYTHON_IMAGE}
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="kuorum" \
      org.opencontainers.image.description="Decentralized secrets management for Kubernetes: share node, operator and admission webhook" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/kuorum/kuorum" \
      org.opencontainers.image.version="${VERSION}"
# pysodium is ctypes over the system libsodium (ristretto255 group operations).
RUN apt-get update \
 && apt-get install --yes --no-install-recommends libsodium23 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 65532 kuorum \
 && useradd --system --uid 65532 --gid 65532 --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin kuorum \
 && install --directory --owner 65532 --group 65532 --mode 0700 /var/lib/kuorum
COPY --from=builder /opt/kuorum /opt/kuorum
ENV PATH=/opt/kuorum/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
# Numeric, so the kubelet can check runAsNonRoot without reading /etc/passwd.
USER 65532:65532
WORKDIR /var/lib/kuorum
ENTRYPOINT ["kuorum"]
CMD ["--help"]
