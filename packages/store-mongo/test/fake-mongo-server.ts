import { createServer, type Server, type Socket } from 'node:net';
import { BSON, type Document, Long, ObjectId, Timestamp } from 'mongodb';

// A scripted stand-in that speaks MongoDB's wire protocol (OP_QUERY handshake, OP_MSG commands) on
// loopback. It is NOT a database: it stores nothing and answers each command from a script. It lets
// the unit tests run the real driver through the store's code paths (sessions, transactions, error
// replies) on machines without MongoDB, and record exactly which commands the store sent.

const OP_REPLY = 1;
const OP_QUERY = 2004;
const OP_MSG = 2013;

/** One command the fake received, with its document sequences (e.g. insert's `documents`) merged in. */
export interface ReceivedCommand {
  readonly name: string;
  readonly body: Document;
}

/**
 * Answers a command; return `undefined` for the default `{ ok: 1 }` (an empty cursor for `find`,
 * an open change stream for an `aggregate` with `$changeStream`). A promise delays the reply, as
 * a server that waits (for a majority, for a change) does.
 */
export type Responder = (command: ReceivedCommand) => Document | undefined | Promise<Document | undefined>;

export interface FakeMongoServer {
  readonly uri: string;
  readonly commands: ReceivedCommand[];
  /** The commands other than handshakes, pings and session bookkeeping, in order. */
  readonly operations: () => ReceivedCommand[];
  respond: Responder;
  /**
   * Whether the stores' first-use schema check (one `find` on es_schema_migrations by `_id: { $in }`)
   * finds every migration recorded. Defaults to `true`; that check is answered by the fake itself
   * and left out of `operations()`.
   */
  migrated: boolean;
  close(): Promise<void>;
}

/** The stores' first-use check that the migrations were applied (see `assertMigrated`). */
export function isSchemaCheck(command: ReceivedCommand): boolean {
  return (
    command.name === 'find' &&
    command.body.find === 'es_schema_migrations' &&
    Array.isArray(command.body.filter?._id?.$in)
  );
}

const BOOKKEEPING = new Set(['hello', 'ismaster', 'isMaster', 'ping', 'endSessions', 'buildInfo']);

/** The `lastWrite.opTime.ts` a replica-set member's `hello` reports (the fake's clock never moves). */
export const FAKE_LAST_WRITE = new Timestamp({ t: 1_780_000_000, i: 7 });

/** The change stream cursor id the fake hands out. */
export const FAKE_CHANGE_STREAM_CURSOR = Long.fromNumber(4242);

/** True for the `aggregate` that opens a change stream. */
export function isChangeStreamOpen(command: ReceivedCommand): boolean {
  return (
    command.name === 'aggregate' &&
    Array.isArray(command.body.pipeline) &&
    command.body.pipeline[0]?.$changeStream !== undefined
  );
}

/** How the fake presents itself in `hello`. */
export interface FakeServerOptions {
  /** `false`: a standalone mongod (no `setName`). */
  readonly replicaSet: boolean;
  /** A `mongos` router of a sharded cluster (`msg: "isdbgrid"`, no `setName`). */
  readonly mongos?: boolean;
  /** Defaults to 21 (MongoDB 7.0). */
  readonly maxWireVersion?: number;
}

