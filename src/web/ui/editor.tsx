/**
 * The scenario editor: CodeMirror 6 with YAML, the parser's errors shown inline at their line:col in the
 * CLI's own words, and the line of the current step highlighted. It follows the signals itself, so a
 * step moves one line decoration and never re-renders the page around it.
 */
import { yaml } from '@codemirror/lang-yaml';
import { type Diagnostic, setDiagnostics } from '@codemirror/lint';
import { StateEffect, StateField } from '@codemirror/state';
import { Decoration, type DecorationSet, EditorView } from '@codemirror/view';
import { useSignalEffect } from '@preact/signals';
import { basicSetup } from 'codemirror';
import { useEffect, useRef } from 'preact/hooks';
import { formatError } from '../../scenario/parse.js';
import { errors, stepLine, text } from './state.js';

const setStepLine = StateEffect.define<number | null>();

const stepLineField = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(deco, tr) {
    let out = deco.map(tr.changes);
    for (const e of tr.effects)
      if (e.is(setStepLine)) {
        const n = e.value;
        out =
          n === null || n > tr.state.doc.lines
            ? Decoration.none
            : Decoration.set([Decoration.line({ class: 'cm-step-line' }).range(tr.state.doc.line(n).from)]);
      }
    return out;
  },
  provide: (f) => EditorView.decorations.from(f),
});

export function Editor() {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  useEffect(() => {
    const v = new EditorView({
      doc: text.peek(),
      parent: host.current!,
      extensions: [
        basicSetup,
        yaml(),
        stepLineField,
        EditorView.updateListener.of((u) => {
          if (u.docChanged) text.value = u.state.doc.toString();
        }),
      ],
    });
    view.current = v;
    return () => v.destroy();
  }, []);
  // a new scenario from outside (gallery, link, file)
  useSignalEffect(() => {
    const t = text.value;
    const v = view.current;
    if (v !== null && v.state.doc.toString() !== t)
      v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: t } });
  });
  useSignalEffect(() => {
    const list = errors.value;
    const v = view.current;
    if (v === null) return;
    const doc = v.state.doc;
    const diagnostics: Diagnostic[] = list.map((e) => {
      const line = doc.line(Math.max(1, Math.min(e.line, doc.lines)));
      const from = Math.min(line.from + e.col - 1, line.to);
      return { from, to: Math.max(from, line.to), severity: 'error', message: formatError(e) };
    });
    v.dispatch(setDiagnostics(v.state, diagnostics));
  });
  useSignalEffect(() => {
    const n = stepLine.value;
    const v = view.current;
    if (v === null) return;
    const effects: StateEffect<unknown>[] = [setStepLine.of(n)];
    if (n !== null && n <= v.state.doc.lines)
      effects.push(EditorView.scrollIntoView(v.state.doc.line(n).from, { y: 'nearest' }));
    v.dispatch({ effects });
  });
  return <div class="editor" ref={host} />;
}
