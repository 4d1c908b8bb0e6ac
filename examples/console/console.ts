/**
 * An operator console: the campaigns list with status labels and progress, a campaign's page with
 * each message's delivery status and failed reason, the buttons its status allows, CSV exports and
 * live progress, on `node:http` and the library alone.
 *
 * Run: npm run example:console   (then open http://127.0.0.1:3000)
 *
 * Configuration (environment variables):
 * - `PORT` (3000; 0 picks a free port), `HOST` (127.0.0.1)
 * - `DATABASE_URL`: keep campaigns in PostgreSQL (schema `PG_SCHEMA`, default `campaign_console`)
 *   instead of memory
 * - `SIMULATE` (1): simulated carriers on a fake clock moving `SIM_SPEED` (60) times faster than real
 *   time, with controls to pause it or skip ahead; `SIMULATE=0` runs them on the system clock.
 */
import { fileURLToPath } from 'node:url';
import { type ConsoleEngine, createConsoleEngine } from './engine.js';
import { type ConsoleServer, startConsole } from './server.js';

/** A running console and its engine. */
export interface RunningConsole {
  readonly url: string;
  readonly engine: ConsoleEngine;
  /** Stops the server, then the engine. */
  close(): Promise<void>;
}

function number(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, not "${value}".`);
  return n;
}

/** Starts the console as the environment says (see the top of this file). */
export async function consoleFromEnv(env: NodeJS.ProcessEnv): Promise<RunningConsole> {
  const engine = createConsoleEngine({
    simulate: env.SIMULATE !== '0',
    speed: number(env.SIM_SPEED, 60, 'SIM_SPEED'),
    databaseUrl: env.DATABASE_URL || undefined,
    ...(env.PG_SCHEMA ? { schema: env.PG_SCHEMA } : {}),
  });
  let server: ConsoleServer;
  try {
    server = await startConsole({
      outreach: engine.outreach,
      simulation: engine.simulation,
      storageLabel: engine.storageLabel,
      port: number(env.PORT, 3000, 'PORT'),
      host: env.HOST || '127.0.0.1',
    });
  } catch (error) {
    await engine.close();
    throw error;
  }
  return {
    url: server.url,
    engine,
    async close() {
      await server.close();
      await engine.close();
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const app = await consoleFromEnv(process.env);
  const mode = app.engine.simulation ? `simulated carriers, clock ×${app.engine.simulation.speed}` : 'system clock';
  console.log(`Outreach console on ${app.url} (storage: ${app.engine.storageLabel}; ${mode}). Ctrl-C stops it.`);
  const stop = () => {
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
