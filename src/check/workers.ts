/**
 * Running a check's tasks on worker threads (`mmsim check --workers N`). Each worker parses the scenario
 * itself and runs the tasks it is given (check/check.ts runTask); results come back over a MessagePort
 * that the main thread reads synchronously (receiveMessageOnPort, waking on an Atomics counter), so the
 * command stays one synchronous call. Each worker takes the next task not yet taken (an Atomics counter
 * over the task list: a worker that drew a small task goes on to the next instead of waiting beside one
 * that holds most of the space), and the results are merged by task index: every task runs whoever runs
 * it, so the report is the one a single thread gives.
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  MessageChannel,
  type MessagePort,
  receiveMessageOnPort,
  Worker,
  workerData,
} from 'node:worker_threads';
import type { Scenario } from '../scenario/ast.js';
import { parseScenario } from '../scenario/parse.js';
import {
  type CheckOptions,
  checkScenario,
  runTask,
  type ShardReport,
  type TaskOutcome,
  type TaskRunner,
  type TaskSpec,
} from './check.js';

interface WorkerInput {
  readonly file: string;
  readonly text: string;
  /** Every task of the run; a worker takes the next untaken one (`next`) until none is left. */
  readonly specs: readonly TaskSpec[];
  readonly next: Int32Array;
  readonly port: MessagePort;
  readonly done: Int32Array;
}

type WorkerMessage = { ok: true; outcome: TaskOutcome } | { ok: false; error: string };

/** A pool's runner: deal the tasks to `n` workers, wait for every outcome, return them by task. */
function workerRunner(file: string, text: string, n: number): TaskRunner {
  const here = fileURLToPath(import.meta.url);
  const fromSource = here.endsWith('.ts');
  return (specs, onDone) => {
    if (specs.length === 0) return [];
    const done = new Int32Array(new SharedArrayBuffer(4));
    const next = new Int32Array(new SharedArrayBuffer(4));
    const workers: Worker[] = [];
    const ports: MessagePort[] = [];
    const count = Math.min(n, specs.length);
    for (let w = 0; w < count; w++) {
      const { port1, port2 } = new MessageChannel();
      ports.push(port1);
      const input: WorkerInput = {
        file,
        text,
        specs,
        next,
        port: port2,
        done,
      };
      // the build is plain JavaScript; the sources load through tsx's loader, registered in the worker
      const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(pathToFileURL(here).href)}); })`;
      workers.push(
        fromSource
          ? new Worker(boot, { eval: true, workerData: input, transferList: [port2] })
          : new Worker(here, { workerData: input, transferList: [port2] }),
      );
    }
    const outcomes: TaskOutcome[] = [];
    let seen = 0;
    let quiet = 0;
    try {
      while (outcomes.length < specs.length) {
        if (Atomics.wait(done, 0, seen, 60_000) === 'timed-out' && ++quiet >= 30)
          throw new Error('no check worker answered for 30 minutes (did one fail to start?)');
        seen = Atomics.load(done, 0);
        for (const port of ports) {
          for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
            const msg = m.message as WorkerMessage;
            if (!msg.ok) throw new Error(`a check worker failed: ${msg.error}`);
            outcomes.push(msg.outcome);
            quiet = 0;
            onDone();
          }
        }
      }
    } finally {
      for (const w of workers) void w.terminate();
      for (const port of ports) port.close();
    }
    return outcomes.sort((a, b) => a.task - b.task);
  };
}

/** The check of `opts`, its tasks run on `n` worker threads. */
export function runInWorkers(scenario: Scenario, opts: CheckOptions, n: number): ShardReport {
  return checkScenario(scenario, opts, workerRunner(opts.file, opts.text, n));
}

// ---- the worker's side ----
if (workerData !== null && typeof workerData === 'object' && 'specs' in workerData) {
  const input = workerData as WorkerInput;
  const parsed = parseScenario(input.text, input.file);
  const post = (msg: WorkerMessage) => {
    input.port.postMessage(msg);
    Atomics.add(input.done, 0, 1);
    Atomics.notify(input.done, 0);
  };
  if (!parsed.ok) post({ ok: false, error: `${input.file} does not parse` });
  else {
    try {
      for (let i = Atomics.add(input.next, 0, 1); i < input.specs.length; i = Atomics.add(input.next, 0, 1))
        post({ ok: true, outcome: runTask(parsed.scenario, input.specs[i]) });
    } catch (e) {
      post({ ok: false, error: (e as Error).message });
    }
  }
}
