/**
 * Interceptor chains in Magento's order (Magento\Framework\Interception: PluginList::_inheritPlugins
 * builds the chain, Interceptor::___callPlugins walks it). Plugin authors who know Magento must be
 * able to predict what runs when, so this reproduces that algorithm rather than a simple onion.
 *
 * 1. Sorting. Interceptors are sorted by sortOrder ascending. Magento's di.xml mapper turns a
 *    missing sortOrder into 0, so a missing one here is 0 too. Magento breaks ties by configuration
 *    merge order (module load order), which a plugin author cannot see; we break them by interceptor
 *    name, then by plugin name, so the order is stable and readable.
 * 2. Disabled interceptors are dropped after sorting (they keep no place in the chain).
 * 3. Segments. The chain is cut into segments at each `around`. Walking the sorted list, every
 *    interceptor joins the segment opened by the last `around` before it (the first segment when
 *    there is none yet); an interceptor that has an `around` is that segment's around and opens the
 *    next segment for the interceptors after it. Its own before/after stay in the segment its around
 *    belongs to. In a segment, befores keep ascending order; afters are kept in DESCENDING order
 *    (Magento prepends each new after since 2.2), so the lowest sortOrder's after runs last.
 * 4. Running a segment: its befores in order (each may return new arguments; returning undefined
 *    or null keeps them, as PHP's null does), then its around, whose `next` runs the next segment
 *    with the arguments the around passes (or, with none, the ones it received) — or the handler
 *    when there is no around — then its afters, each given the result so far and the arguments as
 *    they were after this segment's befores.
 *
 * Example, Magento's documentation case: A(10) before+after, B(20) before+around+after,
 * C(30) before+around+after runs A.before, B.before, B.around[ C.before, C.around[ handler ],
 * C.after ], B.after, A.after.
 */
import type { HandlerContext } from '../kernel/handler.ts';
import type { Interceptor } from './define.ts';

/** An interceptor together with the plugin that declared it. */
export interface OwnedInterceptor {
  plugin: string;
  interceptor: Interceptor;
  /** Operations a `*` interceptor is switched off for by another plugin's `disabled` entry. */
  except?: readonly string[];
}

export type Invoke = (args: unknown, ctx: HandlerContext) => Promise<unknown>;

interface Segment {
  befores: Interceptor[];
  around: OwnedInterceptor | null;
  afters: Interceptor[];
  /** Segment the around's `next` enters, or null for the handler. */
  next: Segment | null;
}

export function sortInterceptors(list: readonly OwnedInterceptor[]): OwnedInterceptor[] {
  return [...list].sort(
    (a, b) =>
      (a.interceptor.sortOrder ?? 0) - (b.interceptor.sortOrder ?? 0) ||
      compare(a.interceptor.name, b.interceptor.name) ||
      compare(a.plugin, b.plugin),
  );
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function buildSegments(sorted: readonly OwnedInterceptor[]): Segment {
  const first: Segment = { befores: [], around: null, afters: [], next: null };
  let current = first;
  for (const owned of sorted) {
    const i = owned.interceptor;
    const segment = current;
    if (i.around) {
      segment.around = owned;
      current = { befores: [], around: null, afters: [], next: null };
      segment.next = current;
    }
    if (i.before) segment.befores.push(i);
    if (i.after) segment.afters.unshift(i);
  }
  return first;
}

/**
 * Compiles the chain for one operation once; the returned function runs it around `handler`.
 * `interceptors` must already exclude disabled ones; they are sorted here.
 */
export function compileChain(interceptors: readonly OwnedInterceptor[], handler: Invoke): Invoke {
  if (!interceptors.length) return handler;
  const first = buildSegments(sortInterceptors(interceptors));
  const run = async (segment: Segment | null, input: unknown, ctx: HandlerContext): Promise<unknown> => {
    if (!segment) return handler(input, ctx);
    let args = input;
    for (const i of segment.befores) {
      const changed = await i.before!(args, ctx);
      if (changed !== undefined && changed !== null) args = changed;
    }
    let result: unknown;
    if (segment.around) {
      const received = args;
      const next = (nextArgs: unknown) => run(segment.next, nextArgs === undefined ? received : nextArgs, ctx);
      result = await segment.around.interceptor.around!(next, args, ctx);
    } else {
      result = await handler(args, ctx);
    }
    for (const i of segment.afters) result = await i.after!(result, args, ctx);
    return result;
  };
  return (args, ctx) => run(first, args, ctx);
}
