# stripe-mock-billing: the emulator as a container, a drop-in for stripe/stripe-mock's port.
#   docker build -t stripe-mock-billing .
#   docker run --rm -p 12111:12111 stripe-mock-billing
# state kept across restarts in a named volume (optional persistence, docs/reference/cli.md):
#   docker run -p 12111:12111 -v smb-data:/data -e STRIPE_MOCK_BILLING_DATA=/data/state.json ...
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STRIPE_MOCK_BILLING_HOST=0.0.0.0 \
    STRIPE_MOCK_BILLING_PORT=12111

WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY stripe_mock_billing ./stripe_mock_billing

# the README's install from the checkout, without the test extra; then an unprivileged user
RUN pip install --no-cache-dir . \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin stripemock \
    && mkdir /data \
    && chown 10001 /data

USER 10001
EXPOSE 12111
# --data's directory (off unless STRIPE_MOCK_BILLING_DATA names a file in it)
VOLUME ["/data"]

HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('STRIPE_MOCK_BILLING_PORT', '12111') + '/healthz', timeout=2).read()"]

ENTRYPOINT ["stripe-mock-billing"]
