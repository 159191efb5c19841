// etcdctl's table output (olekukonko/tablewriter as etcdctl sets it up): a ruled box, the
// header upper-cased and centred, every cell right-aligned, one space of padding.
export function renderTable(header: string[], rows: string[][]): string {
  const head = header.map((h) => h.toUpperCase());
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const rule = '+' + widths.map((w) => '-'.repeat(w + 2)).join('+') + '+\n';
  const line = (cells: string[]) => '|' + cells.map((c) => ` ${c} `).join('|') + '|\n';
  const centre = (s: string, w: number) => {
    const left = Math.floor((w - s.length) / 2);
    return ' '.repeat(left) + s + ' '.repeat(w - s.length - left);
  };
  return rule + line(head.map((h, i) => centre(h, widths[i]!))) + rule
    + rows.map((r) => line(widths.map((w, i) => (r[i] ?? '').padStart(w)))).join('') + rule;
}
