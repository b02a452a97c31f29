/** `guest: {vm, op, gfn|gpa, [pages], [payload]}`: vCPU accesses through KVM's secondary MMU. */
import type { ContentId } from '../../hw/content.js';
import { PAGE_SIZE } from '../../hw/page.js';
import type { StoreSource } from '../../mm/access.js';
import { KVM_COUNTERS } from '../../secondary/kvm/counters.js';
import { KvmGuest } from '../../secondary/kvm/index.js';
import { secondaryName } from '../../secondary/secondary-mmu.js';
import { ACCESS_KINDS, type AccessKind, type NoPayload, type Payload, type StepBase } from '../ast.js';
import { byteCount, type Fields, integer, name, oneOf, pageCount } from '../nodes.js';
import type { World } from '../world.js';
import { PAYLOAD_KEYS, payloadSize, readPayload } from './payload.js';
import type { StepSpec } from './spec.js';

/**
 * `pages` consecutive guest pages from `gpa` (gfn * 4096 when given as gfn), one access each.
 * A write stores the payload into each page (page i of a pattern into page i); `size` is the bytes
 * written per page. A write without a payload is allowed: the runner chooses what to store.
 */
export type GuestStep = StepBase & {
  op: 'guest';
  vm: string;
  access: AccessKind;
  gfn: number;
  gpa: number;
  pages: number;
  size?: number;
} & (Payload | NoPayload);
declare module '../ast.js' {
  interface StepKinds {
    guest: GuestStep;
  }
}

/** gfn or gpa (exactly one); both returned, gpa = gfn * 4096. */
function readGuestPlace(f: Fields): { gfn: number; gpa: number } | undefined {
  const given = f.present(['gfn', 'gpa']);
  if (given.length === 0) return f.errorAt(undefined, "guest needs 'gfn' or 'gpa'");
  if (given.length === 2) return f.errorAt('gpa', "guest takes 'gfn' or 'gpa', not both");
  if (given[0] === 'gfn') {
    const gfn = f.optional('gfn', integer(0));
    return gfn === undefined ? undefined : { gfn, gpa: gfn * PAGE_SIZE };
  }
  const gpa = f.optional('gpa', byteCount('a guest physical address (0x1000, 16KiB, 4p)'));
  return gpa === undefined ? undefined : { gfn: Math.floor(gpa / PAGE_SIZE), gpa };
}

/** Page `i` of a guest write: the payload page's content, its bytes, or a byte chosen from the run's seed. */
function guestPage(world: World, step: GuestStep, i: number): ContentId | Uint8Array {
  const c = world.kernel.contents;
  if (step.pattern !== undefined) return c.pattern(step.pattern.seed, i);
  if (step.fill !== undefined) return c.fill(step.fill);
  if (step.bytes !== undefined) return Uint8Array.from(step.bytes);
  if (step.data !== undefined) return new TextEncoder().encode(step.data);
  return c.fill(1 + world.rng.below(255));
}

const ONE_PAGE_SIZE = {
  oneOf: [
    { type: 'integer', minimum: 1, maximum: PAGE_SIZE },
    {
      type: 'string',
      pattern: '^\\s*(0[xX][0-9a-fA-F]+|[0-9]+(\\.[0-9]+)?)\\s*(B|KiB|MiB|GiB|TiB|p|page|pages)?\\s*$',
    },
  ],
};

