import crypto from 'node:crypto';
import type { DataSource } from 'typeorm';
import request from 'supertest';
import type { CallDraft } from '../../src/calls/call-record';
import type { wire } from '../../src/main';
import type { Role } from '../../src/users/user.entity';

const unique = () => crypto.randomBytes(5).toString('hex');

/** Per-test data through the real services; every name and number is unique to the test. */
export class Factories {
  /** extensions already in the database (earlier files, earlier runs on a kept PostgreSQL database) */
  private takenExtensions = new Set<string>();
  /** a random start per test file, so parallel workers walk different stretches of the number space */
  private nextExtension = crypto.randomInt(100000, 990000);

  constructor(
    private readonly ds: DataSource,
    private readonly parts: ReturnType<typeof wire>,
  ) {}

  /** Loads the extension numbers in use (createTestContext calls it). */
  async init(): Promise<void> {
    const rows: { number: string }[] = await this.ds.query(`SELECT number FROM extensions`);
    this.takenExtensions = new Set(rows.map((r) => r.number));
  }

  /** A free 6-digit extension number, unique across test files, parallel workers and earlier runs. */
  extension(): string {
    let n: string;
    do {
      n = String(this.nextExtension);
      this.nextExtension = this.nextExtension >= 999999 ? 100000 : this.nextExtension + 1;
    } while (this.takenExtensions.has(n));
    this.takenExtensions.add(n);
    return n;
  }

  async user(role: Role = 'manager', extensions: string[] = []) {
    const password = `pw-${unique()}-secret`;
    const email = `${role}-${unique()}@example.test`;
    const user = await this.parts.users.create(null, { email, name: `${role} ${unique()}`, password, role, extensions });
    return { ...user, password };
  }

  /** A user and a supertest agent logged in as them. */
  async login(role: Role = 'manager', extensions: string[] = []) {
    const user = await this.user(role, extensions);
    const agent = request.agent(this.parts.app);
    const res = await agent.post('/api/auth/login').send({ email: user.email, password: user.password });
    if (res.status !== 200) throw new Error(`login failed: ${res.status}`);
    return { user, agent };
  }

  /** A random valid Ukrainian mobile number in E.164. */
  phone(): string {
    return `+38050${String(crypto.randomInt(0, 10_000_000)).padStart(7, '0')}`;
  }

  async contact(fields: { firstName?: string; ownerId?: string | null; organizationId?: string | null; phones?: string[] } = {}) {
    const owner = {
      userId: fields.ownerId ?? crypto.randomUUID(),
      role: 'admin' as const,
      email: '',
      name: '',
      locale: 'uk' as const,
      via: 'session' as const,
    };
    return this.parts.contacts.createContact(owner, {
      firstName: fields.firstName ?? `Contact ${unique()}`,
      ownerId: fields.ownerId ?? null,
      organizationId: fields.organizationId ?? null,
      phones: (fields.phones ?? []).map((number) => ({ number })),
    });
  }

  async organization(fields: { name?: string; phones?: string[] } = {}) {
    return this.parts.contacts.createOrganization({
      name: fields.name ?? `Org ${unique()}`,
      phones: (fields.phones ?? []).map((number) => ({ number })),
    });
  }

