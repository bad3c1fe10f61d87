import fs from 'node:fs';
import path from 'node:path';
import * as A from '../src/asterisk/ami-frame';
import * as B from './var';
import { toPbxEvent } from '../src/asterisk/to-pbx-event';
const dir = 'test/fixtures/ami';
let raws: string[] = [];
for (const d of fs.readdirSync(dir)) {
  const f = path.join(dir, d, 'ami.jsonl');
  if (!fs.existsSync(f)) continue;
  for (const l of fs.readFileSync(f, 'utf8').split('\n')) if (l.trim()) { const r = JSON.parse(l).raw as string; if (r.startsWith('Event:')) raws.push(r); }
}
raws = raws.filter((r) => toPbxEvent(A.parseAmiFrame(r), new Date(), 0) !== null);
let text = '';
while (text.length < 30e6) text += raws.join('');
const chunks: string[] = [];
for (let i = 0; i < text.length; i += 65536) chunks.push(text.slice(i, i + 65536));
const which = process.argv[2] === 'B' ? B : A;
for (let round = 0; round < 5; round++) {
  let n = 0, ev = 0;
  const p = which.createAmiStreamParser((f) => { n++; if (toPbxEvent(f as any, new Date(), 0)) ev++; });
  const t = process.hrtime.bigint();
  for (const c of chunks) p(c);
  const ns = Number(process.hrtime.bigint() - t);
  console.log(process.argv[2], n, ev, (ns / n / 1000).toFixed(2), 'µs/frame');
}
