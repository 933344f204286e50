# One image for the worker and the API; the command picks which.
# The console's GOV.UK Design System assets, from the lock file.
FROM node:20-slim AS assets
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM python:3.11-slim
WORKDIR /app
COPY . .
COPY --from=assets /app/node_modules ./node_modules
RUN pip install --no-cache-dir -e ".[postgres]"
ENV APFLOW_VAR_DIR=/var/lib/apflow APFLOW_CALENDARS_DIR=/app/calendars
CMD ["apflow", "api"]
