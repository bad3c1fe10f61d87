import crypto from 'node:crypto';
import request from 'supertest';
import { csvField, toCsv } from '../../src/reports/csv';
import type { AgentReportRow, AgentsReport } from '../../src/reports/reports.service';
import { createTestContext, type TestContext } from '../helpers/test-context';

/**
 * The supervisors' agents report over real HTTP on a known set of calls: per agent calls, answered,
 * missed, average wait and talk, reviews and their average score; totals per UTC day; the CSV.
 */
let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());

const DAY = 86_400_000;
const day = (t: number) => new Date(t).toISOString().slice(0, 10);

/**
 * Three UTC days of their own (somewhere in 1981–1989, so no other test's calls fall in them):
 * - day 1: A answers call 1 (wait 10 s, talk 60 s) and call 2 (wait 20 s, talk 120 s; B was rung
 *   first and did not answer); call 3 rings A and B, nobody answers (missed);
 * - day 2: B calls out (call 4: wait 5 s, talk 60 s); supervisor C answers call 5 (wait 30 s, talk
 *   60 s); call 6 is missed without ringing anyone (hung up in the IVR);
 * - day 3: nothing.
 * Outside the period: a call of A the day before and one the day after, with a review.
 * Reviews (submitted): call 1 → 80, call 2 → 61 (plus a draft, not counted), call 4 → 90.
 * Also an active manager D without calls (listed with zeros) and an inactive manager E without
 * calls (not listed).
 */
async function dataset() {
  const t0 = Date.UTC(1981, 0, 1) + crypto.randomInt(0, 3000) * DAY;
  const at = (dayIndex: number, seconds: number) => new Date(t0 + dayIndex * DAY + 9 * 3_600_000 + seconds * 1000);
  const [extA, extB, extC] = [ctx.f.extension(), ctx.f.extension(), ctx.f.extension()];
  const a = await ctx.f.user('manager', [extA]);
  const b = await ctx.f.user('manager', [extB]);
  const c = await ctx.f.user('supervisor', [extC]);
  const d = await ctx.f.user('manager');
  const e = await ctx.f.user('manager');
  await ctx.ds.query(`UPDATE users SET active = false WHERE id = $1`, [e.id]);
  const reviewer = await ctx.f.user('supervisor');
  const other = await ctx.f.user('admin');

  const leg = (extension: string, ringingAt: Date, answeredAt: Date | null, endedAt: Date, result: 'answered' | 'no-answer') => ({
    extension,
    ringingAt,
    answeredAt,
    endedAt,
    result,
  });
  const call1 = await ctx.f.call({
    startedAt: at(0, 0),
    answeredAt: at(0, 10),
    endedAt: at(0, 70),
    agentExtension: extA,
    agentUserId: a.id,
  });
  const call2 = await ctx.f.call({
    startedAt: at(0, 1000),
    answeredAt: at(0, 1020),
    endedAt: at(0, 1140),
    agentExtension: extA,
    agentUserId: a.id,
    legs: [leg(extB, at(0, 1000), null, at(0, 1015), 'no-answer'), leg(extA, at(0, 1015), at(0, 1020), at(0, 1140), 'answered')],
    legUsers: [b.id, a.id],
  });
  await ctx.f.call({
    startedAt: at(0, 2000),
    answeredAt: null,
    endedAt: at(0, 2030),
    legs: [leg(extA, at(0, 2000), null, at(0, 2030), 'no-answer'), leg(extB, at(0, 2000), null, at(0, 2030), 'no-answer')],
    legUsers: [a.id, b.id],
  });
  // an attended transfer: A answers, then hands the caller to B, who talks on (both answered it)
  await ctx.f.call({
    startedAt: at(0, 3000),
    answeredAt: at(0, 3010),
    endedAt: at(0, 3100),
    agentExtension: extA,
    agentUserId: a.id,
    legs: [leg(extA, at(0, 3000), at(0, 3010), at(0, 3040), 'answered'), leg(extB, at(0, 3030), at(0, 3040), at(0, 3100), 'answered')],
    legUsers: [a.id, b.id],
  });
  const call4 = await ctx.f.call({
    direction: 'outbound',
    startedAt: at(1, 0),
    answeredAt: at(1, 5),
    endedAt: at(1, 65),
    agentExtension: extB,
    agentUserId: b.id,
  });
  await ctx.f.call({ startedAt: at(1, 100), answeredAt: at(1, 130), endedAt: at(1, 190), agentExtension: extC, agentUserId: c.id });
  await ctx.f.call({ startedAt: at(1, 200), answeredAt: null, endedAt: at(1, 220), legs: [] });
  const before = await ctx.f.call({ startedAt: at(-1, 0), agentExtension: extA, agentUserId: a.id });
  await ctx.f.call({ startedAt: at(3, 0), agentExtension: extA, agentUserId: a.id });

  await ctx.f.review({ callId: call1, reviewerId: reviewer.id, agentUserId: a.id, score: 80 });
  await ctx.f.review({ callId: call2, reviewerId: reviewer.id, agentUserId: a.id, score: 61 });
  await ctx.f.review({ callId: call2, reviewerId: other.id, agentUserId: a.id, state: 'draft', score: 10 });
  await ctx.f.review({ callId: call4, reviewerId: reviewer.id, agentUserId: b.id, score: 90 });
  await ctx.f.review({ callId: before, reviewerId: reviewer.id, agentUserId: a.id, score: 5 });

  return { t0, a, b, c, d, e, from: day(t0), to: day(t0 + 2 * DAY), extA, extB, extC };
}

