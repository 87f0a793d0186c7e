/**
 * Micro-benchmark: PHP-faithful decode + encode of a 5,000-product bulk body beside native
 * JSON.parse + JSON.stringify on the same body, same run. Goal: ratio ≥ 0.3.
 * Run: npx node bench/php-json.bench.ts
 */
import { phpJsonDecode, phpJsonEncode } from '../src/accept/php-json.ts';

function product(i: number): unknown {
  return {
    product: {
      sku: `SKU-${String(i).padStart(6, '0')}`,
      name: i % 7 === 0 ? `Café Crème ${i} ☕` : `Fusion Backpack ${i}`,
      attribute_set_id: 4,
      price: Math.round(i * 137.31) / 100 + 0.99,
      status: 1,
      visibility: 4,
      type_id: 'simple',
      weight: (i % 50) / 10 + 0.5,
      extension_attributes: {
        website_ids: [1],
        stock_item: { qty: i % 300, is_in_stock: i % 3 !== 0 },
        category_links: [{ position: 0, category_id: String(3 + (i % 20)) }],
      },
      custom_attributes: [
        {
          attribute_code: 'description',
          value: `<p>The sporty Fusion Backpack #${i} is built for the gym/track. Padded straps & a roomy main compartment.</p>`,
        },
        { attribute_code: 'url_key', value: `fusion-backpack-${i}` },
        { attribute_code: 'meta_title', value: `Fusion Backpack ${i}` },
        { attribute_code: 'tax_class_id', value: '2' },
      ],
    },
  };
}

const body = JSON.stringify(Array.from({ length: 5000 }, (_, i) => product(i)));
const mb = Buffer.byteLength(body) / 1e6;

function time(fn: () => void, rounds: number): number {
  for (let i = 0; i < 3; i++) fn(); // warm-up
  const start = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) fn();
  return Number(process.hrtime.bigint() - start) / 1e9 / rounds;
}

const rounds = 20;
let sink = 0;
const nativeDecode = time(() => void (sink += (JSON.parse(body) as unknown[]).length), rounds);
const phpDecode = time(() => void (sink += phpJsonDecode(body) === null ? 0 : 1), rounds);
const parsedNative = JSON.parse(body) as unknown;
const parsedPhp = phpJsonDecode(body);
const nativeEncode = time(() => void (sink += JSON.stringify(parsedNative).length), rounds);
const phpEncode = time(() => void (sink += phpJsonEncode(parsedPhp).length), rounds);
const nativePair = nativeDecode + nativeEncode;
const phpPair = phpDecode + phpEncode;

const rate = (s: number) => `${(mb / s).toFixed(0).padStart(5)} MB/s`;
console.log(`body: 5,000 products, ${mb.toFixed(2)} MB (sink ${sink > 0 ? 'ok' : '?'})`);
console.log(
  `decode   php ${rate(phpDecode)}   native ${rate(nativeDecode)}   ratio ${(nativeDecode / phpDecode).toFixed(2)}`,
);
console.log(
  `encode   php ${rate(phpEncode)}   native ${rate(nativeEncode)}   ratio ${(nativeEncode / phpEncode).toFixed(2)}`,
);
console.log(
  `pair     php ${rate(phpPair)}   native ${rate(nativePair)}   ratio ${(nativePair / phpPair).toFixed(2)} (goal ≥ 0.30)`,
);
