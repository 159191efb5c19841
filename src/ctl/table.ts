// etcdctl's `-w table`: the ASCII tables of the Go tablewriter etcdctl 3.4 renders with, byte
// for byte: borders of + - |, upper-case headers centred, cells aligned right, and text wider
// than 30 columns wrapped at spaces into as many lines as it takes.

/** Cells wider than this wrap at spaces (a single word is never broken). */
const WRAP_WIDTH = 30;

const width = (s: string) => [...s].length;

/** Splits words into lines of at most `limit` columns, with the least squared slack. */
function wrapWords(words: string[], limit: number): string[][] {
  const n = words.length;
  const span = (i: number, j: number) => words.slice(i, j + 1).reduce((sum, w) => sum + width(w), 0) + (j - i);
  const breakAt = new Array<number>(n).fill(n);
  const cost = new Array<number>(n).fill(2 ** 31 - 1);
  for (let i = n - 1; i >= 0; i--) {
    if (span(i, n - 1) <= limit) {
      cost[i] = 0;
      breakAt[i] = n;
      continue;
    }
    for (let j = i + 1; j < n; j++) {
      const slack = limit - span(i, j - 1);
      // A line past the limit (one long word) costs far more than any slack.
      const c = slack * slack + cost[j]! + (span(i, j - 1) > limit ? 1e5 : 0);
      if (c < cost[i]!) {
        cost[i] = c;
        breakAt[i] = j;
      }
    }
  }
  const lines: string[][] = [];
  for (let i = 0; i < n; i = breakAt[i]!) lines.push(words.slice(i, breakAt[i]));
  return lines;
}

/** A cell's lines: its text as one paragraph, wrapped when wider than WRAP_WIDTH. */
function cellLines(text: string): string[] {
  const paragraph = text.split('\n').join(' ');
  const words = paragraph.split(' ');
  const limit = Math.max(Math.min(width(paragraph), WRAP_WIDTH), ...words.map(width));
  return wrapWords(words, limit).map((line) => line.join(' '));
}

/** The header as tablewriter formats it: `_` (and `.` between letters) become spaces, upper case. */
function title(name: string): string {
  const chars = [...name];
  const numOrSpace = (c: string | undefined) => c !== undefined && /[0-9 ]/.test(c);
  const mapped = chars.map((c, i) => {
    if (c === '_') return ' ';
    if (c === '.' && ((i !== 0 && !numOrSpace(chars[i - 1])) || (i !== chars.length - 1 && !numOrSpace(chars[i + 1])))) return ' ';
    return c;
  });
  const trimmed = mapped.join('').trim();
  return (trimmed.length === 0 && name.length > 0 ? ' ' : trimmed).toUpperCase();
}

const padLeft = (s: string, w: number) => ' '.repeat(Math.max(0, w - width(s))) + s;
const centre = (s: string, w: number) => {
  const gap = Math.max(0, w - width(s));
  const left = Math.floor(gap / 2);
  return ' '.repeat(left) + s + ' '.repeat(gap - left);
};

/** Renders `header` and `rows` as etcdctl's table printer does (rows aligned right). */
export function renderTable(header: string[], rows: string[][]): string {
  const head = header.map(cellLines);
  const body = rows.map((row) => row.map(cellLines));
  const widths = header.map((_, col) => Math.max(...[head[col]!, ...body.map((r) => r[col] ?? [''])].flatMap((lines) => lines.map(width))));
  const rule = '+' + widths.map((w) => '-'.repeat(w + 2) + '+').join('') + '\n';
  const block = (cells: string[][], pad: (s: string, w: number) => string, filler: string) => {
    const height = Math.max(...cells.map((c) => c.length));
    let out = '';
    for (let line = 0; line < height; line++) out += '|' + cells.map((c, col) => ` ${pad(c[line] ?? filler, widths[col]!)} |`).join('') + '\n';
    return out;
  };
  // A cell shorter than its row is filled with empty header lines, or body lines of two spaces.
  return rule + block(head.map((lines) => lines.map(title)), centre, '') + rule + body.map((r) => block(r, padLeft, '  ')).join('') + rule;
}
