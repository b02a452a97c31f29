/**
 * The JSON Schema fragment of each step operation: the value of its key (the wrapper with `expect` beside
 * it is made by schema.ts).
 */
import type { StepOp } from './ast.js';
import type { JsonSchema } from './schema.js';

export const STEP_SCHEMAS = {
  spawn: {
    oneOf: [
      { $ref: '#/definitions/name' },
      {
        type: 'object',
        properties: { proc: { $ref: '#/definitions/name' } },
        required: ['proc'],
        additionalProperties: false,
      },
    ],
    description: 'A new process with an empty mm.',
  },
  mmap: {
    type: 'object',
    properties: {
      proc: { $ref: '#/definitions/name' },
      size: { $ref: '#/definitions/size' },
      prot: { $ref: '#/definitions/prot' },
      as: { $ref: '#/definitions/mappingName' },
      at: { $ref: '#/definitions/address' },
      shared: { type: 'boolean' },
    },
    required: ['proc', 'size', 'prot', 'as'],
    additionalProperties: false,
    description: 'mmap(2), anonymous.',
  },
  munmap: {
    type: 'object',
    properties: {
      proc: { $ref: '#/definitions/name' },
      addr: { $ref: '#/definitions/address' },
      size: { $ref: '#/definitions/size' },
    },
    required: ['proc', 'addr', 'size'],
    additionalProperties: false,
    description: 'munmap(2).',
  },
  mprotect: {
    type: 'object',
    properties: {
      proc: { $ref: '#/definitions/name' },
      addr: { $ref: '#/definitions/address' },
      size: { $ref: '#/definitions/size' },
      prot: { $ref: '#/definitions/prot' },
    },
    required: ['proc', 'addr', 'size', 'prot'],
    additionalProperties: false,
    description: 'mprotect(2).',
  },
  madvise: {
    type: 'object',
    properties: {
      proc: { $ref: '#/definitions/name' },
      addr: { $ref: '#/definitions/address' },
      size: { $ref: '#/definitions/size' },
      advice: { enum: ['mergeable', 'unmergeable', 'dontneed', 'nohugepage'] },
    },
    required: ['proc', 'addr', 'size', 'advice'],
    additionalProperties: false,
    description: 'madvise(2).',
  },
  write: {
    type: 'object',
    properties: {
      proc: { $ref: '#/definitions/name' },
      addr: { $ref: '#/definitions/address' },
      data: { type: 'string', minLength: 1 },
      bytes: { $ref: '#/definitions/bytes' },
      fill: { $ref: '#/definitions/byte' },
      pattern: { $ref: '#/definitions/pattern' },
      size: { $ref: '#/definitions/size' },
    },
    required: ['proc', 'addr'],
    additionalProperties: false,
    oneOf: [
      { required: ['data'] },
      { required: ['bytes'] },
      { required: ['fill'] },
      { required: ['pattern'] },
    ],
    dependencies: { size: ['fill'] },
    description: 'A CPU store; faults as needed.',
  },
  read: {
    type: 'object',
    properties: {
      proc: { $ref: '#/definitions/name' },
      addr: { $ref: '#/definitions/address' },
      size: { $ref: '#/definitions/size' },
      expect: { $ref: '#/definitions/byteValue' },
    },
    required: ['proc', 'addr'],
    additionalProperties: false,
    description: 'A CPU load; faults as needed. `expect` is the bytes it must return.',
  },
  fork: {
    type: 'object',
    properties: { proc: { $ref: '#/definitions/name' }, child: { $ref: '#/definitions/name' } },
    required: ['proc', 'child'],
    additionalProperties: false,
    description: 'fork(2).',
  },
  exit: {
    oneOf: [
      { $ref: '#/definitions/name' },
      {
        type: 'object',
        properties: { proc: { $ref: '#/definitions/name' } },
        required: ['proc'],
        additionalProperties: false,
      },
    ],
    description: 'exit(2): the mm is torn down, notifiers get release.',
  },
  ksm: {
    type: 'object',
    properties: { scan: { $ref: '#/definitions/pageCount' }, full_scans: { type: 'integer', minimum: 1 } },
    additionalProperties: false,
    oneOf: [{ required: ['scan'] }, { required: ['full_scans'] }],
    description: 'ksmd runs until that much work is done.',
  },
  vm: {
    type: 'object',
    properties: {
      name: { $ref: '#/definitions/name' },
      proc: { $ref: '#/definitions/name' },
      memslots: {
        type: 'array',
        minItems: 1,
        items: {
          type: 'object',
          properties: {
            gfn: { type: 'integer', minimum: 0 },
            addr: { $ref: '#/definitions/address' },
            size: { $ref: '#/definitions/pageAlignedSize' },
          },
          required: ['gfn', 'addr', 'size'],
          additionalProperties: false,
        },
      },
      vcpus: { type: 'integer', minimum: 1, maximum: 1024 },
    },
    required: ['name', 'proc', 'memslots'],
    additionalProperties: false,
    description: "A KVM guest whose memory is the process's mapping; registers the mmu notifier.",
  },
  guest: {
    type: 'object',
    properties: {
      vm: { $ref: '#/definitions/name' },
      op: { $ref: '#/definitions/access' },
      gfn: { type: 'integer', minimum: 0 },
      gpa: { $ref: '#/definitions/guestAddress' },
      pages: { $ref: '#/definitions/pageCount' },
      data: { type: 'string', minLength: 1, maxLength: 4096 },
      bytes: { type: 'array', minItems: 1, maxItems: 4096, items: { $ref: '#/definitions/byte' } },
      fill: { $ref: '#/definitions/byte' },
      pattern: { $ref: '#/definitions/pattern' },
      size: {
        oneOf: [
          { type: 'integer', minimum: 1, maximum: 4096 },
          {
            type: 'string',
            pattern: '^\\s*(0[xX][0-9a-fA-F]+|[0-9]+(\\.[0-9]+)?)\\s*(B|KiB|MiB|GiB|TiB|p|page|pages)?\\s*$',
          },
        ],
      },
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
  device: {
    type: 'object',
    properties: { name: { $ref: '#/definitions/name' }, proc: { $ref: '#/definitions/name' } },
    required: ['name', 'proc'],
    additionalProperties: false,
    description: 'An HMM device mirror of the process (interval notifier).',
  },
  dev: {
    type: 'object',
    properties: {
      device: { $ref: '#/definitions/name' },
      op: { $ref: '#/definitions/access' },
      addr: { $ref: '#/definitions/address' },
      pages: { $ref: '#/definitions/pageCount' },
    },
    required: ['device', 'op', 'addr'],
    additionalProperties: false,
    description: 'Device accesses through its mirror.',
  },
  iommu: {
    type: 'object',
    properties: { name: { $ref: '#/definitions/name' }, proc: { $ref: '#/definitions/name' } },
    required: ['name', 'proc'],
    additionalProperties: false,
    description: 'An IOMMU SVA binding (shares the page table, caches an IOTLB).',
  },
  dma: {
    type: 'object',
    properties: {
      iommu: { $ref: '#/definitions/name' },
      op: { $ref: '#/definitions/access' },
      addr: { $ref: '#/definitions/address' },
      pages: { $ref: '#/definitions/pageCount' },
    },
    required: ['iommu', 'op', 'addr'],
    additionalProperties: false,
    description: 'Device DMA through the IOMMU.',
  },
  gup: {
    type: 'object',
    properties: {
      proc: { $ref: '#/definitions/name' },
      addr: { $ref: '#/definitions/address' },
      pages: { $ref: '#/definitions/pageCount' },
      write: { type: 'boolean' },
      pin: { type: 'boolean' },
      as: { $ref: '#/definitions/name' },
    },
    required: ['proc', 'addr', 'pages', 'as'],
    additionalProperties: false,
    description: 'get_user_pages / pin_user_pages (O_DIRECT, RDMA).',
  },
  unpin: {
    oneOf: [
      { $ref: '#/definitions/name' },
      {
        type: 'object',
        properties: { pin: { $ref: '#/definitions/name' } },
        required: ['pin'],
        additionalProperties: false,
      },
    ],
    description: 'Release a gup by its name.',
  },
  pin_io: {
    type: 'object',
    properties: { pin: { $ref: '#/definitions/name' }, op: { $ref: '#/definitions/access' } },
    required: ['pin', 'op'],
    additionalProperties: false,
    description:
      'Device I/O through a gup pin: a DMA store into (write) or a load from (read) the pinned pages.',
  },
  repeat: {
    type: 'object',
    properties: { times: { type: 'integer', minimum: 1 }, steps: { $ref: '#/definitions/nonEmptySteps' } },
    required: ['times', 'steps'],
    additionalProperties: false,
    description: 'The steps, again and again.',
  },
  parallel: {
    type: 'object',
    properties: { threads: { type: 'array', minItems: 1, items: { $ref: '#/definitions/nonEmptySteps' } } },
    required: ['threads'],
    additionalProperties: false,
    description: 'Steps whose kernel paths may interleave.',
  },
} as const satisfies Record<StepOp, JsonSchema>;
