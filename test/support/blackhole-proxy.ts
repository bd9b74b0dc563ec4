/**
 * A TCP proxy in front of a real server that can be told to stop forwarding: connections are still accepted and
 * kept open, but no byte is passed on either way (the sockets are paused and unpiped, so what arrives waits in the
 * kernel's buffers) — what a database behind a dead route or a partition looks like to its client. `forward()`
 * lets everything flow again, the bytes held meanwhile included. Tests only.
 */
import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net';

export interface BlackholeProxy {
  /** `host:port` of the proxy. */
  readonly address: string;
  blackhole(): void;
  forward(): void;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket;
}

function connect({ client, upstream }: Pair): void {
  client.pipe(upstream);
  upstream.pipe(client);
}

function hold({ client, upstream }: Pair): void {
  // Unpiped first: a piped source is resumed by its destination's 'drain'.
  client.unpipe();
  upstream.unpipe();
  client.pause();
  upstream.pause();
}

export async function startBlackholeProxy(target: { host: string; port: number }): Promise<BlackholeProxy> {
  const pairs = new Set<Pair>();
  let holding = false;
  const server = createServer((client) => {
    const pair = { client, upstream: createConnection(target) };
    pairs.add(pair);
    for (const socket of [pair.client, pair.upstream]) {
      socket.on('error', () => socket.destroy());
      socket.on('close', () => {
        pairs.delete(pair);
        pair.client.destroy();
        pair.upstream.destroy();
      });
    }
    if (holding) hold(pair);
    else connect(pair);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    blackhole() {
      holding = true;
      for (const pair of pairs) hold(pair);
    },
    forward() {
      holding = false;
      for (const pair of pairs) connect(pair);
    },
    async close() {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
