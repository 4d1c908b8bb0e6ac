/**
 * @module package-shape — the rules the published package.json must keep, as a pure function so that
 * each rule can be proven against a broken copy (tests/package/package-exports.test.ts) as well as the real one.
 */

/**
 * Runtime dependencies a user installs with the package. Each one costs every user download size and
 * supply-chain risk, so a new one needs a reason written in the README before it joins this list.
 */
export const ALLOWED_RUNTIME_DEPENDENCIES: readonly string[] = [
  'xstate',
  'zod',
  'csv-parse',
  'csv-stringify',
  'libphonenumber-js',
];

/** The subpath that exposes package.json itself; it is the only export that is not a build entry. */
const PACKAGE_JSON_SUBPATH = './package.json';

/** The slice of package.json these rules read. */
export interface PackageManifest {
  type?: unknown;
  sideEffects?: unknown;
  files?: unknown;
  main?: unknown;
  module?: unknown;
  types?: unknown;
  exports?: unknown;
  dependencies?: Record<string, string>;
}

/**
 * Maps a tsup entry name to its public subpath: `index` is the package root, every other entry is `./<name>`.
 *
 * @example
 * subpathFor('index'); // '.'
 * subpathFor('memory'); // './memory'
 */
export function subpathFor(entryName: string): string {
  return entryName === 'index' ? '.' : `./${entryName}`;
}

/** The four conditions every entry must have, in the order resolvers read them (types first). */
function expectedConditions(entryName: string) {
  return {
    import: { types: `./dist/${entryName}.d.ts`, default: `./dist/${entryName}.js` },
    require: { types: `./dist/${entryName}.d.cts`, default: `./dist/${entryName}.cjs` },
  };
}

function sameShape(actual: unknown, expected: unknown): boolean {
  // Compares key order too: a `default` before `types` hides the types from TypeScript.
  return JSON.stringify(actual) === JSON.stringify(expected);
}

/** What `files` publishes: dist, and one stub folder per subpath (see {@link stubFor}). */
export function expectedFiles(entries: Readonly<Record<string, string>>): string[] {
  return ['dist', ...Object.keys(entries).filter((name) => name !== 'index')];
}

/**
 * The `<name>/package.json` that lets a resolver without `exports` support (TypeScript's
 * `moduleResolution: node10`, old bundlers) find the `./<name>` subpath: it points at the CommonJS
 * build and its declarations, as the root's `main` and `types` do.
 */
export function stubFor(entryName: string): Record<string, unknown> {
  return {
    private: true,
    main: `../dist/${entryName}.cjs`,
    module: `../dist/${entryName}.js`,
    types: `../dist/${entryName}.d.cts`,
  };
}

/**
 * Lists the subpath stub folders that are missing or point elsewhere than {@link stubFor} says.
 * @param readStub - the parsed `<name>/package.json`, or undefined when there is none
 */
export function stubProblems(
  entries: Readonly<Record<string, string>>,
  readStub: (entryName: string) => unknown,
): string[] {
  const problems: string[] = [];
  for (const name of Object.keys(entries)) {
    if (name === 'index') continue;
    const expected = stubFor(name);
    const actual = readStub(name);
    if (!sameShape(actual, expected)) {
      problems.push(
        `${name}/package.json must be exactly ${JSON.stringify(expected)} (node10 resolution of "./${name}"), ` +
          `but is ${JSON.stringify(actual)}.`,
      );
    }
  }
  return problems;
}

/**
 * Lists every way `pkg` breaks the package rules (empty when it keeps them all); each message says what to fix.
 *
 * @param pkg - the parsed package.json
 * @param entries - tsup's `entries` map, entry name → source file
 * @param sourceExists - whether a source file (relative to the repository root) exists
 * @example
 * const problems = packageShapeProblems(pkg, entries, (file) => existsSync(file));
 */
export function packageShapeProblems(
  pkg: PackageManifest,
  entries: Readonly<Record<string, string>>,
  sourceExists: (file: string) => boolean,
): string[] {
  const problems: string[] = [];

  if (pkg.type !== 'module') problems.push('package.json "type" must be "module" (the .js files in dist are ESM).');
  if (pkg.sideEffects !== false) {
    problems.push('package.json "sideEffects" must be false so bundlers can drop unused entries.');
  }
  const files = expectedFiles(entries);
  if (!sameShape(pkg.files, files)) {
    problems.push(
      `package.json "files" must be exactly ${JSON.stringify(files)}: dist, and the stub folder of each subpath ` +
        'that lets node10 resolution (no "exports") find it.',
    );
  }

  const exportsMap =
    typeof pkg.exports === 'object' && pkg.exports !== null ? (pkg.exports as Record<string, unknown>) : {};
  if (Object.keys(exportsMap).length === 0) problems.push('package.json "exports" must be an object of subpaths.');

  const entrySubpaths = new Map(Object.keys(entries).map((name) => [subpathFor(name), name]));
  for (const [subpath, name] of entrySubpaths) {
    if (!(subpath in exportsMap)) {
      problems.push(`tsup entry "${name}" has no "${subpath}" in package.json "exports": add it.`);
      continue;
    }
    const expected = expectedConditions(name);
    if (!sameShape(exportsMap[subpath], expected)) {
      problems.push(
        `package.json "exports"["${subpath}"] must be exactly ${JSON.stringify(expected)} ` +
          `(import → .d.ts/.js, require → .d.cts/.cjs, types first), but is ${JSON.stringify(exportsMap[subpath])}.`,
      );
    }
  }
  for (const subpath of Object.keys(exportsMap)) {
    if (subpath !== PACKAGE_JSON_SUBPATH && !entrySubpaths.has(subpath)) {
      problems.push(
        `package.json "exports" has "${subpath}" but tsup.config.ts "entries" builds no such entry: ` +
          'add the entry or remove the subpath (no wildcards: attw cannot check them).',
      );
    }
  }

  for (const [name, file] of Object.entries(entries)) {
    if (!sourceExists(file)) problems.push(`tsup entry "${name}" points at ${file}, which does not exist.`);
  }

  // Old resolvers (node10, some bundlers) read these instead of "exports"; keep them on the root entry.
  const root = expectedConditions('index');
  const fallbacks = { main: root.require.default, module: root.import.default, types: root.require.types } as const;
  for (const [field, expected] of Object.entries(fallbacks)) {
    const actual = pkg[field as keyof typeof fallbacks];
    if (actual !== expected)
      problems.push(`package.json "${field}" must be "${expected}", but is ${JSON.stringify(actual)}.`);
  }

  for (const dependency of Object.keys(pkg.dependencies ?? {})) {
    if (!ALLOWED_RUNTIME_DEPENDENCIES.includes(dependency)) {
      problems.push(
        `"${dependency}" is a runtime dependency but is not on the allow-list. Every user installs it: prefer a ` +
          'devDependency or an optional peerDependency; if it must ship, write the reason in the README and add it ' +
          'to ALLOWED_RUNTIME_DEPENDENCIES in tests/package/package-shape.ts.',
      );
    }
  }

  return problems;
}
