# One image for the gateway and the four subgraphs; docker-compose.yml picks the command.
# It runs compiled bundles (`npm run build`, scripts/build.ts), not TypeScript through tsx: no transform and no tsx
# resolver on every `require` at runtime, and a faster start.

# Build stage: every dependency (esbuild, graphiql), the sources, the bundles.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts=false
COPY tsconfig.json ./
COPY common ./common
COPY gateway ./gateway
COPY subgraphs ./subgraphs
COPY scripts ./scripts
COPY cli ./cli
COPY demo ./demo
COPY schema ./schema
# dist/: gateway.js, subgraph.js, seed.js, tollgate.js, token.js with their source maps. The schema explorer's
# browser bundle (.data/explorer) as well: the runtime stage has neither esbuild nor graphiql to build it, and a
# gateway with EXPLORER_ENABLED (the default outside production) serves this one.
RUN npm run build && npm run build:explorer

# Runtime stage: production dependencies, the bundles and the files they read (common/paths.ts finds them from
# /app/package.json): schema/ (supergraph, demo manifests), each subgraph's schema.graphql and the platform graph's.
FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts=false && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY --from=build /app/.data/explorer ./.data/explorer
COPY schema ./schema
COPY subgraphs/accounts/schema.graphql ./subgraphs/accounts/schema.graphql
COPY subgraphs/products/schema.graphql ./subgraphs/products/schema.graphql
COPY subgraphs/inventory/schema.graphql ./subgraphs/inventory/schema.graphql
COPY subgraphs/reviews/schema.graphql ./subgraphs/reviews/schema.graphql
COPY gateway/src/platform-graph/schema.graphql ./gateway/src/platform-graph/schema.graphql
# `tollgate …` on the PATH (`docker compose exec gateway tollgate tenant list`): the bin runs dist/tollgate.js here.
COPY bin/tollgate.js ./bin/tollgate.js
RUN ln -s /app/bin/tollgate.js /usr/local/bin/tollgate
RUN mkdir -p /app/.data/secrets && chown -R node:node /app/.data
USER node
EXPOSE 4000
CMD ["node", "--enable-source-maps", "dist/gateway.js"]
