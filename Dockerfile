# Every dailyml image from one file: a shared base, a virtualenv per set of extras, a target per
# service. Dependencies come from the wheelhouse only (no index, no network): build it first.
#   scripts/wheelhouse.sh                                  # ./wheelhouse from requirements.lock
#   docker build --target predictor -t dailyml/predictor:0.1.0 .
#   (also: generator, scheduler, gradio, dashboard; `docker compose build` builds all five)
# BASE_IMAGE is any Debian bookworm with Python 3.11 and its venv module: the public
# python:3.11-slim-bookworm by default, or one made from Debian's packages where no registry is
# reachable (scripts/images.sh; docs/deployment.md).
ARG BASE_IMAGE=python:3.11-slim-bookworm

# ---- base: the unprivileged user and the environment every image shares --------------------------
FROM ${BASE_IMAGE} AS base
# scripts/images.sh removes the images a rebuild left untagged by this label.
LABEL io.dailyml.image=true
RUN groupadd --system --gid 10001 dailyml \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/dailyml --shell /usr/sbin/nologin dailyml \
    && mkdir -p /var/lib/dailyml \
    && chown 10001:10001 /var/lib/dailyml
# DAILYML_HOME (and HOME, for libraries that cache there) is the only place the process writes;
# compose and Kubernetes mount scratch space there and keep the root filesystem read-only.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/var/lib/dailyml \
    DAILYML_HOME=/var/lib/dailyml \
    DAILYML_LOG_FORMAT=json
WORKDIR /var/lib/dailyml

# ---- build: pip, setuptools and wheel at the locked versions, from the wheelhouse -----------------
FROM base AS build
USER root
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INDEX=1 PIP_FIND_LINKS=/wheelhouse PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY requirements.lock ./
RUN --mount=type=bind,source=wheelhouse,target=/wheelhouse \
    test -n "$(ls /wheelhouse/*.whl 2>/dev/null)" \
      || { echo "the wheelhouse is empty: run scripts/wheelhouse.sh first (docs/deployment.md)" >&2; exit 1; } \
    && python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install -q -c requirements.lock pip setuptools wheel

# ---- what each virtualenv needs: the project's requirements of one set of extras, as a file ------
# Only these files feed the dependency layers below (BuildKit keys a COPY by its content): editing
# pyproject.toml elsewhere (tool settings, the version) reuses them.
FROM build AS requirements
COPY pyproject.toml ./
RUN mkdir /requirements && python3 -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
[open(f"/requirements/{e}.txt", "w").write("\n".join([*p["dependencies"], *p["optional-dependencies"][e]]) + "\n") \
 for e in ("predictor", "generator", "scheduler", "frontends")]'

FROM build AS venv-predictor
# The core plus FastAPI: no torch, no sdv (the container test checks the built image).
COPY --from=requirements /requirements/predictor.txt ./
RUN --mount=type=bind,source=wheelhouse,target=/wheelhouse \
    pip install -q -c requirements.lock -r predictor.txt

FROM build AS venv-generator
# torch is the CPU build pinned in the lock (+cpu): never the multi-GB CUDA one.
COPY --from=requirements /requirements/generator.txt ./
RUN --mount=type=bind,source=wheelhouse,target=/wheelhouse \
    pip install -q -c requirements.lock -r generator.txt

FROM build AS venv-scheduler
COPY --from=requirements /requirements/scheduler.txt ./
RUN --mount=type=bind,source=wheelhouse,target=/wheelhouse \
    pip install -q -c requirements.lock -r scheduler.txt

FROM build AS venv-frontends
COPY --from=requirements /requirements/frontends.txt ./
RUN --mount=type=bind,source=wheelhouse,target=/wheelhouse \
    pip install -q -c requirements.lock -r frontends.txt

