/**
 * Bundles sources with esbuild (from node_modules: tsup and vite bring it) for `platform: 'neutral'`
 * with nothing external, as the runtime tests need: the package's own subpaths resolve to their sources.
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { entries } from '../../tsup.config.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** `campaign-lifecycle` and `campaign-lifecycle/<entry>` → the entry's source file. */
export const SOURCE_ALIASES: Record<string, string> = Object.fromEntries(
  Object.entries(entries).map(([name, file]) => [
    name === 'index' ? 'campaign-lifecycle' : `campaign-lifecycle/${name}`,
    `${ROOT}${file}`,
  ]),
);

export interface NeutralBundle {
  code: string;
  warnings: string[];
}

/** One file bundled for no particular platform: nothing external, no Node built-in shimmed. */
export async function bundleNeutral(
  entry: string,
  options: { format?: 'esm' | 'iife'; globalName?: string; minify?: boolean; stdin?: string } = {},
): Promise<NeutralBundle> {
  const result = await build({
    ...(options.stdin === undefined
      ? { entryPoints: [entry] }
      : { stdin: { contents: options.stdin, resolveDir: ROOT, loader: 'ts', sourcefile: entry } }),
    bundle: true,
    platform: 'neutral',
    // `neutral` reads only `exports`; packages that still rely on these fields resolve as they do elsewhere.
    mainFields: ['module', 'main'],
    format: options.format ?? 'esm',
    ...(options.globalName === undefined ? {} : { globalName: options.globalName }),
    target: 'es2022',
    minify: options.minify ?? false,
    write: false,
    logLevel: 'silent',
    alias: SOURCE_ALIASES,
  });
  const file = result.outputFiles[0];
  if (!file) throw new Error(`esbuild produced nothing for ${entry}`);
  return { code: file.text, warnings: result.warnings.map((w) => w.text) };
}
