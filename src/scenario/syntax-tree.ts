/**
 * A scenario file's structure as the readers (nodes.ts and what builds on it) see it: maps, lists and
 * scalars, each knowing where it starts in the text. source.ts builds it, from the fast reader of
 * plain YAML (yaml-subset.ts) or from the yaml library's document for everything else, so the readers
 * do not depend on which did.
 */

/** What a scalar resolves to under YAML 1.2's core schema (integers as bigint, to catch precision loss). */
export type ScalarValue = string | number | bigint | boolean | null;

export interface ScalarNode {
  readonly kind: 'scalar';
  readonly value: ScalarValue;
  /** Offsets into the text: where the scalar starts and where its source ends. */
  readonly start: number;
  readonly end: number;
}

export interface MapPair {
  /** Undefined only for an explicit key with nothing in it (`? ` then nothing). */
  readonly key: SyntaxNode | undefined;
  readonly value: SyntaxNode | undefined;
}

/**
 * A map's or list's `items` may be made anew on each access (yaml-subset.ts keeps a large file's
 * nodes compact until read): read it once per use.
 */
export interface MapNode {
  readonly kind: 'map';
  readonly items: readonly MapPair[];
  readonly start: number;
}

export interface SeqNode {
  readonly kind: 'seq';
  readonly items: readonly (SyntaxNode | undefined)[];
  readonly start: number;
}

/** `*name`: the node anchored `&name` before it, undefined when there is none. */
export interface AliasNode {
  readonly kind: 'alias';
  readonly name: string;
  readonly target: SyntaxNode | undefined;
  readonly start: number;
}

export type SyntaxNode = ScalarNode | MapNode | SeqNode | AliasNode;

export const isScalar = (node: unknown): node is ScalarNode =>
  (node as SyntaxNode | undefined)?.kind === 'scalar';
export const isMap = (node: unknown): node is MapNode => (node as SyntaxNode | undefined)?.kind === 'map';
export const isSeq = (node: unknown): node is SeqNode => (node as SyntaxNode | undefined)?.kind === 'seq';
export const isAlias = (node: unknown): node is AliasNode =>
  (node as SyntaxNode | undefined)?.kind === 'alias';

/** The value of a map's scalar key `key` (the first such pair), or undefined. */
export function mapGet(map: MapNode, key: string): SyntaxNode | undefined {
  for (const pair of map.items) if (isScalar(pair.key) && pair.key.value === key) return pair.value;
  return undefined;
}

/** Whether a map has a scalar key `key`. */
export function mapHas(map: MapNode, key: string): boolean {
  return map.items.some((pair) => isScalar(pair.key) && pair.key.value === key);
}
