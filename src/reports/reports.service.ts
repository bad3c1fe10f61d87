import type { DataSource } from 'typeorm';
import { z } from 'zod';
import { invalid } from '../errors';
import { LOCALES, type Locale } from '../users/user.entity';
import { toCsv, type CsvValue } from './csv';

const DAY_MS = 86_400_000;
export const MAX_REPORT_DAYS = 366;

const dayOrInstant = z.union([z.iso.date(), z.iso.datetime({ offset: true })], {
  message: 'must be a date (YYYY-MM-DD) or an ISO 8601 date-time',
});
export const agentsReportQuery = z.object({ from: dayOrInstant.optional(), to: dayOrInstant.optional() }).strict();
export const agentsCsvQuery = agentsReportQuery.extend({ lang: z.enum(LOCALES as [Locale, ...Locale[]]).optional() }).strict();
export type AgentsReportQuery = z.output<typeof agentsReportQuery>;

export interface AgentReportRow {
  userId: string;
  name: string;
  extensions: string[];
  calls: number;
  answered: number;
  missed: number;
  avgWaitSeconds: number | null;
  avgTalkSeconds: number | null;
  reviews: number;
  avgScore: number | null;
}

export interface AgentsReport {
  from: string;
  to: string;
  items: AgentReportRow[];
  days: { date: string; calls: number; answered: number; missed: number }[];
}

const isDay = (s: string) => /^\d{4}-\d{2}-\d{2}$/.test(s);
const startOfUtcDay = (t: number) => Math.floor(t / DAY_MS) * DAY_MS;
const dayOf = (t: number) => new Date(t).toISOString().slice(0, 10);
const round1 = (x: number | string | null) => (x === null ? null : Math.round(Number(x) * 10) / 10);

/**
 * The period of a report, half-open [from, to). A date means a whole UTC day: `from=2026-11-01`
 * starts at its midnight, `to=2026-11-07` includes that day (ends at the next midnight); a date-time
 * is that instant. Default: the last 7 UTC days, today included (to = now). At most 366 days.
 */
export function reportPeriod(q: AgentsReportQuery, now = new Date()): { from: Date; to: Date } {
  const to = q.to === undefined ? now.getTime() : isDay(q.to) ? Date.parse(`${q.to}T00:00:00Z`) + DAY_MS : Date.parse(q.to);
  const from = q.from === undefined ? startOfUtcDay(to - 1) - 6 * DAY_MS : Date.parse(isDay(q.from) ? `${q.from}T00:00:00Z` : q.from);
  if (!(to > from)) throw invalid('Invalid query: to: must be after from');
  if (to - from > MAX_REPORT_DAYS * DAY_MS) throw invalid(`Invalid query: from: the period is at most ${MAX_REPORT_DAYS} days`);
  return { from: new Date(from), to: new Date(to) };
}

const HEADERS: Record<Locale, string[]> = {
  en: ['Agent', 'Extensions', 'Calls', 'Answered', 'Missed', 'Average wait, s', 'Average talk, s', 'Reviews', 'Average score'],
  uk: [
    'Агент',
    'Внутрішні номери',
    'Дзвінки',
    'Прийняті',
    'Пропущені',
    'Середнє очікування, с',
    'Середня розмова, с',
    'Оцінювання',
    'Середня оцінка',
  ],
};

export type ReportsService = ReturnType<typeof createReportsService>;

/**
 * Supervisor reports per agent over a period of call start times. For each user who is an active
 * manager, or took part in a call of the period (its agent or one of its legs):
 * - calls: the period's calls the user took part in (agent, or rung on a leg);
 * - answered: the calls the user talked on: a leg of theirs answered (a transfer's second agent
 *   too), or they are the call's agent and it was answered;
 * - missed: missed calls (inbound, answered by nobody: calls.missed) that rang the user's phone;
 * - avgWaitSeconds: start → answer over the calls they answered first (the call's agent);
 * - avgTalkSeconds: their own talk time per answered call (their legs' answer → end; the call's
 *   answer → end when they are its agent without a leg);
 * - reviews / avgScore: the submitted reviews of the period's calls with the user as the agent.
 * `days`: per UTC day, the totals over all calls (each counted once however many agents took part):
 * calls, answered by a person, missed.
 */
