# One image for the worker and the API; the command picks which.
# The console's GOV.UK Design System assets, from the lock file.
FROM node:20-slim AS assets
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# apflow built as a wheel: templates, fonts, static files, default calendars
# and migrations are its package data.
FROM python:3.11-slim AS wheel
WORKDIR /src
COPY . .
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
# Dependencies pinned, with hashes, by deploy/requirements.lock; apflow
# itself without them, so nothing unpinned comes in.
COPY deploy/requirements.lock /tmp/requirements.lock
RUN pip install --no-cache-dir --require-hashes -r /tmp/requirements.lock
COPY --from=wheel /wheels /tmp/wheels
RUN pip install --no-cache-dir --no-deps /tmp/wheels/*.whl && rm -rf /tmp/wheels /tmp/requirements.lock
# console/pages looks for GOV.UK Frontend two folders above its package: in
# this image, beside site-packages.
COPY --from=assets /app/node_modules/govuk-frontend/dist /usr/local/lib/python3.11/node_modules/govuk-frontend/dist
RUN useradd --system --uid 10001 --home-dir /var/lib/apflow --create-home apflow
USER apflow
WORKDIR /var/lib/apflow
ENV APFLOW_VAR_DIR=/var/lib/apflow
CMD ["apflow", "api"]
