/** The status API's paths (`/V<n>/bulk...`, already stripped of `/rest/<store>`). */
export type StatusRoute =
  | { kind: 'search' | 'list' | 'listStream' | 'queues' }
  | { kind: 'status' | 'detailed' | 'results' | 'retry' | 'cancel' | 'webhook' | 'stream'; uuid: string }
  | { kind: 'count'; uuid: string; status: string };

/** Matches one of our paths; null: not ours. */
export function matchStatusRoute(method: string, path: string): StatusRoute | null {
  const segs = path.replace(/\/+$/, '').split('/');
  if (segs[0] !== '' || !/^V\d+$/.test(segs[1] ?? '')) return null;
  // Beyond Magento: the dashboard's bulk list and queues page.
  if (segs.length === 3 && method === 'GET' && segs[2] === 'bulks') return { kind: 'list' };
  if (segs.length === 3 && method === 'GET' && segs[2] === 'queues') return { kind: 'queues' };
  if (segs.length === 4 && method === 'GET' && segs[2] === 'bulks' && segs[3] === 'stream') {
    return { kind: 'listStream' };
  }
  if (segs[2] !== 'bulk') return null;
  if (segs.length === 3) return method === 'GET' ? { kind: 'search' } : null;
  const uuid = decodeSegment(segs[3]!);
  if (segs.length === 5) {
    const action = segs[4];
    if (method === 'GET') {
      if (action === 'status') return { kind: 'status', uuid };
      if (action === 'detailed-status') return { kind: 'detailed', uuid };
      if (action === 'results.ndjson') return { kind: 'results', uuid };
      if (action === 'webhook') return { kind: 'webhook', uuid };
      if (action === 'stream') return { kind: 'stream', uuid };
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
