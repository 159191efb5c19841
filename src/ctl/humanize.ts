// Sizes as etcdctl prints them (go-humanize's Bytes): SI units, one decimal below 10.
const UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];

export function humanBytes(n: number): string {
  if (n < 10) return `${n} B`;
  const e = Math.floor(Math.log(n) / Math.log(1000));
  const value = Math.floor((n / 1000 ** e) * 10 + 0.5) / 10;
  return `${value < 10 ? value.toFixed(1) : halfEven(value)} ${UNITS[e]}`;
}

/** Go's %.0f: a half rounds to the even neighbour (20.5 → 20), unlike toFixed. */
function halfEven(v: number): string {
  const r = Math.round(v);
  return String(v % 1 === 0.5 && r % 2 ? r - 1 : r);
}
