/// <reference lib="webworker" />
/** The model's Web Worker: every request goes to the Backend; nothing runs on a server. */
import { Backend, type Request, type Response } from './model/backend.js';

const backend = new Backend();
const scope = self as unknown as DedicatedWorkerGlobalScope;

scope.onmessage = (msg: MessageEvent<{ id: number; req: Request }>) => {
  const { id, req } = msg.data;
  let res: Response;
  try {
    res = backend.handle(req);
  } catch (error) {
    res = { kind: 'error', message: error instanceof Error ? error.message : String(error) };
  }
  scope.postMessage({ id, res });
};
