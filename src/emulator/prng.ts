/** A deterministic pseudo-random number generator returning floats in [0, 1). */
export type Random = () => number;

/** mulberry32: tiny, fast and good enough for demo data and fault dice. */
export function mulberry32(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Integer in [min, max] (both inclusive). */
export function randomInt(rng: Random, min: number, max: number): number {
  return min + Math.floor(rng() * (max - min + 1));
}

/** One element of a non-empty array. */
export function pick<T>(rng: Random, items: readonly T[]): T {
  const item = items[Math.floor(rng() * items.length)];
  if (item === undefined) {
    throw new Error('pick() needs a non-empty array');
  }
  return item;
}

/** `n` lowercase hexadecimal digits. */
export function randomHex(rng: Random, n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) {
    out += Math.floor(rng() * 16).toString(16);
  }
  return out;
}

/** A version-4-shaped UUID drawn from `rng`. */
export function randomUuid(rng: Random): string {
  const hex = randomHex(rng, 32).split('');
  hex[12] = '4';
  hex[16] = '89ab'.charAt(Math.floor(rng() * 4));
  const s = hex.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}
