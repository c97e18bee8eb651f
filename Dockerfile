# LSTM Explorer in one container: CPU-only PyTorch, a non-root user, Streamlit's health endpoint as the health check.
#   docker build -t lstm-explorer .
#   docker run --rm -p 8501:8501 lstm-explorer        # then open http://localhost:8501
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, so a code change does not reinstall them. torch comes from PyTorch's CPU wheel index: the same
# version as requirements-app.txt pins (2.13.0+cpu satisfies ==2.13.0) without several GB of CUDA libraries.
# EXTRA_REQUIREMENTS=requirements-scale.txt adds Ray, for the Ray head, workers and app replicas of docker-compose.yml.
ARG EXTRA_REQUIREMENTS=""
COPY requirements-app.txt requirements-scale.txt ./
RUN pip install --index-url https://download.pytorch.org/whl/cpu "torch==2.13.0" \
 && pip install -r requirements-app.txt \
 && if [ -n "$EXTRA_REQUIREMENTS" ]; then pip install -r "$EXTRA_REQUIREMENTS"; fi

# A user without root rights runs the app; numeric, so Kubernetes' runAsNonRoot can verify it.
RUN groupadd --gid 10001 app && useradd --uid 10001 --gid 10001 --create-home app
COPY --chown=10001:10001 . .
USER 10001:10001

EXPOSE 8501
# /_stcore/health answers "ok" once the server is up; the first start imports torch, hence the start period.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).read() != b'ok')"]

# .streamlit/config.toml (copied with the code) sets headless mode, the upload cap, the theme and no usage statistics.
CMD ["streamlit", "run", "app.py", "--server.address=0.0.0.0", "--server.port=8501"]
