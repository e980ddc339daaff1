# Build stage: the release binary.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY benches ./benches
RUN cargo build --release --locked --bin warden

# Runtime: glibc and nothing else, as a non-root user. TLS roots are compiled into the binary.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/warden /usr/local/bin/warden
COPY policies /etc/warden/policies
COPY migrations /etc/warden/migrations
WORKDIR /etc/warden
ENV WARDEN_LISTEN=0.0.0.0:8080 \
    WARDEN_LOG_FORMAT=json
EXPOSE 8080
USER nonroot
# Smoke test: the image must at least start the binary.
RUN ["/usr/local/bin/warden", "--version"]
ENTRYPOINT ["/usr/local/bin/warden"]
CMD ["serve"]
