# Herald in a container: build the single executable, then ship it alone on a
# slim Debian base. Mount your config at /etc/herald/config.yaml and keep
# /var/lib/herald on a volume (the SQLite database lives there).
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json bunfig.toml ./
COPY src ./src
COPY ui ./ui
RUN npm run build

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /var/lib/herald herald && mkdir -p /etc/herald /var/lib/herald && chown herald /var/lib/herald
COPY --from=build /src/dist/herald /usr/local/bin/herald
# A default that listens on all interfaces inside the container; replace it by mounting your own.
RUN printf 'server: { host: 0.0.0.0, port: 8080 }\nstorage: { path: /var/lib/herald/herald.db }\n' > /etc/herald/config.yaml
USER herald
WORKDIR /var/lib/herald
VOLUME /var/lib/herald
EXPOSE 8080
# Healthy only while /readyz answers 200 (store writable, not draining); the
# binary probes it itself, so the image needs no curl. It reads the same config
# as serve, so a mounted config with another port is probed there. Each probe
# is a process start (~0.6 s of CPU), hence every 30 s rather than every few.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s CMD ["/usr/local/bin/herald", "healthcheck", "--config", "/etc/herald/config.yaml"]
ENTRYPOINT ["/usr/local/bin/herald"]
CMD ["serve", "--config", "/etc/herald/config.yaml"]
