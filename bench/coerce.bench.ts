/**
 * Micro-benchmark: what converting handler arguments costs the consumer per operation. Baseline,
 * same run: what it already does for every operation before the handler, decoding the stored
 * `serialized_data` (two JSON.parse, meta_information being a JSON string inside it). Measured: the
 * same plus `coerceArgs` as the consumer runs it (in place: the generated validator with its
 * coercion), and for comparison with a copy first (structuredClone), on
 * 5,000 stored product saves whose scalars arrive as strings, as a PIM's export often sends them.
 * Goal: ratio (baseline / with coercion) ≥ 0.5, i.e. at most doubling a cost that is itself a small
 * part of an operation's (the consumer benchmark: hundreds of µs each).
 * Run: npx node bench/coerce.bench.ts
 */
import { validators } from '../src/generated/validators.gen.js';
import { coerceArgs } from '../src/plugins/coerce.ts';

function stored(i: number): string {
  const input = {
    product: {
      sku: `SKU-${String(i).padStart(6, '0')}`,
      name: `Fusion Backpack ${i}`,
      attribute_set_id: '4',
      price: String(Math.round(i * 137.31) / 100 + 0.99),
      status: '1',
      visibility: 4,
      type_id: 'simple',
      weight: (i % 50) / 10 + 0.5,
      extension_attributes: {
        website_ids: ['1'],
        category_links: [{ position: 0, category_id: String(3 + (i % 20)) }],
      },
      custom_attributes: [
        { attribute_code: 'description', value: `<p>The sporty Fusion Backpack #${i} is built for the gym.</p>` },
        { attribute_code: 'url_key', value: `fusion-backpack-${i}` },
      ],
    },
  };
  return JSON.stringify({ entity_id: null, entity_link: '', meta_information: JSON.stringify(input), store_id: '1' });
}

const rows = Array.from({ length: 5000 }, (_, i) => stored(i));
const parse = (s: string): unknown => JSON.parse((JSON.parse(s) as { meta_information: string }).meta_information);
const validator = validators.PostV1Products;

/** Seconds for one pass over every row. */
function pass(fn: (row: string) => void): number {
  const start = process.hrtime.bigint();
  for (const r of rows) fn(r);
  return Number(process.hrtime.bigint() - start) / 1e9;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

let sink = 0;
const check = coerceArgs(validator, parse(rows[0]!));
if (!check.ok) throw new Error(`the bench input must be valid: ${check.message}`);
const variants = {
  decode: (r: string) => void (sink += parse(r) ? 1 : 0),
  inPlace: (r: string) => void (sink += coerceArgs(validator, parse(r), { inPlace: true }).ok ? 1 : 0),
  copied: (r: string) => void (sink += coerceArgs(validator, parse(r)).ok ? 1 : 0),
};
for (let i = 0; i < 3; i++) for (const fn of Object.values(variants)) pass(fn); // warm-up
// Interleaved rounds: the machine is shared, so each round compares passes run moments apart.
const times: Record<keyof typeof variants, number[]> = { decode: [], inPlace: [], copied: [] };
const ratios: { inPlace: number[]; copied: number[] } = { inPlace: [], copied: [] };
for (let round = 0; round < 21; round++) {
  const t = { decode: pass(variants.decode), inPlace: pass(variants.inPlace), copied: pass(variants.copied) };
  for (const k of Object.keys(t) as (keyof typeof t)[]) times[k].push(t[k]);
  ratios.inPlace.push(t.decode / t.inPlace);
  ratios.copied.push(t.decode / t.copied);
}
const us = (s: number) => `${((s / rows.length) * 1e6).toFixed(1).padStart(5)} µs/op`;
const spread = (xs: number[]) => `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}`;
console.log(`5,000 stored product saves, 21 interleaved rounds, medians (sink ${sink > 0 ? 'ok' : '?'})`);
console.log(`decode (baseline)         ${us(median(times.decode))}`);
console.log(
  `decode + coerce in place  ${us(median(times.inPlace))}   ratio ${median(ratios.inPlace).toFixed(2)} (spread ${spread(ratios.inPlace)}; goal ≥ 0.50)`,
);
console.log(
  `decode + copy + coerce    ${us(median(times.copied))}   ratio ${median(ratios.copied).toFixed(2)} (spread ${spread(ratios.copied)})`,
);
