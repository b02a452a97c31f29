/**
 * The gallery's scenarios, bundled at build time: examples/*.yaml, the historical bugs
 * (examples/bugs/*.yaml) and the headline experiment's 16k-page fleet (src/web/gallery). The named
 * experiments themselves come from the worker (they are code, run there).
 */
const bundled = import.meta.glob(['../../../examples/**/*.yaml', '../gallery/*.yaml'], {
  query: '?raw',
  import: 'default',
  eager: true,
}) as Record<string, string>;

export type Group = 'examples' | 'bugs' | 'experiments';

export interface Entry {
  /** 'examples/08-guest-after-merge-v5.0.yaml', 'gallery/headline-fleet.yaml' */
  file: string;
  group: Group;
  /** The file's leading comment, one paragraph. */
  about: string;
  text: string;
}

export const ENTRIES: Entry[] = Object.entries(bundled)
  .map(([path, text]) => {
    const file = path.replace(/^(\.\.\/)+/, '');
    const lead: string[] = [];
    for (const line of text.split('\n')) {
      if (!line.startsWith('#')) break;
      lead.push(line.replace(/^#\s?/, ''));
    }
    const group: Group = file.startsWith('examples/bugs/')
      ? 'bugs'
      : file.startsWith('examples/')
        ? 'examples'
        : 'experiments';
    return { file, group, about: lead.join(' '), text };
  })
  .sort((a, b) => a.file.localeCompare(b.file));

export const DEFAULT_EXAMPLE = 'examples/08-guest-after-merge-v5.0.yaml';
export const HEADLINE = 'gallery/headline-fleet.yaml';

export const findEntry = (file: string): Entry | undefined => ENTRIES.find((e) => e.file === file);

/** A file's short name: 'examples/bugs/x.yaml' -> 'bugs/x'. */
export const shortName = (file: string): string =>
  file
    .replace(/^examples\//, '')
    .replace(/^gallery\//, '')
    .replace(/\.ya?ml$/, '');
