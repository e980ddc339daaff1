# Build stage: the release binary.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY benches ./benches
RUN cargo build --release --locked --bin warden
# The one directory Warden writes to (spool, chain-head anchor, SQLite store), owned by nonroot.
RUN mkdir -p /out/var/lib/warden

# Runtime: glibc and nothing else, as a non-root user. TLS roots are compiled into the binary.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/warden /usr/local/bin/warden
COPY policies /etc/warden/policies
COPY migrations /etc/warden/migrations
COPY --from=build --chown=nonroot:nonroot /out/var/lib/warden /var/lib/warden
WORKDIR /etc/warden
# Everything Warden writes goes under /var/lib/warden: the root filesystem can be read-only.
ENV WARDEN_LISTEN=0.0.0.0:8080 \
    WARDEN_POLICIES_DIR=/etc/warden/policies \
    WARDEN_AUDIT_SQLITE_PATH=/var/lib/warden/audit.db \
    WARDEN_AUDIT_SPOOL_PATH=/var/lib/warden/audit.spool \
    WARDEN_LOG_FORMAT=json
VOLUME /var/lib/warden
EXPOSE 8080
USER nonroot
# Smoke test: the image must at least start the binary.
RUN ["/usr/local/bin/warden", "--version"]
ENTRYPOINT ["/usr/local/bin/warden"]
CMD ["serve"]
