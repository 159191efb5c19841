// The control plane between the main thread and an actor: comlink RPC over the worker's
// own port (start, stop, status, admin calls). Never used for per-request traffic.
import { parentPort, type Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import adapter from 'comlink/dist/umd/node-adapter.js';

// The CommonJS build's typings describe the module, while Node hands us its default export.
const nodeEndpoint = adapter as unknown as (port: unknown) => Comlink.Endpoint;

export type Remote<T> = Comlink.Remote<T>;

/** In a worker: serve `api` to the thread that started it. */
export function exposeControl(api: object): void {
  if (!parentPort) throw new Error('exposeControl must run in a worker thread');
  Comlink.expose(api, nodeEndpoint(parentPort));
}

/** On the starting side: a typed proxy of the worker's control API. */
export function connectControl<T>(worker: Worker): Remote<T> {
  return Comlink.wrap<T>(nodeEndpoint(worker));
}

