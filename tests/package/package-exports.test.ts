import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { entries } from '../../tsup.config.js';
import { type PackageManifest, packageShapeProblems, stubProblems, subpathFor } from './package-shape.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as PackageManifest;

/** A small manifest that keeps every rule, independent of the repository's current state. */
const fixtureEntries = { index: 'src/index.ts', memory: 'adapters/memory/index.ts' };
function validFixture(): PackageManifest & Record<string, unknown> {
  return {
    type: 'module',
    sideEffects: false,
    files: ['dist', 'memory'],
    main: './dist/index.cjs',
    module: './dist/index.js',
    types: './dist/index.d.cts',
    exports: {
      '.': {
        import: { types: './dist/index.d.ts', default: './dist/index.js' },
        require: { types: './dist/index.d.cts', default: './dist/index.cjs' },
      },
      './memory': {
        import: { types: './dist/memory.d.ts', default: './dist/memory.js' },
        require: { types: './dist/memory.d.cts', default: './dist/memory.cjs' },
      },
      './package.json': './package.json',
    },
    dependencies: { xstate: '~5.33.3', zod: '^4.6.7' },
  };
}
type Exports = Record<string, { import?: Record<string, string>; require?: Record<string, string> }>;

/** The problems found in the valid fixture after one change, to prove each rule catches its fault. */
function broken(change: (copy: ReturnType<typeof validFixture>) => void): string[] {
  const copy = validFixture();
  change(copy);
  return packageShapeProblems(copy, fixtureEntries, () => true);
}

describe('package: exports map', () => {
  it('should keep package.json and tsup.config.ts entries in step, with every rule kept', () => {
    expect(packageShapeProblems(pkg, entries, (file) => existsSync(`${root}${file}`))).toEqual([]);
  });

  it('should have a stub folder per subpath for node10 resolution, pointing at its CommonJS build and types', () => {
    const read = (name: string) => {
      const file = `${root}${name}/package.json`;
      return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined;
    };
    expect(stubProblems(entries, read)).toEqual([]);
    expect(stubProblems(fixtureEntries, () => undefined)).toEqual([expect.stringContaining('memory/package.json')]);
    expect(stubProblems(fixtureEntries, () => ({ main: '../dist/memory.js', types: '../dist/memory.d.ts' }))).toEqual([
      expect.stringContaining('memory/package.json must be exactly'),
    ]);
  });

  it('should report a "files" list without the subpath stub folders', () => {
    expect(
      broken((copy) => {
        copy.files = ['dist'];
      }),
    ).toEqual([expect.stringContaining('"files" must be exactly ["dist","memory"]')]);
  });

  it('should find nothing wrong in a manifest that keeps every rule', () => {
    expect(broken(() => {})).toEqual([]);
  });

  it('should name one subpath per tsup entry, the root for index', () => {
    expect(subpathFor('index')).toBe('.');
    expect(subpathFor('memory')).toBe('./memory');
  });

  it('should report a tsup entry that has no subpath in the exports map', () => {
    const fixture = { ...validFixture(), files: ['dist', 'memory', 'extra'] };
    const problems = packageShapeProblems(fixture, { ...fixtureEntries, extra: 'x.ts' }, () => true);
    expect(problems).toEqual([expect.stringContaining('tsup entry "extra" has no "./extra"')]);
  });

  it('should report a subpath that no tsup entry builds, such as a wildcard', () => {
    const problems = broken((copy) => {
      (copy.exports as Record<string, unknown>)['./*'] = './dist/*.js';
    });
    expect(problems).toEqual([expect.stringContaining('"./*" but tsup.config.ts "entries" builds no such entry')]);
  });

  it('should report an entry whose conditions are missing, shared between formats or out of order', () => {
    const typesLast = broken((copy) => {
      (copy.exports as Exports)['./memory']!.import = { default: './dist/memory.js', types: './dist/memory.d.ts' };
    });
    const oneDeclarationForBoth = broken((copy) => {
      (copy.exports as Exports)['./memory']!.require!.types = './dist/memory.d.ts';
    });
    const noRequire = broken((copy) => {
      delete (copy.exports as Exports)['./memory']!.require;
    });
    for (const problems of [typesLast, oneDeclarationForBoth, noRequire]) {
      expect(problems).toEqual([expect.stringContaining('"exports"["./memory"] must be exactly')]);
    }
  });

  it('should report a tsup entry whose source file does not exist', () => {
    const problems = packageShapeProblems(validFixture(), fixtureEntries, (file) => file !== fixtureEntries.memory);
    expect(problems).toEqual(['tsup entry "memory" points at adapters/memory/index.ts, which does not exist.']);
  });

  it('should require type module, sideEffects false and files [dist and the subpath stubs]', () => {
    const commonjs = broken((copy) => {
      copy.type = 'commonjs';
    });
    const noSideEffectsFlag = broken((copy) => {
      delete copy.sideEffects;
    });
    const shipsSource = broken((copy) => {
      copy.files = ['dist', 'src'];
    });
    expect(commonjs).toEqual([expect.stringContaining('"type"')]);
    expect(noSideEffectsFlag).toEqual([expect.stringContaining('"sideEffects"')]);
    expect(shipsSource).toEqual([expect.stringContaining('"files"')]);
  });

  it('should keep main, module and types on the root entry for resolvers that ignore exports', () => {
    const problems = broken((copy) => {
      copy.main = './dist/index.js';
      copy.types = './dist/index.d.ts';
    });
    expect(problems).toEqual([expect.stringContaining('"main"'), expect.stringContaining('"types"')]);
  });
});

describe('package: runtime dependencies', () => {
  it('should refuse a runtime dependency that is not on the allow-list, saying where to write the reason', () => {
    const problems = broken((copy) => {
      copy.dependencies = { ...copy.dependencies, 'left-pad': '^1.3.0' };
    });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('"left-pad" is a runtime dependency but is not on the allow-list');
    expect(problems[0]).toContain('write the reason in the README');
  });
});
