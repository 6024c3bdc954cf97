/**
 * The dependency rules of docs/style.md §2, enforced by `npm run deps:check`.
 * wire/ holds the proto ↔ domain mapping and the gRPC error mapping shared by the two adapters.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'domain-is-pure',
      comment: 'domain/ imports nothing of ours, no node:* and no libraries',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { pathNot: '^src/domain/' },
    },
    {
      name: 'placement-only-domain',
      severity: 'error',
      from: { path: '^src/placement/' },
      to: { pathNot: '^src/(domain|placement)/' },
    },
    {
      name: 'actors-core-only',
      comment: 'actors/ may use domain/, placement/ and xstate',
      severity: 'error',
      from: { path: '^src/actors/' },
      to: { pathNot: ['^src/(domain|placement|actors)/', '^node_modules/xstate/'] },
    },
    {
      name: 'edges-use-the-facade',
      comment: 'api/ and agent/ reach the core only through actors/index.ts',
      severity: 'error',
      from: { path: '^src/(api|agent)/' },
      to: { path: '^src/actors/', pathNot: '^src/actors/index\\.ts$' },
    },
    {
      name: 'edges-not-each-other',
      severity: 'error',
      from: { path: '^src/api/' },
      to: { path: '^src/agent/' },
    },
    {
      name: 'edges-not-each-other-2',
      severity: 'error',
      from: { path: '^src/agent/' },
      to: { path: '^src/api/' },
    },
    {
      name: 'edges-not-placement-or-store',
      severity: 'error',
      from: { path: '^src/(api|agent|wire)/' },
      to: { path: '^src/(placement|store)/' },
    },
    {
      name: 'wire-is-edge-only',
      severity: 'error',
      from: { path: '^src/wire/' },
      to: { path: '^src/(actors|api|agent|app|main)' },
    },
    {
      name: 'gen-imports-nothing-of-ours',
      severity: 'error',
      from: { path: '^src/gen/' },
      to: { path: '^src/', pathNot: '^src/gen/' },
    },
    {
      name: 'sim-speaks-protocols-only',
      comment: 'simulators use the generated protocol code, not the scheduler',
      severity: 'error',
      from: { path: '^src/sim/' },
      to: { path: '^src/', pathNot: '^src/(gen|sim)/' },
    },
    {
      name: 'gen-only-at-edges',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(api|agent|wire|sim|gen)/|^src/app\\.ts$' },
      to: { path: '^src/gen/' },
    },
    {
      name: 'ioredis-only-in-store-redis',
      severity: 'error',
      from: { pathNot: '^src/store/redis/' },
      to: { path: '^node_modules/ioredis/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
