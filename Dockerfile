# gridsvc against an existing PostgreSQL/PostGIS server (GRIDSVC_DATABASE_URL), as a non-root user.
#   docker build -t gridsvc .
#   docker run -e GRIDSVC_DATABASE_URL=postgresql://user:pass@db:5432/gis -p 8000:8000 gridsvc
# Migrate the server once first:  docker run --rm -e GRIDSVC_DATABASE_URL=... gridsvc \
#     gridsvc db upgrade     (and, for the demo town: gridsvc demo load)
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    GRIDSVC_HOST=0.0.0.0 \
    GRIDSVC_PORT=8000 \
    GRIDSVC_DEMO_DIR=/app/data/demo_town

# A TrueType font covering Chinese for the printed bulletins and cards (ReportLab embeds a subset
# of it in each PDF; found through fontconfig).
RUN apt-get update \
    && apt-get install -y --no-install-recommends fontconfig fonts-wqy-microhei \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --system --create-home --home-dir /home/gridsvc --uid 10001 gridsvc
WORKDIR /app

# Dependencies first, so a code change does not reinstall them.
COPY pyproject.toml README.md ./
COPY gridsvc/__init__.py gridsvc/__init__.py
RUN pip install --upgrade pip && pip install . && pip uninstall -y gridsvc

COPY . .
# Editable, so the package finds alembic.ini, migrations/ and data/ in /app. The map pages'
# browser libraries are fetched now (npm registry, pinned and checked), never at view time.
RUN pip install --no-deps -e . && python -m gridsvc.maps.vendor && chown -R gridsvc:gridsvc /app

USER gridsvc
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c \
    "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"
CMD ["gridsvc", "serve"]