const rowOf = (report: AgentsReport, userId: string) => report.items.find((r) => r.userId === userId);

describe('GET /api/reports/agents', () => {
  it('per agent: calls, answered, missed, average wait and talk, reviews and average score; totals per UTC day', async () => {
    const s = await dataset();
    const { agent } = await ctx.f.login('supervisor');
    const res = await agent.get('/api/reports/agents').query({ from: s.from, to: s.to });
    expect([res.status, res.body.error]).toEqual([200, undefined]);
    const report = res.body as AgentsReport;
    expect(report.from).toBe(new Date(s.t0).toISOString());
    expect(report.to).toBe(new Date(s.t0 + 3 * DAY).toISOString());

    expect(rowOf(report, s.a.id)).toEqual<AgentReportRow>({
      userId: s.a.id,
      name: s.a.name,
      extensions: [s.extA],
      calls: 4,
      answered: 3,
      missed: 1,
      avgWaitSeconds: 13.3, // (10 + 20 + 10) / 3
      avgTalkSeconds: 70, // their own talk: (60 + 120 + 30) / 3
      reviews: 2,
      avgScore: 70.5,
    });
    // B answered the outbound call and the transferred one: the transfer counts for both agents
    expect(rowOf(report, s.b.id)).toMatchObject({
      calls: 4,
      answered: 2,
      missed: 1,
      avgWaitSeconds: 5,
      avgTalkSeconds: 60,
      reviews: 1,
      avgScore: 90,
    });
    // a supervisor who answered a call is an agent of the period too
    expect(rowOf(report, s.c.id)).toMatchObject({
      calls: 1,
      answered: 1,
      missed: 0,
      avgWaitSeconds: 30,
      avgTalkSeconds: 60,
      reviews: 0,
      avgScore: null,
    });
    expect(rowOf(report, s.d.id)).toEqual<AgentReportRow>({
      userId: s.d.id,
      name: s.d.name,
      extensions: [],
      calls: 0,
      answered: 0,
      missed: 0,
      avgWaitSeconds: null,
      avgTalkSeconds: null,
      reviews: 0,
      avgScore: null,
    });
    expect(rowOf(report, s.e.id)).toBeUndefined();
    const names = report.items.map((r) => r.name);
    expect(names).toEqual([...names].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)));

    expect(report.days).toEqual([
      { date: s.from, calls: 4, answered: 3, missed: 1 },
      { date: day(s.t0 + DAY), calls: 3, answered: 2, missed: 1 },
      { date: s.to, calls: 0, answered: 0, missed: 0 },
    ]);
  });

  it('the period: dates are whole UTC days, date-times are instants ([from, to)), default the last 7 days, at most 366', async () => {
    const s = await dataset();
    const { agent } = await ctx.f.login('admin');
    // the first day only, by instants: call 1 and call 2 of A, not call 3 (2000 s after 09:00)
    const res = await agent
      .get('/api/reports/agents')
      .query({ from: new Date(s.t0).toISOString(), to: new Date(s.t0 + 9 * 3_600_000 + 2000_000).toISOString() });
    expect(rowOf(res.body, s.a.id)).toMatchObject({ calls: 2, answered: 2, missed: 0 });
    expect(res.body.days).toEqual([{ date: s.from, calls: 2, answered: 2, missed: 0 }]);

    const byDefault = (await agent.get('/api/reports/agents')).body as AgentsReport;
    const today = new Date().toISOString().slice(0, 10);
    expect(byDefault.days.map((d) => d.date)).toEqual(Array.from({ length: 7 }, (_, i) => day(Date.parse(today) - (6 - i) * DAY)));
    expect(byDefault.from).toBe(`${byDefault.days[0]!.date}T00:00:00.000Z`);

    const year = await agent.get('/api/reports/agents').query({ from: '2024-01-01', to: '2024-12-31' });
    expect([year.status, year.body.days.length]).toEqual([200, 366]);
    for (const [query, message] of [
      [{ from: '2024-01-01', to: '2025-01-01' }, 'Invalid query: from: the period is at most 366 days'],
      [{ from: '2024-05-02', to: '2024-05-01' }, 'Invalid query: to: must be after from'],
      [{ from: 'yesterday' }, 'Invalid query: from: must be a date (YYYY-MM-DD) or an ISO 8601 date-time'],
      [{ from: '2024-02-30' }, 'Invalid query: from: must be a date (YYYY-MM-DD) or an ISO 8601 date-time'],
      [{ agent: 'x' }, 'Invalid query: agent: unknown field'],
    ] as const) {
      const bad = await agent.get('/api/reports/agents').query(query);
      expect([bad.status, bad.body.error?.message]).toEqual([400, message]);
    }
  });

  it('is for supervisors and admins: a manager 403, anonymous 401, an API token like its user', async () => {
    const { agent: manager } = await ctx.f.login('manager');
    expect((await manager.get('/api/reports/agents')).status).toBe(403);
    expect((await manager.get('/api/reports/agents.csv')).status).toBe(403);
    expect((await request(ctx.app).get('/api/reports/agents')).status).toBe(401);
    expect((await request(ctx.app).get('/api/reports/agents.csv')).status).toBe(401);
    const { agent: admin } = await ctx.f.login('admin');
    const sup = await ctx.f.user('supervisor');
    const mgr = await ctx.f.user('manager');
    const token = async (userId: string) => (await admin.post('/api/tokens').send({ name: `r-${userId}`, userId })).body.token as string;
    const supToken = await token(sup.id);
    const mgrToken = await token(mgr.id);
    expect((await request(ctx.app).get('/api/reports/agents').set('Authorization', `Bearer ${supToken}`)).status).toBe(200);
    expect((await request(ctx.app).get('/api/reports/agents.csv').set('Authorization', `Bearer ${supToken}`)).status).toBe(200);
    expect((await request(ctx.app).get('/api/reports/agents').set('Authorization', `Bearer ${mgrToken}`)).status).toBe(403);
  });
});

