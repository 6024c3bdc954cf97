/**
 * The dependency direction of the layers, enforced by `npm run deps:check`
 * (`depcruise src --config .dependency-cruiser.cjs`).
 *
 * | module          | may import                                                                 |
 * |-----------------|----------------------------------------------------------------------------|
 * | domain/         | nothing (no node:*, no xstate, no other library)                           |
 * | placement/      | domain/                                                                    |
 * | actors/         | domain/, placement/, xstate                                                |
 * | store/          | domain/, its own ports.ts, actors/index.ts (only store/redis: ioredis)     |
 * | ha/             | domain/, store/ports.ts, store/redis/ (its connection), ioredis, node:*    |
 * | api/, agent/    | domain/, actors/index.ts, wire/, gen/, @grpc/* (not each other)            |
 * | chainer/        | the same as agent/ (the Chainer edge; not api/, agent/ or store impls)     |
 * | wire/           | domain/, gen/, @grpc/*, and the facade's types (type-only imports of       |
 * |                 | actors/index.ts): every protocol's proto <-> domain mapping                |
 * | http/           | domain/, actors/index.ts, config/, node:* (the HTTP port's listener,       |
 * |                 | access and redaction: it shows what the facade reports)                    |
 * | http/dashboard/ | domain/, actors/index.ts, node:* (the page and its JSON API)               |
 * | sim/            | domain/, gen/, @grpc/grpc-js, node:* (simulated agents speak the protocol) |
 * | cli/            | domain/, wire/, gen/, node:*, libraries (a gRPC client of the scheduler:   |
 * |                 | not actors/, api/, agent/, chainer/, store/, placement/, app*, main.ts)    |
 * | gen/            | @bufbuild/protobuf, @grpc/grpc-js                                          |
 * | app.ts, app/,   | everything (app.ts's startApp is the composition root, its steps in app/;  |
 * | main.ts         | main.ts the `mlsched` command)                                             |
 *
 * `npx depcruise src --config .dependency-cruiser.cjs --output-type dot | dot -T svg` draws it.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'Modules form a DAG: a cycle means a layer boundary is in the wrong place.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-unresolvable',
      comment: 'Every import resolves (relative `.js` imports resolve to the `.ts` sources).',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },

    // ── the core ─────────────────────────────────────────────────────────────────────────────
    {
      name: 'domain-is-pure',
      comment: 'domain/ imports nothing of ours, no node:* and no library (not even xstate).',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { pathNot: '^src/domain/' },
    },
    {
      name: 'placement-only-domain',
      comment: 'placement/ is a pure function of domain/ values.',
      severity: 'error',
      from: { path: '^src/placement/' },
      to: { pathNot: '^src/(domain|placement)/' },
    },
    {
      name: 'actors-core-only',
      comment: 'actors/ use domain/, placement/ and xstate; side effects leave through gateways.',
      severity: 'error',
      from: { path: '^src/actors/' },
      to: { pathNot: ['^src/(domain|placement|actors)/', '^node_modules/xstate/'] },
    },

    // ── the store ────────────────────────────────────────────────────────────────────────────
    {
      name: 'store-not-edges',
      comment:
        'store/ knows domain/ and its own ports, not the edges, placement or generated code.',
      severity: 'error',
      from: { path: '^src/store/' },
      to: {
        path: [
          '^src/(api|agent|chainer|wire|gen|sim|placement|config|observability|http|ha)/',
          '^src/(app|main)\\.ts$',
          '^src/app/',
        ],
      },
    },
    {
      name: 'store-not-actor-internals',
      comment: 'store/ may only see the actors through actors/index.ts.',
      severity: 'error',
      from: { path: '^src/store/' },
      to: { path: '^src/actors/', pathNot: '^src/actors/index\\.ts$' },
    },
    {
      name: 'store-impls-independent',
      comment: 'One store implementation never reaches into another; they share store/ports.ts.',
      severity: 'error',
      from: { path: '^src/store/(memory|file|redis)/' },
      to: { path: '^src/store/(memory|file|redis)/', pathNot: '^src/store/$1/' },
    },
    {
      name: 'ioredis-only-in-redis-folders',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(store|ha)/redis/' },
      to: { path: '^node_modules/ioredis/' },
    },

    // ── leadership ───────────────────────────────────────────────────────────────────────────
    {
      name: 'ha-builds-on-the-store',
      comment:
        "ha/ (election, leases, the standby's mirror) uses the store's ports and its Redis connection, nothing of the core or the edges.",
      severity: 'error',
      from: { path: '^src/ha/' },
      to: {
        pathNot: [
          '^src/(ha|domain)/',
          '^src/store/ports\\.ts$',
          '^src/store/redis/',
          '^node_modules/ioredis/',
        ],
        dependencyTypesNot: ['core'],
      },
    },

    // ── the edges ────────────────────────────────────────────────────────────────────────────
    {
      name: 'edges-use-the-facade',
      comment: 'api/, agent/ and chainer/ reach the core only through actors/index.ts.',
      severity: 'error',
      from: { path: '^src/(api|agent|chainer)/' },
      to: { path: '^src/actors/', pathNot: '^src/actors/index\\.ts$' },
    },
    {
      name: 'edges-not-each-other',
      comment: 'api/, agent/ and chainer/ are independent adapters; shared mapping lives in wire/.',
      severity: 'error',
      from: { path: '^src/(api|agent|chainer)/' },
      to: { path: '^src/(api|agent|chainer)/', pathNot: '^src/$1/' },
    },
    {
      name: 'edges-not-placement-or-store-impls',
      comment: 'The edges do not place models or persist them: they send commands to the system.',
      severity: 'error',
      from: { path: '^src/(api|agent|chainer|wire)/' },
      to: { path: ['^src/placement/', '^src/store/'], pathNot: '^src/store/ports\\.ts$' },
    },
    {
      name: 'wire-is-edge-only',
      comment:
        'wire/ maps proto ⇄ domain for every protocol; it depends on no edge and on nothing of the core.',
      severity: 'error',
      from: { path: '^src/wire/' },
      to: {
        path: [
          '^src/(api|agent|chainer|sim|store|ha|http|placement|app)/',
          '^src/(app|main)\\.ts$',
        ],
      },
    },
    {
      name: 'wire-knows-the-facade-types-only',
      comment:
        'wire/ encodes the views the facade returns: it may name their types (actors/index.ts), never call the core.',
      severity: 'error',
      from: { path: '^src/wire/' },
      to: {
        path: '^src/actors/',
        pathNot: '^src/actors/index\\.ts$',
      },
    },
    {
      name: 'wire-imports-the-facade-as-types',
      severity: 'error',
      from: { path: '^src/wire/' },
      to: { path: '^src/actors/index\\.ts$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'dashboard-reads-the-facade',
      comment:
        'dashboard/ shows what the system facade reports, over node:http; it changes nothing.',
      severity: 'error',
      from: { path: '^src/http/dashboard/' },
      to: {
        pathNot: ['^src/http/dashboard/', '^src/domain/', '^src/actors/index\\.ts$'],
        dependencyTypesNot: ['core'],
      },
    },
    {
      name: 'http-reads-the-facade',
      comment:
        'http/ serves what the system facade and the dashboard report, with config/ for its access: no gRPC edge, store or placement.',
      severity: 'error',
      from: { path: '^src/http/' },
      to: {
        pathNot: ['^src/(http|config|domain)/', '^src/actors/index\\.ts$'],
        dependencyTypesNot: ['core'],
      },
    },
    {
      name: 'only-the-root-starts-the-http-port',
      comment:
        'The HTTP port is wired by app.ts and app/; nothing else (not the dashboard) reaches into it.',
      severity: 'error',
      from: { pathNot: ['^src/http/', '^src/app\\.ts$', '^src/app/'] },
      to: { path: '^src/http/' },
    },
    {
      name: 'cli-is-a-grpc-client',
      comment:
        'cli/ talks to the scheduler over gRPC only: gen/, wire/, domain/, node:* and libraries.',
      severity: 'error',
      from: { path: '^src/cli/' },
      to: {
        path: ['^src/(actors|api|agent|chainer|store|placement|app)/', '^src/(app|main)\\.ts$'],
      },
    },
    {
      name: 'sim-speaks-protocols-only',
      comment: 'Simulated agents/dataflow engines use the generated protocol, never the scheduler.',
      severity: 'error',
      from: { path: '^src/sim/' },
      to: {
        pathNot: ['^src/(sim|gen|domain)/', '^node_modules/(@grpc/grpc-js|@bufbuild/protobuf)/'],
        dependencyTypesNot: ['core'],
      },
    },

    // ── generated code ───────────────────────────────────────────────────────────────────────
    {
      name: 'gen-imports-nothing-of-ours',
      comment: 'src/gen/ is ts-proto output: it depends on its runtime libraries only.',
      severity: 'error',
      from: { path: '^src/gen/' },
      to: {
        pathNot: ['^src/gen/', '^node_modules/(@bufbuild/protobuf|@grpc/grpc-js)/'],
        dependencyTypesNot: ['core'],
      },
    },
    {
      name: 'gen-only-at-edges',
      comment: 'Proto types stay at the edge; the core speaks domain types.',
      severity: 'error',
      from: {
        path: '^src/',
        pathNot: ['^src/(api|agent|chainer|wire|sim|cli|gen|app)/', '^src/(app|main)\\.ts$'],
      },
      to: { path: '^src/gen/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Resolve like `tsc` with moduleResolution NodeNext: `./x.js` finds `./x.ts`.
    tsConfig: { fileName: 'tsconfig.json' },
    // Count `import type` too: a type-only import still couples the layers.
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json', '.d.ts'],
    },
    reporterOptions: {
      dot: { collapsePattern: 'node_modules/(@[^/]+/[^/]+|[^/]+)' },
      archi: { collapsePattern: '^(node_modules/(@[^/]+/[^/]+|[^/]+)|src/[^/]+)' },
    },
  },
};
