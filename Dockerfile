# impasto serve: multi-stage build, non-root runtime image.
# Not built in this repository's CI (no Docker daemon there).
#
#   docker build -t impasto .
#   docker run --rm -p 8080:8080 -v "$PWD/examples/poster:/assets:ro" impasto
#   curl --data-binary @examples/poster/poster.json -o poster.png localhost:8080/render

FROM rust:1.90-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libfontconfig1-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin impasto \
 && strip target/release/impasto

FROM debian:bookworm-slim
# fontconfig for system fonts; Noto CJK for Chinese, Japanese and Korean
# text (the Inter family is compiled into the binary).
RUN apt-get update \
 && apt-get install -y --no-install-recommends fontconfig fonts-noto-cjk ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin impasto \
 && mkdir -p /assets /templates
COPY --from=build /src/target/release/impasto /usr/local/bin/impasto
USER 10001:10001
EXPOSE 8080
# tini forwards SIGTERM to impasto, which drains for --grace seconds.
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/impasto", "serve"]
CMD ["--listen", "0.0.0.0:8080", "--assets", "/assets", "--templates", "/templates", \
     "--workers", "2", "--queue", "16", "--memory-budget", "1073741824", "--timeout", "30", "--grace", "25"]