/** Starts the fake. `replicaSet: false` makes it answer `hello` as a standalone server does. */
export async function startFakeMongoServer(options: FakeServerOptions): Promise<FakeMongoServer> {
  const sockets = new Set<Socket>();
  const commands: ReceivedCommand[] = [];
  let port = 0;
  const fake: FakeMongoServer = {
    uri: '',
    commands,
    operations: () => commands.filter((command) => !BOOKKEEPING.has(command.name) && !isSchemaCheck(command)),
    respond: () => undefined,
    migrated: true,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  const hello = (): Document => ({
    ok: 1,
    helloOk: true,
    isWritablePrimary: true,
    ismaster: true,
    maxWireVersion: options.maxWireVersion ?? 21,
    minWireVersion: 0,
    maxBsonObjectSize: 16 * 1024 * 1024,
    maxMessageSizeBytes: 48_000_000,
    maxWriteBatchSize: 100_000,
    logicalSessionTimeoutMinutes: 30,
    localTime: new Date(),
    connectionId: 1,
    ...(options.mongos ? { msg: 'isdbgrid' } : {}),
    ...(options.replicaSet && !options.mongos
      ? {
          setName: 'rs0',
          setVersion: 1,
          hosts: [`127.0.0.1:${port}`],
          primary: `127.0.0.1:${port}`,
          me: `127.0.0.1:${port}`,
          electionId: new ObjectId('7fffffff0000000000000001'),
          lastWrite: { opTime: { ts: FAKE_LAST_WRITE, t: Long.fromNumber(1) }, lastWriteDate: new Date() },
        }
      : {}),
  });
  const answer = async (command: ReceivedCommand): Promise<Document> => {
    if (BOOKKEEPING.has(command.name))
      return command.name === 'endSessions' || command.name === 'ping' ? { ok: 1 } : hello();
    if (isSchemaCheck(command)) {
      const ids = fake.migrated ? (command.body.filter._id.$in as string[]) : [];
      return {
        ok: 1,
        cursor: {
          id: Long.fromNumber(0),
          ns: 'es.es_schema_migrations',
          firstBatch: ids.map((_id) => ({ _id })),
        },
      };
    }
    const scripted = await fake.respond(command);
    if (scripted) return scripted;
    if (isChangeStreamOpen(command)) {
      return {
        ok: 1,
        cursor: {
          id: FAKE_CHANGE_STREAM_CURSOR,
          ns: `db.${command.body.aggregate}`,
          firstBatch: [],
          postBatchResumeToken: { _data: '00' },
        },
      };
    }
    if (command.name === 'getMore') {
      // An idle change stream: the server waits (maxAwaitTimeMS) before an empty batch.
      await new Promise((resolve) => setTimeout(resolve, 50));
      return {
        ok: 1,
        cursor: {
          id: command.body.getMore,
          ns: `db.${command.body.collection}`,
          nextBatch: [],
          postBatchResumeToken: { _data: '00' },
        },
      };
    }
    if (command.name === 'find' || command.name === 'aggregate') {
      return {
        ok: 1,
        cursor: { id: Long.fromNumber(0), ns: `db.${command.body[command.name]}`, firstBatch: [] },
      };
    }
    return { ok: 1 };
  };
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    // A client that closes while a reply is still waiting resets the connection: not a failure.
    socket.on('error', () => undefined);
    let buffered = Buffer.alloc(0);
    // One connection answers its requests in order, as the driver expects; replies may wait.
    let queue = Promise.resolve();
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4 && buffered.length >= buffered.readInt32LE(0)) {
        const length = buffered.readInt32LE(0);
        const message = buffered.subarray(0, length);
        buffered = buffered.subarray(length);
        queue = queue.then(async () => {
          const reply = await handle(message, (command) => {
            commands.push(command);
            return answer(command);
          });
          if (reply && !socket.destroyed) socket.write(reply);
        });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
  (fake as { uri: string }).uri =
    `mongodb://127.0.0.1:${port}/es?directConnection=true&serverSelectionTimeoutMS=2000`;
  return fake;
}

async function handle(
  message: Buffer,
  run: (command: ReceivedCommand) => Promise<Document>,
): Promise<Buffer | undefined> {
  const requestId = message.readInt32LE(4);
  const opCode = message.readInt32LE(12);
  if (opCode === OP_QUERY) {
    let offset = 20;
    offset = message.indexOf(0, offset) + 1 + 8; // collection name, numberToSkip, numberToReturn
    const body = BSON.deserialize(message.subarray(offset, offset + message.readInt32LE(offset)));
    return reply(OP_REPLY, requestId, replyBody(await run(toCommand(body, {}))));
  }
  if (opCode !== OP_MSG) return undefined;
  const flags = message.readUInt32LE(16);
  const end = message.length - (flags & 1 ? 4 : 0);
  let offset = 20;
  let body: Document = {};
  const sequences: Record<string, Document[]> = {};
  while (offset < end) {
    const kind = message[offset++];
    const size = message.readInt32LE(offset);
    if (kind === 0) {
      body = BSON.deserialize(message.subarray(offset, offset + size), { promoteValues: false });
      offset += size;
      continue;
    }
    const sectionEnd = offset + size;
    const nameEnd = message.indexOf(0, offset + 4);
    const identifier = message.toString('utf8', offset + 4, nameEnd);
    let cursor = nameEnd + 1;
    const documents: Document[] = [];
    while (cursor < sectionEnd) {
      const documentSize = message.readInt32LE(cursor);
      documents.push(
        BSON.deserialize(message.subarray(cursor, cursor + documentSize), { promoteValues: false }),
      );
      cursor += documentSize;
    }
    sequences[identifier] = documents;
    offset = sectionEnd;
  }
  const payload = BSON.serialize(await run(toCommand(body, sequences)));
  return reply(OP_MSG, requestId, Buffer.concat([Buffer.alloc(4), Buffer.from([0]), payload]));
}

function toCommand(body: Document, sequences: Record<string, Document[]>): ReceivedCommand {
  return { name: Object.keys(body)[0] ?? '', body: { ...body, ...sequences } };
}

function replyBody(document: Document): Buffer {
  const header = Buffer.alloc(20);
  header.writeInt32LE(1, 16); // numberReturned; responseFlags, cursorID and startingFrom stay 0
  return Buffer.concat([header, BSON.serialize(document)]);
}

function reply(opCode: number, responseTo: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(16);
  header.writeInt32LE(16 + payload.length, 0);
  header.writeInt32LE(responseTo + 1_000_000, 4);
  header.writeInt32LE(responseTo, 8);
  header.writeInt32LE(opCode, 12);
  return Buffer.concat([header, payload]);
}

/**
 * Replies a MongoDB server really sends in the situations issue 17 names (codes, code names and
 * error labels as the server sets them; labels the driver adds itself are left to the driver).
 */
export const serverReplies = {
  /** Another transaction wrote the document after this one's snapshot (the server labels it). */
  writeConflict: (): Document => ({
    ok: 0,
    code: 112,
    codeName: 'WriteConflict',
    errmsg:
      'Caused by :: Write conflict during plan execution and yielding is disabled. :: Please retry your operation or multi-document transaction.',
    errorLabels: ['TransientTransactionError'],
  }),
  /**
   * A commit whose write concern timed out (no majority): the commit is applied on the primary but
   * not acknowledged. `ok: 1` with a writeConcernError; the driver adds UnknownTransactionCommitResult.
   * Code 64 is WriteConcernFailed before 8.1 and WriteConcernTimeout from 8.1.
   */
  writeConcernTimeout: (wtimeout: number): Document => ({
    ok: 1,
    writeConcernError: {
      code: 64,
      codeName: 'WriteConcernFailed',
      errmsg: 'waiting for replication timed out',
      errInfo: { wtimeout: true, writeConcern: { w: 'majority', wtimeout, provenance: 'clientSupplied' } },
    },
  }),
  /** maxTimeMS (the transaction's maxCommitTimeMS) ran out during the commit. */
  maxTimeExpired: (): Document => ({
    ok: 0,
    code: 50,
    codeName: 'MaxTimeMSExpired',
    errmsg: 'operation exceeded time limit',
  }),
  /** MongoDB 6.2+: the transaction cannot fit in the WiredTiger cache; not labelled transient. */
  transactionTooLargeForCache: (): Document => ({
    ok: 0,
    code: 388,
    codeName: 'TransactionTooLargeForCache',
    errmsg: 'Transaction exceeded the WiredTiger cache limit and was aborted',
  }),
  /** MongoDB 4.0: a transaction's oplog entry over 16 MB. */
  transactionTooLarge: (): Document => ({
    ok: 0,
    code: 257,
    codeName: 'TransactionTooLarge',
    errmsg: 'Total size of all transaction operations must be less than 16793600',
  }),
  /** A change stream that cannot go on (e.g. its resume point left the oplog): not resumable. */
  changeStreamHistoryLost: (): Document => ({
    ok: 0,
    code: 286,
    codeName: 'ChangeStreamHistoryLost',
    errmsg: 'Resume of change stream was not possible, as the resume point may no longer be in the oplog.',
  }),
};
