# The Wardplan image: the API (uvicorn app.main:create_app --factory), the solve worker and the migrations.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    PATH="/app/.venv/bin:$PATH"

# A Devanagari font for the printable sheets (Hindi ward names; see gis/sheets.py).
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-lohit-deva \
    && rm -rf /var/lib/apt/lists/*

RUN pip install --no-cache-dir "uv>=0.4"

WORKDIR /app

# Dependencies first (cached while only the code changes): the locked runtime set, no dev/bench tools.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-group bench --no-install-project

COPY alembic.ini ./
COPY migrations ./migrations
COPY solver ./solver
COPY gis ./gis
COPY app ./app
RUN uv sync --frozen --no-dev --no-group bench

RUN useradd --system --uid 10001 --home-dir /app wardplan
USER wardplan

EXPOSE 8000
CMD ["uvicorn", "app.main:create_app", "--factory", "--host", "0.0.0.0", "--port", "8000", "--no-proxy-headers"]