export function createReportsService(deps: { ds: DataSource }) {
  const { ds } = deps;

  async function agents(q: AgentsReportQuery): Promise<AgentsReport> {
    const { from, to } = reportPeriod(q);
    const rows: {
      id: string;
      name: string;
      extensions: string[];
      calls: number;
      answered: number;
      missed: number;
      avg_wait: string | null;
      avg_talk: string | null;
      reviews: number;
      avg_score: string | null;
    }[] = await ds.query(
      `WITH period_calls AS (
         SELECT c.id, c.agent_user_id, c.started_at, c.answered_at, c.ended_at, c.missed
           FROM calls c WHERE c.started_at >= $1 AND c.started_at < $2
       ), taking_part AS (
         SELECT pc.agent_user_id AS user_id, pc.id AS call_id FROM period_calls pc WHERE pc.agent_user_id IS NOT NULL
         UNION
         SELECT l.user_id, l.call_id FROM call_legs l JOIN period_calls pc ON pc.id = l.call_id WHERE l.user_id IS NOT NULL
       ), my_legs AS (
         -- the user's own part of each call: did a leg of theirs answer, and how long they talked
         SELECT l.user_id, l.call_id, bool_or(l.result = 'answered') AS answered,
                sum(extract(epoch FROM l.ended_at - l.answered_at)) FILTER (WHERE l.result = 'answered' AND l.ended_at IS NOT NULL) AS talk
           FROM call_legs l JOIN period_calls pc ON pc.id = l.call_id
          WHERE l.user_id IS NOT NULL
          GROUP BY l.user_id, l.call_id
       ), part AS (
         SELECT t.user_id, pc.*, ml.call_id IS NOT NULL AS rung,
                coalesce(ml.answered, false) OR (pc.agent_user_id = t.user_id AND pc.answered_at IS NOT NULL) AS took,
                coalesce(ml.talk, CASE WHEN pc.agent_user_id = t.user_id THEN extract(epoch FROM pc.ended_at - pc.answered_at) END) AS talk
           FROM taking_part t JOIN period_calls pc ON pc.id = t.call_id
           LEFT JOIN my_legs ml ON ml.user_id = t.user_id AND ml.call_id = t.call_id
       ), per_user AS (
         SELECT p.user_id,
                count(*)::int AS calls,
                count(*) FILTER (WHERE p.took)::int AS answered,
                count(*) FILTER (WHERE p.missed AND p.rung)::int AS missed,
                avg(extract(epoch FROM p.answered_at - p.started_at))
                  FILTER (WHERE p.agent_user_id = p.user_id AND p.answered_at IS NOT NULL) AS avg_wait,
                avg(p.talk) FILTER (WHERE p.took AND p.talk IS NOT NULL) AS avg_talk
           FROM part p
          GROUP BY p.user_id
       ), per_reviews AS (
         SELECT rv.agent_user_id AS user_id, count(*)::int AS reviews, avg(rv.score) AS avg_score
           FROM reviews rv JOIN period_calls pc ON pc.id = rv.call_id
          WHERE rv.state = 'submitted' AND rv.agent_user_id IS NOT NULL
          GROUP BY rv.agent_user_id
       )
       SELECT u.id, u.name,
              ARRAY(SELECT e.number FROM extensions e WHERE e.user_id = u.id ORDER BY e.number) AS extensions,
              coalesce(pu.calls, 0) AS calls, coalesce(pu.answered, 0) AS answered, coalesce(pu.missed, 0) AS missed,
              pu.avg_wait, pu.avg_talk, coalesce(pr.reviews, 0) AS reviews, pr.avg_score
         FROM users u
         LEFT JOIN per_user pu ON pu.user_id = u.id
         LEFT JOIN per_reviews pr ON pr.user_id = u.id
        WHERE (u.role = 'manager' AND u.active) OR pu.user_id IS NOT NULL OR pr.user_id IS NOT NULL
        ORDER BY u.name, u.id`,
      [from, to],
    );
    const perDay: { day: string; calls: number; answered: number; missed: number }[] = await ds.query(
      `SELECT to_char(c.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, count(*)::int AS calls,
              count(*) FILTER (WHERE c.answered_at IS NOT NULL)::int AS answered, count(*) FILTER (WHERE c.missed)::int AS missed
         FROM calls c WHERE c.started_at >= $1 AND c.started_at < $2
        GROUP BY 1`,
      [from, to],
    );
    const byDay = new Map(perDay.map((d) => [d.day, d]));
    const days: AgentsReport['days'] = [];
    for (let t = startOfUtcDay(from.getTime()); t < to.getTime(); t += DAY_MS) {
      const d = byDay.get(dayOf(t));
      days.push({ date: dayOf(t), calls: d?.calls ?? 0, answered: d?.answered ?? 0, missed: d?.missed ?? 0 });
    }
    return {
      from: from.toISOString(),
      to: to.toISOString(),
      items: rows.map((r) => ({
        userId: r.id,
        name: r.name,
        extensions: r.extensions,
        calls: r.calls,
        answered: r.answered,
        missed: r.missed,
        avgWaitSeconds: round1(r.avg_wait),
        avgTalkSeconds: round1(r.avg_talk),
        reviews: r.reviews,
        avgScore: round1(r.avg_score),
      })),
      days,
    };
  }

  return {
    agents,

    /** The same rows as CSV, headers in `locale`; the file is named after the period's first and last day. */
    async agentsCsv(q: AgentsReportQuery, locale: Locale): Promise<{ fileName: string; csv: string }> {
      const report = await agents(q);
      const rows: CsvValue[][] = [
        HEADERS[locale],
        ...report.items.map((r) => [
          r.name,
          r.extensions.join(' '),
          r.calls,
          r.answered,
          r.missed,
          r.avgWaitSeconds,
          r.avgTalkSeconds,
          r.reviews,
          r.avgScore,
        ]),
      ];
      const first = report.from.slice(0, 10);
      const last = dayOf(Date.parse(report.to) - 1);
      return { fileName: `calltrack-agents-${first}-${last}.csv`, csv: toCsv(rows) };
    },
  };
}
