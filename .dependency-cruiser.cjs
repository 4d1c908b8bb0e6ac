/**
 * The import rules of docs/architecture.md, checked in CI (`npm run check:deps`).
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycle anywhere in the library (type-only imports included).',
      from: { path: '^(src|adapters)/' },
      to: { circular: true },
    },
    {
      name: 'core-imports-no-adapter',
      severity: 'error',
      comment: 'The core (src/) never imports an adapter: importing the core loads no provider or storage code.',
      from: { path: '^src/' },
      to: { path: '^adapters/' },
    },
    {
      name: 'adapter-imports-no-other-adapter',
      severity: 'error',
      comment:
        "An adapter stands alone: it imports its own files, the core public entries and src/internal/ only (the testing entry may read the providers' data tables).",
      from: { path: '^adapters/([^/]+)/' },
      to: {
        path: '^adapters/',
        pathNot: [
          '^adapters/$1/',
          // The one exception: the testing entry's simulated carriers play Twilio and SendGrid, so they read
          // those providers' pure data tables (error code → failure reason), nothing else of them.
          '^adapters/twilio/twilio-error-codes\\.ts$',
          '^adapters/sendgrid/sendgrid-failure-reasons\\.ts$',
        ],
      },
    },
    {
      name: 'adapter-imports-only-public-core',
      severity: 'error',
      comment:
        'Adapters reach the core through its public names (resolved to src/index.ts and the public entries) or the shared internal helpers in src/internal/, never a core internal.',
      from: { path: '^adapters/' },
      to: {
        path: '^src/',
        pathNot: [
          '^src/index\\.ts$',
          '^src/adapter-core\\.ts$',
          '^src/internal/',
          '^src/(machines|templates)/index\\.ts$',
        ],
      },
    },
    {
      name: 'engine-parts-only-through-entry',
      severity: 'error',
      comment:
        'Outside src/engine/, only the root entry imports the engine, through create-outreach.ts and the types-only outreach.ts.',
      from: { path: '^src/', pathNot: ['^src/engine/', '^src/index\\.ts$'] },
      to: { path: '^src/engine/' },
    },
    {
      name: 'machines-are-pure',
      severity: 'error',
      comment: 'The machines import neither the engine, nor CSV, nor templates: they are pure XState.',
      from: { path: '^src/machines/' },
      to: { path: '^src/(engine|contacts|export|templates)/' },
    },
    {
      name: 'no-node-builtins-in-library',
      severity: 'error',
      comment:
        'The core and the adapters are runtime-neutral: no node: built-ins when they load (README "Runtimes"); adapters/node/ is the one Node-only entry.',
      from: { path: '^(src|adapters)/', pathNot: '^adapters/node/' },
      to: { dependencyTypes: ['core'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^(src|adapters)/',
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
  },
};
