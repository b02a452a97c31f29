/** The example scenarios, bundled at build time (examples/*.yaml and examples/bugs/*.yaml). */
const files = import.meta.glob('../../../examples/**/*.yaml', {
  query: '?raw',
  import: 'default',
  eager: true,
}) as Record<string, string>;

export interface Example {
  /** 'examples/08-guest-after-merge-v5.0.yaml' */
  file: string;
  title: string;
  text: string;
}

export const EXAMPLES: Example[] = Object.entries(files)
  .map(([path, text]) => {
    const file = path.replace(/^(\.\.\/)+/, '');
    const first = text.split('\n').find((l) => l.startsWith('#'));
    const title = first === undefined ? file : first.replace(/^#\s*/, '');
    return { file, title, text };
  })
  .sort((a, b) => a.file.localeCompare(b.file));

export const DEFAULT_EXAMPLE = 'examples/08-guest-after-merge-v5.0.yaml';