export const guest: StepSpec<GuestStep> = {
  fields: ['vm', 'op', 'gfn', 'gpa', 'pages', ...PAYLOAD_KEYS, 'size'],
  schema: {
    type: 'object',
    properties: {
      vm: { $ref: '#/definitions/name' },
      op: { $ref: '#/definitions/access' },
      gfn: { type: 'integer', minimum: 0 },
      gpa: { $ref: '#/definitions/guestAddress' },
      pages: { $ref: '#/definitions/pageCount' },
      data: { type: 'string', minLength: 1, maxLength: PAGE_SIZE },
      bytes: { type: 'array', minItems: 1, maxItems: PAGE_SIZE, items: { $ref: '#/definitions/byte' } },
      fill: { $ref: '#/definitions/byte' },
      pattern: { $ref: '#/definitions/pattern' },
      size: ONE_PAGE_SIZE,
    },
    required: ['vm', 'op'],
    additionalProperties: false,
    oneOf: [{ required: ['gfn'] }, { required: ['gpa'] }],
    allOf: [
      {
        not: {
          anyOf: [
            { required: ['data', 'bytes'] },
            { required: ['data', 'fill'] },
            { required: ['data', 'pattern'] },
            { required: ['bytes', 'fill'] },
            { required: ['bytes', 'pattern'] },
            { required: ['fill', 'pattern'] },
          ],
        },
      },
      {
        if: { properties: { op: { const: 'read' } } },
        // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then
        then: {
          not: {
            anyOf: [
              { required: ['data'] },
              { required: ['bytes'] },
              { required: ['fill'] },
              { required: ['pattern'] },
            ],
          },
        },
      },
    ],
    dependencies: { size: ['fill'] },
    description: 'vCPU accesses through the secondary MMU: `pages` consecutive pages, one access each.',
  },
  read: (f) => {
    const vmName = f.required('vm', name);
    const access = f.required('op', oneOf(ACCESS_KINDS));
    const place = readGuestPlace(f);
    const pages = f.optional('pages', pageCount(1));
    const payload = readPayload(f, false);
    const bytes = payloadSize(f, payload);
    if (vmName === undefined || access === undefined || place === undefined || !payload.ok) return undefined;
    if (f.has('pages') && pages === undefined) return undefined;
    const count = pages ?? 1;
    const p = payload.payload;
    const base = { op: 'guest' as const, vm: vmName, access, ...place, pages: count };
    if (p === undefined) return f.has('size') ? undefined : base;
    if (access === 'read') {
      return f.errorAt(f.present(PAYLOAD_KEYS)[0], 'guest: a read takes no data; use op: write');
    }
    if (p.pattern) {
      if (p.pattern.pages !== undefined && p.pattern.pages !== count) {
        return f.errorAt(
          'pattern',
          `guest.pattern.pages (${p.pattern.pages}) differs from guest.pages (${count})`,
        );
      }
      // Page i of the pattern goes to page i of the access: a whole page each.
      return { ...base, size: PAGE_SIZE, pattern: { seed: p.pattern.seed, pages: count } };
    }
    if (bytes === undefined) return undefined;
    if (bytes > PAGE_SIZE) {
      const key = f.present(['size', 'data', 'bytes'])[0];
      return f.errorAt(
        key,
        `guest writes at most one page (${PAGE_SIZE} bytes) into each page, not ${bytes}`,
      );
    }
    return { ...base, size: bytes, ...p };
  },
  names: (step, n) => n.use(step.vm, KVM_COUNTERS.instance, 'vm')?.proc,
  *run(step, r, thread) {
    const g = r.world.secondary(secondaryName(KVM_COUNTERS, step.vm), KvmGuest);
    if (g === undefined) {
      r.outcome(step, 'ENODEV', `no VM ${step.vm} (its creation failed)`);
      return;
    }
    const write = step.access === 'write';
    // one source for every whole-page store, answering the content chosen for the page at hand (no
    // closure per page: a 1 GiB guest writes 262,144 of them)
    let content = 0;
    const wholePage: StoreSource = { pages: () => content };
    for (let i = 0; i < step.pages; i++) {
      let source: StoreSource | undefined;
      if (write) {
        const page = guestPage(r.world, step, i);
        if (typeof page === 'number') {
          content = page;
          source = wholePage;
        } else source = { bytes: page };
      }
      const res = yield* g.guestAccess(
        thread % Math.max(1, g.vcpus.length),
        step.gfn + i,
        write,
        source,
        false,
        write ? undefined : (step.size ?? PAGE_SIZE),
      );
      if (!res.ok) r.outcome(step, res.error, `gfn ${step.gfn + i}`);
    }
  },
};
