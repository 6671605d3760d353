FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends espeak-ng && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY agent agent
COPY tools tools
COPY state state
COPY sip sip
COPY playbooks playbooks
RUN pip install --no-cache-dir .
USER nobody
CMD ["intake", "start"]
