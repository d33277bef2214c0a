# kvring image: the server by default (ENTRYPOINT below); the bench, plan and merge run from the
# same image with another command (k8s/ does that, docs/distributed.md walks through it). Standard
# multi-stage Node build; not built on the development machines (they have no Docker engine), so
# test/k8s-image.test.ts checks what it can: that it copies every folder tsconfig.json compiles.
#   docker build -t kvring:0.1.0 . && docker run -p 7001:7001 kvring:0.1.0
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY cli ./cli
COPY errors ./errors
COPY protocol ./protocol
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
