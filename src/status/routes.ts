/** The status API's paths (`/V<n>/bulk...`, already stripped of `/rest/<store>`). */
export type StatusRoute =
  | { kind: 'search' }
  | { kind: 'status' | 'detailed' | 'results' | 'retry' | 'cancel'; uuid: string }
  | { kind: 'count'; uuid: string; status: string };

/** Matches one of our paths; null: not ours. */
export function matchStatusRoute(method: string, path: string): StatusRoute | null {
  const segs = path.replace(/\/+$/, '').split('/');
  if (segs[0] !== '' || !/^V\d+$/.test(segs[1] ?? '') || segs[2] !== 'bulk') return null;
  if (segs.length === 3) return method === 'GET' ? { kind: 'search' } : null;
  const uuid = decodeSegment(segs[3]!);
  if (segs.length === 5) {
    const action = segs[4];
    if (method === 'GET') {
      if (action === 'status') return { kind: 'status', uuid };
      if (action === 'detailed-status') return { kind: 'detailed', uuid };
      if (action === 'results.ndjson') return { kind: 'results', uuid };
    }
    if (method === 'POST') {
      if (action === 'retry') return { kind: 'retry', uuid };
      if (action === 'cancel') return { kind: 'cancel', uuid };
    }
    return null;
  }
  if (segs.length === 6 && segs[4] === 'operation-status' && method === 'GET') {
    return { kind: 'count', uuid, status: decodeSegment(segs[5]!) };
  }
  return null;
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
