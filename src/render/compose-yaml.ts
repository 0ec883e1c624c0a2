import { LineCounter, isNode, parseDocument, type Document } from "yaml";

export interface YamlProblem {
  message: string;
  line: number | null;
  column: number | null;
}

export interface ParsedCompose {
  /** The document as plain JS; null when it did not parse. */
  data: unknown;
  errors: YamlProblem[];
  /** 1-based line of the node at `path`, or of its nearest existing parent. */
  lineOf(path: (string | number)[]): number | null;
}

/** Parses rendered compose YAML, keeping line numbers for messages. */
export function parseComposeYaml(text: string): ParsedCompose {
  const lineCounter = new LineCounter();
  const doc: Document = parseDocument(text, { lineCounter, uniqueKeys: true });
  const errors = doc.errors.map((e) => ({
    // Pretty errors carry linePos; the location suffix and the code excerpt are dropped from the text.
    message: (e.message.split("\n")[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, ""),
    line: e.linePos?.[0]?.line ?? null,
    column: e.linePos?.[0]?.col ?? null,
  }));
  const lineOf = (path: (string | number)[]): number | null => {
    for (let n = path.length; n >= 0; n--) {
      const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
      if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
    }
    return null;
  };
  return { data: errors.length > 0 ? null : doc.toJS(), errors, lineOf };
}
