# Build stage: the same release build CI runs. CI proves it without a Docker engine
# (scripts/docker-build-check builds from exactly what these COPY lines take).
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
# The store's migrations, embedded in the binary.
COPY migrations ./migrations
# Cargo.toml declares the bench `figures`; cargo refuses a manifest whose targets are missing,
# though a release build does not compile it.
COPY benches ./benches
RUN cargo build --release --locked

# Runtime: a small Debian with CA certificates (NCP and Discord are HTTPS), as a non-root user.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin wsc \
    && mkdir /data && chown 10001 /data
COPY --from=build /src/target/release/wsc-bot /usr/local/bin/wsc-bot
# The store: a SQLite file on a volume, so a new container remembers what the old one announced
# and who stopped what. Replicas set WSC_DATABASE_URL to a shared PostgreSQL instead.
ENV WSC_DATABASE_URL=sqlite:///data/wsc-bot.db
VOLUME /data
USER 10001
# Health and metrics in both modes; the Interactions Endpoint too in `serve`.
ENV WSC_HTTP_LISTEN=0.0.0.0:8080
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["wsc-bot"]
CMD ["run"]
