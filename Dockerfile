# edgeq's Node processes in one small image, run as the unprivileged `node` user:
#   docker build -t edgeq .
#   docker run --init -e REDIS_URL=rediss://… edgeq                        a worker with the demo tasks
#   docker run --init -e REDIS_URL=… edgeq worker --tasks /app/tasks/index.ts
#   docker run --init -e GATEWAY_TOKEN=… -e REDIS_URL=… edgeq gateway
#   docker run --init -e UPSTASH_REDIS_REST_URL=… -e API_KEYS=… edgeq edge           the edge API
# compose.yaml runs all of them; README "Deploying" says how to add your own tasks.

# Stage 1: the package's tarball, built as `npm pack` builds it for the registry.
FROM node:20-alpine AS build
WORKDIR /src
COPY package.json package-lock.json ./
# No install scripts: the build needs none (esbuild finds its binary without
# its postinstall), and devDependencies such as workerd need not run here.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY shared shared
COPY edge edge
COPY worker-node worker-node
# prepack runs `npm run build`, which is tools/build.ts
COPY tools tools
RUN npm pack --pack-destination /tmp && mv /tmp/edgeq-*.tgz /tmp/edgeq.tgz
# /app's manifest and lockfile: that tarball, its dependencies at the versions package-lock.json pins
RUN node_modules/.bin/tsx tools/image-lock.ts /tmp/edgeq.tgz /tmp/image

# Stage 2: that tarball installed with its runtime dependencies alone, as a user
# installs it: compiled JavaScript, no TypeScript, no devDependencies, no sources.
# npm ci from the lockfile, so two builds of one commit hold the same packages.
FROM node:20-alpine
ENV NODE_ENV=production PATH=/app/node_modules/.bin:$PATH
WORKDIR /app
COPY --from=build /tmp/image/ ./
RUN npm ci --ignore-scripts --omit=dev --no-audit --no-fund && npm cache clean --force
# The worker writes its compiled horses under $HOME/.cache/edgeq (or EDGEQ_CACHE_DIR),
# never into /app, which the node user cannot write.
USER node
ENTRYPOINT ["edgeq"]
CMD ["worker"]
