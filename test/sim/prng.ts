// A small seeded PRNG (xorshift32): every random choice of a simulation comes from its seed,
// so a seed replays exactly.
export type Rand = () => number;

export function seeded(seed: number): Rand {
  let s = (seed ^ 0x9e3779b9) >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 2 ** 32;
  };
}

export const chance = (rand: Rand, p: number) => rand() < p;
export const pick = <T>(rand: Rand, items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
export const between = (rand: Rand, lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