# ---- the project itself, as a wheel (not editable), on top of each virtualenv ---------------------
FROM build AS project
COPY pyproject.toml README.md ./
COPY src ./src
COPY services ./services
COPY frontends ./frontends
RUN pip wheel -q --no-deps --no-build-isolation -w /dist .

# ---- one target per service: the virtualenv only, no compilers, no pip cache, no secrets ----------
FROM base AS runtime
USER 10001:10001
# Probes the URL of its service's readiness (the port and path are set by each target).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, sys, httpx; sys.exit(httpx.get(os.environ['DAILYML_HEALTHCHECK_URL'], timeout=4).status_code != 200)"]

FROM venv-predictor AS app-predictor
RUN --mount=type=bind,from=project,source=/dist,target=/dist pip install -q --no-deps /dist/*.whl \
    && python -m compileall -q /opt/venv/lib/python3.11/site-packages/dailyml /opt/venv/lib/python3.11/site-packages/services
FROM venv-generator AS app-generator
RUN --mount=type=bind,from=project,source=/dist,target=/dist pip install -q --no-deps /dist/*.whl \
    && python -m compileall -q /opt/venv/lib/python3.11/site-packages/dailyml /opt/venv/lib/python3.11/site-packages/services
FROM venv-scheduler AS app-scheduler
RUN --mount=type=bind,from=project,source=/dist,target=/dist pip install -q --no-deps /dist/*.whl \
    && python -m compileall -q /opt/venv/lib/python3.11/site-packages/dailyml /opt/venv/lib/python3.11/site-packages/services
FROM venv-frontends AS app-frontends
RUN --mount=type=bind,from=project,source=/dist,target=/dist pip install -q --no-deps /dist/*.whl \
    && python -m compileall -q /opt/venv/lib/python3.11/site-packages/dailyml /opt/venv/lib/python3.11/site-packages/frontends

# The predictor; also runs `dailyml bootstrap` (the migrate job), so it carries the reference CSVs.
FROM runtime AS predictor
COPY --from=app-predictor /opt/venv /opt/venv
COPY --chown=root:root data /app/data
ENV DAILYML_DATA_DIR=/app/data DAILYML_HEALTHCHECK_URL=http://127.0.0.1:8000/readyz
EXPOSE 8000
CMD ["dailyml", "serve", "predictor", "--host", "0.0.0.0", "--port", "8000"]

FROM runtime AS generator
COPY --from=app-generator /opt/venv /opt/venv
COPY --chown=root:root data /app/data
ENV DAILYML_DATA_DIR=/app/data DAILYML_HEALTHCHECK_URL=http://127.0.0.1:8001/readyz
EXPOSE 8001
CMD ["dailyml", "serve", "generator", "--host", "0.0.0.0", "--port", "8001"]

# Exactly one scheduler runs the daily loop (the runs table also refuses duplicates).
FROM runtime AS scheduler
COPY --from=app-scheduler /opt/venv /opt/venv
ENV DAILYML_HEALTHCHECK_URL=http://127.0.0.1:8002/readyz
EXPOSE 8002
CMD ["dailyml", "serve", "scheduler", "--host", "0.0.0.0", "--port", "8002"]

FROM runtime AS gradio
COPY --from=app-frontends /opt/venv /opt/venv
ENV DAILYML_HEALTHCHECK_URL=http://127.0.0.1:7860/ \
    GRADIO_ANALYTICS_ENABLED=False \
    GRADIO_TEMP_DIR=/tmp/gradio
EXPOSE 7860
CMD ["dailyml", "serve", "gradio", "--host", "0.0.0.0", "--port", "7860"]

FROM runtime AS dashboard
COPY --from=app-frontends /opt/venv /opt/venv
ENV DAILYML_HEALTHCHECK_URL=http://127.0.0.1:8501/_stcore/health \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false \
    STREAMLIT_SERVER_HEADLESS=true
EXPOSE 8501
CMD ["dailyml", "serve", "dashboard", "--host", "0.0.0.0", "--port", "8501"]
