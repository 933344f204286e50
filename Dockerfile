# One image for the worker and the API; the command picks which.
FROM python:3.11-slim
WORKDIR /app
COPY . .
RUN pip install --no-cache-dir -e ".[postgres]"
ENV APFLOW_VAR_DIR=/var/lib/apflow APFLOW_CALENDARS_DIR=/app/calendars
CMD ["apflow", "api"]
