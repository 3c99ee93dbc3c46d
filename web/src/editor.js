// The notebook's code editor: CodeMirror 6 with Python highlighting and indentation,
// bundled by esbuild into web/vendor/editor.js (an IIFE exposing `WebdlEditor`).
import { EditorView, keymap, lineNumbers, highlightActiveLine, drawSelection } from "@codemirror/view";
import { EditorState, Prec } from "@codemirror/state";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { python } from "@codemirror/lang-python";
import { syntaxHighlighting, defaultHighlightStyle, indentOnInput, bracketMatching } from "@codemirror/language";

// create({parent, doc, onChange, keys: {"Shift-Enter": fn, ...}, onFocus}) -> EditorView
export function create({ parent, doc, onChange, keys, onFocus }) {
  const bindings = Object.entries(keys || {}).map(([key, run]) => ({ key, run: () => { run(); return true; } }));
  return new EditorView({
    parent,
    state: EditorState.create({
      doc: doc || "",
      extensions: [
        Prec.highest(keymap.of(bindings)),
        lineNumbers(), history(), drawSelection(), highlightActiveLine(), indentOnInput(),
        bracketMatching(), python(), syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
        keymap.of([indentWithTab, ...defaultKeymap, ...historyKeymap]),
        EditorState.tabSize.of(4),
        EditorView.updateListener.of((u) => {
          if (u.docChanged && onChange) onChange(u.state.doc.toString());
          if (u.focusChanged && u.view.hasFocus && onFocus) onFocus();
        }),
      ],
    }),
  });
}

export function setText(view, text) {
  view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
}
