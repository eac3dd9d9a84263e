import { Redis } from 'ioredis';

export interface DumpedKey {
  key: string;
  type: string;
  /** Milliseconds left; -1 when the key has no TTL, -2 when it went away during the scan. */
  pttl: number;
}

/**
 * Everything a standalone Redis holds, as someone with a copy of it would read it: every key
 * (SCAN), its value read by type, and its DUMP (which may LZF-compress a long value, so the value
 * is read as data too). `text` is all of it in latin1, for needle scans.
 */
export async function dumpRedis(url: string): Promise<{ keys: DumpedKey[]; text: string }> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  try {
    const names = new Set<string>();
    let cursor = '0';
    do {
      const [next, batch] = await client.scan(cursor, 'COUNT', 100);
      cursor = next;
      for (const name of batch) names.add(name);
    } while (cursor !== '0');
    const keys: DumpedKey[] = [];
    let text = '';
    for (const key of [...names].sort()) {
      const type = await client.type(key);
      let value: string;
      if (type === 'string') value = (await client.getBuffer(key))?.toString('latin1') ?? '';
      else if (type === 'hash') value = Object.entries(await client.hgetallBuffer(key)).map(([field, v]) => `${field}=${v.toString('latin1')}`).join('\n');
      else if (type === 'zset') value = (await client.zrange(key, 0, -1, 'WITHSCORES')).join(' ');
      else if (type === 'set') value = (await client.smembers(key)).join(' ');
      else if (type === 'list') value = (await client.lrange(key, 0, -1)).join(' ');
      else if (type === 'stream') value = JSON.stringify(await client.xrange(key, '-', '+'));
      else value = '';
      const dumped = (await client.dumpBuffer(key))?.toString('latin1') ?? '';
      keys.push({ key, type, pttl: await client.pttl(key) });
      text += `${key}\n${value}\n${dumped}\n`;
    }
    return { keys, text };
  } finally {
    client.disconnect();
  }
}
