# syntax=docker/dockerfile:1
# MANAS360 API image. Build: docker build -t manas360-backend .
# Run the server:   docker run --env-file .env -p 5000:5000 manas360-backend
# Run migrations:   docker run --env-file .env manas360-backend python manage.py migrate --no-input
# Both need DATABASE_URL (PostgreSQL, docs/deployment.md); .env here is an env file of your own, e.g. a copy
# of deploy/production.env.example.
# (migrations are a separate one-shot command, never part of the server's start-up: docs/deployment.md)

# --- Stage 1: build the virtualenv (compilers stay out of the final image) -------------------
FROM python:3.11-slim AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY requirements.txt requirements-tracing.txt /tmp/
# Optional extras, e.g. --build-arg EXTRA_REQUIREMENTS=requirements-tracing.txt (OpenTelemetry, docs/deployment.md).
ARG EXTRA_REQUIREMENTS=""
# The server never installs anything: pip, setuptools and wheel stay out of the runtime's virtualenv.
RUN pip install -r /tmp/requirements.txt ${EXTRA_REQUIREMENTS:+-r /tmp/$EXTRA_REQUIREMENTS} \
    && pip uninstall --yes pip setuptools wheel

# --- Stage 2: runtime ---------------------------------------------------------------------------
FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    PORT=5000 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/manas360-metrics
# No package installer at run time (the virtualenv is complete; nothing is built or installed in the container).
RUN python -m pip uninstall --yes pip setuptools wheel
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
# Code and collected static files belong to root and are read-only for the server's user. Tests, docs and
# development tooling are left out by .dockerignore.
COPY . /app
# var/ is the one directory the server's user may write (local files; the database is always DATABASE_URL).
RUN mkdir -p /app/var && chown app:app /app/var
# Static files are collected once, at build time. DEBUG=1 only lets the settings load without the
# production secrets (none of which exist at build time or end up in the image); collectstatic
# serves no request and its output does not depend on DEBUG.
RUN DEBUG=1 python manage.py collectstatic --no-input --verbosity 0
USER app
EXPOSE 5000
# Liveness only (/health has no dependency checks); the orchestrator's readiness probe is /health/ready.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '5000'), timeout=4)"]
# Exec form: the server (granian, started by manas360/server.py) is PID 1 and receives SIGTERM itself:
# it stops accepting, lets the workers finish their requests within WEB_GRACEFUL_TIMEOUT (30 s), and exits.
STOPSIGNAL SIGTERM
CMD ["python", "-m", "manas360.server"]
