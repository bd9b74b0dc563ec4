/**
 * A MongoDB wire-protocol proxy that plays a database user without index (or collection-admin) rights: every
 * OP_MSG command whose name is in REFUSED_COMMANDS is answered by the proxy itself with what MongoDB answers such a
 * user — `{ ok: 0, code: 13, codeName: 'Unauthorized', errmsg: 'not authorized on <db> to execute command …' }` —
 * and never reaches the server; everything else is passed on byte for byte.
 *
 * Why a proxy: the embedded FerretDB v1.24 (SQLite backend) has `createUser`, but refuses any role other than none
 * (`createUser.roles` must be empty: "not implemented"), so it cannot hold a user that may read and write but not
 * create indexes. The proxy gives the processes under test exactly that user's answers. Tests only.
 *
 * It reads the client's side only: a client sends one command per connection and waits for its answer, so an
 * answer written by the proxy can never interleave with one from the server. Compressed messages (OP_COMPRESSED:
 * the driver compresses only when the URI asks for it) are passed on unread — do not ask for compression through it.
 */
import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net';
import { mongo } from 'mongoose';

/** What a user with the runtime role (find/insert/update/remove/listIndexes/listCollections) may not run. */
export const REFUSED_COMMANDS = new Set([
  'createIndexes',
  'dropIndexes',
  'deleteIndexes',
  'create',
  'collMod',
  'drop',
  'dropDatabase',
  'renameCollection',
]);

const OP_MSG = 2013;
const HEADER_BYTES = 16;

export interface NoIndexRightsProxy {
  /** A MongoDB URI naming the proxy (no database path). */
  readonly uri: string;
  /** Every command name that went through to the server, in order. */
  readonly forwarded: string[];
  /** Every refused command as `<db>.<command>`. */
  readonly refused: string[];
  close(): Promise<void>;
}

function commandOf(frame: Buffer): { name: string; db: string } | undefined {
  if (frame.readInt32LE(12) !== OP_MSG) return undefined;
  // flagBits (4 bytes), then sections; the command body is the one kind-0 section, first by convention.
  const at = HEADER_BYTES + 4;
  if (frame[at] !== 0) return undefined;
  const length = frame.readInt32LE(at + 1);
  const body = mongo.BSON.deserialize(frame.subarray(at + 1, at + 1 + length));
  const name = Object.keys(body)[0];
  return name === undefined ? undefined : { name, db: typeof body.$db === 'string' ? body.$db : '' };
}

function unauthorizedReply(requestId: number, command: { name: string; db: string }): Buffer {
  const body = mongo.BSON.serialize({
    ok: 0,
    errmsg: `not authorized on ${command.db} to execute command { ${command.name}: … }`,
    code: 13,
    codeName: 'Unauthorized',
  });
  const header = Buffer.alloc(HEADER_BYTES + 4 + 1);
  header.writeInt32LE(header.length + body.length, 0);
  header.writeInt32LE(Math.floor(Math.random() * 0x7fffffff), 4);
  header.writeInt32LE(requestId, 8);
  header.writeInt32LE(OP_MSG, 12);
  header.writeUInt32LE(0, 16);
  header[20] = 0;
  return Buffer.concat([header, body]);
}

/** `upstream`: the real server's `host:port`. */
export async function startNoIndexRightsProxy(upstream: string): Promise<NoIndexRightsProxy> {
  const [host, port] = upstream.split(':') as [string, string];
  const forwarded: string[] = [];
  const refused: string[] = [];
  const sockets = new Set<Socket>();

  const server = createServer((client) => {
    const server = createConnection({ host, port: Number(port) });
    sockets.add(client);
    sockets.add(server);
    const closeBoth = () => {
      client.destroy();
      server.destroy();
      sockets.delete(client);
      sockets.delete(server);
    };
    client.on('error', closeBoth).on('close', closeBoth);
    server.on('error', closeBoth).on('close', closeBoth);
    server.pipe(client);

    let pending = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4 && pending.length >= pending.readInt32LE(0)) {
        const size = pending.readInt32LE(0);
        const frame = pending.subarray(0, size);
        pending = pending.subarray(size);
        const command = commandOf(frame);
        if (command && REFUSED_COMMANDS.has(command.name)) {
          refused.push(`${command.db}.${command.name}`);
          client.write(unauthorizedReply(frame.readInt32LE(4), command));
          continue;
        }
        if (command) forwarded.push(command.name);
        server.write(frame);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  return {
    // directConnection: the driver talks to the proxy only, never to the address the server reports for itself.
    uri: `mongodb://127.0.0.1:${address.port}/?directConnection=true`,
    forwarded,
    refused,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