  /** A finished call record stored directly (the capture pipeline is tested on its own). */
  async call(fields: Partial<CallDraft> & { agentUserId?: string | null; contactId?: string | null; legUsers?: (string | null)[] } = {}) {
    const startedAt = fields.startedAt ?? new Date(Date.now() - crypto.randomInt(0, 86_400_000));
    const answeredAt = fields.answeredAt !== undefined ? fields.answeredAt : new Date(startedAt.getTime() + 3000);
    const endedAt = fields.endedAt !== undefined ? fields.endedAt : new Date(startedAt.getTime() + 60_000);
    const legs =
      fields.legs ??
      (fields.agentExtension
        ? [{ extension: fields.agentExtension, ringingAt: startedAt, answeredAt, endedAt, result: 'answered' as const }]
        : []);
    const [row] = await this.ds.query(
      `INSERT INTO calls (pbx_call_id, direction, state, disposition, missed, external_number, external_number_raw,
                          tracking_number, started_at, answered_at, ended_at, agent_extension, agent_user_id, hangup_by,
                          end_reason, contact_id, contact_match)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17) RETURNING id`,
      [
        fields.pbxCallId ?? `${Date.now() / 1000}.${unique()}`,
        fields.direction ?? 'inbound',
        fields.state ?? 'ended',
        fields.disposition !== undefined ? fields.disposition : answeredAt ? 'answered' : 'no-answer',
        fields.missed ?? (!answeredAt && (fields.direction ?? 'inbound') === 'inbound'),
        fields.externalNumber !== undefined ? fields.externalNumber : this.phone(),
        fields.externalNumberRaw ?? null,
        fields.trackingNumber ?? null,
        startedAt,
        answeredAt,
        endedAt,
        fields.agentExtension ?? null,
        fields.agentUserId ?? null,
        fields.hangupBy ?? null,
        fields.endReason ?? 'normal',
        fields.contactId ?? null,
        fields.contactId ? 'matched' : 'none',
      ],
    );
    const id = (row as { id: string }).id;
    for (const [seq, leg] of legs.entries()) {
      await this.ds.query(
        `INSERT INTO call_legs (call_id, seq, extension, user_id, ringing_at, answered_at, ended_at, result) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
        [
          id,
          seq,
          leg.extension,
          fields.legUsers?.[seq] ?? fields.agentUserId ?? null,
          leg.ringingAt,
          leg.answeredAt,
          leg.endedAt,
          leg.result,
        ],
      );
    }
    return id;
  }

  /**
   * A recording row for a call (stored by default), with the talk analytics columns the review queue
   * filters on; also sets the call's recording_file so the call record shows it.
   */
  async recording(
    callId: string,
    fields: {
      state?: string;
      durationSeconds?: number | null;
      channels?: number | null;
      agentTalkShare?: number | null;
      silenceShare?: number | null;
      overtalkShare?: number | null;
      longestMonologueSeconds?: number | null;
    } = {},
  ): Promise<string> {
    const fileName = `calltrack/in-${unique()}.wav`;
    await this.ds.query(`UPDATE calls SET recording_file = $2 WHERE id = $1`, [callId, fileName]);
    const [row] = await this.ds.query(
      `INSERT INTO recordings (call_id, file_name, state, duration_seconds, channels, agent_talk_share, silence_share,
                               overtalk_share, longest_monologue_seconds)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
      [
        callId,
        fileName,
        fields.state ?? 'stored',
        fields.durationSeconds !== undefined ? fields.durationSeconds : 57,
        fields.channels ?? null,
        fields.agentTalkShare ?? null,
        fields.silenceShare ?? null,
        fields.overtalkShare ?? null,
        fields.longestMonologueSeconds ?? null,
      ],
    );
    return (row as { id: string }).id;
  }

  /** A review row stored directly (the review API is tested on its own): submitted with `score` unless `state` says draft. */
  async review(fields: {
    callId: string;
    reviewerId: string;
    agentUserId?: string | null;
    state?: 'draft' | 'submitted';
    score?: number | null;
  }): Promise<string> {
    const state = fields.state ?? 'submitted';
    const [row] = await this.ds.query(
      `INSERT INTO reviews (call_id, reviewer_id, agent_user_id, state, score, submitted_at)
       VALUES ($1, $2, $3, $4, $5, CASE WHEN $4 = 'submitted' THEN now() END) RETURNING id`,
      [fields.callId, fields.reviewerId, fields.agentUserId ?? null, state, fields.score ?? null],
    );
    return (row as { id: string }).id;
  }
}
