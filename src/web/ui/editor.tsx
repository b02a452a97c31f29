/** The scenario editor: CodeMirror 6 with YAML, the parser's errors shown inline at their line:col. */
import { yaml } from '@codemirror/lang-yaml';
import { type Diagnostic, setDiagnostics } from '@codemirror/lint';
import { EditorView } from '@codemirror/view';
import { basicSetup } from 'codemirror';
import { useEffect, useRef } from 'preact/hooks';
import type { ScenarioError } from '../../scenario/parse.js';

export function Editor(props: { text: string; errors: ScenarioError[]; onChange: (text: string) => void }) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const onChange = useRef(props.onChange);
  onChange.current = props.onChange;
  useEffect(() => {
    const v = new EditorView({
      doc: props.text,
      parent: host.current!,
      extensions: [
        basicSetup,
        yaml(),
        EditorView.updateListener.of((u) => {
          if (u.docChanged) onChange.current(u.state.doc.toString());
        }),
      ],
    });
    view.current = v;
    return () => v.destroy();
  }, []);
  // a new scenario from outside (gallery, link, file)
  useEffect(() => {
    const v = view.current;
    if (v !== null && v.state.doc.toString() !== props.text)
      v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: props.text } });
  }, [props.text]);
  useEffect(() => {
    const v = view.current;
    if (v === null) return;
    const doc = v.state.doc;
    const diagnostics: Diagnostic[] = props.errors.map((e) => {
      const line = doc.line(Math.max(1, Math.min(e.line, doc.lines)));
      const from = Math.min(line.from + e.col - 1, line.to);
      return { from, to: Math.max(from, line.to), severity: 'error', message: e.message };
    });
    v.dispatch(setDiagnostics(v.state, diagnostics));
  }, [props.errors]);
  return <div class="editor" ref={host} />;
}
