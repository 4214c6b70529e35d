# The warden image: docker build -t warden:latest .
# How to push it and run it on Kubernetes: manifests/README.md.

# ---- build --------------------------------------------------------------------------------
FROM rust:1-bookworm AS builder
WORKDIR /src
COPY . .
# The migrations are embedded in the binary (sqlx::migrate!), so the binary is all that the
# runtime image needs.
RUN cargo build --release --locked --bin warden

# ---- run ----------------------------------------------------------------------------------
FROM debian:bookworm-slim
# ca-certificates: TLS to Slack, Discord, downstream services and PostgreSQL.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 warden \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /var/lib/warden \
        --shell /usr/sbin/nologin warden \
    && mkdir -p /var/lib/warden /etc/warden/config /etc/warden/commands \
    && chown 10001:10001 /var/lib/warden
COPY --from=builder /src/target/release/warden /usr/local/bin/warden
# Where `sqlite://warden.db` lands when the image runs on its own with SQLite (mount a volume
# here). On Kubernetes the database is PostgreSQL and the root filesystem is read-only.
WORKDIR /var/lib/warden
USER 10001:10001
ENV WARDEN_LISTEN=0.0.0.0:8080 \
    WARDEN_LOG_FORMAT=json
EXPOSE 8080
ENTRYPOINT ["warden"]
CMD ["serve"]
