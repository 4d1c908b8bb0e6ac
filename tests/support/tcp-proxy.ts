/**
 * A loopback TCP proxy for connection-loss tests: listens on 127.0.0.1, forwards every connection to
 * a target (the real Postgres), and on demand cuts every connection it carries, by a TCP reset or by
 * an orderly close, the way a failover, a load balancer or a network blip does.
 */
import net from 'node:net';

/** How a cut ends a connection: `reset` (RST, as after a crash or a firewall) or `close` (FIN). */
export type CutMode = 'reset' | 'close';

/** A running proxy. */
export interface TcpProxy {
  readonly port: number;
  /** The connection string of `url` with its host and port replaced by the proxy's. */
  via(url: string): string;
  /** Ends every connection now; returns how many were cut. */
  cut(mode: CutMode): number;
  /** Refuses (resets at once) every new connection while true: the database is unreachable. */
  refuse(on: boolean): void;
  /** Connections accepted so far. */
  readonly accepted: number;
  close(): Promise<void>;
}

const end = (socket: net.Socket, mode: CutMode) => {
  if (mode === 'reset') socket.resetAndDestroy();
  else socket.end(() => socket.destroy());
};

/** Starts a proxy to `target` (a `postgres://` URL). */
export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const t = new URL(target);
  const host = t.hostname || '127.0.0.1';
  const port = Number(t.port || 5432);
  const pairs = new Set<[net.Socket, net.Socket]>();
  let refusing = false;
  let accepted = 0;
  const server = net.createServer((client) => {
    accepted++;
    if (refusing) {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect({ host, port });
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  return {
    port: address.port,
    via(url: string) {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(address.port);
      return u.toString();
    },
    cut(mode) {
      const n = pairs.size;
      for (const pair of [...pairs]) {
        pairs.delete(pair);
        end(pair[0], mode);
        end(pair[1], mode);
      }
      return n;
    },
    refuse(on) {
      refusing = on;
    },
    get accepted() {
      return accepted;
    },
    async close() {
      for (const [a, b] of pairs) {
        a.destroy();
        b.destroy();
      }
      pairs.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
