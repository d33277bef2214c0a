# kvring server image. Standard multi-stage Node build; not built on the development machines
# (they have no Docker engine), so treat it as a template: docker build -t kvring . && docker run -p 7001:7001 kvring
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY server ./server
COPY client ./client
COPY bench ./bench
COPY scripts ./scripts
COPY test ./test
RUN npm ci && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
VOLUME /data
EXPOSE 7001
# --bind 0.0.0.0 because the container's network is private; publish the port deliberately.
ENTRYPOINT ["node", "dist/server/main.js", "--bind", "0.0.0.0", "--port", "7001", "--dir", "/data"]
