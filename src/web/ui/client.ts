/** The page's side of the worker: one request at a time answered in order; a newer view supersedes. */
import type {
  Catalog,
  ExperimentView,
  Opened,
  OpenRequest,
  PointView,
  Request,
  Response,
} from '../model/backend.js';

export class ModelClient {
  private readonly worker = new Worker(new URL('../worker.ts', import.meta.url), { type: 'module' });
  private next = 1;
  private readonly waiting = new Map<number, (r: Response) => void>();

  constructor() {
    this.worker.onmessage = (m: MessageEvent<{ id: number; res: Response }>) => {
      const done = this.waiting.get(m.data.id);
      this.waiting.delete(m.data.id);
      done?.(m.data.res);
    };
  }

  private ask(req: Request): Promise<Response> {
    const id = this.next++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.worker.postMessage({ id, req });
    });
  }

  async open(req: OpenRequest): Promise<Opened> {
    const r = await this.ask(req);
    if (r.kind === 'error') throw new Error(r.message);
    return r as Opened;
  }

  async view(step: number, event: number): Promise<PointView> {
    const r = await this.ask({ kind: 'view', step, event });
    if (r.kind === 'error') throw new Error(r.message);
    return r as PointView;
  }

  async experiment(name: string, scale: number): Promise<ExperimentView> {
    const r = await this.ask({ kind: 'experiment', name, scale });
    if (r.kind === 'error') throw new Error(r.message);
    return r as ExperimentView;
  }

  async catalog(): Promise<Catalog> {
    const r = await this.ask({ kind: 'catalog' });
    if (r.kind === 'error') throw new Error(r.message);
    return r as Catalog;
  }
}