describe('GET /api/reports/agents.csv', () => {
  /** The CSV body as text (supertest leaves text/csv as a string), BOM kept. */
  const csvOf = (res: request.Response) => res.text;

  it('the same rows as a CSV attachment: UTF-8 with BOM, CRLF, headers in my language or ?lang, "." decimals', async () => {
    const s = await dataset();
    const { agent } = await ctx.f.login('supervisor'); // users are created with locale uk
    const res = await agent.get('/api/reports/agents.csv').query({ from: s.from, to: s.to });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toBe(`attachment; filename="calltrack-agents-${s.from}-${s.to}.csv"`);
    const text = csvOf(res);
    expect(text.startsWith('\uFEFF')).toBe(true);
    expect(text.endsWith('\r\n')).toBe(true);
    const lines = text.slice(1).split('\r\n').slice(0, -1);
    expect(lines[0]).toBe(
      'Агент,Внутрішні номери,Дзвінки,Прийняті,Пропущені,"Середнє очікування, с","Середня розмова, с",Оцінювання,Середня оцінка',
    );
    expect(lines).toContain(`${s.a.name},${s.extA},4,3,1,13.3,70,2,70.5`);
    expect(lines).toContain(`${s.d.name},,0,0,0,,,0,`);
    expect(lines).toContain(`${s.b.name},${s.extB},4,2,1,5,60,1,90`);
    expect(lines).toContain(`${s.c.name},${s.extC},1,1,0,30,60,0,`);

    const en = await agent.get('/api/reports/agents.csv').query({ from: s.from, to: s.to, lang: 'en' });
    expect(csvOf(en).slice(1).split('\r\n')[0]).toBe(
      'Agent,Extensions,Calls,Answered,Missed,"Average wait, s","Average talk, s",Reviews,Average score',
    );
    expect((await agent.get('/api/reports/agents.csv').query({ lang: 'de' })).status).toBe(400);
    // an English-speaking supervisor gets English headers by default
    const { agent: english, user } = await ctx.f.login('supervisor');
    await ctx.ds.query(`UPDATE users SET locale = 'en' WHERE id = $1`, [user.id]);
    const own = await english.get('/api/reports/agents.csv').query({ from: s.from, to: s.to });
    expect(csvOf(own).slice(1).startsWith('Agent,Extensions,')).toBe(true);
  });

  it('quotes commas, quotes and line breaks, and defuses cells a spreadsheet would run as a formula', async () => {
    const s = await dataset();
    await ctx.ds.query(`UPDATE users SET name = $2 WHERE id = $1`, [s.a.id, `=HYPERLINK("http://evil.test","Click") ${s.a.id}`]);
    await ctx.ds.query(`UPDATE users SET name = $2 WHERE id = $1`, [s.b.id, `Коваль, "Оля"\n${s.b.id}`]);
    const { agent } = await ctx.f.login('admin');
    const text = (await agent.get('/api/reports/agents.csv').query({ from: s.from, to: s.to, lang: 'en' })).text;
    expect(text).toContain(`"'=HYPERLINK(""http://evil.test"",""Click"") ${s.a.id}",${s.extA},4,3,1,13.3,70,2,70.5\r\n`);
    expect(text).toContain(`"Коваль, ""Оля""\n${s.b.id}",${s.extB},4,2,1,5,60,1,90\r\n`);

    // the rules, field by field
    expect(['+1', '-1', '@SUM(A1)', '\tx', 'plain', ''].map(csvField)).toEqual(["'+1", "'-1", "'@SUM(A1)", "'\tx", 'plain', '']);
    expect([12.5, 0, null, -3].map(csvField)).toEqual(['12.5', '0', '', '-3']);
    expect(
      toCsv([
        ['a', 1],
        [null, 'b\r\nc'],
      ]),
    ).toBe('\uFEFFa,1\r\n,"b\r\nc"\r\n');
  });
});
