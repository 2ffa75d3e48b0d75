// What a handler gets and gives: the parsed request (params, query, body)
// and the ways to answer (JSON, a stream, a hijacked connection).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { badRequest } from './errors.js';

export interface Request {
  method: string;
  /** The path without its /vX.Y prefix. */
  path: string;
  /** The API version the client asked for (1.41 without a prefix). */
  version: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  /** The raw request: a body to stream (an image tar, a build context). */
  raw: IncomingMessage;
}

/** The response side: `res` for ordinary answers; `hijack` on endpoints that take over the connection. */
export interface Response {
  res: ServerResponse;
  /**
   * Takes over the connection for a raw two-way stream (attach, exec start):
   * answers 101 UPGRADED when the client asked `Upgrade: tcp`, else 200, with
   * `contentType`, and returns the socket. Only on endpoints marked hijack.
   */
  hijack(contentType: string): Duplex;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const data = Buffer.from(body === undefined ? '' : `${JSON.stringify(body)}\n`);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': data.length });
  res.end(data);
}

export function sendEmpty(res: ServerResponse, status: number): void {
  res.writeHead(status, { 'Content-Length': 0 });
  res.end();
}

/** Starts a streamed answer and sends its headers at once (clients wait for them before they go on: wait, events, logs -f). */
export function startStream(res: ServerResponse, contentType: string, status = 200): void {
  res.writeHead(status, { 'Content-Type': contentType });
  res.flushHeaders();
}

export async function readBody(req: IncomingMessage, limit = 16 << 20): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > limit) throw badRequest(`request body larger than ${limit} bytes`);
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

/** The JSON body, or `fallback` when it is empty; malformed JSON is a 400 that names the problem. */
export async function readJson<T>(req: IncomingMessage, fallback?: T): Promise<T> {
  const text = (await readBody(req)).toString('utf8').trim();
  if (!text) {
    if (fallback !== undefined) return fallback;
    throw badRequest('request body is required');
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw badRequest(`invalid JSON: ${(err as Error).message}`);
  }
}

/** Docker's boolean query values: 1/true/True (and anything but 0/false/no/empty is true). */
export function queryBool(q: URLSearchParams, name: string, dflt = false): boolean {
  const v = q.get(name);
  if (v === null) return dflt;
  return !['', '0', 'false', 'False', 'FALSE', 'no'].includes(v);
}

export function queryInt(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw badRequest(`invalid value for ${name}: ${JSON.stringify(v)}`);
  return n;
}

/** A JSON-encoded query value (filters, buildargs, labels); malformed is a 400. */
export function queryJson<T>(q: URLSearchParams, name: string): T | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  try {
    return JSON.parse(v) as T;
  } catch {
    throw badRequest(`invalid ${name} value: ${JSON.stringify(v)}`);
  }
}
